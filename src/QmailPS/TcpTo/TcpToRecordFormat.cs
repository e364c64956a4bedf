using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;

namespace QmailPS
{
    /// <summary>How the records of lock/tcpto are laid out (queue-format.md §5.1, §5.5).</summary>
    public enum TcpToRecordFormat : long
    {
        /// <summary>qmail-1.03, netqmail, notqmail, qmail-ldap: 64 records of 16 bytes, IPv4 only.</summary>
        Classic16 = 16,
        /// <summary>
        /// The IPv6 patches (sagredo-dev/qmail, eQmail): a C struct written as is, 32 bytes per record
        /// on x86_64/arm64 Linux (af, flag, padding, 64-bit when, 16-byte address).
        /// </summary>
        Struct32 = 32,
    }
}

namespace QmailPS.TcpTo
{
    /// <summary>One record of lock/tcpto as it is on disk, decoded. No PowerShell types.</summary>
    internal sealed class TcpToRecord
    {
        public const byte AfInet = 2, AfInet6 = 10; // Linux values; the struct stores the build's own

        internal TcpToRecord(int slot, TcpToRecordFormat format, byte[] raw)
        {
            Slot = slot;
            Format = format;
            Raw = raw;
            if (format == TcpToRecordFormat.Classic16)
            {
                Af = AfInet;
                Address = new IPAddress(new[] { raw[0], raw[1], raw[2], raw[3] });
                Count = raw[4];
                Time = (ulong)raw[8] | (ulong)raw[9] << 8 | (ulong)raw[10] << 16 | (ulong)raw[11] << 24;
                ReservedNonZero = raw[5] != 0 || raw[6] != 0 || raw[7] != 0 || raw[12] != 0 || raw[13] != 0 || raw[14] != 0 || raw[15] != 0;
            }
            else
            {
                Af = raw[0];
                Count = raw[1];
                ulong t = 0;
                for (int i = 7; i >= 0; i--) t = (t << 8) | raw[8 + i];
                Time = t;
                // sagredo's qmail-tcpto prints AF_INET with ip_fmt and anything else with ip6_fmt.
                if (Af == AfInet)
                {
                    Address = new IPAddress(new[] { raw[16], raw[17], raw[18], raw[19] });
                }
                else
                {
                    var b = new byte[16];
                    Buffer.BlockCopy(raw, 16, b, 0, 16);
                    Address = new IPAddress(b);
                }
                bool pad = false;
                for (int i = 2; i < 8; i++) pad |= raw[i] != 0;
                ReservedNonZero = pad || (Af != 0 && Af != AfInet && Af != AfInet6) || (Af == 0 && Count != 0);
            }
        }

        /// <summary>Index of the record in the file (offset = Slot × record size).</summary>
        public int Slot { get; }
        public TcpToRecordFormat Format { get; }
        /// <summary>The record's bytes as read (16 or 32).</summary>
        public byte[] Raw { get; }
        /// <summary>Struct format: the address family byte; classic: always AF_INET.</summary>
        public byte Af { get; }
        public IPAddress Address { get; }
        /// <summary>The count byte, unsigned.</summary>
        public byte Count { get; }
        /// <summary>Time of the last counted timeout, Unix seconds, exactly as stored.</summary>
        public ulong Time { get; }
        /// <summary>Bytes no qmail writes (other than zero) are set, or the struct's af is not one qmail writes.</summary>
        public bool ReservedNonZero { get; }

        /// <summary>
        /// The count as qmail-remote and qmail-tcpto compare it: classic qmail keeps it in a C
        /// <c>char</c>, signed on x86 (so 0x80–0xFF are negative); the struct's flag is unsigned char.
        /// </summary>
        public int CountAsQmailSeesIt => Format == TcpToRecordFormat.Classic16 ? (sbyte)Count : Count;

        /// <summary>qmail-tcpto prints the record (count ≥ 1 in qmail's own signedness).</summary>
        public bool ShownByQmailTcpto => CountAsQmailSeesIt >= 1;

        /// <summary>qmail-remote never writes a count above 10: anything higher is damage.</summary>
        public bool IsCorrupt => Count > 10 || ReservedNonZero;

        /// <summary>Does this record hold <paramref name="address"/> the way qmail-remote compares it?</summary>
        public bool Holds(IPAddress address)
        {
            byte[] want = address.GetAddressBytes();
            if (Format == TcpToRecordFormat.Classic16)
            {
                if (address.AddressFamily != AddressFamily.InterNetwork) return false;
                for (int i = 0; i < 4; i++) if (Raw[i] != want[i]) return false;
                return true;
            }
            byte af = address.AddressFamily == AddressFamily.InterNetwork ? AfInet : AfInet6;
            if (Af != af) return false;
            for (int i = 0; i < want.Length; i++) if (Raw[16 + i] != want[i]) return false;
            return true;
        }

        /// <summary>The record with its count and time zeroed (what is written back to clear it).</summary>
        public byte[] Cleared()
        {
            var b = (byte[])Raw.Clone();
            if (Format == TcpToRecordFormat.Classic16)
            {
                b[4] = 0;
                for (int i = 8; i < 12; i++) b[i] = 0;
            }
            else
            {
                b[1] = 0;
                for (int i = 8; i < 16; i++) b[i] = 0;
            }
            return b;
        }
    }

    /// <summary>Record layouts, decoding and format detection for lock/tcpto.</summary>
    internal static class TcpToRecords
    {
        /// <summary>qmail reads at most 1024 bytes (64 × 16).</summary>
        public const int ClassicMaxBytes = 1024;
        /// <summary>64 × 32: eQmail's buffer; sagredo's 1024-byte file holds 32 of them.</summary>
        public const int StructMaxBytes = 2048;
        /// <summary>What qmail-tcpok (and the installer, and qmail-rspawn's tcpto_clean) write.</summary>
        public const int ClearBytes = 1024;

        /// <summary>qmail-remote's skip window is (60 + (pid &amp; 31)) &lt;&lt; 6 seconds: 3840 at least, 5824 at most.</summary>
        public const int ShortestWindow = 60 << 6, LongestWindow = (60 + 31) << 6;

        public static int RecordSize(TcpToRecordFormat f) => (int)f;

        public static int MaxBytes(TcpToRecordFormat f) => f == TcpToRecordFormat.Classic16 ? ClassicMaxBytes : StructMaxBytes;

        /// <summary>Whole records only, like qmail's <c>n = bytes_read / sizeof record</c>; never past the format's buffer.</summary>
        public static List<TcpToRecord> Parse(byte[] data, int length, TcpToRecordFormat format)
        {
            int size = RecordSize(format);
            int n = Math.Min(length, MaxBytes(format)) / size;
            var list = new List<TcpToRecord>(n);
            for (int i = 0; i < n; i++)
            {
                var raw = new byte[size];
                Buffer.BlockCopy(data, i * size, raw, 0, size);
                list.Add(new TcpToRecord(i, format, raw));
            }
            return list;
        }

        /// <summary>
        /// The slots qmail-remote actually consults: it stops at the first record with the
        /// address (tcpto.c), whatever its count, so a later duplicate is never looked at.
        /// </summary>
        public static bool[] Effective(IReadOnlyList<TcpToRecord> records)
        {
            var result = new bool[records.Count];
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (int i = 0; i < records.Count; i++)
            {
                TcpToRecord r = records[i];
                string key = (r.Format == TcpToRecordFormat.Classic16 ? "" : r.Af + "/") + BitConverter.ToString(r.Address.GetAddressBytes());
                result[i] = seen.Add(key);
            }
            return result;
        }

        /// <summary>The outcome of format detection: a format, or why none fits.</summary>
        internal sealed class Detection
        {
            public TcpToRecordFormat? Format;
            public string Reason = "";
        }

        /// <summary>
        /// Which layout <paramref name="data"/> is in (queue-format.md §5.5). The heuristic of the
        /// spec, made tolerant of a few damaged records (the golden file has one classic record with
        /// garbage in its unused bytes, and real qmail-tcpto reads it):
        ///  * classic: bytes 5–7 and 12–15 of a record are 0;
        ///  * struct: byte 0 (af) is 0, 2 or 10, bytes 2–7 (padding) are 0, bytes 12–15 are 0 (a
        ///    64-bit time before 2106), and an af of 0 comes with a count of 0.
        /// Only records that are not all NUL count. A layout fits when at most a quarter of them
        /// break its rules; when both fit, the one with fewer broken records wins, then the one
        /// with more plausible entries (count 1–10), then struct when some af is set (a classic
        /// file rarely has even slots that look like that). An all-NUL or empty file is classic
        /// (it holds no record in either layout).
        /// </summary>
        public static Detection Detect(byte[] data, int length)
        {
            int cN = 0, cBad = 0, cGood = 0;
            int cLen = Math.Min(length, ClassicMaxBytes) / 16 * 16;
            for (int o = 0; o < cLen; o += 16)
            {
                if (AllZero(data, o, 16)) continue;
                cN++;
                bool bad = data[o + 5] != 0 || data[o + 6] != 0 || data[o + 7] != 0 || !AllZero(data, o + 12, 4);
                if (bad) cBad++;
                else if (data[o + 4] >= 1 && data[o + 4] <= 10) cGood++;
            }

            int sN = 0, sBad = 0, sGood = 0;
            bool anyAf = false;
            int sLen = Math.Min(length, StructMaxBytes) / 32 * 32;
            for (int o = 0; o < sLen; o += 32)
            {
                if (AllZero(data, o, 32)) continue;
                sN++;
                byte af = data[o], flag = data[o + 1];
                bool bad = (af != 0 && af != TcpToRecord.AfInet && af != TcpToRecord.AfInet6)
                           || !AllZero(data, o + 2, 6) || !AllZero(data, o + 12, 4) || (af == 0 && flag != 0);
                if (bad) sBad++;
                else
                {
                    if (af != 0) anyAf = true;
                    if (af != 0 && flag >= 1 && flag <= 10) sGood++;
                }
            }

            if (cN == 0 && sN == 0)
                return new Detection { Format = TcpToRecordFormat.Classic16, Reason = length == 0 ? "the file is empty" : "every record is NUL" };

            bool cFits = cN > 0 && cBad * 4 <= cN;
            bool sFits = sN > 0 && sBad * 4 <= sN;
            string stats = $"{cBad} of {cN} non-empty 16-byte records break the classic layout, {sBad} of {sN} non-empty 32-byte records break the struct layout";
            if (!cFits && !sFits) return new Detection { Reason = stats };
            if (cFits != sFits)
                return new Detection { Format = cFits ? TcpToRecordFormat.Classic16 : TcpToRecordFormat.Struct32, Reason = stats };

            // Both fit: compare the share of broken records (cross-multiplied, no rounding).
            long c = (long)cBad * sN, s = (long)sBad * cN;
            if (c != s) return new Detection { Format = c < s ? TcpToRecordFormat.Classic16 : TcpToRecordFormat.Struct32, Reason = stats };
            if (cGood != sGood)
                return new Detection { Format = cGood > sGood ? TcpToRecordFormat.Classic16 : TcpToRecordFormat.Struct32, Reason = stats + $"; {cGood} classic vs {sGood} struct records hold a count of 1–10" };
            return new Detection { Format = anyAf ? TcpToRecordFormat.Struct32 : TcpToRecordFormat.Classic16, Reason = stats + (anyAf ? "; struct address families are set" : "") };
        }

        private static bool AllZero(byte[] b, int offset, int count)
        {
            for (int i = 0; i < count; i++) if (b[offset + i] != 0) return false;
            return true;
        }
    }
}
