using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using QmailPS.Posix;

namespace QmailPS.Queue
{
    /// <summary>Owners to give queue files. Null ids mean "leave the creator's" (a non-root test run).</summary>
    public sealed class QueueOwnership
    {
        public uint? Qmailq { get; set; }
        public uint? Qmails { get; set; }
        public uint? Qmailr { get; set; }
        public uint? QmailGid { get; set; }

        /// <summary>qmail's accounts when running as root and they exist; otherwise no chown at all.</summary>
        internal static QueueOwnership FromSystem(IFileSystem p)
        {
            if (p.EffectiveUserId != 0) return new QueueOwnership();
            return new QueueOwnership
            {
                Qmailq = p.LookupUser(QmailUsers.Qmailq)?.Uid,
                Qmails = p.LookupUser(QmailUsers.Qmails)?.Uid,
                Qmailr = p.LookupUser(QmailUsers.Qmailr)?.Uid,
                QmailGid = p.LookupGroup(QmailUsers.QmailGroup),
            };
        }
    }

    /// <summary>The path given to create a queue already holds something.</summary>
    public sealed class QueueExistsException : IOException
    {
        public QueueExistsException(string path, string? reason = null)
            : base($"'{path}' already exists and " + (reason ?? "is not an empty directory") + ".") { QueuePath = path; Reason = reason; }
        /// <summary>Why it cannot be used, when it is not simply a non-empty directory.</summary>
        public string? Reason { get; }
        public string QueuePath { get; }
    }

    /// <summary>One recipient to write into a channel file.</summary>
    public sealed class RecipientSpec
    {
        public RecipientSpec(string address, RecipientChannel channel, bool delivered = false)
        { Address = address; Channel = channel; Delivered = delivered; }
        public string Address { get; }
        public RecipientChannel Channel { get; }
        public bool Delivered { get; }
    }

    /// <summary>
    /// Writes queues the way qmail does: the installer's tree (hier.c), qmail-queue's injection
    /// (§2.1: pid file, inode id, mess, intd, link to todo, trigger) and qmail-send's
    /// preprocessing (§2.3: info, local, remote, then intd and todo removed). Every message it
    /// writes is named after its mess inode.
    /// </summary>
    public sealed class QueueWriter
    {
        private readonly IFileSystem _posix;
        private readonly QueueOwnership _owners;
        private int _seq;

        public QueueWriter(QueueLayout layout, QueueOwnership? owners = null) : this(layout, owners, layout.Fs) { }

        internal QueueWriter(QueueLayout layout, QueueOwnership? owners, IFileSystem posix)
        {
            Layout = layout;
            _posix = posix;
            _owners = owners ?? QueueOwnership.FromSystem(posix);
        }

        public QueueLayout Layout { get; }

        /// <summary>fsync every file, as qmail-queue and qmail-send do. Only generated test and
        /// benchmark queues turn it off, where durability across a power cut does not matter.</summary>
        public bool Fsync { get; set; } = true;

        /// <summary>Creates an empty queue exactly as qmail's installer does (hier.c hier_queue).</summary>
        public static QueueLayout CreateQueue(string root, int split = QueueLayout.DefaultSplit, bool bigTodo = false, QueueOwnership? owners = null) =>
            CreateQueue(new LinuxFileSystem(), root, split, bigTodo, owners);

        internal static QueueLayout CreateQueue(IFileSystem p, string root, int split = QueueLayout.DefaultSplit, bool bigTodo = false, QueueOwnership? owners = null)
        {
            owners ??= QueueOwnership.FromSystem(p);
            string full = Path.GetFullPath(root);
            // "link/" would make lstat follow the link: the name itself is what must not be a symlink.
            if (full.Length > 1) full = full.TrimEnd('/');
            bool exists = p.TryLstat(full, out FileStatus st, out _);
            if (exists && st.Kind == FileKind.Symlink) throw new QueueExistsException(full, "it is a symbolic link; give the directory it points to, if that is meant");
            // An empty directory is fine (a file system mounted at the queue path); anything else is not ours to touch.
            if (exists && (st.Kind != FileKind.Directory || Directory.EnumerateFileSystemEntries(full).GetEnumerator().MoveNext()))
                throw new QueueExistsException(full);
            if (exists) p.Trust(full, followLink: false);
            else p.CreateRoot(full, Mode.Rwxr_x___);
            var layout = new QueueLayout(full, split, bigTodo, p);
            var w = new QueueWriter(layout, owners);
            p.ChmodNoFollow(full, Mode.Rwxr_x___);
            w.Own(full, owners.Qmailq);
            w.Dir(layout.Dir("lock"), owners.Qmailq, Mode.Rwxr_x___);
            w.File(layout.Dir("lock") + "/tcpto", new byte[1024], owners.Qmailr, Mode.Rw_r__r__);
            w.File(layout.Dir("lock") + "/sendmutex", new byte[0], owners.Qmails, Mode.Rw_______);
            p.Mkfifo(layout.Dir("lock") + "/trigger", Mode.Rw__w__w_);
            w.Own(layout.Dir("lock") + "/trigger", owners.Qmails);
            w.Dir(layout.Dir("pid"), owners.Qmailq, Mode.Rwx______);
            w.SplitTree("mess", owners.Qmailq, Mode.Rwxr_x___, true);
            w.SplitTree("intd", owners.Qmailq, Mode.Rwx______, bigTodo);
            w.SplitTree("todo", owners.Qmailq, Mode.Rwxr_x___, bigTodo);
            w.SplitTree("info", owners.Qmails, Mode.Rwx______, true);
            w.SplitTree("local", owners.Qmails, Mode.Rwx______, true);
            w.SplitTree("remote", owners.Qmails, Mode.Rwx______, true);
            w.Dir(layout.Dir("bounce"), owners.Qmails, Mode.Rwx______);
            return layout;
        }

        private void SplitTree(string name, uint? uid, uint mode, bool split)
        {
            Dir(Layout.Dir(name), uid, mode);
            if (split) for (int n = 0; n < Layout.Split; n++) Dir(Layout.SplitDir(name, n), uid, mode);
        }

        private void Dir(string path, uint? uid, uint mode)
        {
            _posix.Mkdir(path, mode);
            Own(path, uid);
        }

        private void File(string path, byte[] content, uint? uid, uint mode, uint? gid = null)
        {
            _posix.WriteNewFile(path, content, mode, Fsync);
            Own(path, uid, gid);
        }

        internal void Own(string path, uint? uid, uint? gid = null)
        {
            if (uid is null) return;
            _posix.Lchown(path, uid.Value, gid ?? _owners.QmailGid ?? uint.MaxValue, Layout.PairOf(path));
        }

        /// <summary>
        /// Queues a message like qmail-queue: body with qmail-queue's Received line in a new pid
        /// file whose inode becomes the id, linked to mess/N/ID, envelope in intd/ID, linked to
        /// todo/ID, then the trigger is pulled. Returns the id.
        /// </summary>
        public ulong Inject(byte[] message, string sender, IReadOnlyList<string> recipients, uint callerUid = 0, uint? callerGid = null, int pid = 0, DateTime? now = null)
        {
            byte[] senderBytes = QueueRecords.EncodeAddress(sender);
            var rcpt = new List<byte[]>();
            string? problem = QueueRecords.CheckAddress(senderBytes);
            if (problem != null) throw new ArgumentException($"The sender {problem}.", nameof(sender));
            foreach (string r in recipients)
            {
                byte[] b = QueueRecords.EncodeAddress(r);
                problem = QueueRecords.CheckAddress(b);
                if (problem != null) throw new ArgumentException($"The recipient '{r}' {problem}.", nameof(recipients));
                rcpt.Add(b);
            }
            if (pid == 0) pid = System.Diagnostics.Process.GetCurrentProcess().Id;
            DateTime when = (now ?? DateTime.UtcNow).ToUniversalTime();
            long start = UnixTime.ToSeconds(when);

            // 1-4: pid file -> inode -> mess/N/ID.
            string pidPath;
            byte[] received = Encoding.ASCII.GetBytes(ReceivedLine(pid, callerUid, when));
            var body = new byte[received.Length + message.Length];
            Buffer.BlockCopy(received, 0, body, 0, received.Length);
            Buffer.BlockCopy(message, 0, body, received.Length, message.Length);
            while (true)
            {
                pidPath = Layout.Dir("pid") + "/" + pid.ToString(CultureInfo.InvariantCulture) + "." + start.ToString(CultureInfo.InvariantCulture) + "." + (++_seq).ToString(CultureInfo.InvariantCulture);
                try { _posix.WriteNewFile(pidPath, body, Mode.Rw_r__r__, Fsync); break; }
                catch (PosixIOException e) when (e.Errno == Errno.EEXIST) { }
            }
            Own(pidPath, _owners.Qmailq, callerGid ?? _owners.QmailGid);
            if (!_posix.TryLstat(pidPath, out FileStatus st, out int errno)) throw Errno.ToException(errno, "stat", pidPath);
            ulong id = st.Inode;
            _posix.Link(pidPath, Layout.PathOf("mess", id));
            _posix.Unlink(pidPath);

            // 6-7: intd/ID, then the link that queues it.
            byte[] todo = QueueRecords.EncodeTodo(callerUid, pid, senderBytes, rcpt);
            string intd = Layout.PathOf("intd", id);
            File(intd, todo, _owners.Qmailq, Mode.Rw_r__r__, callerGid ?? _owners.QmailGid);
            _posix.Link(intd, Layout.PathOf("todo", id));
            PullTrigger();
            return id;
        }

        /// <summary>qmail-queue's Received line (date822fmt: day not padded, UTC, "-0000").</summary>
        public static string ReceivedLine(int pid, uint uid, DateTime utc)
        {
            string how = "by uid " + uid.ToString(CultureInfo.InvariantCulture);
            return $"Received: (qmail {pid} invoked {how}); {Date822(utc)}\n";
        }

        public static string Date822(DateTime utc) =>
            utc.Day.ToString(CultureInfo.InvariantCulture) + " " + utc.ToString("MMM yyyy HH:mm:ss", CultureInfo.InvariantCulture) + " -0000";

        /// <summary>Pulls lock/trigger like triggerpull.c: O_WRONLY|O_NDELAY, one byte, errors ignored.</summary>
        public void PullTrigger() => _posix.PullTrigger(Layout.Dir("lock") + "/trigger");

        /// <summary>
        /// Preprocesses a todo entry like qmail-send's todo_do: info (F record), local/remote by
        /// rewrite(), all T; then intd and todo removed. Birth is the info mtime.
        /// </summary>
        public void Preprocess(ulong id, ControlFiles control, DateTime? birth = null)
        {
            byte[] todo = _posix.ReadFile(Layout.PathOf("todo", id));
            ParsedRecords recs = QueueRecords.Parse(todo, todo.Length, "upFT");
            byte[]? sender = null;
            var recipients = new List<RecipientSpec>();
            foreach (QueueRecord r in recs.Records)
            {
                if (r.Type == 'F' && sender is null) sender = r.Value;
                else if (r.Type == 'T')
                {
                    string a = QueueRecords.DecodeAddress(r.Value);
                    recipients.Add(new RecipientSpec(a, control.ChannelOf(a)));
                }
            }
            WriteEnvelope(id, QueueRecords.DecodeAddress(sender ?? new byte[0]), recipients, birth ?? DateTime.UtcNow, null, null);
            Remove(Layout.PathOf("intd", id));
            _posix.Unlink(Layout.PathOf("todo", id));
        }

        /// <summary>
        /// Writes info, local and remote for a message whose mess exists (the state qmail-send leaves
        /// after preprocessing and some deliveries). Channel mtimes are the next attempts, as
        /// qmail-send stamps them when it stops cleanly.
        /// </summary>
        public void WriteEnvelope(ulong id, string sender, IReadOnlyList<RecipientSpec> recipients, DateTime birth, DateTime? nextLocal, DateTime? nextRemote)
        {
            string info = Layout.PathOf("info", id);
            File(info, QueueRecords.EncodeInfo(QueueRecords.EncodeAddress(sender)), _owners.Qmails, Mode.Rw_______);
            long b = UnixTime.ToSeconds(birth);
            _posix.SetTimes(info, b, b);
            foreach (RecipientChannel ch in new[] { RecipientChannel.Local, RecipientChannel.Remote })
            {
                var list = new List<(byte[], bool)>();
                foreach (RecipientSpec r in recipients) if (r.Channel == ch) list.Add((QueueRecords.EncodeAddress(r.Address), r.Delivered));
                if (list.Count == 0) continue;
                string path = Layout.PathOf(ch == RecipientChannel.Local ? "local" : "remote", id);
                File(path, QueueRecords.EncodeChannel(list), _owners.Qmails, Mode.Rw_______);
                DateTime next = (ch == RecipientChannel.Local ? nextLocal : nextRemote) ?? birth;
                long n = UnixTime.ToSeconds(next);
                _posix.SetTimes(path, n, n);
            }
        }

        /// <summary>Appends a permanent-failure text to bounce/ID (qmail-send addbounce format).</summary>
        public void AppendBounce(ulong id, string recipient, string report)
        {
            string path = Layout.PathOf("bounce", id);
            bool exists = _posix.TryLstat(path, out _, out _);
            string text = "<" + recipient.Replace('\n', '_') + ">:\n" + report + (report.EndsWith("\n", StringComparison.Ordinal) ? "" : "\n");
            var sb = new StringBuilder(text);
            for (int i = sb.Length - 2; i >= 1; i--) if (sb[i] == '\n' && sb[i - 1] == '\n') sb[i] = '/';
            sb.Append('\n');
            byte[] bytes = Encoding.UTF8.GetBytes(sb.ToString());
            if (!exists) { File(path, bytes, _owners.Qmails, Mode.Rw_______); return; }
            using var fs = new FileStream(path, FileMode.Append, FileAccess.Write);
            fs.Write(bytes, 0, bytes.Length);
        }

        private void Remove(string path)
        {
            try { _posix.Unlink(path); }
            catch (FileNotFoundException) { }
        }
    }
}
