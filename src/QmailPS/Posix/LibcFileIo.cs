using System;
using System.Runtime.InteropServices;

namespace QmailPS.Posix
{
    /// <summary>
    /// The libc calls lock/tcpto needs beyond <see cref="Libc"/>: a read-write open mode and
    /// positioned writes (qmail's lseek + write of one record, or qmail-tcpok's 1024 NULs at 0).
    /// Scalar/pointer arguments only, so one binding serves glibc and musl on x86_64 and arm64.
    /// </summary>
    internal static unsafe class LibcFileIo
    {
        private const string Lib = "libc";

        public const int O_RDWR = 2;

        [DllImport(Lib, SetLastError = true)]
        public static extern IntPtr pwrite(int fd, byte* buf, UIntPtr count, long offset);

        [DllImport(Lib, SetLastError = true)]
        public static extern IntPtr pread(int fd, byte* buf, UIntPtr count, long offset);
    }
}
