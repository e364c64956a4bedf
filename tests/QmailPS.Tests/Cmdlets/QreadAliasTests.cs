using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Numerics;
using QmailPS.Tests.Check;
using QmailPS.Tests.Support;
using Xunit;

namespace QmailPS.Tests.Cmdlets
{
    /// <summary>
    /// ConvertTo-QmailQread for info names qmail-qread reads as another name of a message (a leading
    /// zero, an overflowing number, the canonical name in another split). qmail-qread.c lists every
    /// name readsubdir_next gives (scan_ulong, the whole name digits), then opens mess/, info/,
    /// local/ and remote/ by fmtqfn's canonical name: such an alias prints the message's block again,
    /// or, with no canonical info, "warning: trouble with #ID: file does not exist".
    /// </summary>
    public sealed class QreadAliasTests : IClassFixture<RepairQmailQueueTests.Session>
    {
        private readonly PsSession _ps;
        public QreadAliasTests(RepairQmailQueueTests.Session s) { _ps = s.Ps; }

        private List<string> Qread(TempQueue q, string get = "Get-QmailQueueMessage -QueuePath $q") =>
            _ps.Run(get + " -WarningAction SilentlyContinue | ConvertTo-QmailQread", q.Root).AssertClean().Objects<string>();

        /// <summary>Blocks of qmail-qread text (a stats or warning line and its recipient lines), sorted: readdir order is the file system's.</summary>
        private static List<string> Blocks(IEnumerable<string> lines) =>
            GoldenQueue.QreadBlocks(lines).OrderBy(b => b, StringComparer.Ordinal).ToList();

        /// <summary>
        /// qmail-qread's text, from its main loop: every all-digit name in info/0…split-1, read as
        /// scan_ulong reads it (wrapping), prints the block of that id (from the canonical files),
        /// or the trouble line when mess/ or the canonical info/ cannot be opened.
        /// </summary>
        private static List<string> QmailQread(TempQueue q, Dictionary<ulong, string> blocks)
        {
            var lines = new List<string>();
            for (int n = 0; n < q.Layout.Split; n++)
                foreach (string path in Directory.EnumerateFileSystemEntries(q.Layout.SplitDir("info", n)))
                {
                    string name = Path.GetFileName(path);
                    if (name.Length == 0 || !name.All(c => c >= '0' && c <= '9')) continue;
                    ulong id = (ulong)(BigInteger.Parse(name) % (BigInteger.One << 64));
                    if (File.Exists(q.PathOf("mess", id)) && File.Exists(q.PathOf("info", id))) lines.AddRange(blocks[id].TrimEnd('\n').Split('\n'));
                    else lines.Add($"warning: trouble with #{id}: file does not exist");
                }
            return lines;
        }

        private static Dictionary<ulong, string> ById(List<string> lines) =>
            GoldenQueue.QreadBlocks(lines).ToDictionary(b => ulong.Parse(b.Split('#')[1].Split(' ')[0]), b => b);

        private static void Alias(TempQueue q, ulong id, string dir, string name) =>
            File.Copy(q.PathOf("info", id), q.Layout.Dir("info") + "/" + dir + "/" + name);

        [Fact]
        public void An_info_alias_beside_the_canonical_info_prints_the_message_twice_like_qmail_qread()
        {
            RepairQmailQueueTests.RootOnly();
            using var q = TempQueue.Create();
            ulong a = q.AddProcessed("bob@example.test", "a@remote.test");
            ulong b = q.AddProcessed("carol@example.test", "b@remote.test");
            ulong c = q.AddProcessed("", "c@remote.test");
            var blocks = ById(Qread(q));
            int sa = q.Layout.SplitOf(a), sb = q.Layout.SplitOf(b), sc = q.Layout.SplitOf(c);
            Alias(q, a, sa.ToString(), "0" + a);                                    // a leading zero
            Alias(q, b, ((sb + 3) % q.Layout.Split).ToString(), b.ToString());      // the canonical name in another split
            Alias(q, c, sc.ToString(), ((BigInteger.One << 64) + c).ToString());     // an overflowing number

            var expected = QmailQread(q, blocks);
            Assert.Equal(6, GoldenQueue.QreadBlocks(expected).Count);
            Assert.Equal(Blocks(expected), Blocks(Qread(q)));
            // One message asked for by id: the text qmail-qread prints for it, both times.
            Assert.Equal((blocks[a] + blocks[a]).TrimEnd('\n').Split('\n'), Qread(q, $"Get-QmailQueueMessage -QueuePath $q -Id {a}"));
        }

        [Fact]
        public void An_info_alias_without_the_canonical_info_prints_qmail_qreads_trouble_line()
        {
            RepairQmailQueueTests.RootOnly();
            using var q = TempQueue.Create();
            ulong a = q.AddProcessed("bob@example.test", "a@remote.test");
            ulong b = q.AddProcessed("carol@example.test", "b@remote.test");
            var blocks = ById(Qread(q));
            int sa = q.Layout.SplitOf(a);
            Alias(q, a, sa.ToString(), "0" + a);
            Alias(q, a, sa.ToString(), "00" + a);
            File.Delete(q.PathOf("info", a));

            var expected = QmailQread(q, blocks);
            Assert.Equal(2, expected.Count(l => l == $"warning: trouble with #{a}: file does not exist"));
            Assert.Equal(Blocks(expected), Blocks(Qread(q)));
        }

        [Fact]
        public void An_info_alias_of_a_message_still_in_todo_prints_qmail_qreads_trouble_line()
        {
            RepairQmailQueueTests.RootOnly();
            using var q = TempQueue.Create();
            ulong a = q.AddProcessed("bob@example.test", "a@remote.test");
            ulong t = q.AddUnprocessed("carol@example.test", "b@remote.test");
            var blocks = ById(Qread(q));
            // an info for the todo message, under a name qmail-qread reads but qmail-send never writes
            File.WriteAllBytes(q.Layout.SplitDir("info", q.Layout.SplitOf(t)) + "/0" + t, System.Text.Encoding.ASCII.GetBytes("Fcarol@example.test\0"));

            var expected = QmailQread(q, blocks);
            Assert.Contains($"warning: trouble with #{t}: file does not exist", expected);
            Assert.Equal(Blocks(expected), Blocks(Qread(q)));
        }
    }
}
