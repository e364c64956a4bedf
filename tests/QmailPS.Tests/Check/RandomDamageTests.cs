using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;
using QmailPS.Posix;
using QmailPS.Queue;
using QmailPS.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace QmailPS.Tests.Check
{
    /// <summary>
    /// An FsCheck property: random queues (messages preprocessed or not, local and remote recipients,
    /// some done, bounces; split 8 or 23, vanilla or big-todo) get a random sequence of the repairable
    /// damages; half the time a first repair is killed at a random write; then Repair-QmailQueue runs.
    /// Checked: the RepairWitness invariants (no message twice, nothing done delivered again, nothing
    /// lost without the quarantine), and one run converges: Test-QmailQueue finds nothing and another
    /// run does nothing. In half the cases the damaged queue is first copied with real cp -a or cp -r
    /// (new inodes; cp -r: root's files, new times) and the copy is repaired (and killed) instead: the
    /// same checks hold for it, and it ends with what the queue itself ends with once repaired, the
    /// same messages by content (ids change) with the same senders, recipients, channels, done marks
    /// and bounces (and birth times with cp -a). A failing case is shrunk (fewer damages, messages, recipients; no crash) and
    /// its replay seed printed; QMAILPS_SEED=seed,gamma replays the whole run, seed,gamma,size the one case.
    /// QMAILPS_CASES sets how many cases to try (default 40).
    /// </summary>
    public sealed class RandomDamageTests : IClassFixture<RepairQmailQueueTests.Session>
    {
        private readonly PsSession _ps;
        private readonly ITestOutputHelper _out;
        public RandomDamageTests(RepairQmailQueueTests.Session s, ITestOutputHelper output) { _ps = s.Ps; _out = output; }

        public sealed record Rcpt(string Address, bool Local, bool Done)
        {
            public override string ToString() => (Local ? "local:" : "remote:") + Address + (Done ? ":D" : ":T");
        }

        public sealed record Msg(bool Processed, string Sender, Rcpt[] Recipients, bool Bounce)
        {
            public override string ToString() => $"{(Processed ? "queued" : "todo")} <{Sender}> [{string.Join(", ", Recipients.Select(r => r.ToString()))}]{(Bounce ? " +bounce" : "")}";
        }

        /// <summary>One damage of TestQmailQueueTests.Apply; its targets index the preprocessed and the not-yet-preprocessed messages (modulo their counts).</summary>
        public sealed record Step(string Damage, int Processed, int Unprocessed)
        {
            public override string ToString() => $"'{Damage}' (queued #{Processed}, todo #{Unprocessed})";
        }

        /// <summary><paramref name="Copy"/>: "" repairs the damaged queue itself; "-a" or "-r" repairs a copy of it made with real cp (after the damage, before any kill).</summary>
        public sealed record Scenario(int Split, bool BigTodo, Msg[] Messages, Step[] Steps, int CrashAt, string Copy = "")
        {
            public override string ToString() =>
                $"split {Split}{(BigTodo ? " big-todo" : "")}; messages: {string.Join("; ", Messages.Select((m, i) => m.ToString()))}; damages: {string.Join(", ", Steps.Select(s => s.ToString()))}; " +
                (Copy.Length > 0 ? $"copied with cp {Copy}; " : "") + (CrashAt > 0 ? $"first repair killed at write {CrashAt}" : "no kill");
        }

        // ------------------------------------------------------------------ generators

        private static readonly string[] Damages = RepairQmailQueueTests.Repairable().Select(d => (string)d[0]).ToArray();
        private static readonly string[] Senders = { "bob@example.test", "carol@example.test", "", "#@[]" };
        // The damages write a@remote.test and b@remote.test into channel files: those are never done
        // in a generated queue, so "done before, pending after" always means the repair did it.
        private static readonly string[] RemotePending = { "a@remote.test", "b@remote.test" };
        private static readonly string[] RemoteAny = { "c@remote.test", "gone@reject.test" };
        private static readonly string[] Locals = { "alice@example.test", "defer@example.test" };

        private static Gen<Rcpt[]> Channel(bool local, bool mayBeEmpty)
        {
            string[] pool = local ? Locals : RemotePending.Concat(RemoteAny).ToArray();
            return Gen.SubListOf(pool).Where(l => mayBeEmpty || l.Count > 0).SelectMany(addrs =>
                Gen.ArrayOf(Gen.Elements(true, false), addrs.Count).Select(done =>
                {
                    var r = addrs.Select((a, i) => new Rcpt(a, local, done[i] && (local || !RemotePending.Contains(a)))).ToArray();
                    // a channel file with only done records is qmail's own "finished" state (reported transient): keep one pending
                    if (r.Length > 0 && r.All(x => x.Done)) r[0] = r[0] with { Done = false };
                    return r;
                }));
        }

        private static Gen<Msg> Queued =>
            from sender in Gen.Elements(Senders)
            from remote in Channel(local: false, mayBeEmpty: false)
            from local in Channel(local: true, mayBeEmpty: true)
            from bounce in Gen.Elements(true, false)
            select new Msg(true, sender, local.Concat(remote).ToArray(), bounce && local.Concat(remote).Any(r => r.Done));

        private static Gen<Msg> Unqueued =>
            from sender in Gen.Elements(Senders)
            from rcpts in Gen.SubListOf(Locals.Concat(RemotePending).Concat(RemoteAny)).Where(l => l.Count > 0)
            select new Msg(false, sender, rcpts.Select(a => new Rcpt(a, Locals.Contains(a), false)).ToArray(), false);

        private static Gen<Scenario> Scenarios =>
            from split in Gen.Elements(8, 23)
            from bigTodo in Gen.Frequency((3, Gen.Constant(false)), (1, Gen.Constant(true)))
            from queued in Gen.Choose(1, 3).SelectMany(n => Gen.ArrayOf(Queued, n))
            from todo in Gen.Choose(1, 2).SelectMany(n => Gen.ArrayOf(Unqueued, n))
            from steps in Gen.Choose(1, 4).SelectMany(n => Gen.ArrayOf(
                from d in Gen.Elements(Damages) from p in Gen.Choose(0, 2) from u in Gen.Choose(0, 1) select new Step(d, p, u), n))
            from crash in Gen.Frequency((1, Gen.Constant(0)), (1, Gen.Choose(1, 30)))
            from copy in Gen.Frequency((2, Gen.Constant("")), (1, Gen.Constant("-a")), (1, Gen.Constant("-r")))
            select new Scenario(split, bigTodo, queued.Concat(todo).ToArray(), steps, crash, copy);

        /// <summary>Smaller scenarios first: no copy (or cp -a for cp -r), no kill, fewer damages, fewer messages, fewer recipients, vanilla.</summary>
        private static IEnumerable<Scenario> Shrink(Scenario s)
        {
            if (s.Copy.Length > 0) yield return s with { Copy = "" };
            if (s.Copy == "-r") yield return s with { Copy = "-a" };
            if (s.CrashAt > 0) yield return s with { CrashAt = 0 };
            if (s.CrashAt > 1) yield return s with { CrashAt = s.CrashAt / 2 };
            if (s.Steps.Length > 1)
                for (int i = 0; i < s.Steps.Length; i++) yield return s with { Steps = s.Steps.Where((_, j) => j != i).ToArray() };
            for (int i = 0; i < s.Messages.Length; i++)
            {
                var fewer = s.Messages.Where((_, j) => j != i).ToArray();
                if (fewer.Any(m => m.Processed) && fewer.Any(m => !m.Processed)) yield return s with { Messages = fewer };
            }
            for (int i = 0; i < s.Messages.Length; i++)
            {
                Msg m = s.Messages[i];
                for (int r = 0; r < m.Recipients.Length; r++)
                {
                    var rest = m.Recipients.Where((_, j) => j != r).ToArray();
                    bool valid = m.Processed
                        ? rest.Any(x => !x.Local) && rest.GroupBy(x => x.Local).All(g => g.Any(x => !x.Done))
                        : rest.Length > 0;
                    if (!valid) continue;
                    var messages = (Msg[])s.Messages.Clone();
                    messages[i] = m with { Recipients = rest, Bounce = m.Bounce && rest.Any(x => x.Done) };
                    yield return s with { Messages = messages };
                }
            }
            if (s.BigTodo) yield return s with { BigTodo = false };
        }

        // ------------------------------------------------------------------ the property

        [Fact]
        public void Random_damage_then_repair_leaves_a_clean_queue_with_every_message_delivered_once_or_quarantined()
        {
            Assert.True(TestFs.Raw.EffectiveUserId == 0, "runs as root (CI runs as root)");
            string? replay = Environment.GetEnvironmentVariable("QMAILPS_SEED");
            int cases = int.TryParse(Environment.GetEnvironmentVariable("QMAILPS_CASES"), out int n) && n > 0 ? n : 40;
            ulong seed, gamma;
            int? size = null;
            if (!string.IsNullOrWhiteSpace(replay))
            {
                string[] f = replay.Trim().Trim('(', ')').Split(',');
                seed = ulong.Parse(f[0].Trim(), CultureInfo.InvariantCulture);
                gamma = f.Length > 1 ? ulong.Parse(f[1].Trim(), CultureInfo.InvariantCulture) : 0x9E3779B97F4A7C15UL;
                if (f.Length > 2) { size = int.Parse(f[2].Trim(), CultureInfo.InvariantCulture); cases = 1; }
            }
            else if (Environment.GetEnvironmentVariable("CI") == "true")
            {
                // CI gates a landing: the same cases every time, so red means a change broke them.
                seed = 20261123; gamma = 0x9E3779B97F4A7C15UL;
            }
            else
            {
                // A new seed every run (more of the space over time); printed, so any failure replays.
                seed = (ulong)Random.Shared.NextInt64() ^ ((ulong)Random.Shared.NextInt64() << 1);
                gamma = ((ulong)Random.Shared.NextInt64() << 1) | 1;
            }
            string how = $"QMAILPS_SEED={seed},{gamma}{(size.HasValue ? "," + size : "")}";
            _out.WriteLine($"FsCheck: {cases} case(s), replay with {how}");

            var config = Config.QuickThrowOnFailure.WithMaxTest(cases)
                .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd(seed, gamma), size.HasValue ? FSharpOption<int>.Some(size.Value) : FSharpOption<int>.None)));
            var property = Prop.ForAll(Arb.From(Scenarios, Shrink), (Action<Scenario>)RunCase);
            try { FsCheck.Check.One(config, property); }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw new Xunit.Sdk.XunitException($"Replay this run with {how} (or one case with the 'seed of (s,g)' and size FsCheck gives below as QMAILPS_SEED=s,g,size).\n{e.Message}");
            }
        }

        /// <summary>
        /// Every repairable damage, alone, in a queue restored with cp -a or cp -r (every id a stale
        /// inode number, so every message is renumbered; cp -r also makes every file root's, with new
        /// times): the copy, repaired, ends as the damaged queue itself ends, with the property's
        /// checks. The random cases meet each damage on a copy only by chance; a damage the
        /// renumbering mishandled (a channel file under a name qmail does not read, renamed after its
        /// message had moved) lost recipients in the copy alone.
        /// </summary>
        [Theory]
        [MemberData(nameof(RestoredCopies))]
        public void Each_damage_in_a_restored_copy_ends_as_in_the_queue_itself(string damage, string copy)
        {
            RepairQmailQueueTests.RootOnly();
            var messages = new[]
            {
                new Msg(true, "bob@example.test", new[] { new Rcpt("alice@example.test", true, false), new Rcpt("a@remote.test", false, false), new Rcpt("c@remote.test", false, true) }, Bounce: true),
                new Msg(true, "carol@example.test", new[] { new Rcpt("b@remote.test", false, false) }, Bounce: false),
                new Msg(false, "", new[] { new Rcpt("defer@example.test", true, false), new Rcpt("a@remote.test", false, false) }, Bounce: false),
            };
            // Apply's "remote" message is queued #1, its "mixed" one queued #0, its "unprocessed" one todo #0.
            RunCase(new Scenario(23, false, messages, new[] { new Step(damage, 1, 0) }, CrashAt: 0, Copy: copy));
        }

        public static IEnumerable<object[]> RestoredCopies() =>
            Damages.SelectMany(d => new[] { new object[] { d, "-a" }, new object[] { d, "-r" } });

        private void RunCase(Scenario s)
        {
            _out.WriteLine(s.ToString());
            var q = TempQueue.Create(s.Split, s.BigTodo);
            try { CheckOn(q, s); }
            finally { GoldenQueue.Run("rm", "-rf", q.Home); }
        }

        private void CheckOn(TempQueue q, Scenario s)
        {
            // The queue: every message with its own subject, so no two bodies are alike.
            var ids = new List<ulong>();
            for (int i = 0; i < s.Messages.Length; i++)
            {
                Msg m = s.Messages[i];
                if (!m.Processed) { ids.Add(q.Writer.Inject(TempQueue.Body("todo " + i), m.Sender, m.Recipients.Select(r => r.Address).ToList(), callerUid: 1000, pid: 4242)); continue; }
                ulong id = q.AddProcessed(m.Sender, m.Recipients.Select(r => new RecipientSpec(r.Address, r.Local ? RecipientChannel.Local : RecipientChannel.Remote, r.Done)).ToList(), subject: "queued " + i);
                if (m.Bounce) q.Writer.AppendBounce(id, m.Recipients.First(r => r.Done).Address, "550 no such user");
                ids.Add(id);
            }
            ulong[] queued = ids.Where((_, i) => s.Messages[i].Processed).ToArray(), todo = ids.Where((_, i) => !s.Messages[i].Processed).ToArray();
            var healthy = new QmailPS.Check.QueueInspector(q.Layout, SendLock.Probe(q.Layout)).Inspect().ToList();
            Assert.True(healthy.Count == 0, $"{s}: the generated queue is not healthy: {string.Join(" | ", healthy.Select(i => $"{i.Kind} {i.Path}"))}");

            var skipped = new List<string>();
            var witness = new RepairWitness(q, () =>
            {
                foreach (Step step in s.Steps)
                {
                    try { TestQmailQueueTests.Apply(q, step.Damage, queued[step.Processed % queued.Length], queued[0], todo[step.Unprocessed % todo.Length]); }
                    catch (Exception e) when (e is IOException || e is UnauthorizedAccessException) { skipped.Add($"{step} did not apply on top of the others ({e.Message})"); }
                }
            });
            string what = s + (skipped.Count > 0 ? "; " + string.Join("; ", skipped) : "");

            if (s.Copy.Length == 0) { KillThenRepair(q, witness, s.CrashAt, what); return; }

            // A postmaster's copy of the damaged queue (new inodes everywhere; cp -r also makes every
            // file root's with new times): repaired on its own, it must end as the damaged queue itself
            // ends when repaired, the same messages by content with the same senders, recipients,
            // channels and done marks (and, with cp -a, birth times).
            var copy = TempQueue.Open(CopyQueue(q, s.Copy));
            // cp -r gives every file new times: an old orphan mess or pid file (which the queue
            // itself quarantines) is young in the copy, left to qmail (a transient finding).
            var copied = KillThenRepair(copy, new RepairWitness(witness, copy), s.CrashAt, what + " (the copy)",
                allowed: s.Copy == "-r" ? i => i.Kind is QueueIssueKind.OrphanMess or QueueIssueKind.StalePidFile && i.Severity == IssueSeverity.Transient : null);
            var itself = KillThenRepair(q, witness, 0, what + " (the queue itself)");
            var expected = View(itself);
            var actual = View(copied);
            Assert.True(expected.Select(m => m.What).SequenceEqual(actual.Select(m => m.What)),
                $"{what}: the repaired copy differs from the repaired queue:\n  queue: {string.Join("\n         ", expected.Select(m => m.What))}\n  copy:  {string.Join("\n         ", actual.Select(m => m.What))}");
            // cp -a keeps the births (info mtimes); a repair that sets one to its own time ('info in
            // future') does so a moment later in one of the two queues.
            if (s.Copy == "-a")
                for (int i = 0; i < expected.Count; i++)
                    Assert.True(Math.Abs((expected[i].Born - actual[i].Born).TotalSeconds) <= 10,
                        $"{what}: {expected[i].What}: born {expected[i].Born:o} in the repaired queue, {actual[i].Born:o} in the repaired copy");
        }

        /// <summary>
        /// cp -a or cp -r of the whole queue into a new qmail home beside it; returns that home. cp's
        /// reads would make an old orphan mess young again (atime), in the queue itself: its access
        /// times are put back, so both are what the damage made them.
        /// </summary>
        private static string CopyQueue(TempQueue q, string how)
        {
            string home = q.Home + "/copy";
            Directory.CreateDirectory(home);
            var times = new List<(string Path, long ATime)>();
            foreach (string f in Directory.EnumerateFiles(q.Root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
                if (TestFs.Raw.TryLstat(f, out FileStatus st, out _) && st.Kind == FileKind.Regular) times.Add((f, st.ATimeSeconds));
            GoldenQueue.Run("cp", how, q.Root, home + "/queue");
            foreach (var (path, atime) in times) File.SetLastAccessTimeUtc(path, DateTime.UnixEpoch.AddSeconds(atime)); // mtime left as it is
            return home;
        }

        /// <summary>What qmail would deliver, sorted, keyed by content (ids change with renumbering); births apart.</summary>
        private static List<(string What, DateTime Born)> View(Dictionary<string, List<QueueMessage>> view) =>
            view.SelectMany(kv => kv.Value.Select(m => (What: kv.Key.Substring(0, 12) + " " + System.Text.RegularExpressions.Regex.Replace(RepairQmailQueueTests.Describe(m), @" born \S+", ""),
                                                         Born: m.State == QueueMessageState.Unprocessed ? DateTime.MinValue : m.QueuedAtUtc)))
                .OrderBy(m => m.What, StringComparer.Ordinal).ThenBy(m => m.Born).ToList();

        /// <summary>
        /// Optionally a first repair killed at write <paramref name="crashAt"/>, then one Repair-QmailQueue:
        /// after it Test-QmailQueue finds nothing, a second run does nothing, and the witness's
        /// invariants hold. Returns what qmail would deliver from the repaired queue.
        /// </summary>
        private Dictionary<string, List<QueueMessage>> KillThenRepair(TempQueue q, RepairWitness witness, int crashAt, string what, Func<QueueIssue, bool>? allowed = null)
        {
            if (crashAt > 0)
            {
                var faulty = new FaultyPosix(TestFs.Raw, crashAt);
                if (RepairQmailQueueTests.Crashes(() => RepairQmailQueueTests.RunRepair(q, faulty)))
                    witness.AssertSafeMeanwhile($"{what}: killed before write {crashAt} ({faulty.LastCall})");
            }

            string repair = $"Repair-QmailQueue -QuarantinePath '{witness.Quarantine}' -QueuePath $q";
            var first = _ps.Run(repair, q.Root);
            Assert.True(!first.HadErrors && first.Thrown is null, $"{what}: {first.Thrown?.Message} {string.Join(" | ", first.Errors.Select(e => e.Exception.Message))}");
            string did = string.Join(" | ", first.Objects<RepairAction>().Select(a => a.Action)) + (first.Warnings.Count > 0 ? " warnings: " + string.Join(" | ", first.Warnings) : "");
            var left = _ps.Run("Test-QmailQueue -QueuePath $q", q.Root).AssertClean().Objects<QueueIssue>().Where(i => allowed is null || !allowed(i)).ToList();
            Assert.True(left.Count == 0, $"{what}: after one repair: {string.Join(" | ", left.Select(i => $"{i.Kind}/{i.Severity} {i.Path}"))}; it did: {did}");
            var second = _ps.Run(repair, q.Root).AssertClean();
            Assert.True(second.Output.Count == 0, $"{what}: a second repair still did: {string.Join(" | ", second.Objects<RepairAction>().Select(a => a.Action))}");
            return witness.AssertDelivered(what);
        }
    }
}
