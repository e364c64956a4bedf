using System;
using System.Runtime.InteropServices;
using System.Text;

namespace QmailPS.Posix
{
    /// <summary>
    /// The few libc calls the scan's hot path needs and Mono.Posix lacks: open/stat relative to a
    /// directory handle (statx, openat) and raw readdir with d_type. Measured in
    /// shared/docs/performance-notes.md: relative calls are what beat qmail-qread.
    /// Only scalar/pointer arguments; statx has one layout on every 64-bit Linux ABI.
    /// </summary>
    internal static unsafe class Libc
    {
        private const string Lib = "libc";

        public const int AT_FDCWD = -100;
        public const int AT_SYMLINK_NOFOLLOW = 0x100;
        public const int AT_EMPTY_PATH = 0x1000;
        public const uint STATX_BASIC_STATS = 0x7ff;
        public const int O_RDONLY = 0, O_WRONLY = 1, O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000;
        public const int LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4, LOCK_UN = 8;

        /// <summary>O_NOFOLLOW differs between x86_64 (0400000) and arm64/arm (0100000).</summary>
        public static readonly int O_NOFOLLOW =
            RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x8000 : 0x20000;

        /// <summary>O_DIRECTORY differs between x86_64 (0200000) and arm64/arm (040000).</summary>
        public static readonly int O_DIRECTORY =
            RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x4000 : 0x10000;

        /// <summary>O_NOATIME (01000000) is the same on x86_64 and arm64.</summary>
        public const int O_NOATIME = 0x40000;

        [DllImport(Lib, SetLastError = true)]
        public static extern int open(byte* path, int flags, uint mode);

        [DllImport(Lib, SetLastError = true)]
        public static extern int openat(int dirfd, byte* path, int flags, uint mode);

        [DllImport(Lib, SetLastError = true)]
        public static extern int close(int fd);

        [DllImport(Lib, SetLastError = true)]
        public static extern IntPtr read(int fd, byte* buf, UIntPtr count);

        [DllImport(Lib, SetLastError = true)]
        public static extern int statx(int dirfd, byte* path, int flags, uint mask, StatxBuffer* buf);

        [DllImport(Lib, SetLastError = true)]
        public static extern int flock(int fd, int operation);

        [DllImport(Lib, SetLastError = true)]
        public static extern IntPtr fdopendir(int fd);

        [DllImport(Lib, SetLastError = true)]
        public static extern IntPtr readdir(IntPtr dir);

        [DllImport(Lib, SetLastError = true)]
        public static extern int closedir(IntPtr dir);

        public const int RLIMIT_NOFILE = 7; // x86_64 and arm64 (the generic numbering)

        [StructLayout(LayoutKind.Sequential)]
        public struct RLimit { public ulong Cur, Max; }

        [DllImport(Lib, SetLastError = true)]
        public static extern int getrlimit(int resource, out RLimit limit);

        /// <summary>For io_uring_setup/enter/register, which glibc does not wrap (same numbers on every Linux architecture).</summary>
        [DllImport(Lib, SetLastError = true)]
        public static extern long syscall(long number, long a1, long a2, long a3, long a4, long a5, long a6);

        [DllImport(Lib, SetLastError = true)]
        public static extern IntPtr mmap(IntPtr addr, UIntPtr length, int prot, int flags, int fd, long offset);

        [DllImport(Lib, SetLastError = true)]
        public static extern int munmap(IntPtr addr, UIntPtr length);

        /// <summary>struct statx (linux/stat.h): 256 bytes, the same on x86_64 and arm64.</summary>
        [StructLayout(LayoutKind.Explicit, Size = 256)]
        public struct StatxBuffer
        {
            [FieldOffset(0)] public uint Mask;
            [FieldOffset(16)] public uint Nlink;
            [FieldOffset(20)] public uint Uid;
            [FieldOffset(24)] public uint Gid;
            [FieldOffset(28)] public ushort Mode;
            [FieldOffset(32)] public ulong Ino;
            [FieldOffset(40)] public ulong Size;
            [FieldOffset(64)] public long AtimeSec;
            [FieldOffset(112)] public long MtimeSec;
            [FieldOffset(120)] public uint MtimeNsec;
            [FieldOffset(136)] public uint DevMajor;
            [FieldOffset(140)] public uint DevMinor;

            public FileStatus ToStatus() => new FileStatus(Ino, ((ulong)DevMajor << 32) | DevMinor, Mode, Uid, Gid,
                Nlink, (long)Size, MtimeSec, MtimeNsec, AtimeSec);
        }

        public static int LastErrno => Marshal.GetLastWin32Error();

        /// <summary>NUL-terminated UTF-8 bytes of a path, for the byte* parameters.</summary>
        public static byte[] PathBytes(string path) => PathName.ToBytesZ(path);

        /// <summary>NUL-terminated decimal name of a message id, written into a caller buffer.</summary>
        public static int FormatId(ulong id, byte[] buffer)
        {
            fixed (byte* b = buffer) return FormatId(id, b);
        }

        /// <summary>The same into unmanaged memory (the names an io_uring batch points at); at least 21 bytes.</summary>
        public static int FormatId(ulong id, byte* to)
        {
            int len = 0;
            ulong v = id;
            do { len++; v /= 10; } while (v != 0);
            to[len] = 0;
            v = id;
            for (int i = len - 1; i >= 0; i--) { to[i] = (byte)('0' + (int)(v % 10)); v /= 10; }
            return len;
        }
    }
}
