using System;
using QmailPS.Posix;

namespace QmailPS.Queue
{
    /// <summary>
    /// What the records of one todo, info or channel file say, gathered as the bytes go by, a window
    /// at a time (queue-format.md §2.2, §2.4): qmail's getln(…, '\0') loop, without keeping the file.
    /// A sparse 256 MiB channel file is 256 million empty records; memory must not grow with them.
    /// Records of the known types are handed to the visitor; a record longer than
    /// <see cref="MaxRecord"/> (no address is) is handed over with its first bytes only.
    /// </summary>
    internal sealed class RecordScan
    {
        /// <summary>the scan so far, type, buffer, offset and count of the record's bytes (after the type byte), the type byte's offset in the file.</summary>
        public delegate void Visitor(RecordScan scan, byte type, byte[] buffer, int offset, int count, long at);

        /// <summary>The most of one record kept while it spans windows.</summary>
        public const int MaxRecord = 1 << 20;
        /// <summary>The most of a cut-off last record kept for the report.</summary>
        public const int MaxShown = 4096;

        private readonly string _known;
        private readonly Visitor? _visit;
        private byte[] _carry = Array.Empty<byte>();
        private int _carryKept;      // bytes of the record in progress kept in _carry
        private long _carryLength;   // its whole length so far
        private long _carryAt = -1;  // its offset, or -1 when none is in progress

        public RecordScan(string knownTypes, Visitor? visit = null) { _known = knownTypes; _visit = visit; }

        /// <summary>Bytes fed so far.</summary>
        public long Length { get; private set; }
        public long Pending { get; private set; }
        public long Done { get; private set; }
        /// <summary>F records (the sender; qmail uses the first).</summary>
        public long Senders { get; private set; }
        /// <summary>Records of a known type, whatever the type.</summary>
        public long Known { get; private set; }
        /// <summary>Known records longer than <see cref="MaxRecord"/>: the visitor saw only their first bytes.</summary>
        public long Oversized { get; private set; }
        /// <summary>Offset of the first record of a type qmail does not know (an empty one included), or -1.</summary>
        public long UnknownAt { get; private set; } = -1;
        public byte UnknownType { get; private set; }
        /// <summary>Records of no known type: counted, never kept.</summary>
        public long UnknownCount { get; private set; }
        /// <summary>Offset of the first NUL, or -1 (info: where the F record ends).</summary>
        public long FirstNul { get; private set; } = -1;
        public byte FirstByte { get; private set; }
        /// <summary>The bytes after the last NUL, which qmail drops (at most <see cref="MaxShown"/> of them), or null.</summary>
        public byte[]? Truncated { get; private set; }
        public long TruncatedLength { get; private set; }
        /// <summary>The cut record is a recipient (T and at least one byte of address).</summary>
        public bool TruncatedRecipient => Truncated != null && TruncatedLength > 1 && Truncated[0] == 'T';

        public void Feed(byte[] data, int start, int count)
        {
            if (count <= 0) return;
            if (Length == 0) FirstByte = data[start];
            long baseAt = Length - start; // file offset of data[0]
            int pos = start, end = start + count;
            while (pos < end)
            {
                if (data[pos] == 0 && _carryAt < 0)
                {
                    // A run of empty records (a sparse file is nothing else): counted in one pass.
                    int run = pos;
                    while (run < end && data[run] == 0) run++;
                    if (FirstNul < 0) FirstNul = baseAt + pos;
                    if (UnknownAt < 0) { UnknownAt = baseAt + pos; UnknownType = 0; }
                    UnknownCount += run - pos;
                    pos = run;
                    continue;
                }
                int nul = Array.IndexOf(data, (byte)0, pos, end - pos);
                if (FirstNul < 0 && nul >= 0) FirstNul = baseAt + nul;
                if (nul < 0) { Keep(data, pos, end - pos, baseAt + pos); break; }
                if (_carryAt >= 0)
                {
                    Keep(data, pos, nul - pos, baseAt + pos);
                    Record(_carry, 0, _carryKept, _carryLength, _carryAt);
                    _carryAt = -1; _carryKept = 0; _carryLength = 0;
                }
                else Record(data, pos, nul - pos, nul - pos, baseAt + pos);
                pos = nul + 1;
            }
            Length += count;
        }

        /// <summary>The end of the file: a record still open is the cut-off last one.</summary>
        public void End()
        {
            if (_carryAt < 0) return;
            int shown = Math.Min(_carryKept, MaxShown);
            Truncated = new byte[shown];
            Buffer.BlockCopy(_carry, 0, Truncated, 0, shown);
            TruncatedLength = _carryLength;
            _carryAt = -1;
        }

        /// <summary>Scans a whole buffer.</summary>
        public static RecordScan Of(byte[] data, int length, string knownTypes, Visitor? visit = null)
        {
            var s = new RecordScan(knownTypes, visit);
            s.Feed(data, 0, length);
            s.End();
            return s;
        }

        /// <summary>
        /// Reads one todo or channel file of <paramref name="dir"/> and scans its records: whole when it
        /// is small (through the ring's batch when there is one), a window at a time when it is big.
        /// </summary>
        public static Check.Rules.FileRead Read(RingBatch? batch, int k, int kind, DirectoryHandle dir, byte[] nameZ, ref byte[] buffer,
            string knownTypes, Visitor? visit = null)
        {
            dir.WholeReadLimit = DirectoryHandle.Window;
            int len = kind < 0 ? dir.TryReadFile(nameZ, ref buffer, out FileStatus st, out int errno)
                               : RingBatch.Read(batch, k, kind, dir, nameZ, ref buffer, out st, out errno);
            if (len >= 0) return new Check.Rules.FileRead(Of(buffer, len, knownTypes, visit), st, 0);
            if (errno != DirectoryHandle.Streamable) return new Check.Rules.FileRead(null, st, errno);
            return Stream(dir, nameZ, ref buffer, knownTypes, visit);
        }

        /// <summary>
        /// A file too big to read whole, a window at a time. Its own method: the lambda's captured
        /// scan would otherwise be allocated at every call of <see cref="Read"/>, small files too.
        /// </summary>
        private static Check.Rules.FileRead Stream(DirectoryHandle dir, byte[] nameZ, ref byte[] buffer, string knownTypes, Visitor? visit)
        {
            var scan = new RecordScan(knownTypes, visit);
            long got = dir.TryStreamFile(nameZ, ref buffer, (b, n) => scan.Feed(b, 0, n), out FileStatus st, out int errno);
            if (got < 0) return new Check.Rules.FileRead(null, st, errno);
            scan.End();
            return new Check.Rules.FileRead(scan, st, 0);
        }

        private void Keep(byte[] data, int offset, int count, long at)
        {
            if (_carryAt < 0) _carryAt = at;
            _carryLength += count;
            int take = Math.Min(count, MaxRecord - _carryKept);
            if (take <= 0) return;
            if (_carry.Length < _carryKept + take) Array.Resize(ref _carry, Math.Min(MaxRecord, Math.Max(_carryKept + take, _carry.Length * 2)));
            Buffer.BlockCopy(data, offset, _carry, _carryKept, take);
            _carryKept += take;
        }

        /// <summary>One record: <paramref name="kept"/> bytes at offset (type byte first) of a record <paramref name="length"/> long.</summary>
        private void Record(byte[] buffer, int offset, int kept, long length, long at)
        {
            byte type = length == 0 ? (byte)0 : buffer[offset];
            if (length == 0 || _known.IndexOf((char)type) < 0)
            {
                if (UnknownAt < 0) { UnknownAt = at; UnknownType = type; }
                UnknownCount++;
                return;
            }
            Known++;
            if (length > kept) Oversized++;
            switch (type)
            {
                case (byte)'T': Pending++; break;
                case (byte)'D': Done++; break;
                case (byte)'F': Senders++; break;
            }
            _visit?.Invoke(this, type, buffer, offset + 1, kept - 1, at);
        }
    }
}
