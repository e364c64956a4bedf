using System;
using System.Collections.Generic;
using System.Text;

namespace QmailPS.Queue
{
    /// <summary>One NUL-terminated record of a todo, info or channel file: its type byte and its bytes.</summary>
    internal readonly struct QueueRecord
    {
        public QueueRecord(byte type, byte[] value, int offset) { Type = type; Value = value; Offset = offset; }
        public byte Type { get; }
        public byte[] Value { get; }
        /// <summary>Offset of the type byte in the file (qmail-send's markdone writes 'D' there).</summary>
        public int Offset { get; }
    }

    /// <summary>Records of a file, plus what was wrong with the bytes.</summary>
    internal sealed class ParsedRecords
    {
        public List<QueueRecord> Records { get; } = new List<QueueRecord>();
        /// <summary>Bytes after the last NUL (a record qmail ignores: truncated write, disk full).</summary>
        public byte[]? Truncated { get; set; }
        /// <summary>Offset of the first record whose type qmail does not know, or -1.</summary>
        public int UnknownAt { get; set; } = -1;
        public byte UnknownType { get; set; }
        /// <summary>Records of no known type (an empty one included): counted, never stored — a sparse file is millions of them.</summary>
        public long UnknownCount { get; set; }
    }

    /// <summary>
    /// The byte formats of queue files (queue-format.md §2.2, §2.4): records are a type byte, bytes
    /// without NUL, then NUL. todo: u, p, F, T…; info: one F; channel (local/remote): T (pending) or D (done).
    /// </summary>
    internal static class QueueRecords
    {
        /// <summary>Splits bytes into records the way qmail's getln(…, '\0') loop does (<see cref="RecordScan"/>), keeping each record.</summary>
        public static ParsedRecords Parse(byte[] data, int length, string knownTypes)
        {
            var result = new ParsedRecords();
            RecordScan scan = RecordScan.Of(data, length, knownTypes,
                (s, type, b, offset, count, at) => result.Records.Add(new QueueRecord(type, count == 0 ? Array.Empty<byte>() : Slice(b, offset, count), (int)at)));
            // Every reader skips records of no known type (qmail does too); storing one per NUL cost ~70 bytes each.
            result.UnknownAt = (int)scan.UnknownAt;
            result.UnknownType = scan.UnknownType;
            result.UnknownCount = scan.UnknownCount;
            if (scan.Truncated != null) result.Truncated = Slice(data, length - (int)scan.TruncatedLength, (int)scan.TruncatedLength);
            return result;
        }

        private static byte[] Slice(byte[] data, int offset, int count)
        {
            var b = new byte[count];
            Buffer.BlockCopy(data, offset, b, 0, count);
            return b;
        }

        private static readonly Encoding StrictUtf8 = new UTF8Encoding(false, true);
        private static readonly Encoding Latin1 = Encoding.GetEncoding(28591);

        /// <summary>
        /// Decodes an address in place in a buffer. Returns the raw bytes too only when they are not
        /// valid UTF-8: otherwise re-encoding the string gives them back, and a scan of 100,000
        /// messages should not keep every address twice.
        /// </summary>
        public static string DecodeAddress(byte[] buffer, int offset, int count, out byte[]? rawIfLossy)
        {
            rawIfLossy = null;
            bool ascii = true;
            for (int i = offset; i < offset + count; i++) if (buffer[i] >= 0x80) { ascii = false; break; }
            if (ascii) return Encoding.ASCII.GetString(buffer, offset, count);
            try { return StrictUtf8.GetString(buffer, offset, count); }
            catch (DecoderFallbackException)
            {
                rawIfLossy = new byte[count];
                Buffer.BlockCopy(buffer, offset, rawIfLossy, 0, count);
                return Latin1.GetString(buffer, offset, count);
            }
        }

        /// <summary>The bytes of an address: the kept raw bytes, or the string re-encoded (identical when it was valid UTF-8).</summary>
        public static byte[] RawOf(string address, byte[]? rawIfLossy) => rawIfLossy ?? Encoding.UTF8.GetBytes(address);

        /// <summary>Addresses are bytes to qmail: UTF-8 when they are valid UTF-8, else one char per byte.</summary>
        public static string DecodeAddress(byte[] raw) => DecodeAddress(raw, 0, raw.Length, out _);

        public static byte[] EncodeAddress(string address) => Encoding.UTF8.GetBytes(address);

        /// <summary>Appends one record: type, bytes, NUL.</summary>
        public static void Append(List<byte> buffer, char type, byte[] value)
        {
            buffer.Add((byte)type);
            buffer.AddRange(value);
            buffer.Add(0);
        }

        /// <summary>The todo/intd envelope qmail-queue writes: u&lt;uid&gt;, p&lt;pid&gt;, F&lt;sender&gt;, T&lt;rcpt&gt;… (no end record).</summary>
        public static byte[] EncodeTodo(uint uid, int pid, byte[] sender, IEnumerable<byte[]> recipients)
        {
            var b = new List<byte>(64);
            Append(b, 'u', Encoding.ASCII.GetBytes(uid.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Append(b, 'p', Encoding.ASCII.GetBytes(pid.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Append(b, 'F', sender);
            foreach (byte[] r in recipients) Append(b, 'T', r);
            return b.ToArray();
        }

        public static byte[] EncodeInfo(byte[] sender)
        {
            var b = new List<byte>(sender.Length + 2);
            Append(b, 'F', sender);
            return b.ToArray();
        }

        public static byte[] EncodeChannel(IEnumerable<(byte[] Address, bool Done)> recipients)
        {
            var b = new List<byte>(64);
            foreach (var (address, done) in recipients) Append(b, done ? 'D' : 'T', address);
            return b.ToArray();
        }

        /// <summary>An address qmail-queue accepts: at most 1002 bytes, no NUL (qmail-queue exit 11 / 91).</summary>
        public static string? CheckAddress(byte[] address)
        {
            if (address.Length > 1002) return "is longer than 1002 bytes (qmail-queue rejects it)";
            if (Array.IndexOf(address, (byte)0) >= 0) return "contains a NUL byte";
            return null;
        }
    }
}
