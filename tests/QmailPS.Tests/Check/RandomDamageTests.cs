using System;
using System.IO;
using System.Linq;
using QmailPS.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace QmailPS.Tests.Check
{
    /// <summary>
    /// Random sequences of damage on generated queues. Each case is one seed; a failure names it,
    /// and the same seed replays the same damage.
    /// </summary>
    public sealed class RandomDamageTests : IClassFixture<RepairQmailQueueTests.Session>
    {
        private readonly PsSession _ps;
        private readonly ITestOutputHelper _out;
        public RandomDamageTests(RepairQmailQueueTests.Session s, ITestOutputHelper output) { _ps = s.Ps; _out = output; }

        public static TheoryData<int> Seeds()
        {
            var d = new TheoryData<int>();
            int start = int.TryParse(Environment.GetEnvironmentVariable("QMAILPS_SEED"), out int s) ? s : 20261123;
            for (int i = 0; i < 25; i++) d.Add(start + i);
            return d;
        }

        [Theory]
        [MemberData(nameof(Seeds))]
        public void Random_damage_then_repair_leaves_a_clean_queue_with_every_message_delivered_once_or_quarantined(int seed)
        {
            Assert.True(QmailPS.Posix.PosixApi.Current.EffectiveUserId == 0, "runs as root (CI runs as root)");
            var rnd = new Random(seed);
            string[] damages = RepairQmailQueueTests.Repairable().Select(d => (string)d[0]).ToArray();
            var (q, remote, mixed, unprocessed) = TestQmailQueueTests.Healthy();
            using (q)
            {
                var ids = new System.Collections.Generic.Dictionary<string, ulong>();
                var healthy = RepairQmailQueueTests.QmailView(q.Layout, ids);
                var applied = damages.OrderBy(_ => rnd.Next()).Take(rnd.Next(1, 4)).ToList();
                string what = $"seed {seed} (QMAILPS_SEED={seed}): {string.Join(", ", applied)}";
                _out.WriteLine(what);
                foreach (string damage in applied)
                {
                    try { TestQmailQueueTests.Apply(q, damage, remote, mixed, unprocessed); }
                    catch (Exception e) when (e is IOException || e is UnauthorizedAccessException) { _out.WriteLine($"  {damage} did not apply on top of the others: {e.Message}"); }
                }
                string quarantine = q.Home + "/quarantine";
                var r = _ps.Run($"Repair-QmailQueue -QuarantinePath '{quarantine}' -QueuePath $q -WarningAction SilentlyContinue", q.Root);
                Assert.True(!r.HadErrors, $"{what}: {string.Join(" | ", r.Errors.Select(e => e.Exception.Message))}");
                var second = _ps.Run($"Repair-QmailQueue -QuarantinePath '{quarantine}' -QueuePath $q -WarningAction SilentlyContinue", q.Root);
                var left = _ps.Run("Test-QmailQueue -QueuePath $q", q.Root).AssertClean().Objects<QueueIssue>()
                    .Where(i => i.Severity != IssueSeverity.Transient).ToList();
                Assert.True(left.Count == 0, $"{what}: after repair: {string.Join(" | ", left)}; second run did: {string.Join(" | ", second.Objects<RepairAction>())}");

                var after = RepairQmailQueueTests.QmailView(q.Layout);
                foreach (var kv in after) Assert.True(kv.Value.Count == 1, $"{what}: visible twice: {kv.Value[0]}");
                string manifest = File.Exists(quarantine + "/manifest.tsv") ? File.ReadAllText(quarantine + "/manifest.tsv") : "";
                foreach (var kv in healthy)
                    Assert.True(after.ContainsKey(kv.Key) || manifest.Contains($"\t{ids[kv.Key]}\t") || RepairQmailQueueTests.RecoveredAs(after, kv.Key, "") != null, // recovered without its info: null sender
                        $"{what}: message {ids[kv.Key]} lost without a quarantine record: {kv.Value[0]}");
            }
        }
    }
}
