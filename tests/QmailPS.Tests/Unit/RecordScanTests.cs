using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using QmailPS.Queue;
using Xunit;

namespace QmailPS.Tests.Unit
{
    /// <summary>The window-at-a-time record scan gives what a whole-file parse gives, wherever the windows split the bytes.</summary>
    public sealed class RecordScanTests
    {
        private static (List<(char, string, long)> Seen, RecordScan Scan) Run(byte[] data, string types, IEnumerable<int> cuts)
        {
            var seen = new List<(char, string, long)>();
            var scan = new RecordScan(types, (s, t, b, o, n, at) => seen.Add(((char)t, Encoding.Latin1.GetString(b, o, n), at)));
            int pos = 0;
            foreach (int cut in cuts.Where(c => c > 0 && c < data.Length).Distinct().OrderBy(c => c))
            {
                // Each window a fresh buffer with junk around it: the scan must copy what it keeps.
                var window = new byte[cut - pos + 8];
                window.AsSpan().Fill((byte)'#');
                Buffer.BlockCopy(data, pos, window, 4, cut - pos);
                scan.Feed(window, 4, cut - pos);
                pos = cut;
            }
            var last = new byte[data.Length - pos];
            Buffer.BlockCopy(data, pos, last, 0, last.Length);
            scan.Feed(last, 0, last.Length);
            scan.End();
            return (seen, scan);
        }

        [Theory]
        [InlineData("Tann@x\0Dbob@y\0Tcarol@z\0", "TD")]
        [InlineData("Tann@x\0\0\0Xjunk\0Tbob@example.com.au", "TD")]
        [InlineData("u0\0p42\0Fsender@x\0Ta@b\0Tc@d\0", "upFT")]
        [InlineData("F\0", "F")]
        [InlineData("Fbob@x", "F")]
        [InlineData("", "TD")]
        [InlineData("\0\0\0\0", "TD")]
        public void Any_split_into_windows_gives_the_whole_file_parse(string text, string types)
        {
            byte[] data = Encoding.Latin1.GetBytes(text);
            ParsedRecords whole = QueueRecords.Parse(data, data.Length, types);
            var rnd = new Random(text.Length * 7919 + types.Length);
            for (int round = 0; round < 200; round++)
            {
                var cuts = Enumerable.Range(0, rnd.Next(0, 6)).Select(_ => rnd.Next(0, data.Length + 1)).ToList();
                if (round < data.Length) cuts = new List<int> { round }; // every single split point too
                var (seen, scan) = Run(data, types, cuts);
                Assert.Equal(whole.Records.Select(r => ((char)r.Type, Encoding.Latin1.GetString(r.Value), (long)r.Offset)), seen);
                Assert.Equal(whole.UnknownAt, scan.UnknownAt);
                Assert.Equal(whole.UnknownCount, scan.UnknownCount);
                Assert.Equal(whole.Truncated is null ? null : Encoding.Latin1.GetString(whole.Truncated), scan.Truncated is null ? null : Encoding.Latin1.GetString(scan.Truncated));
                Assert.Equal(data.Length, scan.Length);
                Assert.Equal(whole.Records.Count(r => r.Type == 'T'), scan.Pending);
                Assert.Equal(whole.Records.Count(r => r.Type == 'D'), scan.Done);
                Assert.Equal(Array.IndexOf(data, (byte)0), scan.FirstNul);
            }
        }

        [Fact]
        public void A_huge_cut_record_keeps_only_its_start_and_its_length()
        {
            var data = new byte[3 * RecordScan.MaxRecord];
            data.AsSpan().Fill((byte)'a');
            data[0] = (byte)'T';
            var (seen, scan) = Run(data, "TD", new[] { 1000, RecordScan.MaxRecord, 2 * RecordScan.MaxRecord + 5 });
            Assert.Empty(seen);
            Assert.True(scan.TruncatedRecipient);
            Assert.Equal(RecordScan.MaxShown, scan.Truncated!.Length);
            Assert.Equal(data.Length, scan.TruncatedLength);
        }

        [Fact]
        public void Ten_million_empty_records_in_windows_are_counted_not_kept()
        {
            var window = new byte[1 << 20];
            var scan = new RecordScan("TD");
            for (int i = 0; i < 10; i++) scan.Feed(window, 0, window.Length);
            scan.End();
            Assert.Equal(10L << 20, scan.UnknownCount);
            Assert.Equal(0, scan.UnknownAt);
            Assert.Null(scan.Truncated);
        }
    }
}
