using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using QmailPS.Queue;
using QmailPS.Tests.Support;
using Xunit;

namespace QmailPS.Tests.Cmdlets
{
    /// <summary>
    /// A running qmail-send changes the queue under the reader: it preprocesses todo/ entries and
    /// removes finished messages (channel files, info, then mess). The scan must report no false
    /// damage, list no message twice, and lose none that stays queued.
    /// </summary>
    public sealed class LiveQueueTests : IClassFixture<LiveQueueTests.Session>
    {
        public sealed class Session : IDisposable
        {
            public PsSession Ps { get; } = new PsSession();
            public void Dispose() => Ps.Dispose();
        }

        private readonly PsSession _ps;
        public LiveQueueTests(Session s) { _ps = s.Ps; }

        [Fact]
        public void Messages_finished_during_the_scan_are_skipped_quietly_and_the_rest_are_complete()
        {
            using var q = TempQueue.Create();
            var ids = Enumerable.Range(0, 3000).Select(i => q.AddProcessed("s@example.test", "r" + i + "@remote.test")).ToList();
            var doomed = ids.Where((_, i) => i % 2 == 0).ToList();
            var kept = new HashSet<ulong>(ids.Except(doomed));
            using var go = new ManualResetEventSlim();
            var remover = Task.Run(() =>
            {
                go.Wait();
                foreach (ulong id in doomed.OrderBy(x => x % 7)) // messdone order: channel, info, mess
                {
                    File.Delete(q.PathOf("remote", id));
                    File.Delete(q.PathOf("info", id));
                    File.Delete(q.PathOf("mess", id));
                }
            });
            var r = _ps.Run("$go.Set(); Get-QmailQueueMessage -QueuePath $q -Verbose", new Dictionary<string, object?> { ["q"] = q.Root, ["go"] = go });
            remover.Wait();
            r.AssertClean();
            Assert.Empty(r.Warnings);
            var listed = r.Objects<QueueMessage>();
            Assert.Equal(listed.Count, listed.Select(m => m.Id).Distinct().Count());
            Assert.True(kept.IsSubsetOf(listed.Select(m => m.Id)), "a message that stayed queued was not listed");
            Assert.All(listed, m => Assert.Equal(QueueMessageState.Queued, m.State)); // never a false Damaged
            // A message caught after qmail-send unlinked its finished channel file but before its info
            // rightly has no recipients left (qmail-qread shows it so too); the kept ones are whole.
            Assert.All(listed.Where(m => kept.Contains(m.Id)), m =>
            {
                Assert.Single(m.Recipients);
                Assert.True(m.Size > 0);
            });
        }

        [Fact]
        public void Messages_preprocessed_during_the_scan_are_listed_exactly_once()
        {
            using var q = TempQueue.Create();
            var ids = Enumerable.Range(0, 2000).Select(i => q.AddUnprocessed("s@example.test", "r" + i + "@remote.test")).ToList();
            ControlFiles control = q.Control;
            using var go = new ManualResetEventSlim();
            var sender = Task.Run(() =>
            {
                go.Wait();
                foreach (ulong id in ids) q.Writer.Preprocess(id, control);
            });
            var r = _ps.Run("$go.Set(); Get-QmailQueueMessage -QueuePath $q", new Dictionary<string, object?> { ["q"] = q.Root, ["go"] = go });
            sender.Wait();
            r.AssertClean();
            Assert.Empty(r.Warnings);
            var listed = r.Objects<QueueMessage>();
            Assert.Equal(ids.OrderBy(x => x), listed.Select(m => m.Id).OrderBy(x => x));
            Assert.All(listed, m => Assert.Contains(m.State, new[] { QueueMessageState.Unprocessed, QueueMessageState.Queued }));
            Assert.All(listed, m => Assert.Equal("s@example.test", m.Sender));
        }
    }
}
