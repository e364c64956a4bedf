using System;
using System.Collections.Generic;
using System.Globalization;
using QmailPS.Posix;

namespace QmailPS.Queue
{
    /// <summary>How far a walk looks.</summary>
    internal enum WalkDepth
    {
        /// <summary>What qmail-send reads: todo/, then info/N with local/N and remote/N (mess is stat'ed per message, never listed).</summary>
        Qmail,
        /// <summary>Every message directory: mess/N too, so files qmail cannot reach (an orphan mess, a channel file without info) are seen.</summary>
        Every,
    }

    /// <summary>What a name in a message directory is to qmail.</summary>
    internal enum NamePlace : byte
    {
        /// <summary>fmtqfn's name of a message, in its own split: what qmail opens.</summary>
        Message,
        /// <summary>Not all digits: qmail ignores it.</summary>
        NotANumber,
        /// <summary>A number qmail never spells so (a leading zero, an overflow): reached only as the canonical name.</summary>
        NonCanonical,
        /// <summary>A message's name in another split's directory (a queue moved between conf-split values).</summary>
        Misplaced,
        /// <summary>A numeric directory in a vanilla todo/ or intd/: big-todo's split directory; its files are listed as <see cref="OtherLayout"/>.</summary>
        Subdirectory,
        /// <summary>A todo or intd file in the place the other todo layout uses: binaries built for this layout never see it.</summary>
        OtherLayout,
    }

    /// <summary>One name the walk found, with the directory it was found in (relative to the queue).</summary>
    internal readonly struct QueueName
    {
        public QueueName(string dir, DirEntry entry, NamePlace place, FileKind kind)
        {
            Dir = dir; Entry = entry; Place = place; Kind = kind;
        }

        public string Dir { get; }
        public DirEntry Entry { get; }
        public NamePlace Place { get; }
        /// <summary>d_type, or the lstat where the walk needed it and d_type was not filled in.</summary>
        public FileKind Kind { get; }
        public string Rel => Dir + "/" + Entry.Name;
        /// <summary>The queue directory it is under: todo, info, …</summary>
        public string Top => Dir.IndexOf('/') is int i && i >= 0 ? Dir.Substring(0, i) : Dir;
    }

    /// <summary>A directory the walk could not list, and why.</summary>
    internal readonly struct Unlisted
    {
        public Unlisted(string path, int errno) { Path = path; Errno = errno; }
        public string Path { get; }
        public int Errno { get; }
    }

    /// <summary>todo/, intd/ or bounce/ listed: each name with what it is to qmail, this layout's places first, in readdir order.</summary>
    internal sealed class FlatListing
    {
        public readonly List<QueueName> Names = new List<QueueName>();
        public readonly List<Unlisted> Unlisted = new List<Unlisted>();
        /// <summary>How many of <see cref="Names"/> are in this layout's places (the rest are in the other layout's).</summary>
        public int OwnCount;
    }

    /// <summary>
    /// One split's message directories listed: the ids of the canonical names, sorted and merged per
    /// id with which directories hold them, and every other name for the rules that judge names.
    /// Reused from split to split: at a million messages a split's directories hold 40,000 names
    /// each, and lists grown anew per directory were large-object-heap garbage that only a full
    /// collection frees (issue 14: Test-QmailQueue peaked 20 MB above Get-QmailQueueMessage).
    /// </summary>
    internal sealed class SplitListing
    {
        /// <summary>Which directory lists the id (the low four bits of <see cref="Bits"/>).</summary>
        public const int MessBit = 1, InfoBit = 2, LocalBit = 4, RemoteBit = 8;

        /// <summary>The bit, in the high four bits of <see cref="Bits"/>, saying readdir reported a regular file: (1 &lt;&lt; RingBatch.Info/Local/Remote/MessHead) &lt;&lt; 4.</summary>
        public static int RegularBit(int ringKind) => (1 << ringKind) << 4;

        public int Split;
        public ulong[] Ids = new ulong[1024];
        public byte[] Bits = new byte[1024];
        public int Count;
        /// <summary><see cref="WalkDepth.Qmail"/>: info/N's numeric names in readdir order, the order qmail-qread prints.</summary>
        public readonly List<DirEntry> Info = new List<DirEntry>();
        /// <summary>Names that are not a message's in this split (<see cref="NamePlace"/> other than Message), in readdir order per directory.</summary>
        public readonly List<QueueName> Names = new List<QueueName>();
        public readonly List<Unlisted> Unlisted = new List<Unlisted>();

        internal void Reset(int split)
        {
            Split = split; Count = 0; Info.Clear(); Names.Clear(); Unlisted.Clear();
        }

        internal void Add(ulong id, int bits)
        {
            if (Count == Ids.Length)
            {
                // By a quarter, not doubled: these arrays are kept for the whole walk.
                Array.Resize(ref Ids, Count + Math.Max(1024, Count / 4));
                Array.Resize(ref Bits, Ids.Length);
            }
            Ids[Count] = id;
            Bits[Count++] = (byte)bits;
        }

        /// <summary>Sorts by id and merges the entries of one id (its files in several directories) into one.</summary>
        internal void SortAndMerge()
        {
            Array.Sort(Ids, Bits, 0, Count);
            int m = 0;
            for (int k = 0; k < Count; k++)
            {
                if (m > 0 && Ids[m - 1] == Ids[k]) { Bits[m - 1] |= Bits[k]; continue; }
                Ids[m] = Ids[k];
                Bits[m++] = Bits[k];
            }
            Count = m;
        }

        /// <summary>Every channel file the bits name is a regular file by readdir (else it is read the careful way, one call at a time).</summary>
        public static bool ChannelsRegular(int bits) =>
            ((bits & LocalBit) == 0 || (bits & RegularBit(RingBatch.Local)) != 0) && ((bits & RemoteBit) == 0 || (bits & RegularBit(RingBatch.Remote)) != 0);

        /// <summary>The bits of <paramref name="id"/> (0 when no directory of the split lists it).</summary>
        public int BitsOf(ulong id)
        {
            int k = Array.BinarySearch(Ids, 0, Count, id);
            return k >= 0 ? Bits[k] : 0;
        }
    }

    /// <summary>
    /// The one place that lists the queue's message directories and says what each name is to
    /// qmail (queue-format.md §1.3, §3.2 "Names"). Get-QmailQueueMessage walks it at
    /// <see cref="WalkDepth.Qmail"/>, Test-QmailQueue (and so Repair) at <see cref="WalkDepth.Every"/>;
    /// the facts are the same, so are the names each reports. Read only; never follows a link.
    /// </summary>
    internal sealed class QueueWalk
    {
        private readonly QueueLayout _l;

        public QueueWalk(QueueLayout layout, WalkDepth depth) { _l = layout; Depth = depth; }

        public WalkDepth Depth { get; }

        /// <summary>Directories of one split, in the order they are listed: mess (Every only), info, local, remote.</summary>
        private static readonly int[] QmailKinds = { 1, 2, 3 }, EveryKinds = { 0, 1, 2, 3 };

        /// <summary>
        /// Lists split <paramref name="n"/> into <paramref name="into"/>. <paramref name="handles"/>
        /// (indexed as <see cref="QueueLayout.SplitDirectories"/>) receives the directories opened,
        /// for the caller to read the files through and dispose. At <see cref="WalkDepth.Qmail"/>
        /// an unreadable or empty info/N ends the listing: qmail-send reads nothing else of the split.
        /// </summary>
        /// <param name="also">Ids to merge in with no bits (their message's todo/, intd/ or bounce/ files): the caller judges them with the split's.</param>
        public void ListSplit(int n, SplitListing into, DirectoryHandle?[] handles, IReadOnlyList<ulong>? also = null)
        {
            into.Reset(n);
            string ns = n.ToString(CultureInfo.InvariantCulture);
            bool qmail = Depth == WalkDepth.Qmail;
            foreach (int kind in qmail ? QmailKinds : EveryKinds)
            {
                string top = QueueLayout.SplitDirectories[kind];
                string rel = top + "/" + ns;
                DirectoryHandle? h = handles[kind] = _l.Fs.TryOpenDirectory(_l.Root + "/" + rel, out int errno);
                int present = kind switch { 0 => SplitListing.MessBit, 1 => SplitListing.InfoBit, 2 => SplitListing.LocalBit, _ => SplitListing.RemoteBit };
                int regular = SplitListing.RegularBit(kind switch { 0 => RingBatch.MessHead, 1 => RingBatch.Info, 2 => RingBatch.Local, _ => RingBatch.Remote });
                bool listed = h != null && h.TryEachEntry(e =>
                {
                    NamePlace place = !e.IsNumeric ? NamePlace.NotANumber : !e.IsCanonical ? NamePlace.NonCanonical
                        : _l.SplitOf(e.Id) != n ? NamePlace.Misplaced : NamePlace.Message;
                    if (place == NamePlace.Message) into.Add(e.Id, present | (e.Kind == FileKind.Regular ? regular : 0));
                    else into.Names.Add(new QueueName(rel, e, place, e.Kind));
                    if (qmail && kind == 1 && e.IsNumeric) into.Info.Add(e);
                }, out errno);
                if (!listed) into.Unlisted.Add(new Unlisted(_l.Root + "/" + rel, errno));
                if (qmail && kind == 1 && (!listed || (into.Count == 0 && into.Names.Count == 0))) break;
            }
            if (also != null) foreach (ulong id in also) into.Add(id, 0);
            into.SortAndMerge();
        }

        /// <summary>
        /// Lists todo/, intd/ (this layout's places, then the other layout's: todo/N/ID in a vanilla
        /// queue, todo/ID in a big-todo one, so a queue between layouts still shows every file) or
        /// bounce/.
        /// </summary>
        public FlatListing ListFlat(string top)
        {
            var result = new FlatListing();
            bool todo = top == "todo" || top == "intd";
            bool split = _l.IsSplit(top);
            var own = new List<string>();
            if (split) for (int n = 0; n < _l.Split; n++) own.Add(top + "/" + n.ToString(CultureInfo.InvariantCulture));
            else own.Add(top);
            var other = new List<string>();
            var listing = new List<DirEntry>();
            foreach (string rel in own)
            {
                string dir = _l.Root + "/" + rel;
                if (_l.Fs.TryList(dir, listing, out int errno) is null) { result.Unlisted.Add(new Unlisted(dir, errno)); continue; }
                int? n = split ? int.Parse(rel.Substring(top.Length + 1), CultureInfo.InvariantCulture) : (int?)null;
                foreach (DirEntry e in listing)
                {
                    FileKind kind = e.Kind;
                    NamePlace place;
                    if (!e.IsNumeric) place = NamePlace.NotANumber;
                    else if (todo && !split && (kind = KindOf(dir, e)) == FileKind.Directory) { place = NamePlace.Subdirectory; other.Add(rel + "/" + e.Name); }
                    else if (!e.IsCanonical) place = NamePlace.NonCanonical;
                    else if (n.HasValue && _l.SplitOf(e.Id) != n.Value) place = NamePlace.Misplaced;
                    else place = NamePlace.Message;
                    result.Names.Add(new QueueName(rel, e, place, kind));
                }
            }
            result.OwnCount = result.Names.Count;
            if (!todo) return result;
            if (split) other.Add(top);
            foreach (string rel in other)
            {
                string dir = _l.Root + "/" + rel;
                if (_l.Fs.TryList(dir, listing, out int errno) is null) { result.Unlisted.Add(new Unlisted(dir, errno)); continue; }
                foreach (DirEntry e in listing)
                {
                    NamePlace place = !e.IsNumeric ? NamePlace.NotANumber : !e.IsCanonical ? NamePlace.NonCanonical : NamePlace.OtherLayout;
                    result.Names.Add(new QueueName(rel, e, place, KindOf(dir, e)));
                }
            }
            return result;
        }

        /// <summary>d_type, or lstat when the file system does not fill it in.</summary>
        private FileKind KindOf(string dir, DirEntry e) =>
            e.Kind != FileKind.Unknown ? e.Kind : _l.Fs.TryLstat(dir + "/" + e.Name, out FileStatus st, out _) ? st.Kind : FileKind.Unknown;
    }
}
