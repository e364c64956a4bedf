using System.Collections.Generic;
using QmailPS.Check.Rules;
using QmailPS.Posix;

namespace QmailPS.Queue
{
    /// <summary>
    /// Reads the files of one message the way qmail-send reads them and judges each file by the
    /// shared rules as it is read: Get-QmailQueueMessage (its State and Damage) and Test-QmailQueue
    /// (its findings, and so Repair's plan) read a message through these same calls. Files are
    /// opened relative to the split's directory handles (never through a link), from the ring batch
    /// the walk prefetched when there is one; records are parsed a window at a time.
    /// </summary>
    internal sealed class MessageReader
    {
        private readonly RuleContext _rules;
        private byte[] _buffer = new byte[4096];
        private readonly byte[] _name = new byte[24];

        public MessageReader(RuleContext rules) { _rules = rules; }

        /// <summary>What the rules found in the files read since the caller last took them (the caller clears it).</summary>
        public List<Finding> Findings { get; } = new List<Finding>();

        /// <summary>The ring batch the message was prefetched into, and its place there (-1: plain calls).</summary>
        public RingBatch? Batch { get; set; }
        public int Slot { get; set; } = -1;

        /// <summary>todo/ID as todo_do reads it (never batched: todo files are read once, in order).</summary>
        public FileRead Todo(DirectoryHandle dir, byte[] nameZ, string rel, bool preprocessing, RecordScan.Visitor? visit = null)
        {
            FileRead read = RecordScan.Read(null, -1, -1, dir, nameZ, ref _buffer, TodoRules.Types, visit);
            TodoRules.Detect(_rules, rel, read, preprocessing, Findings);
            return read;
        }

        /// <summary>info/N/ID (or an alias name, <paramref name="nameZ"/>) as getinfo reads it.</summary>
        public FileRead Info(DirectoryHandle dir, ulong id, byte[]? nameZ, string rel, bool preprocessing, RecordScan.Visitor? visit = null)
        {
            FileRead read = RecordScan.Read(Batch, nameZ is null ? Slot : -1, RingBatch.Info, dir, nameZ ?? Name(id), ref _buffer, InfoRules.Types, visit);
            InfoRules.Detect(_rules, rel, read, preprocessing, Findings);
            return read;
        }

        /// <summary>local/N/ID or remote/N/ID, every record, as pass_do reads it.</summary>
        public FileRead Channel(DirectoryHandle dir, ulong id, bool local, string rel, bool preprocessing, bool reportAllDone, RecordScan.Visitor? visit = null)
        {
            FileRead read = RecordScan.Read(Batch, Slot, local ? RingBatch.Local : RingBatch.Remote, dir, Name(id), ref _buffer, ChannelRules.Types, visit);
            ChannelRules.Detect(_rules, rel, read, preprocessing, reportAllDone, Findings);
            return read;
        }

        /// <summary>lstat of mess/N/ID (qmail-send's stat before it delivers).</summary>
        public bool StatMess(DirectoryHandle? dir, ulong id, out FileStatus st, out int errno) =>
            RingBatch.Stat(Batch, Slot, dir, Name(id), out st, out errno);

        /// <summary>
        /// Judges a mess already stat'ed. Its first bytes are read when <paramref name="everyHead"/>
        /// (Test-QmailQueue also reports a mess without qmail-queue's Received line) or when only
        /// they can tell a stub from a short message; a listing reads no other mess byte.
        /// </summary>
        public void Mess(DirectoryHandle? dir, ulong id, string rel, FileStatus st, bool enveloped, bool everyHead)
        {
            int n = -1;
            if (dir != null && st.Kind == FileKind.Regular && st.Size > 0 && (everyHead || MessRules.NeedsHead(st)))
                n = RingBatch.ReadHead(Batch, Slot, dir, Name(id), ref _buffer, MessRules.HeadBytes, out _);
            MessRules.Detect(_rules, rel, id, st, n >= 0 ? _buffer : null, n, enveloped, Findings);
        }

        private byte[] Name(ulong id)
        {
            Libc.FormatId(id, _name);
            return _name;
        }
    }
}
