using System;
using System.Globalization;
using System.IO;
using QmailPS.Posix;

namespace QmailPS.Queue
{
    /// <summary>Whether qmail-send runs on a queue, and how that was found out.</summary>
    public sealed class SendMutexState
    {
        internal SendMutexState(bool running, int? pid, string how) { IsRunning = running; ProcessId = pid; Method = how; }
        public bool IsRunning { get; }
        /// <summary>qmail-send's pid when /proc/locks names it.</summary>
        public int? ProcessId { get; }
        public string Method { get; }
    }

    /// <summary>
    /// lock/sendmutex (queue-format.md §7): a running qmail-send holds flock(LOCK_EX) on it for its
    /// whole life. /proc/locks names the holder without touching the file; a non-blocking flock
    /// probe is the fallback. FileStream.Lock is not used: it takes fcntl locks, which do not see flock.
    /// </summary>
    public static class SendLock
    {
        public static string PathOf(QueueLayout layout) => layout.Dir("lock") + "/sendmutex";

        public static SendMutexState Probe(QueueLayout layout)
        {
            string path = PathOf(layout);
            if (!layout.Fs.TryLstat(path, out FileStatus st, out int errno))
                return new SendMutexState(false, null, $"lock/sendmutex is missing ({Errno.QmailText(errno)}): qmail-send cannot be running on this queue");
            int? holder = FromProcLocks(st);
            if (holder.HasValue)
                return new SendMutexState(true, holder, $"/proc/locks: process {holder} holds flock on lock/sendmutex");
            if (File.Exists("/proc/locks") && st.Kind == FileKind.Regular)
            {
                // /proc/locks lists every flock on the system; no line for the file means nobody holds one.
                // A build without flock (lockf) would show POSIX lines, which FromProcLocks also matches.
                return new SendMutexState(false, null, "/proc/locks: no lock on lock/sendmutex");
            }
            return ProbeByFlock(layout.Fs, path);
        }

        /// <summary>Reads /proc/locks for a FLOCK or POSIX WRITE lock on the file's device and inode.</summary>
        internal static int? FromProcLocks(FileStatus st)
        {
            string[] lines;
            try { lines = File.ReadAllLines("/proc/locks"); }
            catch (IOException) { return null; }
            catch (UnauthorizedAccessException) { return null; }
            foreach (string line in lines)
            {
                int? pid = ParseProcLocksLine(line, st.Inode, (uint)(st.Device >> 32), (uint)(st.Device & 0xFFFFFFFF));
                if (pid.HasValue) return pid;
            }
            return null;
        }

        /// <summary>"1: FLOCK  ADVISORY  WRITE 11083 fe:00:11657315 0 EOF" (device in hex, inode in decimal).</summary>
        internal static int? ParseProcLocksLine(string line, ulong inode, uint devMajor, uint devMinor)
        {
            string[] f = line.Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries);
            // Blocked waiters are printed as "1: -> FLOCK ..."; they do not hold the lock.
            if (f.Length < 6 || f[1] == "->") return null;
            if (f[1] != "FLOCK" && f[1] != "POSIX") return null;
            if (f[3] != "WRITE") return null;
            string[] id = f[5].Split(':');
            if (id.Length != 3) return null;
            if (!ulong.TryParse(id[2], NumberStyles.None, CultureInfo.InvariantCulture, out ulong ino) || ino != inode) return null;
            if (!uint.TryParse(id[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out uint maj) || maj != devMajor) return null;
            if (!uint.TryParse(id[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out uint min) || min != devMinor) return null;
            return int.TryParse(f[4], NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && pid > 0 ? pid : (int?)null;
        }

        private static SendMutexState ProbeByFlock(IFileSystem fs, string path)
        {
            int fd = fs.OpenExisting(path, write: false, out int errno);
            if (fd < 0) return new SendMutexState(false, null, $"cannot open lock/sendmutex to probe it ({Errno.QmailText(errno)}); assuming qmail-send is not running");
            try
            {
                int e = fs.Flock(fd, Libc.LOCK_EX | Libc.LOCK_NB);
                if (e == 0)
                {
                    fs.Flock(fd, Libc.LOCK_UN);
                    return new SendMutexState(false, null, "flock probe: lock/sendmutex is free");
                }
                return e == Errno.EWOULDBLOCK
                    ? new SendMutexState(true, null, "flock probe: lock/sendmutex is held")
                    : new SendMutexState(false, null, $"flock probe failed ({Errno.QmailText(e)})");
            }
            finally { fs.Close(fd); }
        }

        /// <summary>
        /// Holds lock/sendmutex for the life of the returned object, so that qmail-send cannot start
        /// while the queue is being changed (a starting qmail-send then exits "already running" and
        /// supervise retries it). Null when the lock is held by someone else.
        /// </summary>
        public static IDisposable? TryHold(QueueLayout layout)
        {
            int fd = layout.Fs.OpenExisting(PathOf(layout), write: false, out _);
            if (fd < 0) return null;
            if (layout.Fs.Flock(fd, Libc.LOCK_EX | Libc.LOCK_NB) != 0) { layout.Fs.Close(fd); return null; }
            return new Held(layout.Fs, fd);
        }

        private sealed class Held : IDisposable
        {
            private readonly IFileSystem _fs;
            private int _fd;
            public Held(IFileSystem fs, int fd) { _fs = fs; _fd = fd; }
            public void Dispose()
            {
                if (_fd < 0) return;
                _fs.Close(_fd); // closing the last descriptor releases the flock
                _fd = -1;
            }
        }
    }
}
