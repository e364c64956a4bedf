using System;
using System.Diagnostics;
using System.IO;
using System.Threading;
using QmailPS.Posix;

namespace QmailPS.TcpTo
{
    /// <summary>Why lock/tcpto could not be used; the cmdlets turn each kind into its own ErrorId.</summary>
    internal enum TcpToFailure { NotFound, NotRegular, AccessDenied, Locked, IO }

    internal sealed class TcpToException : IOException
    {
        public TcpToException(TcpToFailure kind, string path, int errno, string message) : base(message)
        {
            Kind = kind; Path = path; ErrorNumber = errno;
        }

        public TcpToFailure Kind { get; }
        public string Path { get; }
        public int ErrorNumber { get; }
    }

    /// <summary>
    /// lock/tcpto opened and flock'ed the way qmail's own tools do it (tcpto.c, qmail-tcpto.c,
    /// qmail-tcpok.c; queue-format.md §5.2–5.4, §7): flock — never fcntl/lockf, which do not see
    /// flock locks on Linux — exclusive on a descriptor open for writing. Only when the file cannot
    /// be opened for writing (not root, not qmailr) and only for reading: a shared lock on a read
    /// descriptor, which still waits for qmail-remote's exclusive lock.
    ///
    /// The final path component is never followed (O_NOFOLLOW) and anything but a regular file is
    /// refused, so a symlink planted in queue/lock cannot redirect a write. The lock is released
    /// and the descriptor closed on Dispose.
    /// </summary>
    internal sealed class TcpToFile : IDisposable
    {
        private readonly IFileSystem _fs;
        private int _fd;

        private TcpToFile(IFileSystem fs, int fd, string path, bool writable)
        {
            _fs = fs; _fd = fd; Path = path; Writable = writable;
        }

        public string Path { get; }
        /// <summary>Open read-write (exclusive lock) rather than read-only (shared lock).</summary>
        public bool Writable { get; }
        public bool Locked { get; private set; }
        /// <summary>How long the lock took (0 when it was free).</summary>
        public TimeSpan LockWait { get; private set; }
        /// <summary>Why the file was opened read-only, when it was.</summary>
        public string? ReadOnlyReason { get; private set; }
        public ulong Inode { get; private set; }

        /// <summary>
        /// Opens the file. <paramref name="requireWrite"/>: fail unless it can be opened for
        /// writing (clearing); otherwise fall back to read-only on EACCES/EPERM/EROFS.
        /// </summary>
        public static TcpToFile Open(IFileSystem fs, string path, bool requireWrite)
        {
            // Through the seam: O_NOFOLLOW | O_NONBLOCK (a FIFO put in its place must not hang the open),
            // no symlinked lock/ on the way, and for writing a regular file with one link — a hard link
            // to a file outside the queue is never zeroed.
            int fd;
            int errno;
            try { fd = fs.OpenExisting(path, write: true, out errno); }
            catch (SharedInodeException e) { throw new TcpToException(TcpToFailure.NotRegular, path, Errno.EMLINK, e.Message + " It was not touched."); }
            catch (OutsideQueueException e) when (requireWrite) { throw new TcpToException(TcpToFailure.AccessDenied, path, Errno.EPERM, e.Message); }
            catch (OutsideQueueException) { fd = -1; errno = Errno.EPERM; }
            bool writable = fd >= 0;
            string? reason = null;
            if (fd < 0 && !requireWrite && (errno == Errno.EACCES || errno == Errno.EPERM || errno == Errno.EROFS))
            {
                reason = Errno.QmailText(errno);
                fd = fs.OpenExisting(path, write: false, out errno);
            }
            if (fd < 0) throw OpenFailure(fs, path, errno);

            var f = new TcpToFile(fs, fd, path, writable) { ReadOnlyReason = reason };
            try
            {
                FileStatus st = f.Stat();
                if (st.Kind != FileKind.Regular)
                    throw new TcpToException(TcpToFailure.NotRegular, path, 0, $"{path} is a {FileStatus.Describe(st.Kind)}, not a regular file; qmail's lock/tcpto is a 1024-byte regular file. It was not touched.");
                f.Inode = st.Inode;
                return f;
            }
            catch
            {
                f.Dispose();
                throw;
            }
        }

        private static TcpToException OpenFailure(IFileSystem fs, string path, int errno)
        {
            string text = $"unable to open tcpto: {Errno.QmailText(errno)} ({path})";
            switch (errno)
            {
                case Errno.ENOENT:
                    return new TcpToException(TcpToFailure.NotFound, path, errno, text);
                case Errno.ELOOP:
                    // O_NOFOLLOW on a symlink. (An ELOOP from a loop in a parent directory is reported the same way.)
                    if (fs.TryLstat(path, out FileStatus st, out _) && st.Kind == FileKind.Symlink)
                        return new TcpToException(TcpToFailure.NotRegular, path, errno, $"{path} is a symbolic link; QmailPS never follows one at lock/tcpto (qmail's file is a regular file). It was not touched.");
                    return new TcpToException(TcpToFailure.IO, path, errno, text);
                case DirectoryHandle.NotRegular:
                    return new TcpToException(TcpToFailure.NotRegular, path, errno, fs.TryLstat(path, out FileStatus nr, out _)
                        ? $"{path} is a {FileStatus.Describe(nr.Kind)}, not a regular file; qmail's lock/tcpto is a 1024-byte regular file. It was not touched."
                        : $"{path} is not a regular file. It was not touched.");
                case Errno.EISDIR:
                    return new TcpToException(TcpToFailure.NotRegular, path, errno, $"{path} is a directory, not a regular file.");
                case Errno.EACCES:
                case Errno.EPERM:
                case Errno.EROFS:
                    return new TcpToException(TcpToFailure.AccessDenied, path, errno, text);
                default:
                    return new TcpToException(TcpToFailure.IO, path, errno, text);
            }
        }

        private FileStatus Stat()
        {
            if (_fs.TryFstat(_fd, out FileStatus st, out int e)) return st;
            throw new TcpToException(TcpToFailure.IO, Path, e, $"unable to stat tcpto: {Errno.QmailText(e)} ({Path})");
        }

        /// <summary>
        /// Takes the lock: exclusive when open for writing, shared otherwise. Polls with LOCK_NB
        /// (every 20–100 ms) so that Ctrl+C (<paramref name="cancel"/>) is honoured at once and a
        /// lock held for longer than <paramref name="timeout"/> — qmail-remote holds it for
        /// milliseconds — becomes an error instead of a hang.
        /// </summary>
        public void Lock(TimeSpan timeout, CancellationToken cancel)
        {
            int op = (Writable ? Libc.LOCK_EX : Libc.LOCK_SH) | Libc.LOCK_NB;
            var clock = Stopwatch.StartNew();
            int delay = 20;
            while (true)
            {
                cancel.ThrowIfCancellationRequested();
                int e = _fs.Flock(_fd, op);
                if (e == 0)
                {
                    Locked = true;
                    LockWait = clock.Elapsed;
                    return;
                }
                if (e == Errno.EINTR) continue;
                if (e != Errno.EWOULDBLOCK)
                    throw new TcpToException(TcpToFailure.IO, Path, e, $"unable to lock tcpto: {Errno.QmailText(e)} ({Path})");
                TimeSpan left = timeout - clock.Elapsed;
                if (left <= TimeSpan.Zero)
                    throw new TcpToException(TcpToFailure.Locked, Path, e,
                        $"unable to lock tcpto: another process has held the {(Writable ? "" : "exclusive ")}lock on {Path} for more than {timeout.TotalSeconds:0.###} s.");
                int wait = (int)Math.Min(delay, Math.Ceiling(left.TotalMilliseconds));
                if (cancel.WaitHandle.WaitOne(wait)) cancel.ThrowIfCancellationRequested();
                delay = Math.Min(delay * 2, 100);
            }
        }

        /// <summary>
        /// Reads up to <paramref name="max"/> bytes from offset 0, like qmail's read into its
        /// fixed buffer: the file's size is never trusted, and bytes beyond the buffer are never read.
        /// </summary>
        public byte[] Read(int max, out int length)
        {
            var buf = new byte[max];
            int total = 0;
            while (total < max)
            {
                long got = _fs.ReadAt(_fd, buf, total, max - total, total, out int e);
                if (got < 0)
                {
                    if (e == Errno.EINTR) continue;
                    throw new TcpToException(TcpToFailure.IO, Path, e, $"unable to read tcpto: {Errno.QmailText(e)} ({Path})");
                }
                if (got == 0) break;
                total += (int)got;
            }
            length = total;
            return buf;
        }

        /// <summary>Writes <paramref name="data"/> at <paramref name="offset"/> (never truncates; may extend).</summary>
        public void WriteAt(long offset, byte[] data)
        {
            if (!Writable) throw new InvalidOperationException("tcpto was opened read-only.");
            if (!Locked) throw new InvalidOperationException("tcpto must be locked before it is written.");
            try { _fs.WriteAt(_fd, Path, offset, data); }
            catch (PosixIOException e) { throw new TcpToException(TcpToFailure.IO, Path, e.Errno, $"unable to write tcpto: {Errno.QmailText(e.Errno)} ({Path})"); }
        }

        public void Dispose()
        {
            if (_fd < 0) return;
            // close() drops the flock too; unlocking first keeps the order obvious.
            if (Locked) _fs.Flock(_fd, Libc.LOCK_UN);
            _fs.Close(_fd);
            _fd = -1;
            Locked = false;
        }
    }
}
