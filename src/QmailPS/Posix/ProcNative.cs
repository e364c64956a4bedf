using System;
using System.Runtime.InteropServices;
using System.Text;

namespace QmailPS.Posix
{
    /// <summary>
    /// The libc calls the process cmdlets need and neither Mono.Posix nor Libc.cs offers in the form
    /// wanted: readlink (for /proc/PID/exe and /proc/PID/fd/N), sysconf(_SC_CLK_TCK), and pidfds
    /// (pidfd_open and pidfd_send_signal, Linux 5.1/5.3) through syscall(2), so that they work with
    /// any glibc or musl, including those older than glibc 2.36's wrappers.
    /// Only scalar/pointer arguments. The syscall numbers 424 and 434 are the same on every
    /// architecture Linux added them to after the 5.1 unification (x86_64, arm64, arm, x86, riscv…).
    /// </summary>
    internal static unsafe class ProcNative
    {
        private const string Lib = "libc";
        private const long SYS_pidfd_send_signal = 424;
        private const long SYS_pidfd_open = 434;
        private const int _SC_CLK_TCK = 2;
        public const int ENOSYS = 38;
        public const int SIGKILL = 9, SIGTERM = 15;

        [DllImport(Lib, EntryPoint = "readlink", SetLastError = true)]
        private static extern IntPtr readlink(byte* path, byte* buf, UIntPtr size);

        [DllImport(Lib, EntryPoint = "sysconf", SetLastError = true)]
        private static extern long sysconf(int name);

        // long syscall(long number, ...): on x86_64 and arm64 Linux the variadic integer arguments
        // travel in the same registers as fixed ones, so a fixed signature is a faithful call.
        [DllImport(Lib, EntryPoint = "syscall", SetLastError = true)]
        private static extern long syscall4(long number, long a1, long a2, long a3, long a4);

        /// <summary>The link's target, or null with errno (ENOENT: gone; EACCES: not ours to read).</summary>
        public static string? ReadLink(string path, out int errno)
        {
            byte[] p = Libc.PathBytes(path);
            int size = 256;
            while (true)
            {
                byte[] buf = new byte[size];
                long n;
                fixed (byte* pp = p)
                fixed (byte* bp = buf)
                {
                    n = (long)readlink(pp, bp, (UIntPtr)size);
                }
                if (n < 0) { errno = Libc.LastErrno; return null; }
                if (n < size) { errno = 0; return Encoding.UTF8.GetString(buf, 0, (int)n); }
                if (size >= 1 << 16) { errno = Errno.ENAMETOOLONG; return null; }
                size *= 4;
            }
        }

        /// <summary>Clock ticks per second of /proc/PID/stat times (USER_HZ: 100 on every Linux the module runs on).</summary>
        public static long ClockTicksPerSecond()
        {
            try
            {
                long v = sysconf(_SC_CLK_TCK);
                return v > 0 ? v : 100;
            }
            catch (EntryPointNotFoundException) { return 100; }
            catch (DllNotFoundException) { return 100; }
        }

        /// <summary>
        /// A pidfd for the process now holding <paramref name="pid"/> (close-on-exec), or -1 with
        /// errno: ESRCH when there is none, ENOSYS/EPERM when the kernel or a seccomp filter has no pidfds.
        /// </summary>
        public static int PidFdOpen(int pid, out int errno)
        {
            try
            {
                long fd = syscall4(SYS_pidfd_open, pid, 0, 0, 0);
                errno = fd < 0 ? Libc.LastErrno : 0;
                return fd < 0 ? -1 : (int)fd;
            }
            catch (EntryPointNotFoundException) { errno = ENOSYS; return -1; }
        }

        /// <summary>Signals exactly the process a pidfd refers to (never a later holder of its pid). 0 or errno (ESRCH: it has exited).</summary>
        public static int PidFdSendSignal(int pidfd, int signal)
        {
            long rc = syscall4(SYS_pidfd_send_signal, pidfd, signal, 0, 0);
            return rc == 0 ? 0 : Libc.LastErrno;
        }

        public static void Close(int fd)
        {
            if (fd >= 0) Libc.close(fd);
        }
    }
}
