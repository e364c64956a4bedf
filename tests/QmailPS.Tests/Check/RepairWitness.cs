using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using QmailPS.Posix;
using QmailPS.Tests.Support;
using Xunit;

namespace QmailPS.Tests.Check
{
    /// <summary>
    /// What qmail would deliver from a queue before it was damaged and right before the repair, and
    /// the checks of issue 4 against it: while a repair is under way (killed at any write) and once
    /// it is done, no message is visible twice, no recipient that was done is pending again, and
    /// nothing leaves the queue without a quarantine manifest line (and its body in the quarantine).
    /// Used by the crash-injection test and by the randomized (FsCheck) damage test.
    /// </summary>
    internal sealed class RepairWitness
    {
        public RepairWitness(TempQueue q, Action damage)
        {
            Q = q;
            Healthy = RepairQmailQueueTests.QmailMessages(q.Layout, HealthyIds);
            damage();
            Before = RepairQmailQueueTests.QmailMessages(q.Layout, BeforeIds);
            Bodies = Hashes(q.Layout.Dir("mess"));
            HiddenPending = PendingWithoutInfo(q.Layout);
        }

        /// <summary>
        /// The same witness for a copy of the damaged queue (cp -a, cp -r): the copy has the same file
        /// names and contents, so what qmail saw before and after the damage is the same, keyed by content.
        /// </summary>
        public RepairWitness(RepairWitness of, TempQueue copy)
        {
            Q = copy;
            Healthy = of.Healthy; Before = of.Before; Bodies = of.Bodies; HiddenPending = of.HiddenPending;
            HealthyIds = of.HealthyIds; BeforeIds = of.BeforeIds;
        }

        /// <summary>Body hash → pending addresses in the channel files of messages qmail cannot see (no info): what a recovery may bring back.</summary>
        public Dictionary<string, HashSet<string>> HiddenPending { get; }

        private static Dictionary<string, HashSet<string>> PendingWithoutInfo(QmailPS.Queue.QueueLayout l)
        {
            var result = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
            foreach (string ch in new[] { "local", "remote" })
            {
                if (!Directory.Exists(l.Dir(ch))) continue;
                foreach (string f in Directory.EnumerateFiles(l.Dir(ch), "*", SearchOption.AllDirectories))
                {
                    if (!ulong.TryParse(Path.GetFileName(f), out ulong id) || File.Exists(l.PathOf("info", id)) || !File.Exists(l.PathOf("mess", id))) continue;
                    if (!TestFs.Raw.TryLstat(f, out FileStatus st, out _) || st.Kind != FileKind.Regular) continue;
                    string body = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(l.PathOf("mess", id))));
                    if (!result.TryGetValue(body, out var set)) result[body] = set = new HashSet<string>(StringComparer.Ordinal);
                    foreach (string rec in System.Text.Encoding.UTF8.GetString(File.ReadAllBytes(f)).Split('\0'))
                        if (rec.StartsWith("T", StringComparison.Ordinal)) set.Add(rec.Substring(1));
                }
            }
            return result;
        }

        public TempQueue Q { get; }
        public Dictionary<string, ulong> HealthyIds { get; } = new Dictionary<string, ulong>();
        public Dictionary<string, ulong> BeforeIds { get; } = new Dictionary<string, ulong>();
        /// <summary>What qmail would deliver before the damage (keys: body hash and sender).</summary>
        public Dictionary<string, List<QueueMessage>> Healthy { get; }
        /// <summary>What qmail would deliver right before the repair (after the damage).</summary>
        public Dictionary<string, List<QueueMessage>> Before { get; }
        /// <summary>Hashes of every regular file under mess/ right before the repair: bodies that must not be lost.</summary>
        public HashSet<string> Bodies { get; }
        public string Quarantine => Q.Home + "/quarantine";
        public string Manifest => File.Exists(Quarantine + "/manifest.tsv") ? File.ReadAllText(Quarantine + "/manifest.tsv") : "";
        private bool Quarantined(ulong id, string manifest) => manifest.Contains($"\t{id}\t", StringComparison.Ordinal);

        /// <summary>
        /// Named in the manifest by its id, or renumbered first (a copied queue: new inodes) and then
        /// quarantined under its new id: a manifest line for an id qmail no longer sees moved this body.
        /// </summary>
        private bool Quarantined(string key, ulong id, string manifest, Dictionary<string, List<QueueMessage>> now)
        {
            if (Quarantined(id, manifest)) return true;
            string body = key.Split(' ')[0];
            var visible = new HashSet<ulong>(now.Values.SelectMany(v => v).Select(m => m.Id));
            foreach (string line in manifest.Split('\n').Skip(1))
            {
                string[] f = line.Split('\t');
                if (f.Length < 4 || !ulong.TryParse(f[1], out ulong other) || visible.Contains(other) || !f[2].Contains("/mess/", StringComparison.Ordinal)) continue;
                if (TestFs.Raw.TryLstat(f[3], out FileStatus st, out _) && st.Kind == FileKind.Regular
                    && Convert.ToHexString(SHA256.HashData(QueueSnapshot.ReadNoLock(f[3]))) == body) return true;
            }
            return false;
        }

        /// <summary>The message a recipient check compares with: as the repair found it, or, if the damage hid it from qmail, as it was before the damage.</summary>
        private QueueMessage? Reference(string key) =>
            Before.TryGetValue(key, out var b) ? b[0] : Healthy.TryGetValue(key, out var h) ? h[0] : null;

        /// <summary>
        /// The queue as a killed repair leaves it, read the way qmail-send would read it if it started
        /// now: no message visible more often than before the repair (once, unless the damage itself
        /// was a duplicate), no recipient that was done pending again, none pending more often, and
        /// no message or pending recipient gone that the quarantine manifest does not name.
        /// </summary>
        public void AssertSafeMeanwhile(string at)
        {
            var now = RepairQmailQueueTests.QmailMessages(Q.Layout);
            string manifest = Manifest;
            foreach (var kv in now)
            {
                int before = Before.TryGetValue(kv.Key, out var was) ? was.Count : 0;
                Assert.True(kv.Value.Count <= Math.Max(1, before), $"{at}: visible {kv.Value.Count} times (was {before}): {string.Join(" | ", kv.Value.Select(RepairQmailQueueTests.Describe))}");
                if (Reference(kv.Key) is QueueMessage r)
                    foreach (QueueMessage m in kv.Value) { NoDoneBecomesPending(r, m, at); NoMorePending(r, m, at); }
            }
            foreach (var kv in Before)
            {
                ulong id = BeforeIds[kv.Key];
                bool quarantined = Quarantined(kv.Key, id, manifest, now);
                if (!now.TryGetValue(kv.Key, out var n))
                {
                    Assert.True(quarantined, $"{at}: message {id} is gone without a quarantine manifest line: {RepairQmailQueueTests.Describe(kv.Value[0])}");
                    continue;
                }
                foreach (QueueRecipient r in kv.Value[0].Recipients.Where(r => !r.Delivered))
                    Assert.True(quarantined || n[0].Recipients.Any(x => x.Address == r.Address && !x.Delivered),
                        $"{at}: message {id} lost pending recipient {r.Address} without a quarantine manifest line: {RepairQmailQueueTests.Describe(n[0])}");
            }
            AssertQuarantineTracked(at);
        }

        /// <summary>
        /// A finished repair: each message visible once, each address pending at most once, none done
        /// before and pending now; every message qmail saw before the repair still there with its
        /// pending recipients, and every message of the healthy queue still there, or named in the
        /// quarantine manifest with its body kept (in the queue or the quarantine). Returns what qmail
        /// would deliver now, birth times left out.
        /// </summary>
        public Dictionary<string, List<QueueMessage>> AssertDelivered(string at)
        {
            var after = RepairQmailQueueTests.QmailMessages(Q.Layout);
            string manifest = Manifest;
            foreach (var kv in after)
            {
                Assert.True(kv.Value.Count == 1, $"{at}: visible {kv.Value.Count} times: {string.Join(" | ", kv.Value.Select(RepairQmailQueueTests.Describe))}");
                foreach (var g in kv.Value[0].Recipients.Where(r => !r.Delivered).GroupBy(r => r.Address))
                    Assert.True(g.Count() == 1, $"{at}: {g.Key} pending {g.Count()} times: {RepairQmailQueueTests.Describe(kv.Value[0])}");
                if (Reference(kv.Key) is QueueMessage r) { NoDoneBecomesPending(r, kv.Value[0], at); NoMorePending(r, kv.Value[0], at); }
            }
            foreach (var kv in Before)
            {
                ulong id = BeforeIds[kv.Key];
                if (Quarantined(kv.Key, id, manifest, after)) continue;
                Assert.True(after.TryGetValue(kv.Key, out var n), $"{at}: message {id} left the queue without a quarantine manifest line: {RepairQmailQueueTests.Describe(kv.Value[0])}");
                foreach (QueueRecipient r in kv.Value[0].Recipients.Where(r => !r.Delivered))
                    Assert.True(n![0].Recipients.Any(x => x.Address == r.Address && !x.Delivered),
                        $"{at}: message {id} lost pending recipient {r.Address} without a quarantine manifest line: {RepairQmailQueueTests.Describe(n[0])}");
            }
            var kept = Hashes(Q.Layout.Dir("mess"));
            if (Directory.Exists(Quarantine)) kept.UnionWith(Hashes(Quarantine));
            foreach (var kv in Healthy)
            {
                if (after.ContainsKey(kv.Key)) continue;
                ulong id = HealthyIds[kv.Key];
                // Lost its info and was recovered (ChannelWithoutInfo): the same body, now with the
                // null sender (Repair-QmailQueue's default -RecoverySender), every recipient still
                // pending that was pending and qmail could still see (the channel files it kept).
                string body0 = kv.Key.Split(' ')[0];
                if (after.TryGetValue(body0 + " <>", out var recovered) && !Before.ContainsKey(kv.Key))
                {
                    Assert.True(recovered.Count == 1, $"{at}: message {id} recovered {recovered.Count} times");
                    foreach (QueueRecipient r in recovered[0].Recipients.Where(r => !r.Delivered))
                        Assert.True(kv.Value[0].Recipients.Any(x => x.Address == r.Address && !x.Delivered)
                                    || (HiddenPending.TryGetValue(body0, out var hidden) && hidden.Contains(r.Address)),
                            $"{at}: recovered message {id} has {r.Address} pending, which was pending neither before the damage nor in its channel files: {RepairQmailQueueTests.Describe(recovered[0])}");
                    continue;
                }
                // The damage rewrote its envelope (another sender) and qmail saw it so before the
                // repair: the loop over Before above checked it, under that key.
                if (Before.Keys.Any(k => k.StartsWith(body0 + " ", StringComparison.Ordinal) && after.ContainsKey(k))) continue;
                Assert.True(Quarantined(kv.Key, id, manifest, after), $"{at}: message {id} left the queue without a quarantine manifest line: {RepairQmailQueueTests.Describe(kv.Value[0])}");
                string body = kv.Key.Split(' ')[0];
                if (Bodies.Contains(body)) Assert.True(kept.Contains(body), $"{at}: the body of message {id} is neither in the queue nor in the quarantine");
            }
            AssertQuarantineTracked(at);
            return after;
        }

        /// <summary>What qmail would deliver, without birth times (so queues built at other seconds compare).</summary>
        public static List<string> Normalized(Dictionary<string, List<QueueMessage>> view) =>
            view.Values.SelectMany(v => v).Select(RepairQmailQueueTests.Describe)
                .Select(s => Regex.Replace(s, @" born \S+", "")).OrderBy(s => s, StringComparer.Ordinal).ToList();

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
        private void AssertQuarantineTracked(string at)
        {
            if (!Directory.Exists(Quarantine)) return;
            var named = new HashSet<string>(Manifest.Split('\n').Skip(1).Where(l => l.Length > 0).Select(l => l.Split('\t')[3]), StringComparer.Ordinal);
            foreach (string f in Directory.EnumerateFileSystemEntries(Quarantine, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
            {
                Assert.True(TestFs.Raw.TryLstat(f, out FileStatus st, out _), f);
                if (st.Kind == FileKind.Directory || f == Quarantine + "/manifest.tsv" || Regex.IsMatch(f, @"\.orig(\.\d+)?$")) continue;
                Assert.True(named.Contains(f), $"{at}: {f} is in the quarantine without a manifest line");
            }
        }

        /// <summary>SHA-256 of every regular file below DIR, read without touching atime (qmail's cleanup goes by it).</summary>
        public static HashSet<string> Hashes(string dir)
        {
            var result = new HashSet<string>(StringComparer.Ordinal);
            foreach (string f in Directory.EnumerateFiles(dir, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
                if (TestFs.Raw.TryLstat(f, out FileStatus st, out _) && st.Kind == FileKind.Regular)
                    result.Add(Convert.ToHexString(SHA256.HashData(QueueSnapshot.ReadNoLock(f))));
            return result;
        }
    }
}
