using System;

namespace QmailPS.Posix
{
    /// <summary>
    /// Every POSIX call the module makes outside the scan's hot path. One small interface so that
    /// tests can inject faults at each write, and so the Mono.Posix dependency stays in one file.
    /// Every call works on the link itself, never on what a symlink points to.
    /// </summary>
    internal interface IPosix
    {
        bool TryLstat(string path, out FileStatus status, out int errno);
        uint EffectiveUserId { get; }
        /// <summary>uid and primary gid of a user name, or null when it does not exist.</summary>
        (uint Uid, uint Gid)? LookupUser(string name);
        uint? LookupGroup(string name);
        string? UserName(uint uid);
        string? GroupName(uint gid);
        void Lchown(string path, uint uid, uint gid);
        /// <summary>chmod that refuses symlinks (opens with O_NOFOLLOW and uses fchmod).</summary>
        void ChmodNoFollow(string path, uint mode);
        void Link(string existing, string newPath);
        void Unlink(string path);
        void Rename(string from, string to);
        void Mkfifo(string path, uint mode);
        /// <summary>The target a symbolic link names (the link is read, never followed).</summary>
        string ReadLink(string path);
        void Symlink(string target, string path);
        void Mkdir(string path, uint mode);
        /// <summary>Removes an empty directory (fails with ENOTEMPTY otherwise: nothing is ever deleted by it).</summary>
        void Rmdir(string path);
        void SetTimes(string path, long atimeSeconds, long mtimeSeconds);
        /// <summary>Puts back times read with lstat, mtime to the nanosecond (undoing a SetTimes).</summary>
        void RestoreTimes(string path, long atimeSeconds, long mtimeSeconds, long mtimeNanoseconds);
        /// <summary>Creates a new file (O_EXCL, never through a symlink), writes it and (unless told not to) fsyncs it.</summary>
        void WriteNewFile(string path, byte[] content, uint mode, bool fsync = true);
        /// <summary>Creates a new file like WriteNewFile with the bytes of a regular file (opened O_NOFOLLOW), streamed, and fsyncs it.</summary>
        void CopyNewFile(string source, string path, uint mode);
        /// <summary>fsync a directory, so links, renames and unlinks in it survive a power cut.</summary>
        void FsyncDirectory(string path);
        /// <summary>Appends bytes to an existing regular file (never through a symlink) and fsyncs it.</summary>
        void Append(string path, byte[] bytes);
        /// <summary>Overwrites one byte in place (qmail-send's markdone: the file never changes length).</summary>
        void WriteByteAt(string path, long offset, byte value);
        int Kill(int pid, int signal);
    }

    /// <summary>Where the module gets its IPosix. Tests may swap in a fault-injecting one.</summary>
    internal static class PosixApi
    {
        private static IPosix? s_current;

        public static IPosix Current
        {
            get => s_current ??= CreateDefault();
            set => s_current = value;
        }

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        private static IPosix CreateDefault()
        {
            // The resolver must be in place before the JIT first touches a Mono.Posix type.
            NativeDependencies.Register();
            return CreateMono();
        }

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        private static IPosix CreateMono() => new MonoPosix();
    }
}
