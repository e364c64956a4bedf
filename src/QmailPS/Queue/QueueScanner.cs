using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using QmailPS.Check.Rules;
using QmailPS.Posix;

namespace QmailPS.Queue
{
    /// <summary>What the scanner reports besides messages, routed to Verbose/Warning/Error by the cmdlets.</summary>
    public enum ScanEventKind
    {
        Message,
        /// <summary>A message qmail-send finished (or preprocessed) while the scan read it.</summary>
        Vanished,
        /// <summary>A file that is not a message to qmail (non-numeric name, directory in todo/); for -Verbose.</summary>
        Ignored,
        /// <summary>Something qmail will mis-handle but that is not a message of its own (a duplicate name).</summary>
        Warning,
        /// <summary>A directory that cannot be read: part of the queue is missing from the result.</summary>
        DirectoryError,
        Progress,
    }

    public sealed class ScanEvent
    {
        internal ScanEvent(ScanEventKind kind, QueueMessage? message = null, string? text = null, string? path = null, ulong id = 0, int errno = 0, int percent = 0)
        {
            Kind = kind; Message = message; Text = text; Path = path; Id = id; Errno = errno; Percent = percent;
        }

        public ScanEventKind Kind { get; }
        public QueueMessage? Message { get; }
        public string? Text { get; }
        public string? Path { get; }
        public ulong Id { get; }
        public int Errno { get; }
        public int Percent { get; }
    }

    /// <summary>
    /// Messages as qmail-send sees them, for listing, summary and metrics: the queue's one walk
    /// (<see cref="QueueWalk"/>, at <see cref="WalkDepth.Qmail"/>) lists todo/ first (not yet
    /// preprocessed), then info/0…split-1; <see cref="MessageReader"/> reads each message's info,
    /// mess, local and remote and judges them by the rules Test-QmailQueue reports. Streaming: split
    /// directories are cut into chunks read by worker threads (files opened relative to directory
    /// handles), and results come back in queue order with a bounded look-ahead, so memory does not
    /// grow with the queue.
    /// </summary>
    public sealed class QueueScanner
    {
        private const int ChunkSize = 256;
        private const int HeaderBytes = 64 * 1024;

        private readonly QueueLayout _layout;
        private readonly ControlFiles _control;
        private readonly AddressCachePool _caches = new AddressCachePool();

        public QueueScanner(QueueLayout layout, bool includeHeader = false)
        {
            _layout = layout;
            IncludeHeader = includeHeader;
            _control = new ControlFiles(layout.ControlDirectory);
            _rules = new RuleContext(layout.Fs);
        }

        /// <summary>The rules Test-QmailQueue judges by: a message is Damaged when one of them says qmail-send fails it.</summary>
        private readonly RuleContext _rules;

        public bool IncludeHeader { get; }
        public QueueLayout Layout => _layout;
        public ControlFiles Control => _control;

        /// <summary>Read plain messages in batches through io_uring where the kernel allows it (tests compare both paths).</summary>
        internal bool UseRing { get; set; } = !IoUring.Disabled;

        /// <summary>Worker threads; two measured best on the two-core machines this targets.</summary>
        public int Parallelism { get; set; } = Math.Max(1, Math.Min(4, Environment.ProcessorCount));

        /// <summary>Every message of the queue, plus diagnostics, in queue order.</summary>
        public IEnumerable<ScanEvent> Scan(CancellationToken cancel = default)
        {
            RingPool? rings = UseRing ? new RingPool(Parallelism) : null;
            try
            {
                foreach (ScanEvent e in OrderedWork.Run(PlanChunks(rings, cancel), Parallelism * 3, cancel)) yield return e;
            }
            finally { rings?.Close(); } // a chunk still running after an early stop disposes its own ring
        }

        /// <summary>
        /// Produces chunk work in queue order. Directory listing happens here, on the consumer's
        /// thread, one directory at a time (through the walk Test-QmailQueue uses too); reading the
        /// files happens in the chunks.
        /// </summary>
        private IEnumerable<Func<List<ScanEvent>>> PlanChunks(RingPool? rings, CancellationToken cancel)
        {
            var notes = new List<ScanEvent>();
            var walk = new QueueWalk(_layout, WalkDepth.Qmail);
            FlatListing bounceList = walk.ListFlat("bounce");
            foreach (Unlisted u in bounceList.Unlisted) notes.Add(new ScanEvent(ScanEventKind.DirectoryError, path: u.Path, errno: u.Errno, text: Unreadable(u, null)));
            var bounceIds = new ulong[bounceList.Names.Count];
            int bounceCount = 0;
            foreach (QueueName q in bounceList.Names) if (q.Place == NamePlace.Message) bounceIds[bounceCount++] = q.Entry.Id;
            IdSet bouncing = new IdSet(bounceIds, bounceCount);
            bounceList = null!;
            foreach (var n in FlushNotes(notes)) yield return n;

            // 1. todo/ (or todo/0…split-1 with big-todo): not yet preprocessed. Then the other
            //    layout's place (todo/N/ID in a vanilla queue, todo/ID in a big-todo one): a queue
            //    between layouts still shows every message once.
            cancel.ThrowIfCancellationRequested();
            FlatListing todo = walk.ListFlat("todo");
            var todoSeen = new HashSet<ulong>();
            int todoDirs = _layout.BigTodo ? _layout.Split : 1;
            int step = 0, steps = todoDirs + _layout.Split;
            foreach (Unlisted u in todo.Unlisted)
                notes.Add(new ScanEvent(ScanEventKind.DirectoryError, path: u.Path, errno: u.Errno,
                    text: Unreadable(u, (u.Path == _layout.Dir("todo")) != _layout.BigTodo ? "qmail-send stalls on this too ('alert: unable to opendir " + Rel(u.Path) + ", sleeping...')" : null)));
            var chunk = new List<QueueName>(ChunkSize);
            string? chunkDir = null;
            bool chunkOther = false;
            int planned = 0;
            for (int i = 0; i < todo.Names.Count; i++)
            {
                QueueName q = todo.Names[i];
                bool other = i >= todo.OwnCount;
                if (chunk.Count > 0 && (q.Dir != chunkDir || other != chunkOther || chunk.Count == ChunkSize))
                {
                    var c = chunk; string d = _layout.Root + "/" + chunkDir; bool o = chunkOther;
                    yield return () => ReadTodoChunk(d, c, bouncing, cancel, otherLayout: o);
                    chunk = new List<QueueName>(ChunkSize);
                    if (!o)
                    {
                        // Progress within todo/ (thousands of unprocessed messages take a while), in order after the chunk.
                        var p = TodoProgress(todoDirs, steps, planned, todo.OwnCount, d);
                        yield return () => new List<ScanEvent> { p };
                    }
                    foreach (var n in FlushNotes(notes)) yield return n;
                }
                DirEntry e = q.Entry;
                string path = _layout.Root + "/" + q.Rel;
                if (other && q.Kind == FileKind.Directory) continue; // big-todo: the split directories themselves
                if (q.Place == NamePlace.NotANumber)
                {
                    notes.Add(new ScanEvent(ScanEventKind.Ignored, path: path, text: $"{PathName.Printable(q.Rel)} is not a message name (qmail ignores it)"));
                    continue;
                }
                if (q.Place == NamePlace.Subdirectory)
                {
                    notes.Add(new ScanEvent(ScanEventKind.Warning, path: path, id: e.Id,
                        text: $"{q.Rel} is a directory: this looks like a big-todo queue read as vanilla (qmail-send warns 'unable to stat mess/{_layout.SplitOf(e.Id)}/{e.Id}' at every scan); its messages are listed as damaged"));
                    continue;
                }
                if (other && todoSeen.Contains(e.Id))
                {
                    notes.Add(new ScanEvent(ScanEventKind.Warning, id: e.Id, path: path,
                        text: $"{q.Rel} is another todo file of message {e.Id}, in the place the {(_layout.BigTodo ? "vanilla" : "big-todo")} layout uses (Test-QmailQueue: BigTodoMismatch)"));
                    continue;
                }
                todoSeen.Add(e.Id);
                if (!other) planned++;
                chunk.Add(q);
                chunkDir = q.Dir;
                chunkOther = other;
            }
            if (chunk.Count > 0) { var c = chunk; string d = _layout.Root + "/" + chunkDir; bool o = chunkOther; yield return () => ReadTodoChunk(d, c, bouncing, cancel, otherLayout: o); }
            step = todoDirs;
            notes.Add(new ScanEvent(ScanEventKind.Progress, percent: step * 100 / steps, path: _layout.Dir("todo")));
            todo = null!;
            foreach (var n in FlushNotes(notes)) yield return n;

            // 2. info/0…split-1: preprocessed messages, in qmail-qread's order. The listing is reused
            //    from split to split: each chunk takes its entries and their channel bits with it.
            var listing = new SplitListing();
            var handles = new DirectoryHandle?[QueueLayout.SplitDirectories.Length];
            for (int n = 0; n < _layout.Split; n++)
            {
                cancel.ThrowIfCancellationRequested();
                try { walk.ListSplit(n, listing, handles); }
                finally { for (int k = 0; k < handles.Length; k++) { handles[k]?.Dispose(); handles[k] = null; } }
                foreach (Unlisted u in listing.Unlisted)
                    notes.Add(new ScanEvent(ScanEventKind.DirectoryError, path: u.Path, errno: u.Errno,
                        text: Unreadable(u, u.Path.StartsWith(_layout.Dir("info") + "/", StringComparison.Ordinal) ? "qmail-send delivers nothing until it can ('alert: unable to opendir " + Rel(u.Path) + ", sleeping...')" : null)));
                foreach (QueueName q in listing.Names)
                    if (q.Top == "info" && q.Place == NamePlace.NotANumber)
                        notes.Add(new ScanEvent(ScanEventKind.Ignored, path: _layout.Root + "/" + q.Rel, text: $"{PathName.Printable(q.Rel)} is not a message name (qmail ignores it)"));
                var entries = new List<DirEntry>(ChunkSize);
                var bits = new byte[ChunkSize];
                int split = n;
                foreach (DirEntry e in listing.Info)
                {
                    bool own = e.IsCanonical && _layout.SplitOf(e.Id) == n;
                    if (own && todoSeen.Contains(e.Id)) continue; // listed from todo/
                    bits[entries.Count] = (byte)(own ? listing.BitsOf(e.Id) : 0);
                    entries.Add(e);
                    if (entries.Count == ChunkSize)
                    {
                        var c = entries; var b = bits;
                        yield return () => ReadInfoChunk(split, c, b, bouncing, todoSeen, rings, cancel);
                        entries = new List<DirEntry>(ChunkSize); bits = new byte[ChunkSize];
                    }
                }
                if (entries.Count > 0) { var c = entries; var b = bits; yield return () => ReadInfoChunk(split, c, b, bouncing, todoSeen, rings, cancel); }
                step++;
                notes.Add(new ScanEvent(ScanEventKind.Progress, percent: step * 100 / steps, path: _layout.SplitDir("info", n)));
                foreach (var f in FlushNotes(notes)) yield return f;
            }
        }

        /// <summary>The text for a directory the walk could not list; <paramref name="effect"/> says what qmail-send does about it.</summary>
        private string Unreadable(Unlisted u, string? effect) =>
            u.Errno == Errno.ELOOP ? LinkNotEntered(u.Path) : $"unable to read {Rel(u.Path)}: {Errno.QmailText(u.Errno)}" + (effect is null ? "" : "; " + effect);

        /// <summary>Within todo/: <paramref name="read"/> of the <paramref name="listed"/> names of the <paramref name="todoDirs"/> todo directories planned.</summary>
        private ScanEvent TodoProgress(int todoDirs, int steps, int read, int listed, string todoDir) =>
            new ScanEvent(ScanEventKind.Progress, percent: (int)(todoDirs * (double)read / Math.Max(1, listed) * 100 / steps),
                path: $"{todoDir} ({read} of {listed} not yet preprocessed)");

        private static IEnumerable<Func<List<ScanEvent>>> FlushNotes(List<ScanEvent> notes)
        {
            if (notes.Count == 0) yield break;
            var copy = new List<ScanEvent>(notes);
            notes.Clear();
            yield return () => copy;
        }

        /// <summary>qmail follows a symlinked queue directory; QmailPS, as root, never does (Test-QmailQueue reports it).</summary>
        private string LinkNotEntered(string dir) =>
            $"{Rel(dir)} is a symbolic link, which QmailPS never enters (it could lead anywhere): the messages there are not listed; Test-QmailQueue reports it";

        private string Rel(string path) => path.StartsWith(_layout.Root + "/", StringComparison.Ordinal) ? path.Substring(_layout.Root.Length + 1) : path;

        /// <summary>Reads one message by id (for -Id): from todo/ if it is there, else from info/. Null when neither exists.</summary>
        public ScanEvent? Read(ulong id)
        {
            var reader = new ChunkReader(this, null);
            try
            {
                string todoPath = _layout.PathOf("todo", id);
                if (_layout.Fs.TryLstat(todoPath, out _, out _))
                {
                    using var todoDir = _layout.Fs.TryOpenDirectory(_layout.DirFor("todo", id), out _);
                    if (todoDir != null) return reader.ReadTodo(todoDir, id, null, BounceExists(id));
                }
                string otherPath = _layout.OtherLayoutPath("todo", id);
                if (_layout.Fs.TryLstat(otherPath, out FileStatus ost, out _) && ost.Kind != FileKind.Directory)
                {
                    using var otherDir = _layout.Fs.TryOpenDirectory(System.IO.Path.GetDirectoryName(otherPath)!, out _);
                    if (otherDir != null)
                    {
                        var e = new DirEntry(id, true, true, ost.Kind, null);
                        return ReadOtherLayout(otherDir, e, reader, BounceExists(id));
                    }
                }
                if (!_layout.Fs.TryLstat(_layout.PathOf("info", id), out _, out _))
                {
                    // A scan lists a message whose info is in the wrong split directory (a queue
                    // moved between conf-split values), as Damaged: -Id finds it there too.
                    for (int n = 0; n < _layout.Split; n++)
                    {
                        string dir = _layout.SplitDir("info", n);
                        if (n == _layout.SplitOf(id) || !_layout.Fs.TryLstat(dir + "/" + id.ToString(CultureInfo.InvariantCulture), out FileStatus st, out _)) continue;
                        var bounce = BounceExists(id) ? new IdSet(new[] { id }, 1) : IdSet.Empty;
                        return ReadNonCanonical("info", dir, new DirEntry(id, true, true, st.Kind, null), misplaced: true, reader, bounce);
                    }
                    return null;
                }
                reader.OpenSplit(_layout.SplitOf(id));
                return reader.ReadInfo(id, null, inLocal: true, inRemote: true, BounceExists(id));
            }
            finally { reader.Dispose(); }
        }

        private bool BounceExists(ulong id) => _layout.Fs.TryLstat(_layout.PathOf("bounce", id), out _, out _);

        /// <summary>
        /// Reads todo files of one directory. <paramref name="otherLayout"/>: the place the other todo
        /// layout uses (todo/N/ID in a vanilla queue, todo/ID in a big-todo one); qmail-send built for
        /// this queue's layout never sees those, so each such message is listed, once, as damaged.
        /// </summary>
        private List<ScanEvent> ReadTodoChunk(string todoDirPath, List<QueueName> entries, IdSet bouncing, CancellationToken cancel, bool otherLayout = false)
        {
            var result = new List<ScanEvent>(entries.Count);
            using var reader = new ChunkReader(this, null);
            using DirectoryHandle? todoDir = _layout.Fs.TryOpenDirectory(todoDirPath, out int errno);
            if (todoDir is null)
            {
                result.Add(new ScanEvent(ScanEventKind.DirectoryError, path: todoDirPath, errno: errno, text: errno == Errno.ELOOP ? LinkNotEntered(todoDirPath) : $"unable to read {Rel(todoDirPath)}: {Errno.QmailText(errno)}"));
                return result;
            }
            foreach (QueueName q in entries)
            {
                if (cancel.IsCancellationRequested) break;
                DirEntry e = q.Entry;
                if (otherLayout) { result.Add(ReadOtherLayout(todoDir, e, reader, bouncing.Contains(e.Id))); continue; }
                if (q.Place != NamePlace.Message)
                {
                    result.Add(ReadNonCanonical("todo", todoDirPath, e, q.Place == NamePlace.Misplaced, reader, bouncing));
                    continue;
                }
                result.Add(reader.ReadTodo(todoDir, e.Id, null, bouncing.Contains(e.Id)));
            }
            return result;
        }

        private ScanEvent ReadOtherLayout(DirectoryHandle dir, DirEntry e, ChunkReader reader, bool bouncing)
        {
            ScanEvent ev = reader.ReadTodo(dir, e.Id, e.NameZ(), bouncing);
            if (ev.Message != null)
            {
                string name = $"{Rel(dir.Path)}/{e.Name}";
                string canonical = Rel(_layout.PathOf("todo", e.Id));
                ev.Message.AddDamage(NameRules.OtherLayout(name, "todo", e.Id, canonical, _layout.BigTodo, string.Format(CultureInfo.InvariantCulture, NameRules.LayoutFix(_layout.BigTodo), canonical)).Description);
                ev.Message.State = QueueMessageState.Damaged;
            }
            return ev;
        }

        /// <param name="bits">Per entry, which of the split's directories list it (<see cref="SplitListing"/>'s bits; 0 for a name not the message's own).</param>
        private List<ScanEvent> ReadInfoChunk(int split, List<DirEntry> entries, byte[] bits,
            IdSet bouncing, HashSet<ulong> todoSeen, RingPool? rings, CancellationToken cancel)
        {
            var result = new List<ScanEvent>(entries.Count);
            using var reader = new ChunkReader(this, rings);
            reader.OpenSplit(split);
            // The plain case, regular files with canonical names in their own split, is read in one
            // go through the ring when there is one; the rest, file by file.
            int[]? batch = reader.Prefetch(entries, bits, (e, b) => e.IsCanonical && e.Kind == FileKind.Regular && _layout.SplitOf(e.Id) == split && SplitListing.ChannelsRegular(b));
            for (int i = 0; i < entries.Count; i++)
            {
                DirEntry e = entries[i];
                if (cancel.IsCancellationRequested) break;
                bool misplaced = _layout.SplitOf(e.Id) != split;
                if (!e.IsCanonical || misplaced)
                {
                    result.Add(ReadNonCanonical("info", _layout.SplitDir("info", split), e, misplaced, reader, bouncing, todoSeen));
                    continue;
                }
                result.Add(reader.ReadInfo(e.Id, null, (bits[i] & SplitListing.LocalBit) != 0, (bits[i] & SplitListing.RemoteBit) != 0, bouncing.Contains(e.Id), prefetched: batch?[i] ?? -1));
            }
            return result;
        }

        /// <summary>
        /// A name qmail reaches only through its canonical path (a leading zero, an overflowing
        /// number, or the wrong split directory). If the canonical file exists, qmail sees the
        /// message twice (a duplicate delivery) and the message itself is listed from its canonical
        /// name; otherwise qmail cannot see it at all, and it is listed here as Damaged.
        /// </summary>
        private ScanEvent ReadNonCanonical(string dirName, string dirPath, DirEntry e, bool misplaced, ChunkReader reader, IdSet bouncing, HashSet<ulong>? todoSeen = null)
        {
            string name = $"{Rel(dirPath)}/{e.Name}";
            string canonical = _layout.PathOf(dirName, e.Id);
            bool twin = _layout.Fs.TryLstat(canonical, out _, out _) || (todoSeen != null && todoSeen.Contains(e.Id));
            Finding f = misplaced ? NameRules.Misplaced(name, dirName, e.Id, Rel(canonical), twin) : NameRules.NonCanonical(name, dirName, e.Id, Rel(canonical), twin);
            // With the canonical file there, the message is listed once, from it; the alias is Test-QmailQueue's finding.
            if (twin) return new ScanEvent(ScanEventKind.Warning, id: e.Id, path: dirPath + "/" + e.Name, text: f.Description + " Run Test-QmailQueue.");
            using DirectoryHandle? dir = _layout.Fs.TryOpenDirectory(dirPath, out _);
            ScanEvent ev;
            if (dirName == "todo")
            {
                ev = dir is null ? new ScanEvent(ScanEventKind.Vanished, id: e.Id) : reader.ReadTodo(dir, e.Id, e.NameZ(), bouncing.Contains(e.Id));
            }
            else
            {
                reader.OpenSplit(_layout.SplitOf(e.Id));
                ev = reader.ReadInfo(e.Id, e.NameZ(), true, true, bouncing.Contains(e.Id), dir);
            }
            if (ev.Message != null)
            {
                ev.Message.AddDamage(f.Description);
                ev.Message.State = QueueMessageState.Damaged;
                ev.Message.QreadTrouble ??= "file does not exist";
            }
            return ev;
        }

        /// <summary>The per-chunk state: directory handles (opened once per split and kept) and a reusable buffer.</summary>
        private sealed class ChunkReader : IDisposable
        {
            private readonly QueueScanner _s;
            private byte[] _buffer = new byte[4096];
            private readonly byte[] _name = new byte[24];
            private readonly DirectoryHandle?[][] _handles;
            private readonly bool[][] _tried;
            private DirectoryHandle? _info, _mess, _local, _remote;
            private readonly AddressCache _addresses;
            private readonly List<QueueRecipient> _recipients = new List<QueueRecipient>();

            private readonly RingPool? _rings;
            /// <summary>Reads and judges each file, as Test-QmailQueue's walk does; its ring batch is this chunk's.</summary>
            private readonly MessageReader _reader;

            public ChunkReader(QueueScanner scanner, RingPool? rings)
            {
                _s = scanner;
                _rings = rings;
                _addresses = scanner._caches.Rent();
                _reader = new MessageReader(scanner._rules);
                _visitTodo = VisitTodo; _visitInfo = VisitInfo; _visitChannel = VisitChannel;
                _handles = new DirectoryHandle?[QueueLayout.SplitDirectories.Length][];
                _tried = new bool[QueueLayout.SplitDirectories.Length][];
                for (int i = 0; i < _handles.Length; i++) { _handles[i] = new DirectoryHandle?[scanner._layout.Split]; _tried[i] = new bool[scanner._layout.Split]; }
            }

            private QueueLayout L => _s._layout;

            /// <summary>Points info/mess/local/remote at split directory N (a missing one stays null).</summary>
            public void OpenSplit(int split)
            {
                _mess = Handle(0, split); _info = Handle(1, split); _local = Handle(2, split); _remote = Handle(3, split);
            }

            private DirectoryHandle? Handle(int kind, int split)
            {
                if (!_tried[kind][split])
                {
                    _tried[kind][split] = true;
                    _handles[kind][split] = L.Fs.TryOpenDirectory(L.SplitDir(QueueLayout.SplitDirectories[kind], split), out int errno);
                    if (errno != 0 && errno != Errno.ENOENT) (_unreadable ??= new Dictionary<int, int>())[kind * 1000003 + split] = errno;
                }
                return _handles[kind][split];
            }

            private Dictionary<int, int>? _unreadable;

            /// <summary>
            /// A split directory of this message that exists but could not be opened (a symbolic
            /// link, which QmailPS never enters, or no permission): what it holds of the message is
            /// unknown, so the message is damaged as far as this listing can tell.
            /// </summary>
            private void NoteUnreadableSplits(QueueMessage m, ulong id)
            {
                if (_unreadable is null) return;
                int split = L.SplitOf(id);
                for (int kind = 0; kind < QueueLayout.SplitDirectories.Length; kind++)
                    if (_unreadable.TryGetValue(kind * 1000003 + split, out int errno))
                    {
                        string dir = QueueLayout.SplitDirectories[kind] + "/" + split.ToString(CultureInfo.InvariantCulture);
                        m.AddDamage(errno == Errno.ELOOP
                            ? $"{dir} is a symbolic link, which QmailPS never enters (it could lead anywhere): this message's {QueueLayout.SplitDirectories[kind]} file there is not read"
                            : $"{dir} cannot be opened ({Errno.QmailText(errno)}): this message's {QueueLayout.SplitDirectories[kind]} file there is not read");
                    }
            }

            public void Dispose()
            {
                _s._caches.Return(_addresses);
                if (_reader.Batch != null) { _rings!.Return(_reader.Batch); _reader.Batch = null; }
                foreach (var row in _handles) for (int i = 0; i < row.Length; i++) { row[i]?.Dispose(); row[i] = null; }
            }

            /// <summary>dir/N/ID relative to the queue; the id's text is made once for the files of one message.</summary>
            private string P(string dir, ulong id)
            {
                if (!_hasIdText || _idTextOf != id) { _idText = id.ToString(CultureInfo.InvariantCulture); _idTextOf = id; _hasIdText = true; }
                return L.RelOf(dir, id, _idText);
            }

            private string _idText = "";
            private ulong _idTextOf;
            private bool _hasIdText;

            /// <summary>
            /// Makes the calls ReadInfo would make for the chosen entries, all at once through a ring
            /// (io_uring). Returns, per entry, its index in the batch (-1: not in it), or null when
            /// there is no ring (then everything is read with plain calls). The current split must be open.
            /// </summary>
            public int[]? Prefetch(List<DirEntry> entries, byte[] bits, Func<DirEntry, int, bool> eligible)
            {
                if (_rings is null || _info is null) return null;
                _reader.Batch ??= _rings.Rent();
                if (_reader.Batch is null) return null;
                int[] index = new int[entries.Count];
                var ids = new List<RingRequest>(entries.Count);
                for (int i = 0; i < entries.Count; i++)
                {
                    DirEntry e = entries[i];
                    if (!eligible(e, bits[i]) || ids.Count == RingBatch.MaxMessages) { index[i] = -1; continue; }
                    index[i] = ids.Count;
                    int open = 1 << RingBatch.Info;
                    if ((bits[i] & SplitListing.LocalBit) != 0) open |= 1 << RingBatch.Local;
                    if ((bits[i] & SplitListing.RemoteBit) != 0) open |= 1 << RingBatch.Remote;
                    ids.Add(new RingRequest(e.Id, open, statMess: true));
                }
                _reader.Batch.Run(ids, _info, _mess, _local, _remote, _rings.OpenBudget);
                return index;
            }

            /// <summary>A preprocessed message: info, mess, local, remote (what qmail-send's pqadd and pass_do read).</summary>
            public ScanEvent ReadInfo(ulong id, byte[]? rawName, bool inLocal, bool inRemote, bool bouncing, DirectoryHandle? infoDirOverride = null, int prefetched = -1)
            {
                _reader.Slot = prefetched;
                try { return ReadInfoCore(id, rawName, inLocal, inRemote, bouncing, infoDirOverride); }
                finally { _reader.Slot = -1; }
            }

            private ScanEvent ReadInfoCore(ulong id, byte[]? rawName, bool inLocal, bool inRemote, bool bouncing, DirectoryHandle? infoDirOverride)
            {
                OpenSplit(L.SplitOf(id));
                Libc.FormatId(id, _name);
                byte[] nameZ = rawName ?? _name;
                var m = new QueueMessage(id, L.Root) { HasBounce = bouncing };
                DirectoryHandle? infoDir = infoDirOverride ?? _info;
                string infoRel = infoDirOverride != null ? $"{RelOf(infoDirOverride.Path)}/{PathName.FromBytesZ(nameZ)}" : P("info", id);

                // info/N/ID: sender and birth.
                _currentInfo = m;
                FileRead info = infoDir is null ? new FileRead(null, default, Errno.ENOENT)
                    : _reader.Info(infoDir, id, rawName, infoRel, preprocessing: false, _visitInfo);
                _currentInfo = null;
                if (!info.Ok)
                {
                    if (info.Errno == Errno.ENOENT) return new ScanEvent(ScanEventKind.Vanished, id: id, text: $"message {id} finished while it was being read");
                    m.SenderMissing = true;
                    m.QreadTrouble = info.Errno == DirectoryHandle.NotRegular ? null : Errno.QmailText(info.Errno);
                    if (infoDir != null && infoDir.TryStat(nameZ, out FileStatus lst, out _)) m.QueuedAt = lst.MTimeUtc;
                }
                else
                {
                    m.QueuedAt = info.Status.MTimeUtc;
                    // getinfo(): the first record must be F…\0 (the visitor took its sender).
                    if (info.Records!.FirstByte != 'F' || info.Records.FirstNul < 0) m.SenderMissing = true;
                }
                Judge(m);

                NoteUnreadableSplits(m, id);
                // mess/N/ID: size, owner, type.
                ReadMess(m, id, infoDir, nameZ, null, infoRel, out bool vanished);
                if (vanished) return new ScanEvent(ScanEventKind.Vanished, id: id, text: $"message {id} finished while it was being read");

                // local/N/ID then remote/N/ID, as qmail-qread prints them.
                List<QueueRecipient> recipients = _recipients;
                recipients.Clear();
                if (inLocal) ReadChannel(m, _local, id, RecipientChannel.Local, recipients);
                if (inRemote) ReadChannel(m, _remote, id, RecipientChannel.Remote, recipients);
                m.SetRecipients(recipients.ToArray());
                int pendingCount = 0;
                foreach (var r in recipients) if (!r.Delivered) pendingCount++;
                recipients.Clear();
                m.PendingCount = pendingCount;
                m.State = m.Damage != null ? QueueMessageState.Damaged : bouncing ? QueueMessageState.Bouncing : QueueMessageState.Queued;
                if (bouncing && m.State == QueueMessageState.Damaged) m.AddDamage("bouncing (bounce/" + id + " exists)");
                return new ScanEvent(ScanEventKind.Message, m);
            }

            /// <summary>A message still in todo/ (or read from an alias name); falls back to info/ if
            /// qmail-send preprocessed it while we looked.</summary>
            public ScanEvent ReadTodo(DirectoryHandle todoDir, ulong id, byte[]? rawName, bool bouncing)
            {
                Libc.FormatId(id, _name);
                byte[] nameZ = rawName ?? (byte[])_name.Clone();
                string todoRel = $"{RelOf(todoDir.Path)}/{PathName.FromBytesZ(nameZ)}";
                if (!todoDir.TryStat(nameZ, out _, out int errno) && errno == Errno.ENOENT)
                {
                    if (rawName != null) return new ScanEvent(ScanEventKind.Vanished, id: id);
                    OpenSplit(L.SplitOf(id));
                    return ReadInfo(id, null, true, true, bouncing);
                }
                var m = new QueueMessage(id, L.Root) { HasBounce = bouncing, FromTodo = true };
                var recipients = _recipients;
                recipients.Clear();
                _current = m;
                FileRead todo = _reader.Todo(todoDir, nameZ, todoRel, preprocessing: false, _visitTodo);
                _current = null;
                if (!todo.Ok)
                {
                    if (todoDir.TryStat(nameZ, out FileStatus lst, out _)) m.QueuedAt = lst.MTimeUtc;
                }
                else m.QueuedAt = todo.Status.MTimeUtc;
                // todo_do takes the first F as the sender; without one (or unreadable) it has none.
                if (!todo.Ok || todo.Records!.Senders == 0) m.SenderMissing = true;
                Judge(m);
                m.SetRecipients(recipients.ToArray());
                m.PendingCount = recipients.Count;
                recipients.Clear();
                ReadMess(m, id, todoDir, nameZ, todoRel, null, out bool vanished);
                if (vanished)
                {
                    OpenSplit(L.SplitOf(id));
                    return ReadInfo(id, null, true, true, bouncing);
                }
                // info/N/ID beside the todo (preprocessing interrupted, or todo restored): qmail-qread
                // walks info/ only and lists the message from there, so ConvertTo-QmailQread must too.
                // ReadInfo gives Vanished when there is no info file.
                ScanEvent fromInfo = ReadInfo(id, null, true, true, bouncing);
                if (fromInfo.Message != null) m.QreadView = fromInfo.Message;
                else if (bouncing)
                {
                    TodoRules.StaleBounce("bounce/" + id.ToString(CultureInfo.InvariantCulture), _reader.Findings);
                    Judge(m);
                }
                m.State = m.Damage != null ? QueueMessageState.Damaged : QueueMessageState.Unprocessed;
                return new ScanEvent(ScanEventKind.Message, m);
            }

            /// <summary>Sender and recipients of todo/ID as todo_do reads them: the first F, every T, nothing after an unknown record.</summary>
            private void VisitTodo(RecordScan scan, byte type, byte[] b, int offset, int count, long at)
            {
                if (scan.UnknownAt >= 0 || _current is null) return; // qmail-send abandons preprocessing there
                if (type == 'F' && scan.Senders == 1)
                {
                    _current.Sender = _addresses.Decode(b, offset, count, out byte[]? raw);
                    _current.RawSenderIfLossy = raw;
                }
                else if (type == 'T')
                {
                    string addr = _addresses.Decode(b, offset, count, out byte[]? raw);
                    _recipients.Add(new QueueRecipient(addr, _s._control.ChannelOf(addr), false, raw));
                }
            }

            /// <summary>getinfo(): the sender is the F record at the start, nothing else is read.</summary>
            private void VisitInfo(RecordScan scan, byte type, byte[] b, int offset, int count, long at)
            {
                if (at != 0 || type != 'F' || _currentInfo is null) return;
                _currentInfo.Sender = _addresses.Decode(b, offset, count, out byte[]? raw);
                _currentInfo.RawSenderIfLossy = raw;
            }

            /// <summary>A channel file's recipients, done or not, in file order (qmail-qread prints them so).</summary>
            private void VisitChannel(RecordScan scan, byte type, byte[] b, int offset, int count, long at)
            {
                string addr = _addresses.Decode(b, offset, count, out byte[]? raw);
                _recipients.Add(new QueueRecipient(addr, _channel, type == 'D', raw));
            }

            private QueueMessage? _current, _currentInfo;
            private RecipientChannel _channel;
            private readonly RecordScan.Visitor _visitTodo, _visitInfo, _visitChannel;

            /// <summary>What the shared rules found so far: the findings that fail this message are its Damage.</summary>
            private void Judge(QueueMessage m)
            {
                foreach (Finding f in _reader.Findings) if (f.MakesDamaged) m.AddDamage(f.Description);
                _reader.Findings.Clear();
            }

            /// <summary>stat of mess; <paramref name="envelopeDir"/>/<paramref name="envelopeName"/> is
            /// re-checked when mess is missing, to tell "finished meanwhile" from "damaged".</summary>
            private void ReadMess(QueueMessage m, ulong id, DirectoryHandle? envelopeDir, byte[] envelopeName, string? todoRel, string? infoRel, out bool vanished)
            {
                string messRel = P("mess", id);
                vanished = false;
                OpenSplit(L.SplitOf(id));
                Libc.FormatId(id, _name);
                bool ok = _reader.StatMess(_mess, id, out FileStatus mst, out int errno);
                if (!ok)
                {
                    if (errno == Errno.ENOENT && !(envelopeDir != null && envelopeDir.TryStat(envelopeName, out _, out _))) { vanished = true; return; }
                    MessRules.Missing(messRel, id, errno, todoRel, infoRel, _reader.Findings);
                    Judge(m);
                    m.QreadTrouble = Errno.QmailText(errno);
                    return;
                }
                m.Size = mst.Size;
                // Only a short mess can be a stub; the head of the others is not needed to list them.
                _reader.Mess(_mess, id, messRel, mst, enveloped: true, everyHead: false);
                Judge(m);
                if (_s.IncludeHeader && mst.Kind == FileKind.Regular) ReadHeader(m);
            }

            private void ReadHeader(QueueMessage m)
            {
                int len = _mess!.TryReadFile(_name, ref _buffer, out _, out _, HeaderBytes, noAtime: true);
                if (len <= 0) return;
                foreach (MessageHeader h in MessageHeaders.Parse(_buffer, len))
                {
                    switch (h.Name.ToLowerInvariant())
                    {
                        case "subject": m.Subject ??= h.Value; break;
                        case "from": m.From ??= h.Value; break;
                        case "to": m.To ??= h.Value; break;
                        case "date": m.Date ??= h.Value; break;
                        case "message-id": m.MessageId ??= h.Value; break;
                    }
                }
            }

            private void ReadChannel(QueueMessage m, DirectoryHandle? dir, ulong id, RecipientChannel channel, List<QueueRecipient> recipients)
            {
                if (dir is null) return;
                Libc.FormatId(id, _name);
                _channel = channel;
                FileRead read = _reader.Channel(dir, id, channel == RecipientChannel.Local, P(channel == RecipientChannel.Local ? "local" : "remote", id),
                    preprocessing: false, reportAllDone: false, _visitChannel);
                Judge(m);
                if (read.Ok && read.Records!.Pending > 0)
                {
                    DateTime t = read.Status.MTimeUtc;
                    if (m.NextAttemptUtc is null || t < m.NextAttemptUtc) m.NextAttemptUtc = t;
                }
            }

            private string RelOf(string path) => _s.Rel(path);
        }
    }
}
