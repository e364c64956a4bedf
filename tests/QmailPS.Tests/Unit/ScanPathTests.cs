using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using QmailPS.Posix;
using QmailPS.Queue;
using QmailPS.Tests.Check;
using QmailPS.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace QmailPS.Tests.Unit
{
    /// <summary>
    /// The scanner reads plain messages in batches through io_uring where the kernel allows it,
    /// and file by file otherwise. Both paths must see every queue, healthy or damaged, the same.
    /// </summary>
    public sealed class ScanPathTests
    {
        private readonly ITestOutputHelper _out;
        public ScanPathTests(ITestOutputHelper output) { _out = output; }

        /// <summary>Everything a scan reports, as text: every message property and every event.</summary>
        private static List<string> Describe(string root, bool ring)
        {
            var scanner = new QueueScanner(QueueLayout.Detect(root)) { UseRing = ring };
            var lines = new List<string>();
            foreach (ScanEvent e in scanner.Scan())
            {
                if (e.Kind == ScanEventKind.Progress) continue;
                QueueMessage? m = e.Message;
                if (m is null) { lines.Add($"{e.Kind} {e.Id} {e.Path} {e.Errno} {e.Text}"); continue; }
                string rcpts = string.Join(",", m.Recipients.Select(r => $"{r.Channel}:{r.Address}:{r.Delivered}"));
                lines.Add($"{e.Kind} {m.Id} S='{m.Sender}' {m.State} size={m.Size} at={m.QueuedAt:O} next={m.NextAttempt:O} pending={m.PendingCount} [{rcpts}] damage={m.Damage} trouble={m.QreadTrouble} bounce={m.HasBounce}");
            }
            lines.Sort(StringComparer.Ordinal);
            return lines;
        }

        private void AssertSame(string root)
        {
            List<string> plain = Describe(root, ring: false);
            List<string> batched = Describe(root, ring: true);
            Assert.NotEmpty(plain);
            Assert.Equal(plain, batched);
        }

        [Fact]
        public void The_ring_is_used_where_the_kernel_has_io_uring()
        {
            using RingBatch? b = RingBatch.TryCreate();
            _out.WriteLine(b is null ? "io_uring is not usable here: scans make plain calls" : "io_uring is usable: plain messages are read in batches");
            // Where /proc says io_uring is allowed and the kernel is 5.12 or later (earlier ones charge
            // rings to RLIMIT_MEMLOCK, often 64 KiB, and the scan then rightly makes plain calls), the ring must come up.
            string release = File.ReadAllText("/proc/sys/kernel/osrelease");
            int[] v = release.Split('.', '-').Take(2).Select(int.Parse).ToArray();
            bool allowed = !File.Exists("/proc/sys/kernel/io_uring_disabled") || File.ReadAllText("/proc/sys/kernel/io_uring_disabled").Trim() == "0";
            bool seccomp = File.ReadAllLines("/proc/self/status").Where(l => l.StartsWith("Seccomp:", StringComparison.Ordinal)).Any(l => l.Split(':')[1].Trim() != "0");
            if ((v[0] > 5 || (v[0] == 5 && v[1] >= 12)) && allowed && !seccomp && !IoUring.Disabled) Assert.NotNull(b);
        }

        [Fact]
        public void Golden_queue_reads_the_same_on_both_paths()
        {
            using TempQueue q = GoldenQueue.Restore();
            AssertSame(q.Root);
        }

        [Fact]
        public void Big_channel_files_odd_file_types_and_names_read_the_same_on_both_paths()
        {
            var (q, remote, mixed, _) = TestQmailQueueTests.Healthy();
            using (q)
            {
                // A channel file bigger than a batch slot (1 KiB): read again the plain way.
                var many = Enumerable.Range(0, 120).Select(i => new RecipientSpec($"user{i:D4}@remote{i % 7}.test", RecipientChannel.Remote, delivered: i % 3 == 0)).ToList();
                ulong big = q.AddProcessed("lists@example.test", many);
                // A second split with messages in it.
                for (int i = 0; i < 40; i++) q.AddProcessed($"s{i}@example.test", $"r{i}@remote.test");
                // Damage, after every message is queued (a freed inode would be the next message's id):
                // a FIFO as local, a symlink as remote, a directory as info, an empty channel file,
                // mess missing, info garbage, a truncated record.
                ulong fifo = q.AddProcessed("f@example.test", new[] { new RecipientSpec("a@example.test", RecipientChannel.Local) });
                ulong link = q.AddProcessed("l@example.test", "b@remote.test");
                ulong dir = q.AddProcessed("d@example.test", "c@remote.test");
                ulong garbage = q.AddProcessed("g@example.test", "d@remote.test");
                ulong cut = q.AddProcessed("h@example.test", "e@remote.test", "f@remote.test");
                File.Delete(q.PathOf("local", fifo));
                TestFs.Raw.Mkfifo(q.PathOf("local", fifo), Mode.Rw_______);
                File.Move(q.PathOf("remote", link), q.PathOf("remote", link) + ".real");
                File.CreateSymbolicLink(q.PathOf("remote", link), q.PathOf("remote", link) + ".real");
                File.Delete(q.PathOf("info", dir));
                Directory.CreateDirectory(q.PathOf("info", dir));
                File.WriteAllBytes(q.PathOf("remote", remote), Array.Empty<byte>());
                File.Delete(q.PathOf("mess", mixed));
                File.WriteAllBytes(q.PathOf("info", garbage), Encoding.ASCII.GetBytes("Xjunk"));
                byte[] r = File.ReadAllBytes(q.PathOf("remote", cut));
                File.WriteAllBytes(q.PathOf("remote", cut), r.Take(r.Length - 1).ToArray());
                AssertSame(q.Root);
                Assert.Contains(Describe(q.Root, ring: true), l => l.Contains($" {big} ", StringComparison.Ordinal) && l.Contains("user0119@remote0.test", StringComparison.Ordinal));
            }
        }

        private static List<string> Findings(string root, bool ring)
        {
            QueueLayout layout = QueueLayout.Detect(root);
            var inspector = new QmailPS.Check.QueueInspector(layout, SendLock.Probe(layout)) { UseRing = ring };
            var lines = inspector.Inspect().Select(i => $"{i.Kind} {i.Severity} {i.Id} {i.Path} {i.Description} | {i.Fix}").ToList();
            lines.Sort(StringComparer.Ordinal);
            return lines;
        }

        /// <summary>Test-QmailQueue reads in batches too: every damage case is judged the same on both paths.</summary>
        [Theory]
        [MemberData(nameof(TestQmailQueueTests.Damages), MemberType = typeof(TestQmailQueueTests))]
        public void Every_damage_is_found_the_same_on_both_paths(string damage, QmailPS.QueueIssueKind kind, QmailPS.IssueSeverity severity)
        {
            var (q, remote, mixed, unprocessed) = TestQmailQueueTests.Healthy();
            using (q)
            {
                TestQmailQueueTests.Apply(q, damage, remote, mixed, unprocessed);
                List<string> plain = Findings(q.Root, ring: false);
                Assert.Contains(plain, l => l.StartsWith(kind + " " + severity + " ", StringComparison.Ordinal));
                Assert.Equal(plain, Findings(q.Root, ring: true));
                Assert.Equal(Describe(q.Root, ring: false), Describe(q.Root, ring: true));
            }
        }

        [Fact]
        public void Golden_queue_is_judged_the_same_on_both_paths()
        {
            using TempQueue q = GoldenQueue.Restore();
            List<string> plain = Findings(q.Root, ring: false);
            Assert.NotEmpty(plain);
            Assert.Equal(plain, Findings(q.Root, ring: true));
        }

        [Fact]
        public void A_queue_read_while_messages_vanish_never_lists_one_twice()
        {
            var (q, _, _, _) = TestQmailQueueTests.Healthy();
            using (q)
            {
                var ids = new List<ulong>();
                for (int i = 0; i < 600; i++) ids.Add(q.AddProcessed($"s{i}@example.test", $"r{i}@remote.test"));
                var scanner = new QueueScanner(QueueLayout.Detect(q.Root)) { UseRing = true };
                var seen = new HashSet<ulong>();
                int n = 0;
                foreach (ScanEvent e in scanner.Scan())
                {
                    if (e.Message is null) continue;
                    Assert.True(seen.Add(e.Message.Id), $"message {e.Message.Id} listed twice");
                    // Finish messages qmail-send's way while the scan runs: channel files, info, then mess.
                    if (n++ % 3 == 0 && n < ids.Count)
                    {
                        ulong id = ids[n];
                        foreach (string d in new[] { "remote", "info", "mess" }) File.Delete(q.PathOf(d, id));
                    }
                }
                Assert.True(seen.Count > 100);
            }
        }
    }
}
