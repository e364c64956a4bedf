using System;
using System.IO;
using System.Linq;
using QmailPS.Tests.Support;
using Xunit;

namespace QmailPS.Tests.Cmdlets
{
    /// <summary>The module against real notqmail output on the restored golden queue.</summary>
    public sealed class GoldenQueueTests : IClassFixture<GoldenQueueTests.Fixture>
    {
        public sealed class Fixture : IDisposable
        {
            public TempQueue Queue { get; } = GoldenQueue.Restore();
            public PsSession Ps { get; } = new PsSession();
            public void Dispose() { Ps.Dispose(); Queue.Dispose(); }
        }

        private readonly Fixture _f;
        public GoldenQueueTests(Fixture f) { _f = f; }

        [Fact]
        public void ConvertToQmailQread_equals_real_qmail_qread_byte_for_byte_up_to_message_order()
        {
            var r = _f.Ps.Run("Get-QmailQueueMessage -QueuePath $q | ConvertTo-QmailQread", _f.Queue.Root).AssertClean();
            string[] ours = r.Output.Select(o => (string)o.BaseObject).ToArray();
            string golden = File.ReadAllText(Path.Combine(GoldenQueue.Dir, "qmail-qread.txt"));
            var expected = GoldenQueue.QreadBlocks(golden.TrimEnd('\n').Split('\n')).OrderBy(b => b, StringComparer.Ordinal).ToList();
            var actual = GoldenQueue.QreadBlocks(ours).OrderBy(b => b, StringComparer.Ordinal).ToList();
            Assert.Equal(expected, actual);
            // and the whole text, re-joined in golden order, is the same bytes
            Assert.Equal(golden.Length, string.Join("\n", ours).Length + 1);
        }

        [Fact]
        public void Summary_gives_qmail_qstat_figures()
        {
            var s = _f.Ps.Run("Get-QmailQueueSummary -QueuePath $q", _f.Queue.Root).AssertClean().Objects<QueueSummary>().Single();
            string[] qstat = File.ReadAllLines(Path.Combine(GoldenQueue.Dir, "qmail-qstat.txt"));
            Assert.Equal(qstat[0], $"messages in queue: {s.MessagesInQueue}");
            Assert.Equal(qstat[1], $"messages in queue but not yet preprocessed: {s.NotYetPreprocessed}");
            Assert.Equal(10, s.Messages);
            Assert.Equal(1, s.Bouncing);
            Assert.Equal(1, s.Bounces);
            Assert.Equal(1, s.DoubleBounces);
            Assert.Equal(3, s.PendingLocal); // defer@example.test in 836823, 836839, 836118
            Assert.Equal(9, s.PendingRemote);
        }

        [Fact]
        public void CountOnly_gives_the_same_qmail_qstat_figures_and_reads_no_message()
        {
            var r = _f.Ps.Run("Get-QmailQueueSummary -QueuePath $q -CountOnly", _f.Queue.Root).AssertClean();
            var s = r.Objects<QueueSummary>().Single();
            string[] qstat = File.ReadAllLines(Path.Combine(GoldenQueue.Dir, "qmail-qstat.txt"));
            Assert.Equal(qstat[0], $"messages in queue: {s.MessagesInQueue}");
            Assert.Equal(qstat[1], $"messages in queue but not yet preprocessed: {s.NotYetPreprocessed}");
            Assert.True(s.IsCountOnly);
            Assert.Equal(0, s.Messages); // not counted: no message was read
            Assert.DoesNotContain(r.Progress, p => p.RecordType == System.Management.Automation.ProgressRecordType.Processing);
            string view = _f.Ps.Run("Get-QmailQueueSummary -QueuePath $q -CountOnly | Out-Host", _f.Queue.Root).AssertClean().HostText;
            string[] lines = view.Split('\n').Where(l => l.Trim().Length > 0).Select(l => l.Trim()).ToArray();
            Assert.Equal(new[] { qstat[0], qstat[1] }, lines.Take(2));
            Assert.Contains(lines, l => l.Contains("-CountOnly"));
            Assert.DoesNotContain(lines, l => l.StartsWith("Pending recipients", StringComparison.Ordinal));
        }

        [Fact]
        public void Messages_have_qmail_semantics()
        {
            var msgs = _f.Ps.Run("Get-QmailQueueMessage -QueuePath $q", _f.Queue.Root).AssertClean().Objects<QueueMessage>().ToDictionary(m => m.Id);
            Assert.Equal(10, msgs.Count);
            Assert.True(msgs[836821].IsBounce);
            Assert.Equal("", msgs[836821].Sender);
            Assert.True(msgs[836835].IsDoubleBounce);
            Assert.Equal(QueueMessageState.Bouncing, msgs[836825].State);
            Assert.All(msgs.Values.Where(m => m.Id != 836825), m => Assert.Equal(QueueMessageState.Queued, m.State));
            var m823 = msgs[836823];
            Assert.Equal(new[] { "bob@example.test", "defer@example.test", "d4@refuse.test", "e4@ok.test" }, m823.Recipients.Select(x => x.Address));
            Assert.Equal(new[] { true, false, false, true }, m823.Recipients.Select(x => x.Delivered));
            Assert.Equal(new[] { RecipientChannel.Local, RecipientChannel.Local, RecipientChannel.Remote, RecipientChannel.Remote }, m823.Recipients.Select(x => x.Channel));
            Assert.Equal(2, m823.PendingCount);
            Assert.Equal(61101, msgs[836833].Size);
            // Local times as FileInfo has them, and Utc siblings for the same instants.
            Assert.Equal(DateTimeKind.Utc, m823.QueuedAtUtc.Kind);
            Assert.Equal(DateTimeKind.Local, m823.QueuedAt.Kind);
            Assert.Equal(m823.QueuedAtUtc, m823.QueuedAt.ToUniversalTime());
            Assert.Equal(new DateTime(2026, 11, 22, 23, 21, 43, DateTimeKind.Utc), new DateTime(m823.QueuedAtUtc.Ticks - m823.QueuedAtUtc.Ticks % TimeSpan.TicksPerSecond, DateTimeKind.Utc));
            Assert.NotNull(m823.NextAttemptUtc);
            Assert.Equal(DateTimeKind.Local, m823.NextAttempt!.Value.Kind);
            Assert.True(m823.NextAttemptUtc > m823.QueuedAtUtc);
        }
    }
}
