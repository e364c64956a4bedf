using System;
using System.Collections.Generic;
using System.Text;
using QmailPS.Queue;

namespace QmailPS.Check
{
    /// <summary>
    /// What a repair makes of the records of one todo or channel file, judged from a scan of it (no
    /// I/O, no copy of its bytes: the new file is written from a second read, a window at a time).
    /// </summary>
    internal sealed class RecordFix
    {
        /// <summary>No complete record is left: the file goes to the quarantine whole.</summary>
        public bool NothingLeft { get; set; }
        /// <summary>The cut-off last record (type byte and the first bytes qmail had, at most <see cref="RecordScan.MaxShown"/>), or null.</summary>
        public byte[]? Partial { get; set; }
        /// <summary>How long the cut-off record really is.</summary>
        public long PartialLength { get; set; }
        /// <summary>The partial record was proven whole and is completed with its NUL.</summary>
        public bool Completed { get; set; }
        /// <summary>Where the proof came from, when completed.</summary>
        public string? ProvenBy { get; set; }
        /// <summary>Records of a type qmail stops at (channel) or abandons preprocessing at (todo), left out.</summary>
        public long UnknownDropped { get; set; }
        /// <summary>Only the cut record changes, by one NUL appended: done in place (the inode stays).</summary>
        public bool AppendNulOnly => Completed && UnknownDropped == 0;
        public bool ChangesNothing => Partial is null && UnknownDropped == 0;
    }

    /// <summary>
    /// Records cut or unknown (queue-format.md §3.2): qmail-send drops a cut last record silently
    /// (getln without a match ends the file) and stops at a record of unknown type. A cut address is
    /// completed only when it is proven whole, that is it equals an address another copy of the
    /// envelope or the message's headers hold and none of those extends it (a cut
    /// 'bob@example.com.au' reads 'bob@example.com', someone else); otherwise it is left out, as
    /// qmail does, and the bytes go to the manifest. A partial that repeats a complete record of the
    /// same file is a cut duplicate: left out (completing it would deliver twice).
    /// </summary>
    internal static class RecordRules
    {
        /// <param name="scan">The file's records, scanned with <paramref name="knownTypes"/> ("TD" for a channel file, "upFT" for todo).</param>
        /// <param name="proven">Addresses known whole that equal or extend a partial address, with where each was found (headers, todo, the other channel file).</param>
        /// <param name="inFile">Whether the file holds a complete recipient record with this address.</param>
        public static RecordFix Judge(RecordScan scan, string knownTypes, Func<string, IReadOnlyDictionary<string, string>> proven, Func<string, bool> inFile)
        {
            var fix = new RecordFix { UnknownDropped = scan.UnknownCount };
            if (scan.Truncated is byte[] cut)
            {
                fix.Partial = cut;
                fix.PartialLength = scan.TruncatedLength;
                // Only a recipient can be proven (and only a recipient is worth completing); one
                // longer than what a scan keeps is no address anybody has.
                if (cut.Length > 1 && cut.Length == scan.TruncatedLength && (cut[0] == 'T' || cut[0] == 'D') && knownTypes.IndexOf((char)cut[0]) >= 0)
                {
                    string addr = Latin1.GetString(cut, 1, cut.Length - 1);
                    if (ProvenWhole(addr, proven(addr), out string? by) && !inFile(addr))
                    {
                        fix.Completed = true;
                        fix.ProvenBy = by;
                    }
                }
            }
            fix.NothingLeft = scan.Known == 0 && !fix.Completed;
            return fix;
        }

        /// <summary>Equal to a proven address, and no proven address is longer with it as its start.</summary>
        public static bool ProvenWhole(string partial, IReadOnlyDictionary<string, string> proven, out string? by)
        {
            by = null;
            foreach (var kv in proven)
            {
                if (kv.Key.Length > partial.Length && kv.Key.StartsWith(partial, StringComparison.OrdinalIgnoreCase)) { by = null; return false; }
                if (kv.Key.Equals(partial, StringComparison.OrdinalIgnoreCase)) by ??= kv.Value;
            }
            return by != null;
        }

        /// <summary>The headers that name recipients: To, Cc, Bcc and their Resent- forms.</summary>
        private static readonly HashSet<string> RecipientHeaders = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
            { "to", "cc", "bcc", "resent-to", "resent-cc", "resent-bcc" };

        /// <summary>Every address-like word (local@domain) of the recipient headers of a message head.</summary>
        public static IEnumerable<string> HeaderAddresses(byte[] head, int length)
        {
            foreach (MessageHeader h in MessageHeaders.Parse(head, length))
            {
                if (!RecipientHeaders.Contains(h.Name)) continue;
                foreach (string word in h.RawValue.Split(Separators, StringSplitOptions.RemoveEmptyEntries))
                    if (word.IndexOf('@') > 0) yield return word.Trim('.');
            }
        }

        private static readonly char[] Separators = { ' ', '\t', '\r', '\n', ',', ';', '<', '>', '"', '(', ')', '[', ']' };

        /// <summary>One char per byte: addresses are compared as qmail compares them, byte for byte.</summary>
        internal static readonly Encoding Latin1 = Encoding.GetEncoding(28591);

        /// <summary>A partial record for a person to read: its type and its bytes, unprintable ones escaped.</summary>
        public static string Show(byte[] record)
        {
            if (record.Length == 0) return "''";
            string what = record[0] switch { (byte)'T' => "pending recipient ", (byte)'D' => "done recipient ", (byte)'F' => "sender ", _ => "record " };
            int from = what == "record " ? 0 : 1;
            var sb = new StringBuilder(what).Append('\'');
            for (int i = from; i < record.Length; i++) { byte b = record[i]; sb.Append(b >= 32 && b < 127 ? (char)b : '?'); }
            return sb.Append('\'').ToString();
        }
    }
}
