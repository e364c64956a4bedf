using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Threading;
using QmailPS.Check.Rules;
using QmailPS.Posix;
using QmailPS.Queue;

namespace QmailPS.Check
{
    /// <summary>
    /// Finds every inconsistency of queue-format.md §3.2 and says what qmail will do with it. Read
    /// only: files are opened O_NOFOLLOW|O_NONBLOCK, never written; mess also O_NOATIME where allowed,
    /// because qmail-send's cleanup judges an orphan mess by its atime (envelope atimes mean nothing to qmail).
    /// Structure first, then each split directory (in parallel, results in queue order), then the
    /// files of todo/, intd/, bounce/ and pid/ that belong to no message. Messages are listed by the
    /// walk Get-QmailQueueMessage uses (<see cref="QueueWalk"/>, here at <see cref="WalkDepth.Every"/>)
    /// and their files read and judged by the same <see cref="MessageReader"/>; what is added here
    /// is the file-set rules (which files of a message exist together) and the structure.
    /// </summary>
    public sealed class QueueInspector
    {
        /// <summary>qmail's OSSIFIED: 36 h after which qmail-send's cleanup removes injection debris.</summary>
        public const long OssifiedSeconds = 129600;

        private readonly QueueLayout _l;
        private readonly bool _live;
        private readonly int? _sendPid;
        private readonly long _now;
        private readonly uint? _qmailq, _qmails, _qmailr, _qmailGid;

        public QueueInspector(QueueLayout layout, SendMutexState send, DateTime? now = null)
        {
            _l = layout;
            _live = send.IsRunning;
            _sendPid = send.ProcessId;
            _now = UnixTime.ToSeconds(now ?? DateTime.UtcNow);
            IFileSystem p = _l.Fs;
            _qmailq = p.LookupUser(QmailUsers.Qmailq)?.Uid;
            _qmails = p.LookupUser(QmailUsers.Qmails)?.Uid;
            _qmailr = p.LookupUser(QmailUsers.Qmailr)?.Uid;
            _qmailGid = p.LookupGroup(QmailUsers.QmailGroup);
            _rules = new RuleContext(p, now);
            _walk = new QueueWalk(layout, WalkDepth.Every);
        }

        /// <summary>The walk Get-QmailQueueMessage lists by too, here at every directory.</summary>
        private readonly QueueWalk _walk;

        private readonly RuleContext _rules;

        /// <summary>Read plain files in batches through io_uring where the kernel allows it (tests compare both paths).</summary>
        internal bool UseRing { get; set; } = !IoUring.Disabled;

        /// <summary>
        /// Read the first bytes of every mess, for MessNoReceivedLine. Repair-QmailQueue turns it
        /// off: that finding is Cosmetic, its fix is "nothing" and a repair plans nothing for it,
        /// while those reads are one file of five an inspection opens (issue 14). A mess shorter
        /// than the Received line, which may be a stub, is read either way.
        /// </summary>
        internal bool ReadEveryHead { get; set; } = true;

        public IEnumerable<QueueIssue> Inspect(CancellationToken cancel = default)
        {
            var found = new List<QueueIssue>();
            if (_live)
                found.Add(Issue(QueueIssueKind.QmailSendRunning, IssueSeverity.Transient, null, "lock/sendmutex",
                    $"qmail-send is running{(_sendPid.HasValue ? " (pid " + _sendPid + ")" : "")}: findings that an injection or preprocessing in progress explains are reported as Transient.",
                    "Stop qmail-send before repairing."));
            CheckStructure(found);

            // Global directories, bucketed by split so each split's work sees its todo/intd/bounce files.
            var todo = ListFlat("todo", found);
            var intd = ListFlat("intd", found);
            var bounce = ListFlat("bounce", found);
            foreach (var i in found) yield return i;
            found.Clear();

            // One split in flight per CPU: each holds its listings and file sets (about 20 MB at a
            // million messages); twice as many in flight was slower (21.8 s against 17.7 s on 1M, 2
            // CPUs) and took 20 MB more.
            int window = Math.Max(2, Environment.ProcessorCount);
            RingPool? rings = UseRing ? new RingPool(Math.Min(4, Math.Max(2, Environment.ProcessorCount))) : null;
            try
            {
                foreach (QueueIssue i in OrderedWork.Run(SplitWork(todo, intd, bounce, rings), window, cancel)) yield return i;
            }
            finally { rings?.Close(); }
            foreach (QueueIssue i in CheckPid()) yield return i;
            foreach (QueueIssue i in CheckLinks(cancel)) yield return i;
        }

        // ------------------------------------------------------------------ hard links (issue: safe queue access)

        private readonly System.Collections.Concurrent.ConcurrentQueue<(ulong Dev, ulong Ino, uint Links, string Rel)> _linked =
            new System.Collections.Concurrent.ConcurrentQueue<(ulong, ulong, uint, string)>();

        /// <summary>Called by the walk for a file it stat'ed; only files with more than one link are kept.</summary>
        internal void NoteLinks(string rel, FileStatus st)
        {
            if (st.Links > 1 && st.Kind != FileKind.Directory) _linked.Enqueue((st.Device, st.Inode, st.Links, rel));
        }

        private bool SomeLinkUnaccounted()
        {
            var seen = new Dictionary<(ulong, ulong), (uint Links, HashSet<string> Rels)>();
            foreach (var (dev, ino, links, rel) in _linked)
            {
                if (!seen.TryGetValue((dev, ino), out var s)) seen[(dev, ino)] = s = (links, new HashSet<string>(StringComparer.Ordinal));
                s.Rels.Add(rel);
            }
            foreach (var s in seen.Values) if (s.Rels.Count < s.Links) return true;
            return false;
        }

        /// <summary>
        /// Every regular file of the queue whose inode has more links than the queue holds names
        /// for it: the other name is outside the queue (a planted `ln /etc/shadow mess/3/…`, or a
        /// backup made with cp -l). qmail would write through it (qmail-send marks deliveries in
        /// place, qmail-clean unlinks), so would a careless root tool; QmailPS never writes such an
        /// inode. Links wholly inside the queue are qmail's own pairs (todo and intd; pid and mess
        /// while qmail-queue runs) or a renumbering in progress, which the other rules judge.
        /// </summary>
        private IEnumerable<QueueIssue> CheckLinks(CancellationToken cancel)
        {
            // The walk noted every file it stat'ed with more than one link; when each such inode's
            // links are all names the walk saw (todo and intd, the usual case), nothing is shared
            // outside and the queue need not be stat'ed a second time.
            if (!SomeLinkUnaccounted()) yield break;
            var names = new Dictionary<(ulong Dev, ulong Ino), (uint Links, List<string> Rels)>();
            var dirs = new List<string>();
            foreach (string top in QueueLayout.TopDirectories)
            {
                dirs.Add(top);
                List<DirEntry>? subs = _l.Fs.TryList(_l.Dir(top), new List<DirEntry>(), out _);
                if (subs is null) continue;
                foreach (DirEntry e in subs)
                    if (e.Kind == FileKind.Directory) dirs.Add(top + "/" + e.Name);
            }
            var listing = new List<DirEntry>();
            foreach (string rel in dirs)
            {
                cancel.ThrowIfCancellationRequested();
                using DirectoryHandle? h = _l.Fs.TryOpenDirectory(_l.Root + "/" + rel, out _);
                if (h is null || _l.Fs.TryList(_l.Root + "/" + rel, listing, out _) is null) continue;
                foreach (DirEntry e in listing)
                {
                    if (e.Kind != FileKind.Regular && e.Kind != FileKind.Unknown && e.Kind != FileKind.Fifo) continue;
                    if (!h.TryStat(e.NameZ(), out FileStatus st, out _) || st.Kind == FileKind.Directory || st.Links < 2) continue;
                    var key = (st.Device, st.Inode);
                    if (!names.TryGetValue(key, out var seen)) names[key] = seen = (st.Links, new List<string>());
                    seen.Rels.Add(rel + "/" + e.Name);
                }
            }
            foreach (var kv in names)
            {
                (uint links, List<string> rels) = kv.Value;
                if (rels.Count >= links) continue;
                foreach (string rel in rels)
                {
                    ulong? id = ulong.TryParse(System.IO.Path.GetFileName(rel), NumberStyles.None, CultureInfo.InvariantCulture, out ulong n) ? n : (ulong?)null;
                    yield return Issue(QueueIssueKind.SharedInode, IssueSeverity.Danger, id, rel,
                        $"{rel} has {links} hard links and the queue holds only {rels.Count} of them: it shares its inode (number {kv.Key.Ino}) with a file outside the queue, which qmail would write and deliver through; QmailPS never writes it.",
                        id.HasValue && !rel.StartsWith("pid/", StringComparison.Ordinal) && !rel.StartsWith("lock/", StringComparison.Ordinal)
                            ? "Quarantine the message (every file of it is renamed; the shared inode is never written)."
                            : "Move the name to the quarantine (a rename; the shared inode is never written).");
                }
            }
        }

        private IEnumerable<Func<List<QueueIssue>>> SplitWork(Dictionary<ulong, Named> todo, Dictionary<ulong, Named> intd, Dictionary<ulong, Named> bounce, RingPool? rings)
        {
            // The todo/, intd/ and bounce/ ids bucketed by split once (not every map's keys for every split).
            var also = new List<ulong>[_l.Split];
            for (int n = 0; n < also.Length; n++) also[n] = new List<ulong>();
            foreach (var map in new[] { todo, intd, bounce })
                foreach (ulong id in map.Keys) also[_l.SplitOf(id)].Add(id);
            for (int n = 0; n < _l.Split; n++)
            {
                int split = n;
                yield return () => CheckSplit(split, also[split], todo, intd, bounce, rings);
            }
        }

        // ------------------------------------------------------------------ structure (§1.2, §3.2 "Structure")

        private void CheckStructure(List<QueueIssue> found)
        {
            CheckDir(".", _qmailq, Mode.Rwxr_x___, found);
            foreach (string d in QueueLayout.TopDirectories)
            {
                (uint? owner, uint mode) = ExpectedDir(d);
                if (!CheckDir(d, owner, mode, found)) continue;
                if (_l.IsSplit(d)) CheckSplitDirs(d, owner, mode, found);
                else if (IsTodoDir(d)) CheckNoBigTodoDirs(d, found);
            }
            CheckLock(found);
        }

        /// <summary>hier.c: owner and mode of each queue directory (the group is always qmail).</summary>
        private (uint?, uint) ExpectedDir(string d) => d switch
        {
            "pid" or "intd" => (_qmailq, Mode.Rwx______),
            "mess" or "todo" or "lock" => (_qmailq, Mode.Rwxr_x___),
            _ => (_qmails, Mode.Rwx______), // info, local, remote, bounce
        };

        /// <summary>Checks one directory; returns whether it exists as a directory.</summary>
        private bool CheckDir(string rel, uint? owner, uint mode, List<QueueIssue> found)
        {
            string path = rel == "." ? _l.Root : _l.Root + "/" + rel;
            string fix = $"Recreate or reset it: owner {UserName(owner)}, group qmail, mode {Octal(mode)}, as qmail's installer does.";
            if (!_l.Fs.TryLstat(path, out FileStatus st, out int errno))
            {
                found.Add(Issue(QueueIssueKind.DirectoryMissing, IssueSeverity.Stuck, null, rel,
                    $"{rel}/ is missing ({Errno.QmailText(errno)}): {WhatIfMissing(rel)}", fix));
                return false;
            }
            if (st.Kind == FileKind.Symlink)
            {
                // qmail follows it; QmailPS, running as root, never does: whoever can write the queue
                // could point it anywhere, and every write through it would land there.
                string target;
                try { target = _l.Fs.ReadLink(path); } catch (System.IO.IOException) { target = "?"; }
                found.Add(Issue(QueueIssueKind.Symlink, IssueSeverity.Degraded, null, rel,
                    $"{rel} is a symbolic link to {PathName.Printable(target)}: qmail follows it, but QmailPS never enters it (a link in the queue could send root's writes anywhere), so what is there is not read, listed or repaired; and qmail-queue's link() from pid/ into mess/ fails across file systems.",
                    $"Repair-QmailQueue moves the link itself (never what it points to) to the quarantine and makes a real directory; with qmail stopped, move the files from {PathName.Printable(target)} back into it by hand."));
                return false;
            }
            if (st.Kind != FileKind.Directory)
            {
                found.Add(Issue(QueueIssueKind.DirectoryWrongType, IssueSeverity.Stuck, null, rel,
                    $"{rel} is a {Describe(st.Kind)}, not a directory: {WhatIfMissing(rel)}", "Move it aside and recreate the directory."));
                return false;
            }
            if (owner.HasValue && (st.Uid != owner.Value || (_qmailGid.HasValue && st.Gid != _qmailGid.Value)))
                found.Add(Issue(QueueIssueKind.DirectoryWrongOwner, IssueSeverity.Stuck, null, rel,
                    $"{rel}/ is owned by {UserName(st.Uid)}:{GroupName(st.Gid)}, not {UserName(owner)}:qmail: {WhatIfMissing(rel)}", fix));
            if (st.Permissions != mode)
                found.Add(Issue(QueueIssueKind.DirectoryWrongMode, ModeSeverity(rel, st.Permissions, mode), null, rel,
                    $"{rel}/ has mode {Octal(st.Permissions)}, not {Octal(mode)}.", fix));
            return true;
        }

        /// <summary>Looser modes keep qmail working; tighter ones lock a qmail program out.</summary>
        private static IssueSeverity ModeSeverity(string rel, uint actual, uint expected) =>
            (actual & expected) == expected ? IssueSeverity.Cosmetic : IssueSeverity.Stuck;

        private static string WhatIfMissing(string rel)
        {
            string top = rel.Split('/')[0];
            return top switch
            {
                "info" => "qmail-send loops on 'unable to opendir info/N, sleeping...' and delivers nothing.",
                "mess" => "qmail-send's cleanup loops on 'unable to opendir mess/N, sleeping...' and everything stops.",
                "todo" => "qmail-send loops on 'unable to opendir todo, sleeping...' and new mail is not preprocessed.",
                "local" or "remote" => "new messages of that split cannot be preprocessed ('unable to create').",
                "bounce" => "at the first permanent failure qmail-send stalls ('unable to append to bounce message; HELP!').",
                "intd" or "pid" => "every injection fails with 'qq trouble creating files in queue'.",
                "lock" => "qmail-send cannot start (no lock/sendmutex).",
                "." => "qmail cannot use the queue at all.",
                _ => "qmail cannot use it.",
            };
        }

        private static bool IsTodoDir(string d) => d == "todo" || d == "intd";

        /// <summary>d_type, or lstat when the file system does not fill it in.</summary>
        private FileKind KindOf(string dir, DirEntry e) =>
            e.Kind != FileKind.Unknown ? e.Kind : _l.Fs.TryLstat(dir + "/" + e.Name, out FileStatus st, out _) ? st.Kind : FileKind.Unknown;

        private void CheckSplitDirs(string d, uint? owner, uint mode, List<QueueIssue> found)
        {
            List<DirEntry>? entries = _l.Fs.TryList(_l.Dir(d), new List<DirEntry>(), out _);
            if (entries is null) return;
            var occupied = new HashSet<ulong>(); // big-todo todo/K (K < split) held by message K's envelope
            foreach (DirEntry e in entries)
            {
                FileKind kind = IsTodoDir(d) && e.IsNumeric ? KindOf(_l.Dir(d), e) : FileKind.Unknown;
                bool splitPlace = e.IsCanonical && e.Id < (ulong)_l.Split;
                if (IsTodoDir(d) && e.IsNumeric && kind != FileKind.Directory && (kind == FileKind.Regular || !splitPlace))
                {
                    // A file in the vanilla place of a big-todo queue: ListFlat reports it with its
                    // message. Only message K in the place of the directory todo/K is a finding here
                    // (anything else there is checked as that directory below).
                    if (splitPlace)
                    {
                        occupied.Add(e.Id);
                        string rel = d + "/" + e.Name;
                        found.Add(Issue(QueueIssueKind.BigTodoMismatch, IssueSeverity.Stuck, e.Id, rel,
                            $"{rel} is the {d} file of message {e.Id} in the vanilla place, where the big-todo layout needs the directory {rel}/: big-todo qmail-send loops on 'unable to opendir {rel}', and the queue cannot be converted while message {e.Id} has that name.",
                            $"Move message {e.Id} out of the way by hand (for example Remove-QmailQueueMessage after saving it), then convert the layout (Repair-QmailQueue -TodoLayout)."));
                    }
                    else if (!e.IsCanonical) NameIssue(d, e, found);
                    continue;
                }
                if (e.IsCanonical && e.Id < (ulong)_l.Split) continue;
                if (e.IsNumeric && (e.Kind == FileKind.Directory || e.Kind == FileKind.Unknown))
                {
                    string rel = d + "/" + e.Name;
                    // Its files are messages qmail cannot see: each is reported where it should be.
                    List<DirEntry>? inside = _l.Fs.TryList(_l.Root + "/" + rel, new List<DirEntry>(), out _);
                    bool empty = inside != null && inside.Count == 0;
                    found.Add(Issue(QueueIssueKind.SplitDirectoryExtra, empty ? IssueSeverity.Garbage : IssueSeverity.Stuck, null, rel,
                        empty ? $"{rel} is beyond the split ({_l.Split}) and empty: qmail never reads it (left by a build with another conf-split)."
                              : $"{rel} is beyond the split ({_l.Split}): qmail never reads it, nor the files in it; the queue was built for another conf-split.",
                        empty ? "Remove it (Repair-QmailQueue)." : $"Move its files to their split directories for split {_l.Split} and remove it (Repair-QmailQueue -Split {_l.Split})."));
                    if (inside != null)
                        foreach (DirEntry f in inside)
                            if (f.IsCanonical) Misplaced(rel, f, d, found); else NameIssue(rel, f, found);
                }
                else NameIssue(d, e, found);
            }
            for (int n = 0; n < _l.Split; n++)
                if (!occupied.Contains((ulong)n))
                    CheckDir(d + "/" + n.ToString(CultureInfo.InvariantCulture), owner, mode, found); // reports a missing one too
        }

        /// <summary>Each numeric directory in a vanilla todo/ or intd/ (big-todo's split directories); the files in them are reported by ListFlat.</summary>
        private void CheckNoBigTodoDirs(string d, List<QueueIssue> found)
        {
            List<DirEntry>? entries = _l.Fs.TryList(_l.Dir(d), new List<DirEntry>(), out _);
            if (entries is null) return;
            foreach (DirEntry e in entries)
                if (e.IsNumeric && KindOf(_l.Dir(d), e) == FileKind.Directory)
                    found.Add(Issue(QueueIssueKind.BigTodoMismatch, IssueSeverity.Stuck, null, d + "/" + e.Name,
                        d == "todo"
                            ? $"todo/{e.Name} is a directory in a vanilla queue: big-todo binaries made it. Vanilla qmail-send takes it for message {e.Id} ('unable to stat mess/{_l.SplitOf(e.Id)}/{e.Id}' at every todo scan) and never processes the files inside."
                            : $"intd/{e.Name} is a directory in a vanilla queue: big-todo binaries made it; vanilla qmail-queue and qmail-clean never look inside.",
                        "Convert the queue to the layout the installed qmail binaries use: Repair-QmailQueue -TodoLayout Vanilla (moves its files to " + d + "/ and removes it) or -TodoLayout BigTodo."));
        }

        private void CheckLock(List<QueueIssue> found)
        {
            string dir = _l.Dir("lock");
            var expected = new[]
            {
                ("sendmutex", FileKind.Regular, _qmails, Mode.Rw_______, "qmail-send cannot start ('cannot start: unable to open mutex')", IssueSeverity.Stuck),
                ("tcpto", FileKind.Regular, _qmailr, Mode.Rw_r__r__, "qmail-remote silently neither records nor honours connection timeouts", IssueSeverity.Degraded),
                ("trigger", FileKind.Fifo, _qmails, Mode.Rw__w__w_, "qmail-send is not woken by new mail: todo is scanned only every 25 minutes", IssueSeverity.Degraded),
            };
            List<DirEntry>? entries = _l.Fs.TryList(dir, new List<DirEntry>(), out _);
            if (entries is null) return;
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (DirEntry e in entries) names.Add(e.Name);
            foreach (var (name, kind, owner, mode, effect, severity) in expected)
            {
                string rel = "lock/" + name;
                string fix = $"Recreate it as qmail's installer does: {(kind == FileKind.Fifo ? "a FIFO" : "a regular file")}, {UserName(owner)}:qmail {Octal(mode)}{(name == "tcpto" ? ", 1024 NUL bytes" : "")}.";
                if (!_l.Fs.TryLstat(dir + "/" + name, out FileStatus st, out _))
                {
                    found.Add(Issue(QueueIssueKind.LockFileMissing, severity, null, rel, $"{rel} is missing: {effect}.", fix));
                    continue;
                }
                NoteLinks(rel, st);
                if (st.Kind != kind)
                {
                    string what = name == "trigger" && st.Kind == FileKind.Regular
                        ? "a regular file, not a FIFO: qmail-send always finds it readable and rescans todo/ in a busy loop"
                        : $"a {Describe(st.Kind)}, not a {(kind == FileKind.Fifo ? "FIFO" : "regular file")}: {effect}";
                    found.Add(Issue(st.Kind == FileKind.Symlink ? QueueIssueKind.Symlink : QueueIssueKind.LockFileWrongType, severity, null, rel, $"{rel} is {what}.", fix));
                    continue;
                }
                if (owner.HasValue && st.Uid != owner.Value)
                    found.Add(Issue(QueueIssueKind.LockFileWrongOwner, severity, null, rel, $"{rel} is owned by {UserName(st.Uid)}, not {UserName(owner)}: {effect}.", fix));
                else if (st.Permissions != mode)
                    found.Add(Issue(QueueIssueKind.LockFileWrongMode, (st.Permissions & mode) == mode ? IssueSeverity.Cosmetic : severity, null, rel,
                        $"{rel} has mode {Octal(st.Permissions)}, not {Octal(mode)}.", fix));
                if (name == "tcpto" && st.Size != 1024)
                    found.Add(Issue(QueueIssueKind.TcpToWrongSize, st.Size < 16 ? IssueSeverity.Degraded : IssueSeverity.Cosmetic, null, rel,
                        $"lock/tcpto is {st.Size} bytes, not 1024: qmail reads {Math.Min(st.Size, 1024) / 16} record(s){(st.Size < 16 ? ", so timeouts are neither recorded nor honoured" : "")}.",
                        "Move it to the quarantine and recreate it as 1024 NUL bytes (Clear-QmailTcpTo also rewrites it in place)."));
            }
            foreach (string n in names)
                if (n != "sendmutex" && n != "tcpto" && n != "trigger")
                    found.Add(Issue(QueueIssueKind.LockDirectoryExtraEntry, IssueSeverity.Cosmetic, null, "lock/" + n,
                        $"lock/{n} is not one of qmail's lock files.", "Move it out of the queue."));
        }

        // ------------------------------------------------------------------ global directories

        /// <summary>A file found under a name, with the directory it was found in.</summary>
        private sealed class Named
        {
            public Named(string dir, DirEntry entry) { Dir = dir; Entry = entry; }
            public string Dir { get; }
            public DirEntry Entry { get; }
            public string Rel => Dir + "/" + Entry.Name;
        }

        /// <summary>
        /// Lists todo/, intd/ or bounce/ (or their split subdirectories): canonical files by id. For
        /// todo/ and intd/ it also lists the other layout's place (todo/ID in a big-todo queue,
        /// todo/N/ID in a vanilla one), so a queue between layouts (a conversion under way, binaries
        /// of the other kind) still shows every message once, each such file a BigTodoMismatch.
        /// </summary>
        private Dictionary<ulong, Named> ListFlat(string d, List<QueueIssue> found)
        {
            FlatListing list = _walk.ListFlat(d); // an unlisted directory is reported by CheckStructure
            var byId = new Dictionary<ulong, Named>();
            var other = new List<Named>();
            for (int i = 0; i < list.Names.Count; i++)
            {
                QueueName q = list.Names[i];
                DirEntry e = q.Entry;
                if (i < list.OwnCount)
                {
                    switch (q.Place)
                    {
                        case NamePlace.Subdirectory: continue; // CheckNoBigTodoDirs; its files come below, in the other layout's place
                        case NamePlace.Message: byId[e.Id] = new Named(q.Dir, e); continue;
                        case NamePlace.Misplaced: Misplaced(q.Dir, e, d, found); continue;
                        default: NameIssue(q.Dir, e, found); continue;
                    }
                }
                // The other layout's place.
                if (_l.IsSplit(d))
                {
                    // todo/ itself in a big-todo queue: names and directories there are CheckSplitDirs' findings.
                    if (q.Place != NamePlace.OtherLayout || q.Kind == FileKind.Directory) continue;
                    if (e.Id < (ulong)_l.Split) // in the place of todo/K: CheckSplitDirs says so
                    {
                        if (q.Kind == FileKind.Regular && !byId.ContainsKey(e.Id)) byId[e.Id] = new Named(d, e);
                        continue;
                    }
                    other.Add(new Named(d, e));
                }
                else
                {
                    if (q.Place != NamePlace.OtherLayout) { NameIssue(q.Dir, e, found); continue; }
                    if (q.Kind == FileKind.Directory) continue; // left for the rmdir to refuse
                    other.Add(new Named(q.Dir, e));
                }
            }
            if (!IsTodoDir(d)) return byId;

            string layout = _l.BigTodo ? "big-todo" : "vanilla";
            string otherLayout = _l.BigTodo ? "vanilla" : "big-todo";
            string fix = NameRules.LayoutFix(_l.BigTodo);
            foreach (Named n in other)
            {
                ulong id = n.Entry.Id;
                string canonical = _l.RelOf(d, id);
                if (byId.TryGetValue(id, out Named? first))
                {
                    bool same = _l.Fs.TryLstat(_l.Root + "/" + first.Rel, out FileStatus a, out _) && _l.Fs.TryLstat(_l.Root + "/" + n.Rel, out FileStatus b, out _)
                                && a.Inode == b.Inode && a.Device == b.Device;
                    found.Add(Issue(QueueIssueKind.BigTodoMismatch, d == "todo" ? IssueSeverity.Stuck : IssueSeverity.Cosmetic, id, n.Rel,
                        same ? $"{n.Rel} is a second name (a hard link) of {canonical}, in the place the {otherLayout} layout uses: qmail with the {layout} layout ignores it, and it would outlive the message."
                             : $"{n.Rel} and {canonical} are two different {d} files of message {id}: qmail with the {layout} layout reads only {canonical}.",
                        same ? $"Remove the extra name (Repair-QmailQueue -TodoLayout {(_l.BigTodo ? "BigTodo" : "Vanilla")})." : string.Format(CultureInfo.InvariantCulture, fix, canonical) + " The other file goes to the quarantine."));
                    continue;
                }
                byId[id] = n;
                Found(found, id, NameRules.OtherLayout(n.Rel, d, id, canonical, _l.BigTodo, string.Format(CultureInfo.InvariantCulture, fix, canonical)));
            }
            return byId;
        }

        // ------------------------------------------------------------------ one split directory

        /// <summary>What is on disk for one message id.</summary>
        private readonly struct FileSet
        {
            private const int MessBit = SplitListing.MessBit, InfoBit = SplitListing.InfoBit, LocalBit = SplitListing.LocalBit, RemoteBit = SplitListing.RemoteBit;
            /// <param name="present">MessBit … RemoteBit: which of the split's files readdir lists.</param>
            /// <param name="regular">Bits (1 &lt;&lt; RingBatch.Info/Local/Remote/MessHead) of the files readdir says are regular: only those are read in a batch.</param>
            public FileSet(int present, int regular) { Present = present; Regular = regular; }
            public int Present { get; }
            public int Regular { get; }
            public bool Mess => (Present & MessBit) != 0;
            public bool Info => (Present & InfoBit) != 0;
            public bool Local => (Present & LocalBit) != 0;
            public bool Remote => (Present & RemoteBit) != 0;
        }

        /// <summary>One listing per split in flight, kept from split to split (see <see cref="SplitListing"/>).</summary>
        private readonly System.Collections.Concurrent.ConcurrentBag<SplitListing> _listings = new System.Collections.Concurrent.ConcurrentBag<SplitListing>();

        /// <param name="also">Ids of this split's todo/, intd/ and bounce/ files, whose message may have nothing in the split directories.</param>
        private List<QueueIssue> CheckSplit(int n, List<ulong> also, Dictionary<ulong, Named> todo, Dictionary<ulong, Named> intd, Dictionary<ulong, Named> bounce, RingPool? rings)
        {
            var found = new List<QueueIssue>();
            if (!_listings.TryTake(out SplitListing? buf)) buf = new SplitListing();
            var opened = new DirectoryHandle?[QueueLayout.SplitDirectories.Length];
            var handles = new Dictionary<string, DirectoryHandle?>();
            RingBatch? batch = null;
            try
            {
                _walk.ListSplit(n, buf, opened, also); // an unlisted directory is reported by CheckStructure
                for (int k = 0; k < opened.Length; k++) handles[QueueLayout.SplitDirectories[k]] = opened[k];
                foreach (QueueName q in buf.Names)
                {
                    if (q.Place == NamePlace.Misplaced) Misplaced(q.Dir, q.Entry, q.Top, found);
                    else NameIssue(q.Dir, q.Entry, found);
                }

                var ctx = new MessageContext(this, handles, found);
                batch = rings?.Rent();
                var requests = new List<RingRequest>(RingBatch.MaxMessages);
                for (int first = 0; first < buf.Count; first += RingBatch.MaxMessages)
                {
                    int count = Math.Min(RingBatch.MaxMessages, buf.Count - first);
                    HeapBound.Check();
                    if (batch != null)
                    {
                        requests.Clear();
                        for (int k = first; k < first + count; k++)
                            requests.Add(new RingRequest(buf.Ids[k], (buf.Bits[k] >> 4) & ~(ReadEveryHead ? 0 : 1 << RingBatch.MessHead), (buf.Bits[k] & SplitListing.MessBit) != 0));
                        batch.Run(requests, handles["info"], handles["mess"], handles["local"], handles["remote"], rings!.OpenBudget);
                    }
                    for (int k = first; k < first + count; k++)
                    {
                        ulong id = buf.Ids[k];
                        todo.TryGetValue(id, out Named? t);
                        intd.TryGetValue(id, out Named? i);
                        bounce.TryGetValue(id, out Named? b);
                        ctx.Check(id, new FileSet(buf.Bits[k] & 0xF, buf.Bits[k] >> 4), t, i, b, batch, batch is null ? -1 : k - first);
                    }
                }
            }
            finally
            {
                if (batch != null) rings!.Return(batch);
                foreach (DirectoryHandle? h in opened) h?.Dispose();
                _listings.Add(buf);
            }
            return found;
        }

        /// <summary>The rules for one message id (queue-format.md §3.2 "Per-message file sets").</summary>
        private sealed class MessageContext
        {
            private readonly QueueInspector _i;
            private readonly Dictionary<string, DirectoryHandle?> _h;
            private readonly List<QueueIssue> _found;
            /// <summary>Reads and judges each file, as Get-QmailQueueMessage's walk does.</summary>
            private readonly MessageReader _reader;

            public MessageContext(QueueInspector inspector, Dictionary<string, DirectoryHandle?> handles, List<QueueIssue> found)
            {
                _i = inspector; _h = handles; _found = found;
                _reader = new MessageReader(inspector._rules);
            }

            private QueueLayout L => _i._l;

            private void Add(QueueIssueKind kind, IssueSeverity severity, ulong id, string rel, string description, string fix) =>
                _found.Add(_i.Issue(kind, severity, id, rel, description, fix));

            public void Check(ulong id, FileSet set, Named? todo, Named? intd, Named? bounce, RingBatch? batch = null, int k = -1)
            {
                _reader.Batch = batch;
                _reader.Slot = k;
                try { CheckCore(id, set, todo, intd, bounce); }
                finally { _reader.Batch = null; _reader.Slot = -1; }
            }

            private void CheckCore(ulong id, FileSet set, Named? todo, Named? intd, Named? bounce)
            {
                string sid = id.ToString(CultureInfo.InvariantCulture);
                string messRel = L.RelOf("mess", id, sid);
                string infoRel = L.RelOf("info", id, sid);
                bool live = _i._live;
                // While qmail-send runs and todo/ID exists, the message may be mid-preprocessing.
                bool preprocessing = live && todo != null;

                FileStatus mess = default;
                bool hasMess = set.Mess && _reader.StatMess(_h["mess"], id, out mess, out _);
                if (hasMess && mess.Links > 1) _i.NoteLinks(messRel, mess);
                bool hasInfo = set.Info;
                bool hasChannel = set.Local || set.Remote;

                // --- which files exist together
                if (!hasMess)
                {
                    // A directory, FIFO, socket or link under a message's name is reported by its kind
                    // and quarantined as it is: a whole-message move takes files, never a directory.
                    bool todoFile = todo != null && !NotAFile(id, todo.Rel, messRel);
                    bool infoFile = hasInfo && !NotAFile(id, infoRel, messRel);
                    if (todoFile || infoFile)
                    {
                        MessRules.Missing(messRel, id, Errno.ENOENT, todoFile ? todo!.Rel : null, infoFile ? infoRel : null, _reader.Findings);
                        Emit(id);
                    }
                    else
                    {
                        if (intd != null && !NotAFile(id, intd.Rel, messRel))
                            Add(QueueIssueKind.IntdWithoutMess, IssueSeverity.Garbage, id, intd.Rel,
                                $"{intd.Rel} has no message: qmail never looks at it.", "Remove it (to the quarantine).");
                        foreach (string d in new[] { "local", "remote" })
                            if ((d == "local" ? set.Local : set.Remote) && !NotAFile(id, $"{d}/{L.SplitOf(id)}/{sid}", messRel))
                                Add(QueueIssueKind.StrayFile, IssueSeverity.Garbage, id, $"{d}/{L.SplitOf(id)}/{sid}",
                                    $"{d}/{L.SplitOf(id)}/{sid} belongs to no message (no info, no mess): qmail ignores it, but a future message {sid} would inherit it.",
                                    "Move it to the quarantine.");
                        if (bounce != null && !NotAFile(id, bounce.Rel, messRel))
                            Add(QueueIssueKind.StrayFile, IssueSeverity.Garbage, id, bounce.Rel,
                                $"{bounce.Rel} belongs to no message: a future message {sid} would get this old bounce text attached.",
                                "Move it to the quarantine.");
                    }
                    if (todoFile) CheckTodo(id, todo!, preprocessing);
                    return;
                }

                CheckMess(id, messRel, mess, todo != null || hasInfo);

                if (todo == null && !hasInfo)
                {
                    if (hasChannel)
                    {
                        Add(QueueIssueKind.ChannelWithoutInfo, IssueSeverity.Danger, id, messRel,
                            $"message {sid} has {messRel} and recipient files but neither info nor todo: qmail-send cannot see it, its recipients are silently dropped, and the message is deleted 36 h after its last access.",
                            "Recover it: re-create info (the sender is lost: the null sender, so failures go to the postmaster as double bounces, or Repair-QmailQueue -RecoverySender) with the mess mtime as its birth, so its pending recipients are delivered; with no pending recipient left, quarantine it.");
                        // Its recipient files and bounce text are the message's own: checked as for any
                        // message, so that a recovery repairs them too (a cut-off record completed…).
                        if (set.Local) CheckChannel(id, "local", false, reportAllDone: false);
                        if (set.Remote) CheckChannel(id, "remote", false, reportAllDone: false);
                        if (bounce != null) CheckOwned(id, bounce.Rel, _i._qmails, Mode.Rw_______, true, "qmail-send cannot append to it and stalls ('unable to append to bounce message; HELP!')", IssueSeverity.Stuck);
                        return;
                    }
                    else
                    {
                        long age = _i._now - mess.ATimeSeconds;
                        bool young = age < OssifiedSeconds;
                        Add(QueueIssueKind.OrphanMess, young ? IssueSeverity.Transient : IssueSeverity.Garbage, id, messRel,
                            young ? $"{messRel} has no envelope yet: an injection in progress, or one that died less than 36 h ago (qmail-send removes it after 36 h)."
                                  : $"{messRel} has no envelope: debris of a failed injection; qmail-send's cleanup removes it.",
                            young ? "Nothing now; qmail cleans it after 36 h." : "Nothing needed (qmail removes it), or move it to the quarantine now.");
                    }
                    if (bounce != null)
                        Add(QueueIssueKind.StaleBounce, IssueSeverity.Garbage, id, bounce.Rel,
                            $"{bounce.Rel} belongs to no queued message.", "Move it to the quarantine.");
                    return;
                }

                if (todo != null)
                {
                    CheckTodo(id, todo, preprocessing);
                    if (bounce != null && !hasInfo)
                        Add(QueueIssueKind.StaleBounce, IssueSeverity.Danger, id, bounce.Rel,
                            $"{bounce.Rel} already exists for a message not yet preprocessed (an id reused after an old message): qmail-send will attach that old bounce text to this message.",
                            "Move the old bounce file to the quarantine.");
                }
                if (hasInfo) CheckInfo(id, infoRel, preprocessing);
                int done = 0;
                if (set.Local) done += CheckChannel(id, "local", preprocessing);
                if (set.Remote) done += CheckChannel(id, "remote", preprocessing);
                if (todo != null && hasInfo)
                {
                    // Preprocessing writes only T records, and pqadd skips a message whose todo exists, so a
                    // D record beside a todo means deliveries happened after it was preprocessed (todo
                    // restored or re-created): redoing todo makes those recipients pending again.
                    if (done > 0)
                        Add(QueueIssueKind.TodoWithInfo, preprocessing ? IssueSeverity.Transient : IssueSeverity.Danger, id, todo.Rel,
                            $"message {sid} is in todo/ and info/ at once, and {done} of its recipients are already done: qmail-send preprocesses it again from {todo.Rel}, which makes every recipient pending again, so those {done} are delivered again (and birth is reset).",
                            "If the message was already preprocessed and partly delivered, remove the stale todo (and intd) file with qmail-send stopped; Repair-QmailQueue does not decide this.");
                    else
                        Add(QueueIssueKind.TodoWithInfo, IssueSeverity.Transient, id, todo.Rel,
                            $"message {sid} is in todo/ and info/ at once: preprocessing in progress or interrupted; qmail-send redoes it (recipients all pending again, birth reset).",
                            "Nothing: qmail-send finishes the preprocessing.");
                }
                if (bounce != null) CheckOwned(id, bounce.Rel, _i._qmails, Mode.Rw_______, true, "qmail-send cannot append to it and stalls ('unable to append to bounce message; HELP!')", IssueSeverity.Stuck);
                if (intd != null) CheckOwned(id, intd.Rel, _i._qmailq, Mode.Rw_r__r__, false, null, IssueSeverity.Cosmetic);
            }

            private void CheckMess(ulong id, string rel, FileStatus mess, bool enveloped)
            {
                _reader.Mess(_h["mess"], id, rel, mess, enveloped, everyHead: _i.ReadEveryHead);
                Emit(id);
            }

            private void CheckTodo(ulong id, Named todo, bool preprocessing)
            {
                DirectoryHandle? h = L.Fs.TryOpenDirectory(L.Root + "/" + todo.Dir, out _);
                if (h is null) return;
                using (h)
                {
                    FileRead read = _reader.Todo(h, todo.Entry.NameZ(), todo.Rel, preprocessing);
                    if (read.Ok && read.Status.Links > 1) _i.NoteLinks(todo.Rel, read.Status);
                    Emit(id);
                }
            }

            private void CheckInfo(ulong id, string rel, bool preprocessing)
            {
                DirectoryHandle? h = _h["info"];
                if (h is null) return;
                FileRead read = _reader.Info(h, id, null, rel, preprocessing);
                if (read.Ok && read.Status.Links > 1) _i.NoteLinks(rel, read.Status);
                Emit(id);
            }

            /// <summary>Checks local/N/ID or remote/N/ID; returns how many done (D) records it has.</summary>
            private int CheckChannel(ulong id, string dir, bool preprocessing, bool reportAllDone = true)
            {
                string rel = L.RelOf(dir, id);
                DirectoryHandle? h = _h[dir];
                if (h is null) return 0;
                FileRead read = _reader.Channel(h, id, dir == "local", rel, preprocessing, reportAllDone);
                if (read.Ok && read.Status.Links > 1) _i.NoteLinks(rel, read.Status);
                Emit(id);
                return read.Ok ? (int)Math.Min(int.MaxValue, read.Records!.Done) : 0;
            }

            /// <summary>The shared rules' findings so far, as this message's issues.</summary>
            private void Emit(ulong id)
            {
                foreach (Finding f in _reader.Findings) Add(f.Kind, f.Severity, id, f.Rel, f.Description, f.Fix);
                _reader.Findings.Clear();
            }

            private bool NotAFile(ulong id, string rel, string messRel)
            {
                if (!L.Fs.TryLstat(L.Root + "/" + rel, out FileStatus st, out _) || st.Kind == FileKind.Regular) return false;
                Add(st.Kind == FileKind.Symlink ? QueueIssueKind.Symlink : QueueIssueKind.ForeignFileType, IssueSeverity.Stuck, id, rel,
                    $"{rel} is a {Describe(st.Kind)} where qmail expects a file, and there is no {messRel}.", "Move it to the quarantine.");
                return true;
            }

            private void CheckOwned(ulong id, string rel, uint? owner, uint mode, bool needWrite, string? effect, IssueSeverity severity)
            {
                if (!L.Fs.TryLstat(L.Root + "/" + rel, out FileStatus st, out _)) return;
                _i.NoteLinks(rel, st);
                if (st.Kind != FileKind.Regular)
                {
                    Add(st.Kind == FileKind.Symlink ? QueueIssueKind.Symlink : QueueIssueKind.ForeignFileType, IssueSeverity.Stuck, id, rel,
                        $"{rel} is a {Describe(st.Kind)}.", "Move it to the quarantine.");
                    return;
                }
                if (effect != null && owner.HasValue && (!CanAccess(st, owner.Value, _i._qmailGid, 4) || (needWrite && !CanAccess(st, owner.Value, _i._qmailGid, 2))))
                    Add(QueueIssueKind.FileWrongOwner, severity, id, rel, $"{rel} ({_i.UserName(st.Uid)}, {Octal(st.Permissions)}): {effect}.", $"Give it back to {_i.UserName(owner)} with mode {Octal(mode)}.");
                else CheckOwner(id, rel, st, owner, mode);
            }

            private void CheckOwner(ulong id, string rel, FileStatus st, uint? owner, uint mode)
            {
                AccessRules.Owner(_i._rules, rel, st, owner, mode, _reader.Findings);
                Emit(id);
            }
        }

        // ------------------------------------------------------------------ pid/

        private IEnumerable<QueueIssue> CheckPid()
        {
            List<DirEntry>? entries = _l.Fs.TryList(_l.Dir("pid"), new List<DirEntry>(), out _);
            if (entries is null) yield break;
            foreach (DirEntry e in entries)
            {
                string rel = "pid/" + e.Name;
                if (!_l.Fs.TryLstat(_l.Dir("pid") + "/" + e.Name, out FileStatus st, out _)) continue;
                NoteLinks(rel, st);
                bool young = _now - st.ATimeSeconds < OssifiedSeconds;
                yield return Issue(QueueIssueKind.StalePidFile, young ? IssueSeverity.Transient : IssueSeverity.Garbage, null, rel,
                    young ? $"{rel}: a qmail-queue at work, or one that failed less than 36 h ago." : $"{rel} is left over from a failed injection; qmail-clean removes it.",
                    young ? "Nothing." : "Nothing needed (qmail-clean removes it), or remove it now.");
                if (_l.Fs.TryLstat(_l.PathOf("mess", st.Inode), out FileStatus m, out _) && m.Inode != st.Inode)
                    yield return Issue(QueueIssueKind.PidFileHoldsMessageId, IssueSeverity.Cosmetic, st.Inode, rel,
                        $"{rel} occupies inode {st.Inode}, which is also the id of queued message {st.Inode}: it stopped one id collision and the next can come when qmail-clean removes it.",
                        $"Renumber message {st.Inode} to its own inode.");
            }
        }

        // ------------------------------------------------------------------ names

        private void NameIssue(string rel, DirEntry e, List<QueueIssue> found)
        {
            string path = rel + "/" + e.Name;
            if (!e.IsNumeric)
            {
                // What notqmail's qmail-qstat counts: find queue/mess/* -type f and find queue/todo -type f,
                // so only regular files (at any depth), and not a dot-name directly in mess/ (the glob).
                bool counted = rel.StartsWith("mess/", StringComparison.Ordinal) || rel == "todo" || rel.StartsWith("todo/", StringComparison.Ordinal)
                               || (rel == "mess" && !e.Name.StartsWith(".", StringComparison.Ordinal));
                FileKind kind = counted ? KindOf(_l.Root + "/" + rel, e) : FileKind.Unknown;
                string qstat = kind == FileKind.Regular ? ", but qmail-qstat counts it" : kind == FileKind.Directory ? ", but qmail-qstat counts the files in it" : "";
                found.Add(Issue(QueueIssueKind.NonNumericName, IssueSeverity.Garbage, null, path,
                    $"{PathName.Printable(path)} is not a message number: qmail ignores it{qstat}.", // one line, whatever the name holds
                    "Move it to the quarantine."));
                return;
            }
            if (NotAFile(rel, e, "not its canonical name", found)) return;
            string top = rel.Split('/')[0];
            bool twin = _l.Fs.TryLstat(_l.PathOf(top, e.Id), out _, out _);
            Found(found, e.Id, NameRules.NonCanonical(path, top, e.Id, _l.RelOf(top, e.Id), twin));
        }

        /// <summary>
        /// A symlink, FIFO, directory… under a name qmail does not read is reported by its kind and
        /// goes to the quarantine: renaming it to where qmail reads it would hand qmail-send a file
        /// it cannot use (and a link it would follow). Never a whole-message finding: its message, if
        /// any, is at the canonical name.
        /// </summary>
        private bool NotAFile(string rel, DirEntry e, string why, List<QueueIssue> found)
        {
            FileKind kind = KindOf(_l.Root + "/" + rel, e);
            if (kind == FileKind.Regular || kind == FileKind.Unknown) return false;
            string path = rel + "/" + e.Name;
            found.Add(Issue(kind == FileKind.Symlink ? QueueIssueKind.Symlink : QueueIssueKind.ForeignFileType, IssueSeverity.Garbage, e.Id, path,
                $"{path} is a {Describe(kind)} under a name qmail does not read ({why}): qmail ignores it.", "Move it to the quarantine."));
            return true;
        }

        private void Misplaced(string rel, DirEntry e, string top, List<QueueIssue> found)
        {
            if (NotAFile(rel, e, "the wrong split directory", found)) return;
            string path = rel + "/" + e.Name;
            string canonical = _l.RelOf(top, e.Id);
            bool twin = _l.Fs.TryLstat(_l.PathOf(top, e.Id), out _, out _);
            Found(found, e.Id, NameRules.Misplaced(path, top, e.Id, canonical, twin));
        }

        // ------------------------------------------------------------------ helpers

        private void Found(List<QueueIssue> found, ulong? id, Finding f) => found.Add(Issue(f.Kind, f.Severity, id, f.Rel, f.Description, f.Fix));

        private QueueIssue Issue(QueueIssueKind kind, IssueSeverity severity, ulong? id, string rel, string description, string fix)
        {
            return new QueueIssue(kind, severity, id, rel == "." ? _l.Root : _l.Root + "/" + rel, description, fix, _l.Root);
        }

        private static bool CanAccess(FileStatus st, uint uid, uint? gid, uint want)
        {
            uint bits = st.Uid == uid ? (st.Permissions >> 6) : gid.HasValue && st.Gid == gid.Value ? (st.Permissions >> 3) : st.Permissions;
            return (bits & want) == want;
        }

        private string UserName(uint? uid) => uid is null ? "?" : _l.Fs.UserName(uid.Value) ?? "uid " + uid;
        private string GroupName(uint gid) => _l.Fs.GroupName(gid) ?? "gid " + gid;
        private static string Octal(uint mode) => "0" + Convert.ToString(mode, 8);

        private static string Describe(FileKind k) => FileStatus.Describe(k);

        private static string FileError(int errno) => errno switch
        {
            DirectoryHandle.NotRegular => "not a regular file",
            Errno.ELOOP => "a symbolic link",
            _ => Errno.QmailText(errno),
        };
    }
}
