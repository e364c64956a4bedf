using System;
using System.IO;

namespace QmailPS.Posix
{
    /// <summary>"Not a regular file" for a file the user named (the open worked, the type is wrong).</summary>
    internal sealed class NotRegularFileException : IOException
    {
        public NotRegularFileException(string path, FileKind kind)
            : base($"'{path}' is a {Describe(kind)}, not a regular file; QmailPS neither reads nor changes it.") { Path = path; Kind = kind; }

        public string Path { get; }
        public FileKind Kind { get; }

        private static string Describe(FileKind k) => k switch
        {
            FileKind.Directory => "directory",
            FileKind.Fifo => "FIFO (named pipe)",
            FileKind.Socket => "socket",
            FileKind.CharDevice => "character device",
            FileKind.BlockDevice => "block device",
            _ => "special file",
        };
    }

    /// <summary>Files named by the user (not queue files): read as given, symlinks included, but never blocking.</summary>
    internal static unsafe class UserFile
    {
        /// <summary>
        /// The bytes of a regular file. File.ReadAllBytes would block for ever on a FIFO without a
        /// writer (and read a device until memory runs out), so the file is opened O_NONBLOCK and
        /// its type checked on the open descriptor before anything is read.
        /// </summary>
        public static byte[] ReadRegular(string path, long maxBytes = int.MaxValue - 64)
        {
            byte[] p = Libc.PathBytes(path);
            int fd;
            fixed (byte* pp = p) fd = Libc.open(pp, Libc.O_RDONLY | Libc.O_CLOEXEC | Libc.O_NONBLOCK, 0);
            if (fd < 0) throw Errno.ToException(Libc.LastErrno, "open", path);
            try
            {
                if (!TryFstat(fd, path, out FileStatus st, out int errno)) throw Errno.ToException(errno, "fstat", path);
                if (st.Kind != FileKind.Regular) throw new NotRegularFileException(path, st.Kind);
                // The limit File.ReadAllBytes has too: one .NET array.
                if (st.Size > maxBytes) throw TooLarge(path, maxBytes);
                using var result = new MemoryStream((int)st.Size);
                var buffer = new byte[1 << 16];
                while (true)
                {
                    long n;
                    fixed (byte* b = buffer) n = (long)Libc.read(fd, b, (UIntPtr)buffer.Length);
                    if (n < 0)
                    {
                        int e = Libc.LastErrno;
                        if (e == Errno.EINTR) continue;
                        throw Errno.ToException(e, "read", path);
                    }
                    if (n == 0) break;
                    if (result.Length + n > maxBytes) throw TooLarge(path, maxBytes);
                    result.Write(buffer, 0, (int)n);
                }
                return result.ToArray();
            }
            finally { Libc.close(fd); }
        }

        /// <summary>
        /// fstat through libc's statx, never through a Mono.Posix type: this runs before anything has
        /// registered the resolver that loads Mono.Posix (a control file read first), and a failed
        /// load would surface as FileNotFoundException, i.e. "no such control file".
        /// </summary>
        private static bool TryFstat(int fd, string path, out FileStatus st, out int errno)
        {
            byte* empty = stackalloc byte[1];
            empty[0] = 0;
            try
            {
                Libc.StatxBuffer buf;
                if (Libc.statx(fd, empty, Libc.AT_EMPTY_PATH, Libc.STATX_BASIC_STATS, &buf) == 0) { st = buf.ToStatus(); errno = 0; return true; }
                errno = Libc.LastErrno; st = default; return false;
            }
            catch (EntryPointNotFoundException)
            {
                // glibc < 2.28: the path through IFileSystem (lstat; the open above already followed any link
                // the user named, so a link here is refused as not regular, never read through).
                NativeDependencies.Register();
                return LinuxFileSystem.Fstat(fd, out st, out errno);
            }
        }

        private static PosixIOException TooLarge(string path, long max) =>
            new PosixIOException(max >= int.MaxValue - 64 ? $"read {path}: larger than 2 GiB, more than one .NET array holds"
                : $"read {path}: larger than {max >> 20} MiB, more than this file ever holds; not read", Errno.EFBIG);
    }
}
