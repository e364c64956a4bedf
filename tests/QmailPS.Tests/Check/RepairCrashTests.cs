using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using QmailPS.Check;
using QmailPS.Posix;
using QmailPS.Queue;
using QmailPS.Tests.Support;
using Xunit;

namespace QmailPS.Tests.Check
{
    /// <summary>
    /// Issue 4's "killed at any point (kill -9) and run again, it converges, and no recipient is lost
    /// or gets delivered twice", for every repairable damage of TestQmailQueueTests.Damages(): the
    /// repair is cut short before its 1st, 2nd, 3rd … write (every mutating IPosix call, fsync of a
    /// directory included, in the repairer and in the quarantine alike) until a run gets through.
    /// Each crashed queue is checked as qmail would find it, then repaired again without faults.
    /// </summary>
    public sealed class RepairCrashTests
    {
        public static IEnumerable<object[]> Cases() => RepairQmailQueueTests.Repairable();

        /// <summary>
        /// Split 8, not 23: a third of the directories to make, inspect and remove, hundreds of times;
        /// every repairable damage still applies (the highest split directory a damage names is 7).
        /// </summary>
        private const int Split = 8;

        /// <summary>A Healthy() queue with one damage applied, and what qmail saw before and after the damage.</summary>
        private sealed class DamagedQueue : IDisposable
        {
            private readonly string _trash;

            public DamagedQueue(string damage, string trash)
            {
                Damage = damage;
                _trash = trash;
                var (q, remote, mixed, unprocessed) = TestQmailQueueTests.Healthy(split: Split);
                Q = q;
                Healthy = RepairQmailQueueTests.QmailMessages(q.Layout, HealthyIds);
                TestQmailQueueTests.Apply(q, damage, remote, mixed, unprocessed);
                Before = RepairQmailQueueTests.QmailMessages(q.Layout, BeforeIds);
                Bodies = Hashes(q.Layout.Dir("mess"));
            }

            public string Damage { get; }
            public TempQueue Q { get; }
            public Dictionary<string, ulong> HealthyIds { get; } = new Dictionary<string, ulong>();
            public Dictionary<string, ulong> BeforeIds { get; } = new Dictionary<string, ulong>();
            /// <summary>What qmail would deliver before the damage.</summary>
            public Dictionary<string, List<QueueMessage>> Healthy { get; }
            /// <summary>What qmail would deliver right before the repair (after the damage).</summary>
            public Dictionary<string, List<QueueMessage>> Before { get; }
            /// <summary>Hashes of every regular file under mess/ right before the repair: bodies that must not be lost.</summary>
            public HashSet<string> Bodies { get; }
            public string Quarantine => Q.Home + "/quarantine";
            public string Manifest => File.Exists(Quarantine + "/manifest.tsv") ? File.ReadAllText(Quarantine + "/manifest.tsv") : "";
            /// <summary>A rename out of the way; the test removes the lot with one rm -rf (much faster than one recursive delete each).</summary>
            public void Dispose() => Directory.Move(Q.Home, Path.Combine(_trash, Path.GetFileName(Q.Home)));
        }

        [Theory]
        [MemberData(nameof(Cases))]
        public void Repair_killed_at_each_write_then_rerun_converges_and_never_loses_or_duplicates_a_recipient(string damage, QueueIssueKind kind, IssueSeverity severity)
        {
            RootOnly();
            _ = kind; _ = severity;
            string trash = TempQueue.NewHome();
            try { KillAtEachWrite(damage, trash); }
            finally { GoldenQueue.Run("rm", "-rf", trash); }
        }

        private static void KillAtEachWrite(string damage, string trash)
        {
            // Crash before write 1, 2, 3 … until a run gets through: that one is the uninterrupted
            // repair, whose result every killed-and-rerun repair must reach as well.
            var reruns = new List<(string At, List<string> Result, string Did)>();
            for (int k = 1; ; k++)
            {
                using var c = new DamagedQueue(damage, trash);
                var before = k == 1 ? QueueSnapshot.Take(c.Q.Home) : null;
                var faulty = new FaultyPosix(PosixApi.Current, k);
                string did = "";
                if (!RepairQmailQueueTests.Crashes(() => did = Repair(c.Q, faulty).Did))
                {
                    Assert.True(k > 1, $"{damage}: the repair wrote nothing: {did}");
                    Assert.True(faulty.Calls == k - 1, $"{damage}: a run set to crash at write {k} made {faulty.Calls} writes and finished: {did}; earlier runs crashed at: {string.Join(" | ", reruns.Select(r => r.At))}");
                    var reference = AssertRepaired(c, $"{damage}, uninterrupted ({k - 1} writes)", did);
                    foreach (var (at, result, rerun) in reruns)
                        Assert.True(reference.SequenceEqual(result),
                            $"{at}, then rerun: the queue differs from an uninterrupted repair's: expected {string.Join(" | ", reference)}; actual {string.Join(" | ", result)}; rerun did: {rerun}");
                    return;
                }
                string where = $"{damage}: killed before write {k} ({faulty.LastCall})";
                // Killed before its first IPosix write, the repair has changed nothing at all: no write goes around IPosix.
                if (before != null) QueueSnapshot.AssertSame(before, QueueSnapshot.Take(c.Q.Home));
                AssertSafeMeanwhile(c, where);

                string again = Repair(c.Q, PosixApi.Current).Did;
                reruns.Add((where, AssertRepaired(c, where + ", then rerun", again), again));
            }
        }

        /// <summary>One Repair-QmailQueue run as the cmdlet does it (inspect, plan, run each step), through POSIX.</summary>
        private static (int Issues, string Did) Repair(TempQueue q, IPosix posix)
        {
            var layout = QueueLayout.Detect(q.Root);
            var issues = new QueueInspector(layout, SendLock.Probe(layout)).Inspect().ToList();
            var repairer = new QueueRepairer(layout, posix, q.Home + "/quarantine");
            var log = new List<string>();
            foreach (PlannedRepair p in repairer.Plan(issues)) { log.Add(p.Action); p.Run(); }
            return (issues.Count, "issues: " + string.Join(" | ", issues.Select(i => $"{i.Kind}/{i.Severity} {i.Path}")) + " || actions: " + string.Join(" | ", log));
        }

        /// <summary>
        /// The queue as a killed repair leaves it, read the way qmail-send would read it if it started
        /// now: no message visible more often than before the repair (once, unless the damage itself
        /// was a duplicate), no recipient that was done pending again, none pending more often, and
        /// nothing gone that the quarantine manifest does not name.
        /// </summary>
        private static void AssertSafeMeanwhile(DamagedQueue c, string at)
        {
            var ids = new Dictionary<string, ulong>();
            var now = RepairQmailQueueTests.QmailMessages(c.Q.Layout, ids);
            string manifest = c.Manifest;
            foreach (var kv in now)
            {
                int before = c.Before.TryGetValue(kv.Key, out var was) ? was.Count : 0;
                Assert.True(kv.Value.Count <= Math.Max(1, before), $"{at}: visible {kv.Value.Count} times (was {before}): {string.Join(" | ", kv.Value.Select(RepairQmailQueueTests.Describe))}");
                foreach (QueueMessage m in kv.Value)
                {
                    if (was != null) { NoDoneBecomesPending(was[0], m, at); NoMorePending(was[0], m, at); }
                    if (c.Healthy.TryGetValue(kv.Key, out var h)) NoDoneBecomesPending(h[0], m, at);
                }
            }
            foreach (var kv in c.Before)
            {
                ulong id = c.BeforeIds[kv.Key];
                bool quarantined = manifest.Contains($"\t{id}\t");
                if (!now.TryGetValue(kv.Key, out var n))
                {
                    Assert.True(quarantined, $"{at}: message {id} is gone without a quarantine manifest line: {RepairQmailQueueTests.Describe(kv.Value[0])}");
                    continue;
                }
                foreach (QueueRecipient r in kv.Value[0].Recipients.Where(r => !r.Delivered))
                    Assert.True(quarantined || n[0].Recipients.Any(x => x.Address == r.Address && !x.Delivered),
                        $"{at}: message {id} lost pending recipient {r.Address} without a quarantine manifest line: {RepairQmailQueueTests.Describe(n[0])}");
            }
            AssertQuarantineTracked(c, at);
        }

        /// <summary>
        /// A finished repair: the inspector finds nothing (not even transient debris), another run
        /// writes nothing, each message is visible once, and every message qmail delivered before the
        /// damage is delivered the same way (each recipient once, none done twice), or it is in the
        /// quarantine manifest with its body in the quarantine.
        /// </summary>
        private static List<string> AssertRepaired(DamagedQueue c, string at, string did)
        {
            var counter = new FaultyPosix(PosixApi.Current, int.MaxValue);
            var (issues, again) = Repair(c.Q, counter);
            Assert.True(issues == 0 && counter.Calls == 0, $"{at}: one more run still found or wrote something: {again}; the repair did: {did}");

            var layout = QueueLayout.Detect(c.Q.Root);
            var after = RepairQmailQueueTests.QmailMessages(layout);
            foreach (var kv in after)
            {
                Assert.True(kv.Value.Count == 1, $"{at}: visible {kv.Value.Count} times: {string.Join(" | ", kv.Value.Select(RepairQmailQueueTests.Describe))}");
                foreach (var g in kv.Value[0].Recipients.Where(r => !r.Delivered).GroupBy(r => r.Address))
                    Assert.True(g.Count() == 1, $"{at}: {g.Key} pending {g.Count()} times: {RepairQmailQueueTests.Describe(kv.Value[0])}");
                if (c.Before.TryGetValue(kv.Key, out var b)) { NoDoneBecomesPending(b[0], kv.Value[0], at); NoMorePending(b[0], kv.Value[0], at); }
                if (c.Healthy.TryGetValue(kv.Key, out var h)) NoDoneBecomesPending(h[0], kv.Value[0], at);
            }

            string manifest = c.Manifest;
            var kept = Hashes(layout.Dir("mess"));
            kept.UnionWith(Directory.Exists(c.Quarantine) ? Hashes(c.Quarantine) : new HashSet<string>());
            foreach (var kv in c.Healthy)
            {
                ulong id = c.HealthyIds[kv.Key];
                string was = RepairQmailQueueTests.Describe(kv.Value[0]);
                if (after.TryGetValue(kv.Key, out var now))
                {
                    string nowText = RepairQmailQueueTests.Describe(now[0]);
                    Assert.True(nowText == was || RepairQmailQueueTests.IsExpectedChange(c.Damage, was, nowText), $"{at}: message {id}: {was} became {nowText}");
                    continue;
                }
                Assert.True(manifest.Contains($"\t{id}\t"), $"{at}: message {id} left the queue without a quarantine manifest line: {was}");
                string body = kv.Key.Split(' ')[0];
                if (c.Bodies.Contains(body)) Assert.True(kept.Contains(body), $"{at}: the body of message {id} is neither in the queue nor in the quarantine");
            }
            AssertQuarantineTracked(c, at);
            // What qmail would deliver, without birth times (each fixture is built anew, at another second).
            return after.Values.SelectMany(v => v).Select(RepairQmailQueueTests.Describe)
                .Select(s => Regex.Replace(s, @" born \S+", "")).OrderBy(s => s, StringComparer.Ordinal).ToList();
        }

        /// <summary>A recipient done before (and not also pending) is not pending now.</summary>
        private static void NoDoneBecomesPending(QueueMessage was, QueueMessage now, string at)
        {
            foreach (QueueRecipient r in now.Recipients.Where(r => !r.Delivered))
                Assert.False(was.Recipients.Any(x => x.Address == r.Address && x.Delivered) && !was.Recipients.Any(x => x.Address == r.Address && !x.Delivered),
                    $"{at}: {r.Address} was done and is pending again (a second delivery): {RepairQmailQueueTests.Describe(was)} became {RepairQmailQueueTests.Describe(now)}");
        }

        /// <summary>No address is pending more often than before (a recovered cut-off recipient may appear once).</summary>
        private static void NoMorePending(QueueMessage was, QueueMessage now, string at)
        {
            foreach (var g in now.Recipients.Where(r => !r.Delivered).GroupBy(r => r.Address))
            {
                int before = was.Recipients.Count(x => x.Address == g.Key && !x.Delivered);
                bool wasDone = was.Recipients.Any(x => x.Address == g.Key && x.Delivered);
                Assert.True(g.Count() <= Math.Max(before, wasDone ? 0 : 1),
                    $"{at}: {g.Key} pending {g.Count()} times (was {before}): {RepairQmailQueueTests.Describe(was)} became {RepairQmailQueueTests.Describe(now)}");
            }
        }

        /// <summary>Every file moved to the quarantine has its manifest line (written before the move); copies (.orig) need not.</summary>
        private static void AssertQuarantineTracked(DamagedQueue c, string at)
        {
            if (!Directory.Exists(c.Quarantine)) return;
            var named = new HashSet<string>(c.Manifest.Split('\n').Skip(1).Where(l => l.Length > 0).Select(l => l.Split('\t')[3]), StringComparer.Ordinal);
            foreach (string f in Directory.EnumerateFileSystemEntries(c.Quarantine, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
            {
                Assert.True(PosixApi.Current.TryLstat(f, out FileStatus st, out _), f);
                if (st.Kind == FileKind.Directory || f == c.Quarantine + "/manifest.tsv" || Regex.IsMatch(f, @"\.orig(\.\d+)?$")) continue;
                Assert.True(named.Contains(f), $"{at}: {f} is in the quarantine without a manifest line");
            }
        }

        /// <summary>SHA-256 of every regular file below DIR, read without touching atime (qmail's cleanup goes by it).</summary>
        private static HashSet<string> Hashes(string dir)
        {
            var result = new HashSet<string>(StringComparer.Ordinal);
            foreach (string f in Directory.EnumerateFiles(dir, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
                if (PosixApi.Current.TryLstat(f, out FileStatus st, out _) && st.Kind == FileKind.Regular)
                    result.Add(Convert.ToHexString(SHA256.HashData(QueueSnapshot.ReadNoLock(f))));
            return result;
        }

        private static void RootOnly()
        {
            Assert.True(PosixApi.Current.EffectiveUserId == 0, "Repair tests give files qmail's owners; they run as root (CI runs as root).");
            Assert.True(PosixApi.Current.LookupUser(QmailUsers.Qmailq) != null, "The qmail users must exist (.ci/run creates them).");
        }
    }
}
