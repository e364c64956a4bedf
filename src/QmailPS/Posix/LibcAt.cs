using System;
using System.Runtime.InteropServices;

namespace QmailPS.Posix
{
    /// <summary>
    /// The *at calls the file-system seam (<see cref="LinuxFileSystem"/>) is built on: every name is
    /// one component relative to a directory descriptor that was itself reached without a symlink,
    /// so nothing here can be sent outside the queue by a link planted in it. Scalar/pointer
    /// arguments only; the same numbers on Linux x86_64 and arm64.
    /// </summary>
    internal static unsafe class LibcAt
    {
        private const string Lib = "libc";

        public const int O_DIRECTORY = 0x10000 /* x86_64 */, O_CREAT = 0x40, O_EXCL = 0x80, O_APPEND = 0x400;
        public const int AT_REMOVEDIR = 0x200;
        public const int RESOLVE_NO_XDEV = 0x01, RESOLVE_NO_MAGICLINKS = 0x02, RESOLVE_NO_SYMLINKS = 0x04, RESOLVE_BENEATH = 0x08;
        public const long SYS_openat2 = 437; // the same on every Linux architecture (the unified syscall table)
        public const int ENOSYS = 38;

        /// <summary>O_DIRECTORY is 040000 on arm64/arm and 0200000 on x86_64.</summary>
        public static readonly int O_Directory =
            RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x4000 : O_DIRECTORY;

        [StructLayout(LayoutKind.Sequential)]
        public struct OpenHow { public ulong Flags, Mode, Resolve; }

        [StructLayout(LayoutKind.Sequential)]
        public struct Timespec { public long Sec, Nsec; }

        public const long UTIME_OMIT = (1L << 30) - 2;

        [DllImport(Lib, SetLastError = true)] public static extern int unlinkat(int dirfd, byte* name, int flags);
        [DllImport(Lib, SetLastError = true)] public static extern int renameat(int olddirfd, byte* oldname, int newdirfd, byte* newname);
        [DllImport(Lib, SetLastError = true)] public static extern int linkat(int olddirfd, byte* oldname, int newdirfd, byte* newname, int flags);
        [DllImport(Lib, SetLastError = true)] public static extern int mkdirat(int dirfd, byte* name, uint mode);
        [DllImport(Lib, SetLastError = true)] public static extern int mkfifoat(int dirfd, byte* name, uint mode);
        [DllImport(Lib, SetLastError = true)] public static extern int symlinkat(byte* target, int dirfd, byte* name);
        [DllImport(Lib, SetLastError = true)] public static extern IntPtr readlinkat(int dirfd, byte* name, byte* buf, UIntPtr size);
        [DllImport(Lib, SetLastError = true)] public static extern int fchownat(int dirfd, byte* name, uint uid, uint gid, int flags);
        [DllImport(Lib, SetLastError = true)] public static extern int fchown(int fd, uint uid, uint gid);
        [DllImport(Lib, SetLastError = true)] public static extern int fchmod(int fd, uint mode);
        [DllImport(Lib, SetLastError = true)] public static extern int futimens(int fd, Timespec* times);
        [DllImport(Lib, SetLastError = true)] public static extern int utimensat(int dirfd, byte* name, Timespec* times, int flags);
        [DllImport(Lib, SetLastError = true)] public static extern int fsync(int fd);
        [DllImport(Lib, SetLastError = true)] public static extern IntPtr write(int fd, byte* buf, UIntPtr count);
        [DllImport(Lib, SetLastError = true)] public static extern int dup(int fd);
    }
}
