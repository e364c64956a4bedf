using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using QmailPS.Posix;

namespace QmailPS.Queue
{
    /// <summary>
    /// Where a queue is and how it is laid out: the split (conf-split, compiled into qmail, so read
    /// here from where the messages are) and whether todo/ and intd/ are split (big-todo).
    /// Names follow fmtqfn: mess, info, local, remote are always split; todo and intd only with big-todo.
    /// </summary>
    public sealed class QueueLayout
    {
        public const int DefaultSplit = 23;

        /// <summary>Directories qmail's installer creates, in hier.c order.</summary>
        public static readonly string[] SplitDirectories = { "mess", "info", "local", "remote" };
        public static readonly string[] TopDirectories = { "pid", "mess", "intd", "todo", "info", "local", "remote", "bounce", "lock" };

        /// <summary>hier.c: the owner and mode of each queue directory (the group is always qmail).</summary>
        public static (string Owner, uint Mode) DirectoryOwner(string top) => top switch
        {
            "pid" or "intd" => (QmailUsers.Qmailq, Posix.Mode.Rwx______),
            "mess" or "todo" or "lock" or "." => (QmailUsers.Qmailq, Posix.Mode.Rwxr_x___),
            _ => (QmailUsers.Qmails, Posix.Mode.Rwx______), // info, local, remote, bounce
        };

        /// <summary>§1.3: the owner and mode qmail gives each kind of message file.</summary>
        public static (string Owner, uint Mode) FileOwner(string top) => top switch
        {
            "mess" or "todo" or "intd" or "pid" => (QmailUsers.Qmailq, Posix.Mode.Rw_r__r__),
            _ => (QmailUsers.Qmails, Posix.Mode.Rw_______), // info, local, remote, bounce
        };

        /// <summary>A layout with a file system of its own, trusting only <paramref name="root"/>.</summary>
        public QueueLayout(string root, int split, bool bigTodo) : this(root, split, bigTodo, new LinuxFileSystem()) { }

        /// <summary>A layout whose reads and writes go through <paramref name="fs"/>, which is made to trust the root.</summary>
        internal QueueLayout(string root, int split, bool bigTodo, IFileSystem fs)
        {
            if (split < 1) throw new ArgumentOutOfRangeException(nameof(split), "The split must be at least 1.");
            Root = Path.GetFullPath(root).TrimEnd('/');
            if (Root.Length == 0) Root = "/";
            Split = split;
            BigTodo = bigTodo;
            Fs = fs;
            if (!fs.IsTrusted(Root))
            {
                try { fs.Trust(Root); }
                catch (IOException) { } // not there (yet): every change beneath it is refused
            }
        }

        /// <summary>The file-system seam every reader and writer of this queue uses.</summary>
        internal IFileSystem Fs { get; }

        public string Root { get; }
        public int Split { get; }
        public bool BigTodo { get; }

        public int SplitOf(ulong id) => (int)(id % (ulong)Split);

        public string Dir(string name) => Root + "/" + name;

        /// <summary>dir/N for a split directory, or dir itself for todo/intd without big-todo and bounce.</summary>
        public string DirFor(string name, ulong id) => IsSplit(name) ? SplitDir(name, SplitOf(id)) : Dir(name);

        public string SplitDir(string name, int n) => Root + "/" + name + "/" + n.ToString(CultureInfo.InvariantCulture);

        public bool IsSplit(string name) => name switch
        {
            "mess" or "info" or "local" or "remote" => true,
            "todo" or "intd" => BigTodo,
            _ => false,
        };

        /// <summary>fmtqfn: the canonical path of a message's file in one of the queue directories.</summary>
        public string PathOf(string name, ulong id) => DirFor(name, id) + "/" + id.ToString(CultureInfo.InvariantCulture);

        /// <summary>
        /// <see cref="PathOf"/> relative to the queue (info/N/ID), the name findings and messages
        /// give a file. A scan names three or four files of every message: the directory part is
        /// made once per directory, and <paramref name="idText"/> (the id in decimal, when the
        /// caller has it) saves formatting the id again, so each name costs one string.
        /// </summary>
        public string RelOf(string name, ulong id, string? idText = null)
        {
            idText ??= id.ToString(CultureInfo.InvariantCulture);
            int k = Array.IndexOf(SplitDirectories, name);
            if (k < 0 && IsSplit(name)) k = name == "todo" ? 4 : 5; // big-todo's todo/N and intd/N
            if (k < 0) return name + "/" + idText;
            string?[] row = _prefixes[k] ??= new string?[Split];
            int n = SplitOf(id);
            // A race makes the same string twice; either copy is right.
            string prefix = row[n] ??= name + "/" + n.ToString(CultureInfo.InvariantCulture) + "/";
            return prefix + idText;
        }

        /// <summary><see cref="RelOf"/>'s "dir/N/" per split directory (mess, info, local, remote, then todo and intd with big-todo), made when first asked for.</summary>
        private readonly string?[]?[] _prefixes = new string?[]?[SplitDirectories.Length + 2];

        /// <summary>
        /// The other name qmail-queue gives the same inode: intd/ID for todo/ID and the reverse (it
        /// links one to the other), so a link count of 2 there is qmail's own; null for any other file.
        /// </summary>
        public string? PairOf(string path)
        {
            string name = Path.GetFileName(path);
            if (!ulong.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out ulong id)) return null;
            if (path == PathOf("todo", id)) return PathOf("intd", id);
            if (path == PathOf("intd", id)) return PathOf("todo", id);
            return null;
        }

        /// <summary>
        /// Where todo/ID or intd/ID is in the other todo layout (todo/ID with big-todo, todo/N/ID
        /// without): a file there is one that binaries built for this layout never see.
        /// </summary>
        public string OtherLayoutPath(string name, ulong id) =>
            (BigTodo ? Dir(name) : SplitDir(name, SplitOf(id))) + "/" + id.ToString(CultureInfo.InvariantCulture);

        /// <summary>qmail's control directory, next to the queue (&lt;home&gt;/control).</summary>
        public string ControlDirectory => Path.Combine(Path.GetDirectoryName(Root) ?? "/", "control");

        /// <summary>
        /// Reads the layout from a queue on disk. The split is one more than the highest numbered
        /// subdirectory found in mess/, info/, local/ or remote/ (so one missing directory does not
        /// change it); big-todo is "todo/0 is a directory", the test qmHandle and qmqtool use.
        /// Throws <see cref="NotAQueueException"/> when the path is not a qmail queue.
        /// </summary>
        public static QueueLayout Detect(string root, int? split = null, bool? bigTodo = null) => Detect(new LinuxFileSystem(), root, split, bigTodo);

        internal static QueueLayout Detect(IFileSystem fs, string root, int? split = null, bool? bigTodo = null)
        {
            string full = Path.GetFullPath(root);
            if (full.Length > 1) full = full.TrimEnd('/');
            if (!fs.TryLstat(full, out FileStatus st, out int errno))
            {
                if (errno == Errno.ENOENT || errno == Errno.ENOTDIR) throw new NotAQueueException(full, "it does not exist");
                throw new QueueAccessException(full, errno);
            }
            if (st.Kind == FileKind.Symlink)
            {
                // Follow a symlinked queue root only to its target (a common /var/qmail/queue -> /data setup).
                string? target = ResolveLink(fs, full);
                if (target is null) throw new NotAQueueException(full, "it is a dangling symbolic link");
                return Detect(fs, target, split, bigTodo);
            }
            if (st.Kind != FileKind.Directory) throw new NotAQueueException(full, "it is not a directory");

            try { fs.Trust(full, followLink: false); }
            catch (PosixIOException e) { throw new QueueAccessException(full, e.Errno); }
            var top = fs.TryList(full, new List<DirEntry>(), out errno);
            if (top is null) throw new QueueAccessException(full, errno);
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var e in top) names.Add(e.Name);
            if (!names.Contains("mess") || !(names.Contains("info") || names.Contains("todo")))
            {
                // The qmail home (/var/qmail) given for its queue: say so.
                string inner = full.TrimEnd('/') + "/queue";
                if (names.Contains("queue") && LooksLikeQueue(fs, inner))
                    throw new NotAQueueException(full, $"it has no mess/ and info/ or todo/ directory; did you mean {inner}", inner);
                throw new NotAQueueException(full, "it has no mess/ and info/ or todo/ directory");
            }

            // The split is conf-split, compiled into qmail: each split directory suggests one more than
            // its highest numbered subdirectory. When they all agree, that is it. When they do not
            // (empty info/29 local/29 remote/29 made by hand or by a tool), the candidate that puts
            // the most messages where fmtqfn looks for them (mess and info at id % split) wins: empty
            // directories never decide where qmail looks, the messages do.
            var candidates = new SortedSet<int>();
            var votes = new Dictionary<int, int>(); // how many split directories suggest each candidate
            foreach (string d in SplitDirectories)
            {
                var sub = fs.TryList(full + "/" + d, new List<DirEntry>(), out errno);
                if (sub is null)
                {
                    if (errno == Errno.EACCES || errno == Errno.EPERM) throw new QueueAccessException(full + "/" + d, errno);
                    continue;
                }
                // Both one more than the highest number and the length of the run 0, 1, 2, … : they
                // differ when a directory is missing or one beyond the split was made.
                var present = new HashSet<int>();
                foreach (var e in sub)
                    if (e.IsCanonical && e.Id < 100000 && (e.Kind == FileKind.Directory || e.Kind == FileKind.Unknown))
                        present.Add((int)e.Id);
                if (present.Count == 0) continue;
                int run = 0;
                while (present.Contains(run)) run++;
                int highest = 0;
                foreach (int n in present) highest = Math.Max(highest, n + 1);
                candidates.Add(highest);
                if (run > 0) candidates.Add(run);
                foreach (int c in run > 0 && run != highest ? new[] { highest, run } : new[] { highest })
                    votes[c] = (votes.TryGetValue(c, out int v) ? v : 0) + 1;
            }
            int theSplit = split ?? (candidates.Count == 0 ? DefaultSplit : candidates.Count == 1 ? candidates.Min : SplitByMessages(fs, full, candidates, votes));

            // big-todo: todo/ holds the split directories (qmHandle tests only todo/0; a single stray
            // directory there is a layout mismatch, not a big-todo queue).
            bool big = bigTodo ?? CountSplitSubdirs(fs, full + "/todo", theSplit) * 2 > theSplit;
            return new QueueLayout(full, theSplit, big, fs);
        }

        /// <summary>A directory with mess/ and info/ or todo/ (what Detect requires), without throwing; for hints and completion.</summary>
        internal static bool LooksLikeQueue(string dir) => LooksLikeQueue(new LinuxFileSystem(), dir);

        internal static bool LooksLikeQueue(IFileSystem fs, string dir)
        {
            var entries = fs.TryList(dir, new List<DirEntry>(), out _);
            if (entries is null) return false;
            bool mess = false, other = false;
            foreach (var e in entries)
            {
                if (e.Name == "mess") mess = true;
                else if (e.Name == "info" || e.Name == "todo") other = true;
            }
            return mess && other;
        }

        /// <summary>
        /// Of the candidate splits, the one under which most mess and info files are in their own
        /// split directory. Ties (every message fits both, or there are none): the one more split
        /// directories suggest (a single missing info/22 must not make a split of 22), then the smaller.
        /// </summary>
        private static int SplitByMessages(IFileSystem fs, string root, SortedSet<int> candidates, Dictionary<int, int> votes)
        {
            int top = candidates.Max;
            var score = new Dictionary<int, long>();
            foreach (int c in candidates) score[c] = 0;
            var listing = new List<DirEntry>();
            foreach (string d in new[] { "mess", "info" })
                for (int n = 0; n < top; n++)
                {
                    if (fs.TryList(root + "/" + d + "/" + n.ToString(CultureInfo.InvariantCulture), listing, out _) is null) continue;
                    foreach (DirEntry e in listing)
                    {
                        if (!e.IsCanonical) continue;
                        foreach (int c in candidates)
                            if (n < c && e.Id % (ulong)c == (ulong)n) score[c]++;
                    }
                }
            int best = candidates.Min;
            foreach (int c in candidates)
                if (score[c] > score[best] || (score[c] == score[best] && votes[c] > votes[best])) best = c;
            return best;
        }

        private static int CountSplitSubdirs(IFileSystem fs, string dir, int split)
        {
            var entries = fs.TryList(dir, new List<DirEntry>(), out _);
            if (entries is null) return 0;
            int n = 0;
            foreach (var e in entries)
                if (e.IsCanonical && e.Id < (ulong)split && (e.Kind == FileKind.Directory || e.Kind == FileKind.Unknown)) n++;
            return n;
        }

        private static string? ResolveLink(IFileSystem fs, string path)
        {
            string? target;
            try { target = fs.ReadLink(path); } catch (IOException) { target = null; }
            return target is null ? null : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path) ?? "/", target));
        }

        /// <summary>
        /// The queue to use when none is given: $QMAIL_HOME/queue, else the first that exists of
        /// /var/qmail/queue, /var/lib/qmail/queue (Debian), /var/spool/qmail (PLD).
        /// </summary>
        public static string? FindDefaultRoot(Func<string, string?> getEnvironment)
        {
            string? home = getEnvironment("QMAIL_HOME");
            if (!string.IsNullOrEmpty(home)) return Path.Combine(home, "queue");
            foreach (string candidate in DefaultCandidates)
                if (Directory.Exists(Path.Combine(candidate, "mess"))) return candidate;
            return null;
        }

        public static readonly string[] DefaultCandidates = { "/var/qmail/queue", "/var/lib/qmail/queue", "/var/spool/qmail" };
    }

    /// <summary>The path given is not a qmail queue.</summary>
    public sealed class NotAQueueException : IOException
    {
        public NotAQueueException(string path, string reason, string? suggestion = null)
            : base($"'{path}' is not a qmail queue: {reason}{(suggestion != null ? "?" : ".")}") { QueuePath = path; Suggestion = suggestion; }
        public string QueuePath { get; }
        /// <summary>The queue the caller probably meant (the queue/ inside a qmail home), or null.</summary>
        public string? Suggestion { get; }
    }

    /// <summary>The queue cannot be read by this user (qmail-qread needs root, or uid qmails with gid qmail).</summary>
    public sealed class QueueAccessException : IOException
    {
        public QueueAccessException(string path, int errno)
            : base($"Cannot read '{path}': {Errno.QmailText(errno)}." +
                   (errno == Errno.EACCES || errno == Errno.EPERM ? " Reading the qmail queue needs root, or uid qmails with group qmail." : ""))
        { QueuePath = path; ErrorNumber = errno; }
        public string QueuePath { get; }
        public int ErrorNumber { get; }
    }
}
