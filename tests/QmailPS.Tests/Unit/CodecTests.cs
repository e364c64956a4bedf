using System.IO;
using System.Linq;
using System.Text;
using QmailPS.Queue;
using QmailPS.Tests.Support;
using Xunit;

namespace QmailPS.Tests.Unit
{
    /// <summary>The queue's byte formats and qmail's rules, without PowerShell.</summary>
    public sealed class CodecTests
    {
        private static ParsedRecords Parse(string s, string types) { var b = Encoding.Latin1.GetBytes(s); return QueueRecords.Parse(b, b.Length, types); }

        [Fact]
        public void Records_split_on_nul_and_keep_offsets_for_in_place_D_marking()
        {
            var p = Parse("Dcarol@ok.test\0Tdave@example.net\0", "TD");
            Assert.Equal(new[] { 'D', 'T' }, p.Records.Select(r => (char)r.Type));
            Assert.Equal(new[] { 0, 15 }, p.Records.Select(r => r.Offset));
            Assert.Equal("dave@example.net", Encoding.ASCII.GetString(p.Records[1].Value));
            Assert.Null(p.Truncated);
            Assert.Equal(-1, p.UnknownAt);
        }

        [Fact]
        public void Truncated_and_unknown_records_are_reported()
        {
            var p = Parse("Ta\0Xb\0Tc", "TD");
            Assert.Equal(3, p.UnknownAt);
            Assert.Equal((byte)'X', p.UnknownType);
            Assert.Equal("Tc", Encoding.ASCII.GetString(p.Truncated!));
            var empty = Parse("Ta\0\0", "TD");
            Assert.Equal(3, empty.UnknownAt); // an empty record is not a T or D record
        }

        [Fact]
        public void Todo_encoding_is_qmail_queue_layout()
        {
            byte[] b = QueueRecords.EncodeTodo(1000, 4242, Encoding.ASCII.GetBytes("bob@example.test"), new[] { Encoding.ASCII.GetBytes("alice@example.test") });
            Assert.Equal("u1000\0p4242\0Fbob@example.test\0Talice@example.test\0", Encoding.ASCII.GetString(b));
            Assert.Equal(50, b.Length); // queue-format.md §9.4
        }

        [Fact]
        public void Addresses_are_utf8_when_valid_and_bytes_otherwise()
        {
            Assert.Equal("jürgen@example.test", QueueRecords.DecodeAddress(Encoding.UTF8.GetBytes("jürgen@example.test")));
            Assert.Equal("\u00ff@x", QueueRecords.DecodeAddress(new byte[] { 0xff, (byte)'@', (byte)'x' }));
            Assert.NotNull(QueueRecords.CheckAddress(new byte[1003]));
            Assert.Null(QueueRecords.CheckAddress(Encoding.ASCII.GetBytes(new string('a', 1002))));
        }

        [Fact]
        public void Rewrite_follows_locals_virtualdomains_and_percenthack()
        {
            string dir = Path.Combine(Path.GetTempPath(), "qmailps-control-" + System.Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                File.WriteAllText(Path.Combine(dir, "me"), "mail.example.test\n");
                File.WriteAllText(Path.Combine(dir, "locals"), "example.test\n# comment\n\nLOCALHOST  \n");
                File.WriteAllText(Path.Combine(dir, "virtualdomains"), "virt.test:joe\n.sub.test:sub\nexcluded.virt.test:\nuser@other.test:u\n");
                File.WriteAllText(Path.Combine(dir, "percenthack"), "example.test\n");
                var c = new ControlFiles(dir);
                Assert.Equal(RecipientChannel.Local, c.ChannelOf("alice@EXAMPLE.test"));
                Assert.Equal(RecipientChannel.Local, c.ChannelOf("root@localhost"));
                Assert.Equal(RecipientChannel.Remote, c.ChannelOf("bob@remote.test"));
                Assert.Equal(RecipientChannel.Local, c.ChannelOf("a@virt.test"));
                Assert.Equal(RecipientChannel.Local, c.ChannelOf("a@deep.sub.test"));
                Assert.Equal(RecipientChannel.Remote, c.ChannelOf("a@excluded.virt.test"));
                Assert.Equal(RecipientChannel.Local, c.ChannelOf("user@other.test"));
                Assert.Equal(RecipientChannel.Remote, c.ChannelOf("someone@other.test"));
                Assert.Equal(RecipientChannel.Remote, c.ChannelOf("user%remote.test@example.test")); // percenthack
                Assert.Equal(RecipientChannel.Remote, c.ChannelOf("nodomain")); // @mail.example.test is not in locals
                Assert.Equal(ControlFiles.DefaultQueueLifetime, c.QueueLifetime);
                File.WriteAllText(Path.Combine(dir, "queuelifetime"), "3600\n");
                Assert.Equal(3600, new ControlFiles(dir).QueueLifetime);
            }
            finally { Directory.Delete(dir, true); }
        }

        /// <summary>control_readint and control_readline as notqmail's control.c has them.</summary>
        [Theory]
        [InlineData("3600\n", 3600)]
        [InlineData("3600abc\n", 3600)]     // scan_ulong stops at the first non-digit
        [InlineData("two weeks\n", 604800)] // no leading digit: "not set", qmail-send keeps its default
        [InlineData(" 3600\n", 604800)]
        [InlineData("\n3600\n", 604800)]   // the first line only, even when it is empty…
        [InlineData("# days\n3600\n", 604800)] // …or a comment (control_readline skips nothing)
        [InlineData("", 604800)]
        [InlineData("0\n", 0)]
        public void Queuelifetime_is_read_like_control_readint(string content, long expected)
        {
            string dir = Path.Combine(Path.GetTempPath(), "qmailps-ctl-" + System.Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                File.WriteAllText(Path.Combine(dir, "queuelifetime"), content);
                File.WriteAllText(Path.Combine(dir, "me"), "# not a comment here\nmail.example.test\n");
                var c = new ControlFiles(dir);
                Assert.Equal(expected, c.QueueLifetime);
                Assert.Null(c.QueueLifetimeProblem);
                Assert.Equal("# not a comment here", c.Me);
            }
            finally { Directory.Delete(dir, true); }
        }

        [Theory]
        [InlineData("=?UTF-8?B?SsO8cmdlbg==?=", "Jürgen")]
        [InlineData("=?iso-8859-1?q?caf=E9?= au lait", "café au lait")]
        [InlineData("=?UTF-8?Q?a?= =?UTF-8?Q?b?=", "ab")]
        [InlineData("plain =?bogus", "plain =?bogus")]
        [InlineData("=?x-unknown?Q?abc?=", "abc")]
        public void Encoded_words_decode(string raw, string expected) => Assert.Equal(expected, MessageHeaders.DecodeWords(raw));

        [Fact]
        public void Header_block_stops_at_the_first_empty_line_and_unfolds()
        {
            byte[] b = Encoding.ASCII.GetBytes("Subject: a\n b\r\nX: 1\n\nSubject: body\n");
            var h = MessageHeaders.Parse(b, b.Length);
            Assert.Equal(new[] { "Subject: a b", "X: 1" }, h.Select(x => x.ToString()));
        }

        [Fact]
        public void Qmail_users_ids_come_from_the_system()
        {
            var posix = QmailPS.Tests.Support.TestFs.Raw;
            Assert.Equal(0u, posix.LookupUser("root")!.Value.Uid);
            Assert.Null(posix.LookupUser("no-such-user-qmailps"));
        }

        [Fact]
        public void Records_of_no_known_type_are_counted_not_stored_so_a_sparse_channel_file_costs_no_memory_per_byte()
        {
            // A sparse 10 MB channel file is ten million empty records; before, each cost a record and an array.
            var data = new byte[10_000_000];
            byte[] head = System.Text.Encoding.ASCII.GetBytes("Ta@x\0Xjunk\0");
            System.Buffer.BlockCopy(head, 0, data, 0, head.Length);
            var recs = QmailPS.Queue.QueueRecords.Parse(data, data.Length, "TD");
            Assert.Single(recs.Records);
            Assert.Equal("a@x", System.Text.Encoding.ASCII.GetString(recs.Records[0].Value));
            Assert.Equal(data.Length - head.Length + 1, recs.UnknownCount); // X and every NUL after it
            Assert.Equal(5, recs.UnknownAt);
            Assert.Equal((byte)'X', recs.UnknownType);
            Assert.Null(recs.Truncated);
        }
    }
}
