using System;
using System.Collections.Generic;

namespace QmailPS.Posix
{
    /// <summary>
    /// The one file-system seam: every read and write of every cmdlet goes through it, and nothing
    /// else calls libc or Mono.Posix for files. One instance per cmdlet (or test), passed by
    /// constructor; a test wraps it to cut any write.
    ///
    /// Safety as root: a directory given to <see cref="Trust"/> (the queue, the quarantine) is an
    /// anchor. Any path beneath an anchor is resolved from the anchor's descriptor one component at
    /// a time and never through a symlink or onto another file system (openat2 RESOLVE_BENEATH |
    /// RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV, or O_NOFOLLOW per component on older kernels); a
    /// symlinked directory on the way fails with ELOOP. Every change is refused for a path under no
    /// anchor, and a file's bytes, owner, mode or times are changed only through a descriptor opened
    /// O_NOFOLLOW and checked with fstat: a regular file (or FIFO) on the anchor's device with the
    /// single link qmail gives it. A second link is shared with a file qmail did not make (maybe
    /// outside the queue): <see cref="SharedInodeException"/>, and nothing is written.
    /// </summary>
    internal interface IFileSystem : IDisposable
    {
        /// <summary>
        /// Makes a directory an anchor (its own path may pass through the symlinks the admin set up,
        /// unless <paramref name="followLink"/> is false; nothing beneath it may).
        /// </summary>
        void Trust(string root, bool followLink = true);

        /// <summary>
        /// Creates a directory that will become an anchor (a new queue, a fresh quarantine), with
        /// any missing parents (root-owned 0755, as mkdir -p), then trusts it as created: the last
        /// component is opened O_NOFOLLOW, so a symlink raced into its place is refused. Fails with
        /// EEXIST when the path exists.
        /// </summary>
        void CreateRoot(string path, uint mode);

        /// <summary>True when the path is beneath (or is) an anchor, so changes to it are allowed.</summary>
        bool IsTrusted(string path);

        bool TryLstat(string path, out FileStatus status, out int errno);
        uint EffectiveUserId { get; }
        /// <summary>The caller's group: qmail-queue is setuid qmailq, not setgid, so its files keep it.</summary>
        uint EffectiveGroupId { get; }
        /// <summary>uid and primary gid of a user name, or null when it does not exist.</summary>
        (uint Uid, uint Gid)? LookupUser(string name);
        uint? LookupGroup(string name);
        string? UserName(uint uid);
        string? GroupName(uint gid);

        /// <summary>
        /// Opens a directory for listing and relative reads. Beneath an anchor no symlink is
        /// followed (ELOOP); elsewhere (a path the user named) as opendir does.
        /// </summary>
        DirectoryHandle? TryOpenDirectory(string path, out int errno);
        /// <summary>Lists into <paramref name="into"/> (cleared first), '.' and '..' skipped, raw readdir order.</summary>
        List<DirEntry>? TryList(string path, List<DirEntry> into, out int errno);
        /// <summary>A whole regular file, never through a symlink and never blocking on a FIFO.</summary>
        byte[] ReadFile(string path);

        /// <summary>
        /// Opens an existing regular file for flock and positioned reads/writes (lock/tcpto,
        /// lock/sendmutex), O_NOFOLLOW | O_NONBLOCK, checked like any change when
        /// <paramref name="write"/>. -1 with errno on failure; the caller closes it with <see cref="Close"/>.
        /// </summary>
        int OpenExisting(string path, bool write, out int errno, bool noAtime = false);
        /// <summary>fstat of a descriptor from <see cref="OpenExisting"/>.</summary>
        bool TryFstat(int fd, out FileStatus status, out int errno);
        void Close(int fd);
        /// <summary>flock on a descriptor from <see cref="OpenExisting"/>: 0, or the errno.</summary>
        int Flock(int fd, int operation);
        /// <summary>pread into <paramref name="buffer"/> from <paramref name="offset"/>: the count, or -1 with errno.</summary>
        int ReadAt(int fd, byte[] buffer, int start, int count, long offset, out int errno);
        /// <summary>
        /// triggerpull.c: one byte into a FIFO (O_WRONLY | O_NONBLOCK, errors ignored), but only
        /// when the name is a FIFO: a regular file planted as lock/trigger is never written.
        /// </summary>
        void PullTrigger(string fifoPath);
        /// <summary>pwrite of all bytes to a descriptor from <see cref="OpenExisting"/> (a write the fault injector can cut).</summary>
        void WriteAt(int fd, string path, long offset, byte[] data);

        /// <summary>chown through a descriptor (a symlink's own owner only inside an anchor's copy of it).</summary>
        void Lchown(string path, uint uid, uint gid, string? pairedWith = null);
        /// <summary>chmod through a descriptor opened O_NOFOLLOW (a symlink is refused).</summary>
        void ChmodNoFollow(string path, uint mode, string? pairedWith = null);
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
        void SetTimes(string path, long atimeSeconds, long mtimeSeconds, string? pairedWith = null);
        /// <summary>Puts back times read with lstat, mtime to the nanosecond (undoing a SetTimes).</summary>
        void RestoreTimes(string path, long atimeSeconds, long mtimeSeconds, long mtimeNanoseconds, string? pairedWith = null);
        /// <summary>Creates a new file (O_EXCL, never through a symlink), writes it and (unless told not to) fsyncs it.</summary>
        void WriteNewFile(string path, byte[] content, uint mode, bool fsync = true);
        /// <summary>Creates a new file like WriteNewFile with the bytes of a regular file (opened O_NOFOLLOW), streamed, and fsyncs it.</summary>
        void CopyNewFile(string source, string path, uint mode);
        /// <summary>fsync a directory, so links, renames and unlinks in it survive a power cut.</summary>
        void FsyncDirectory(string path);
        /// <summary>
        /// Until disposed, a directory on the way to a name this seam links, unlinks, renames or
        /// fsyncs is resolved (safely, as always) the first time and its descriptor kept, instead of
        /// once per call. A descriptor names the directory it was opened on: one moved or replaced by
        /// a symlink meanwhile is not followed to wherever the new path leads. For a run of writes in
        /// directories that only the caller changes (a renumbering batch); nested holds share the outer.
        /// Held for the caller alone: its thread and the threads it starts meanwhile.
        /// </summary>
        IDisposable HoldDirectories();
        /// <summary>Appends bytes to an existing regular file (never through a symlink) and fsyncs it.</summary>
        void Append(string path, byte[] bytes, string? pairedWith = null);
        /// <summary>Overwrites one byte in place (qmail-send's markdone: the file never changes length).</summary>
        void WriteByteAt(string path, long offset, byte value, string? pairedWith = null);
        int Kill(int pid, int signal);
    }

    /// <summary>
    /// A file whose inode has a link qmail never makes: writing it would also change the other
    /// name's file, which may be outside the queue (a root-only file planted with ln).
    /// </summary>
    internal sealed class SharedInodeException : System.IO.IOException
    {
        public SharedInodeException(string path, uint links)
            : base($"{path} has {links} hard links, where qmail gives it one: it shares its inode with a file qmail did not make (perhaps outside the queue), so it is never written. Move the queue's name away (Repair-QmailQueue quarantines it).")
        { Path = path; Links = links; }

        public string Path { get; }
        public uint Links { get; }
    }

    /// <summary>A change asked for outside every trusted directory (the queue, the quarantine).</summary>
    internal sealed class OutsideQueueException : System.IO.IOException
    {
        public OutsideQueueException(string path, string operation)
            : base($"{operation} {path}: refused, the path is outside the queue and its quarantine (or names '.' or '..'); QmailPS changes nothing there.")
        { Path = path; }

        public string Path { get; }
    }
}
