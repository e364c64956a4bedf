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

        private readonly IFileSystem _posix;

        public MessageEditor(QueueLayout layout) : this(layout, layout.Fs) { }

        internal MessageEditor(QueueLayout layout, IFileSystem posix) { Layout = layout; _posix = posix; }

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
            // Both channel files are checked and read before the first D is written: a refusal
            // (a symlink, a FIFO, an unreadable file) must not leave the message half marked.
            var plan = new List<(string Path, List<long> Offsets)>();
            foreach (string dir in new[] { "local", "remote" })
            {
                string path = Layout.PathOf(dir, id);
                if (!_posix.TryLstat(path, out FileStatus st, out _)) continue;
                if (st.Kind != FileKind.Regular) throw new IOException($"{path} is not a regular file; not touching it.");
                byte[] data = _posix.ReadFile(path);
                var offsets = new List<long>();
                // Any whole record not done yet becomes D: qmail-send's pass stops at a record of an
                // unknown type (or an empty one) without reaching the end, so such a message would never
                // be finished. Its first byte turned into 'D' is skipped like a delivered recipient.
                // (Scanned here, not parsed: records of unknown type are not kept by the parser.)
                for (int pos = 0; pos < data.Length;)
                {
                    int nul = Array.IndexOf(data, (byte)0, pos);
                    if (nul < 0) break; // a cut last record: qmail-send never reads it
                    if (data[pos] != 'D') offsets.Add(pos);
                    pos = nul + 1;
                }
                plan.Add((path, offsets));
            }
            int marked = 0;
            foreach (var (path, offsets) in plan)
                foreach (long offset in offsets)
                {
                    _posix.WriteByteAt(path, offset, (byte)'D');
                    marked++;
                }
            try { _posix.Unlink(Layout.PathOf("bounce", id)); }
            catch (FileNotFoundException) { }
            return marked;
        }

        /// <summary>Sets the birth (info mtime) qmail-send uses for retries and queuelifetime.</summary>
        public void SetBirth(ulong id, DateTime birthUtc) => SetAge(id, birthUtc, null);

        /// <summary>
        /// Birth and/or next attempt together: every file is checked before any time is set, so a
        /// channel file that is refused leaves the birth as it was too.
        /// </summary>
        public void SetAge(ulong id, DateTime? birthUtc, DateTime? nextAttemptUtc)
        {
            var plan = new List<(string Path, long Time)>();
            if (birthUtc.HasValue)
            {
                string info = Layout.PathOf("info", id);
                RequireRegular(info);
                plan.Add((info, UnixTime.ToSeconds(birthUtc.Value)));
            }
            if (nextAttemptUtc.HasValue)
                foreach (string path in ChannelFiles(id)) plan.Add((path, UnixTime.ToSeconds(nextAttemptUtc.Value)));
            SetTimesExactly(plan);
        }

        /// <summary>Sets the next attempt of each channel file (read by qmail-send when it starts); returns the files changed.</summary>
        public List<string> SetNextAttempt(ulong id, DateTime whenUtc)
        {
            List<string> changed = ChannelFiles(id);
            long t = UnixTime.ToSeconds(whenUtc);
            SetTimesExactly(changed.ConvertAll(p => (p, t)));
            return changed;
        }

        /// <summary>The message's local/ and remote/ files that exist; anything but a regular file is refused.</summary>
        private List<string> ChannelFiles(ulong id)
        {
            var files = new List<string>();
            foreach (string dir in new[] { "local", "remote" })
            {
                string path = Layout.PathOf(dir, id);
                if (!_posix.TryLstat(path, out FileStatus st, out _)) continue;
                if (st.Kind != FileKind.Regular) throw new IOException($"{path} is not a regular file; not touching it.");
                files.Add(path);
            }
            return files;
        }

        /// <summary>
        /// Sets atime and mtime of each file to its time, or of none of them: a file system clamps a time outside its range (ext4: 1901-12-13 to 2446-05-10)
        /// without an error, which would leave a birth or next attempt other than the one asked for.
        /// Each file is read back; on a mismatch every file already set gets its old times again.
        /// </summary>
        private void SetTimesExactly(List<(string Path, long Time)> plan)
        {
            var done = new List<(string Path, FileStatus Before)>();
            try
            {
                foreach (var (path, t) in plan)
                {
                    if (!_posix.TryLstat(path, out FileStatus before, out int errno)) throw Errno.ToException(errno, "stat", path);
                    _posix.SetTimes(path, t, t, Layout.PairOf(path));
                    done.Add((path, before));
                    if (!_posix.TryLstat(path, out FileStatus after, out errno)) throw Errno.ToException(errno, "stat", path);
                    if (after.MTimeSeconds != t)
                        throw new TimeNotStorableException(path, UnixTime.ToUtc(t), UnixTime.ToUtc(after.MTimeSeconds));
                }
            }
            catch (TimeNotStorableException)
            {
                foreach (var (path, before) in done)
                    _posix.RestoreTimes(path, before.ATimeSeconds, before.MTimeSeconds, before.MTimeNanoseconds, Layout.PairOf(path));
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
