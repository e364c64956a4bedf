using System;
using System.IO;

namespace QmailPS.Posix
{
    /// <summary>The errno values the queue code acts on (identical on Linux x86_64 and arm64).</summary>
    internal static class Errno
    {
        public const int EPERM = 1, ENOENT = 2, EINTR = 4, EIO = 5, EBADF = 9, EAGAIN = 11, ENOMEM = 12, EACCES = 13,
            EEXIST = 17, EXDEV = 18, ENOTDIR = 20, EISDIR = 21, EINVAL = 22, ENFILE = 23, EMFILE = 24,
            EFBIG = 27, ENOSPC = 28, EROFS = 30, EMLINK = 31, ENAMETOOLONG = 36, ELOOP = 40, ENXIO = 6, ESRCH = 3, EWOULDBLOCK = 11, EBUSY = 16;

        /// <summary>qmail's own wording (error_str.c) for the common cases, so messages match qmail-qread's.</summary>
        public static string QmailText(int errno) => errno switch
        {
            ENOENT => "file does not exist",
            EACCES => "access denied",
            EPERM => "permission denied",
            ENOTDIR => "not a directory",
            EISDIR => "is a directory",
            ELOOP => "symbolic link loop",
            EIO => "input/output error",
            ENOMEM => "out of memory",
            ENOSPC => "out of disk space",
            ENAMETOOLONG => "file name too long",
            EMFILE => "out of file descriptors",
            ENFILE => "out of file descriptors",
            EROFS => "read-only file system",
            EEXIST => "file already exists",
            EXDEV => "cross-device link",
            EFBIG => $"over {DirectoryHandle.LargestEnvelope >> 20} MiB, more than any envelope holds: not read",
            _ => "error " + errno,
        };

        public static IOException ToException(int errno, string operation, string path)
        {
            string text = $"{operation} {path}: {QmailText(errno)} (errno {errno})";
            return errno switch
            {
                ENOENT => new FileNotFoundException(text, path),
                ENOTDIR => new DirectoryNotFoundException(text),
                _ => new PosixIOException(text, errno),
            };
        }
    }

    /// <summary>An IOException that keeps the errno, so callers can map it to an ErrorCategory.</summary>
    internal sealed class PosixIOException : IOException
    {
        public PosixIOException(string message, int errno) : base(message) { Errno = errno; }
        public int Errno { get; }
    }
}
