using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using QmailPS.Posix;

namespace QmailPS.Queue
{
    /// <summary>
    /// Where a queue is and how it is laid out: the split (conf-split, compiled into qmail, so read
    /// here from the split directories that exist) and whether todo/ and intd/ are split (big-todo).
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

        public QueueLayout(string root, int split, bool bigTodo)
        {
            if (split < 1) throw new ArgumentOutOfRangeException(nameof(split), "The split must be at least 1.");
            Root = Path.GetFullPath(root).TrimEnd('/');
            if (Root.Length == 0) Root = "/";
            Split = split;
            BigTodo = bigTodo;
        }

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
        public static QueueLayout Detect(string root, int? split = null, bool? bigTodo = null)
        {
            string full = Path.GetFullPath(root);
            if (!PosixApi.Current.TryLstat(full, out FileStatus st, out int errno))
            {
                if (errno == Errno.ENOENT || errno == Errno.ENOTDIR) throw new NotAQueueException(full, "it does not exist");
                throw new QueueAccessException(full, errno);
            }
            if (st.Kind == FileKind.Symlink)
            {
                // Follow a symlinked queue root only to its target (a common /var/qmail/queue -> /data setup).
                string? target = ResolveLink(full);
                if (target is null) throw new NotAQueueException(full, "it is a dangling symbolic link");
                return Detect(target, split, bigTodo);
            }
            if (st.Kind != FileKind.Directory) throw new NotAQueueException(full, "it is not a directory");

            var top = DirectoryHandle.TryList(full, out errno);
            if (top is null) throw new QueueAccessException(full, errno);
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var e in top) names.Add(e.Name);
            if (!names.Contains("mess") || !(names.Contains("info") || names.Contains("todo")))
            {
                // The qmail home (/var/qmail) given for its queue: say so.
                string inner = full.TrimEnd('/') + "/queue";
                if (names.Contains("queue") && LooksLikeQueue(inner))
                    throw new NotAQueueException(full, $"it has no mess/ and info/ or todo/ directory; did you mean {inner}", inner);
                throw new NotAQueueException(full, "it has no mess/ and info/ or todo/ directory");
            }

            // The split is what most split directories agree on (one more than their highest numbered
            // subdirectory), so one extra or missing directory does not change it.
            var votes = new Dictionary<int, int>();
            foreach (string d in SplitDirectories)
            {
                var sub = DirectoryHandle.TryList(full + "/" + d, out errno);
                if (sub is null)
                {
                    if (errno == Errno.EACCES || errno == Errno.EPERM) throw new QueueAccessException(full + "/" + d, errno);
                    continue;
                }
                int highest = 0;
                foreach (var e in sub)
                    if (e.IsCanonical && e.Id < 100000 && (e.Kind == FileKind.Directory || e.Kind == FileKind.Unknown))
                        highest = Math.Max(highest, (int)e.Id + 1);
                if (highest > 0) votes[highest] = votes.TryGetValue(highest, out int v) ? v + 1 : 1;
            }
            int found = 0, best = 0;
            foreach (var kv in votes)
                if (kv.Value > best || (kv.Value == best && kv.Key < found)) { found = kv.Key; best = kv.Value; }
            int theSplit = split ?? (found > 0 ? found : DefaultSplit);

            // big-todo: todo/ holds the split directories (qmHandle tests only todo/0; a single stray
            // directory there is a layout mismatch, not a big-todo queue).
            bool big = bigTodo ?? CountSplitSubdirs(full + "/todo", theSplit) * 2 > theSplit;
            return new QueueLayout(full, theSplit, big);
        }

        /// <summary>A directory with mess/ and info/ or todo/ (what Detect requires), without throwing; for hints and completion.</summary>
        internal static bool LooksLikeQueue(string dir)
        {
            var entries = DirectoryHandle.TryList(dir, out _);
            if (entries is null) return false;
            bool mess = false, other = false;
            foreach (var e in entries)
            {
                if (e.Name == "mess") mess = true;
                else if (e.Name == "info" || e.Name == "todo") other = true;
            }
            return mess && other;
        }

        private static int CountSplitSubdirs(string dir, int split)
        {
            var entries = DirectoryHandle.TryList(dir, out _);
            if (entries is null) return 0;
            int n = 0;
            foreach (var e in entries)
                if (e.IsCanonical && e.Id < (ulong)split && (e.Kind == FileKind.Directory || e.Kind == FileKind.Unknown)) n++;
            return n;
        }

        private static string? ResolveLink(string path)
        {
            string? target = Mono.Unix.UnixPath.ReadLink(path);
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
