using System.Collections.Generic;
using System.IO;
using System.Linq;
using QmailPS.Check;
using QmailPS.Queue;
using QmailPS.Tests.Support;
using Xunit;

namespace QmailPS.Tests.Check
{
    /// <summary>
    /// Damaged queues copied with real cp (new inodes; cp -r also makes every file root's), cases
    /// RandomDamageTests found: repaired, the copy must keep what the damaged queue itself keeps.
    /// </summary>
    public sealed class CopiedQueueTests : IClassFixture<RepairQmailQueueTests.Session>
    {
        private readonly PsSession _ps;
        public CopiedQueueTests(RepairQmailQueueTests.Session s) { _ps = s.Ps; }

        private static TempQueue Copy(TempQueue q, string how)
        {
            string home = q.Home + "/copy";
            Directory.CreateDirectory(home);
            GoldenQueue.Run("cp", how, q.Root, home + "/queue");
            return TempQueue.Open(home);
        }

        private PsSession.Result Repair(TempQueue q) =>
            _ps.Run("Repair-QmailQueue -QueuePath $q -QuarantinePath $q/../quarantine -Confirm:$false", q.Root);

        private List<string> Pending(TempQueue q) =>
            _ps.Run("Get-QmailQueueMessage -QueuePath $q", q.Root).AssertClean().Objects<QueueMessage>()
                .SelectMany(m => m.Recipients.Where(r => !r.Delivered).Select(r => $"<{m.Sender}> {r.Address}")).OrderBy(x => x).ToList();

        private void AssertConverged(TempQueue q)
        {
            var left = _ps.Run("Test-QmailQueue -QueuePath $q", q.Root).AssertClean().Objects<QueueIssue>();
            Assert.True(left.Count == 0, "after one repair: " + string.Join(" | ", left.Select(i => $"{i.Kind} {i.Path}")));
            Assert.Empty(Repair(q).AssertClean().Output);
        }

        /// <summary>
        /// RandomDamageTests, seed 5739005565133132046,8837759992797518133 (shrunk: 'info missing', cp -r):
        /// a message without info whose mess cp -r gave to root was quarantined whole after its
        /// renumbering instead of recovered, as it is in the queue itself.
        /// </summary>
        [Theory]
        [InlineData("-a")]
        [InlineData("-r")]
        public void A_copied_message_without_info_is_recovered_as_in_the_queue_itself(string how)
        {
            RepairQmailQueueTests.RootOnly();
            using var q = TempQueue.Create();
            q.AddProcessed("bob@example.test", "a@remote.test");
            ulong lost = q.AddProcessed("carol@example.test", "b@remote.test");
            File.Delete(q.PathOf("info", lost));
            var c = Copy(q, how);
            Repair(c).AssertClean();
            Assert.Equal(new[] { "<> b@remote.test", "<bob@example.test> a@remote.test" }, Pending(c));
            AssertConverged(c);
        }
    }
}
