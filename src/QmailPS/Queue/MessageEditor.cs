using System;
using System.Collections.Generic;
using System.IO;
using QmailPS.Posix;

namespace QmailPS.Queue
{
    /// <summary>The file system cannot store the time asked for (it clamped it); the old times were put back.</summary>
    public sealed class TimeNotStorableException : IOException
    {
        internal TimeNotStorableException(string path, DateTime wanted, DateTime stored)
            : base($"The file system of {path} cannot store {wanted.ToUniversalTime():yyyy-MM-dd HH:mm:ss}Z (it would keep {stored:yyyy-MM-dd HH:mm:ss}Z instead); nothing was changed.")
        { Path = path; Wanted = wanted; }

        public string Path { get; }
        public DateTime Wanted { get; }
    }

    /// <summary>
    /// Changes to one message, with qmail's semantics (queue-format.md §2.4, §2.5, §3.3). Every
    /// method works on canonical paths only and never follows a symlink.
    /// </summary>
    public sealed class MessageEditor
    {
        /// <summary>The safe order of §3.3: no state in between is one qmail would misread.</summary>
        public static readonly string[] RemovalOrder = { "bounce", "todo", "intd", "local", "remote", "info", "mess" };

        private readonly IPosix _posix;

        public MessageEditor(QueueLayout layout) : this(layout, PosixApi.Current) { }

        internal MessageEditor(QueueLayout layout, IPosix posix) { Layout = layout; _posix = posix; }

        public QueueLayout Layout { get; }

        /// <summary>Unlinks every file of the message in the safe order; returns the paths removed.</summary>
        public List<string> Remove(ulong id)
        {
            var removed = new List<string>();
            foreach (string dir in RemovalOrder)
            {
                // todo and intd also where the other todo layout keeps them (a queue between layouts
                // lists such a message too); a directory there is big-todo's todo/N, never the message's.
                string[] paths = dir is "todo" or "intd" ? new[] { Layout.PathOf(dir, id), Layout.OtherLayoutPath(dir, id) } : new[] { Layout.PathOf(dir, id) };
                foreach (string path in paths)
                {
                    if (!_posix.TryLstat(path, out FileStatus st, out _) || st.Kind == FileKind.Directory) continue;
                    try { _posix.Unlink(path); removed.Add(path); }
                    catch (FileNotFoundException) { }
                }
            }
            return removed;
        }

        /// <summary>
        /// The live-safe removal: every pending (T) record of local/ and remote/ becomes D in place,
        /// the one edit with qmail's own semantics (markdone), and bounce/ID goes so no bounce is
        /// sent. qmail-send then finishes the message at its next attempt on each channel.
        /// Returns the number of records marked.
        /// </summary>
        public int MarkAllDone(ulong id)
        {
            int marked = 0;
            foreach (string dir in new[] { "local", "remote" })
            {
                string path = Layout.PathOf(dir, id);
                byte[] data;
                if (!_posix.TryLstat(path, out FileStatus st, out _)) continue;
                if (st.Kind != FileKind.Regular) throw new IOException($"{path} is not a regular file; not touching it.");
                data = DirectoryHandle.ReadFile(path);
                foreach (QueueRecord r in QueueRecords.Parse(data, data.Length, "TD").Records)
                {
                    if (r.Type != 'T') continue;
                    _posix.WriteByteAt(path, r.Offset, (byte)'D');
                    marked++;
                }
            }
            try { _posix.Unlink(Layout.PathOf("bounce", id)); }
            catch (FileNotFoundException) { }
            return marked;
        }

        /// <summary>Sets the birth (info mtime) qmail-send uses for retries and queuelifetime.</summary>
        public void SetBirth(ulong id, DateTime birthUtc)
        {
            string info = Layout.PathOf("info", id);
            RequireRegular(info);
            SetTimesExactly(new[] { info }, birthUtc);
        }

        /// <summary>Sets the next attempt of each channel file (read by qmail-send when it starts); returns the files changed.</summary>
        public List<string> SetNextAttempt(ulong id, DateTime whenUtc)
        {
            var changed = new List<string>();
            foreach (string dir in new[] { "local", "remote" })
            {
                string path = Layout.PathOf(dir, id);
                if (!_posix.TryLstat(path, out FileStatus st, out _)) continue;
                if (st.Kind != FileKind.Regular) throw new IOException($"{path} is not a regular file; not touching it.");
                changed.Add(path);
            }
            SetTimesExactly(changed, whenUtc);
            return changed;
        }

        /// <summary>
        /// Sets atime and mtime of each file to the second of <paramref name="whenUtc"/>, or none of
        /// them: a file system clamps a time outside its range (ext4: 1901-12-13 to 2446-05-10)
        /// without an error, which would leave a birth or next attempt other than the one asked for.
        /// Each file is read back; on a mismatch every file already set gets its old times again.
        /// </summary>
        private void SetTimesExactly(IReadOnlyList<string> paths, DateTime whenUtc)
        {
            long t = UnixTime.ToSeconds(whenUtc);
            var done = new List<(string Path, FileStatus Before)>();
            try
            {
                foreach (string path in paths)
                {
                    if (!_posix.TryLstat(path, out FileStatus before, out int errno)) throw Errno.ToException(errno, "stat", path);
                    _posix.SetTimes(path, t, t);
                    done.Add((path, before));
                    if (!_posix.TryLstat(path, out FileStatus after, out errno)) throw Errno.ToException(errno, "stat", path);
                    if (after.MTimeSeconds != t)
                        throw new TimeNotStorableException(path, whenUtc, UnixTime.ToUtc(after.MTimeSeconds));
                }
            }
            catch (TimeNotStorableException)
            {
                foreach (var (path, before) in done)
                    _posix.RestoreTimes(path, before.ATimeSeconds, before.MTimeSeconds, before.MTimeNanoseconds);
                throw;
            }
        }

        private void RequireRegular(string path)
        {
            if (!_posix.TryLstat(path, out FileStatus st, out int errno)) throw Errno.ToException(errno, "stat", path);
            if (st.Kind != FileKind.Regular) throw new IOException($"{path} is not a regular file; not touching it.");
        }
    }
}
