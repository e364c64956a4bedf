using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using QmailPS.Check.Repair;
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
    /// repair is cut short before its 1st, 2nd, 3rd … write (every mutating IFileSystem call, fsync of a
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
                Witness = new RepairWitness(q, () => TestQmailQueueTests.Apply(q, damage, remote, mixed, unprocessed));
            }

            public string Damage { get; }
            public TempQueue Q { get; }
            public RepairWitness Witness { get; }
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
                var faulty = new FaultyPosix(TestFs.Raw, k);
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
                // Killed before its first IFileSystem write, the repair has changed nothing at all: no write goes around IFileSystem.
                if (before != null) QueueSnapshot.AssertSame(before, QueueSnapshot.Take(c.Q.Home));
                c.Witness.AssertSafeMeanwhile(where);

                string again = Repair(c.Q, TestFs.Raw).Did;
                reruns.Add((where, AssertRepaired(c, where + ", then rerun", again), again));
            }
        }

        /// <summary>
        /// Issue 14: renumberings run in batches (links of every message of a batch, one fsync per
        /// directory, the renames, fsync, the unlinks of the old names, fsync). The golden queue (ten
        /// messages, restored from a tarball: every id is not its mess inode; done marks, a bounce and
        /// an unprocessed todo among them) renumbered three messages a batch (four batches), killed
        /// before each of its writes: inside a phase, and at each fsync between phases. Batches
        /// overlap: in one step a batch switches while the next one links and the one before it
        /// unlinks, so cuts also fall with three batches at three different phases. After each kill qmail sees every message exactly once, with the same sender,
        /// recipients, channels, done marks and birth, keyed by the content of its mess; then a run
        /// with the default batch size finishes it: the same again, Test finds nothing, and a third
        /// run writes nothing. With one worker the writes of a phase come in plan order; with four,
        /// the members of a phase are linked, renamed and unlinked from four threads at once, and the
        /// kill stops every one of them (FaultyPosix), so the cuts fall between writes of different
        /// members in whatever order the threads made them.
        /// </summary>
        [Theory]
        [InlineData(1)]
        [InlineData(4)]
        public void A_renumbering_in_batches_killed_inside_and_between_batches_then_rerun_keeps_every_message_once(int workers)
        {
            RootOnly();
            const int batch = 3;
            List<string> calls;
            Dictionary<string, List<string>> healthy;
            using (var q0 = GoldenQueue.Restore())
            {
                healthy = RepairQmailQueueTests.QmailView(q0.Layout);
                Assert.Equal(10, healthy.Count);
                var counter = new FaultyPosix(TestFs.Raw, int.MaxValue) { Log = new List<string>() };
                RepairQmailQueueTests.RunRepair(q0, counter, batch: batch, workers: workers);
                calls = counter.Log!;
            }
            // Where the cuts fall: before a link, rename or unlink (inside a step), before a directory
            // fsync (between steps). A step is what comes between two runs of fsyncs: each batch
            // links in one step, and in the steps after its first one the next batch links while
            // the one before switches (and the one before that unlinks).
            int inside = 0, between = 0;
            var steps = new List<HashSet<string>> { new HashSet<string>() };
            for (int k = 0; k < calls.Count; k++)
            {
                string op = calls[k].Substring(0, calls[k].IndexOf(' '));
                if (op == "fsync") { between++; if (steps[steps.Count - 1].Count > 0) steps.Add(new HashSet<string>()); }
                else { inside++; steps[steps.Count - 1].Add(op); }
            }
            string trace = string.Join(" | ", calls);
            Assert.True(steps.Count(o => o.Contains("link")) == 4, $"expected 4 batches, each linking in a step of its own; writes: {trace}");
            Assert.True(steps.Count(o => o.Contains("link") && o.Contains("rename") && o.Contains("unlink")) == 2, $"expected two steps with three batches at three phases; writes: {trace}");
            Assert.True(inside > 30 && between > 10, $"{inside} cuts inside steps, {between} at fsyncs: {trace}");

            // Each restore gets other inodes, so the targets fall in other split directories and a
            // run makes a few more or fewer directory fsyncs than the counting one: cut before every
            // write until a run makes fewer writes than k, and check that this was near the count.
            for (int k = 1; ; k++)
            {
                using var q = GoldenQueue.Restore();
                var faulty = new FaultyPosix(TestFs.Raw, k) { Log = new List<string>() };
                if (!RepairQmailQueueTests.Crashes(() => RepairQmailQueueTests.RunRepair(q, faulty, batch: batch, workers: workers)))
                {
                    Assert.True(k > calls.Count - 12, $"write {k} never came, where the counting run made {calls.Count}: this run wrote {string.Join(" | ", faulty.Log!)}");
                    break;
                }
                string where = $"killed before write {k} ({faulty.LastCall})";
                RepairQmailQueueTests.AssertSameView(healthy, RepairQmailQueueTests.QmailView(q.Layout), where);

                string did = RepairQmailQueueTests.RunRepair(q, TestFs.Raw);
                RepairQmailQueueTests.AssertSameView(healthy, RepairQmailQueueTests.QmailView(q.Layout), where + ", then rerun: " + did);
                var counter = new FaultyPosix(TestFs.Raw, int.MaxValue);
                var (issues, again) = Repair(q, counter);
                Assert.True(issues == 0 && counter.Calls == 0, $"{where}, then rerun: one more run still found or wrote something: {again}; the rerun did: {did}");
                Assert.False(File.Exists(q.Home + "/quarantine/manifest.tsv"), $"{where}: something went to the quarantine: " + (File.Exists(q.Home + "/quarantine/manifest.tsv") ? File.ReadAllText(q.Home + "/quarantine/manifest.tsv") : ""));
            }
        }

        /// <summary>One Repair-QmailQueue run as the cmdlet does it (RepairSession: inspect, plan, run each step, inspect again), through POSIX.</summary>
        private static (int Issues, string Did) Repair(TempQueue q, IFileSystem posix)
        {
            var (session, _, did) = RepairQmailQueueTests.RunSession(q, posix);
            return (session.Found.Count, did);
        }

        /// <summary>
        /// A finished repair: the inspector finds nothing (not even transient debris), another run
        /// writes nothing, the witness's checks hold, and every message qmail delivered before the
        /// damage is delivered the same way, or it is in the quarantine.
        /// </summary>
        private static List<string> AssertRepaired(DamagedQueue c, string at, string did)
        {
            var counter = new FaultyPosix(TestFs.Raw, int.MaxValue);
            var (issues, again) = Repair(c.Q, counter);
            Assert.True(issues == 0 && counter.Calls == 0, $"{at}: one more run still found or wrote something: {again}; the repair did: {did}");

            // Beyond the witness's checks: with a single damage, each message ends as the plain repair test expects.
            var after = c.Witness.AssertDelivered(at);
            foreach (var kv in c.Witness.Healthy)
            {
                if (!after.TryGetValue(kv.Key, out var now)) continue; // quarantined: checked by the witness
                string was = RepairQmailQueueTests.Describe(kv.Value[0]), nowText = RepairQmailQueueTests.Describe(now[0]);
                Assert.True(nowText == was || RepairQmailQueueTests.IsExpectedChange(c.Damage, was, nowText), $"{at}: message {c.Witness.HealthyIds[kv.Key]}: {was} became {nowText}");
            }
            return RepairWitness.Normalized(after);
        }

        /// <summary>
        /// A message without info (its channel files and mess only) in a copied queue is renumbered
        /// to its mess inode, and the run is killed while it unlinks the old names: some old names
        /// are gone, mess is still there, every file has its link at the new number. A new run
        /// finishes the renumbering (no "belongs to another message"), recovers the message under its
        /// new number in the same run, and a third run finds nothing. Found by RandomDamageTests with
        /// cp -a (seed 8262219935213410670,13115565514994087781), which depends on inodes; made here by hand.
        /// </summary>
        [Theory]
        [InlineData("local")]
        [InlineData("local,remote")]
        public void A_renumbering_of_a_message_without_info_killed_among_its_unlinks_is_finished_and_recovered_in_one_run(string unlinked)
        {
            RootOnly();
            using var q = TempQueue.Create();
            ulong to = q.AddProcessed("bob@example.test", new[] { new RecipientSpec("alice@example.test", RecipientChannel.Local), new RecipientSpec("a@remote.test", RecipientChannel.Remote) });
            File.Delete(q.PathOf("info", to));
            // The old number: any other one; its names are the links the killed run had not yet unlinked.
            ulong from = to + 1000;
            foreach (string k in new[] { "mess", "local", "remote" })
                if (!unlinked.Split(',').Contains(k)) GoldenQueue.Run("ln", q.PathOf(k, to), q.PathOf(k, from));
            string did = RepairQmailQueueTests.RunRepair(q, TestFs.Raw);
            var (issues, again) = Repair(q, new FaultyPosix(TestFs.Raw, int.MaxValue));
            Assert.True(issues == 0, $"after one run: {again}; it did: {did}");
            Assert.False(File.Exists(q.PathOf("mess", from)), did);
            var view = RepairQmailQueueTests.QmailMessages(q.Layout);
            var m = Assert.Single(Assert.Single(view).Value);
            Assert.Equal(to, m.Id);
            Assert.Equal(new[] { "a@remote.test", "alice@example.test" }, m.Recipients.Select(x => x.Address).OrderBy(a => a, StringComparer.Ordinal));
            Assert.False(File.Exists(q.Home + "/quarantine/manifest.tsv") && File.ReadAllText(q.Home + "/quarantine/manifest.tsv").Contains("/local/", StringComparison.Ordinal), did);
        }

        /// <summary>
        /// Issue 14: the members of a batch are worked on from several threads at once (a phase's
        /// links, renames and unlinks are kernel work in different directories). A seam whose link
        /// waits for a second link to be under way shows it: with one worker no two links are ever
        /// in flight together. The result is what qmail saw before, and Test finds nothing after.
        /// </summary>
        [Fact]
        public void The_members_of_a_renumbering_batch_are_linked_from_several_threads_at_once()
        {
            RootOnly();
            using var q = GoldenQueue.Restore();
            var healthy = RepairQmailQueueTests.QmailView(q.Layout);
            var meeting = new MeetingPosix(TestFs.Raw);
            string did = RepairQmailQueueTests.RunRepair(q, meeting, workers: 2);
            Assert.True(meeting.Met, $"no two links of the batch were ever under way at once: {did}");
            RepairQmailQueueTests.AssertSameView(healthy, RepairQmailQueueTests.QmailView(q.Layout), "after a repair with two workers");
            var (issues, again) = Repair(q, new FaultyPosix(TestFs.Raw, int.MaxValue));
            Assert.True(issues == 0, $"after the repair: {again}; it did: {did}");

            using var one = GoldenQueue.Restore();
            var alone = new MeetingPosix(TestFs.Raw) { Patience = TimeSpan.FromMilliseconds(50) };
            RepairQmailQueueTests.RunRepair(one, alone, workers: 1);
            Assert.False(alone.Met, "one worker, yet two links were under way at once");
        }

        /// <summary>
        /// Ctrl+C in the middle of a batch: no member is begun after it, the members begun are
        /// completed, and each message is whole at one number (the old or the new); a rerun
        /// renumbers the rest.
        /// </summary>
        [Fact]
        public void Stopped_in_the_middle_of_a_batch_it_begins_no_more_members_and_completes_those_begun()
        {
            RootOnly();
            using var q = GoldenQueue.Restore();
            var healthy = RepairQmailQueueTests.QmailView(q.Layout);
            var seam = new CountingPosix(TestFs.Raw);
            var layout = QueueLayout.Detect(q.Root, null, null);
            var stopper = new RepairQmailQueueTests.StepLog { StopWhen = () => seam.Links >= 3 };
            new RepairSession(layout, seam, SendLock.Probe(layout), q.Home + "/quarantine") { Workers = 2 }.Run(stopper);
            stopper.ThrowIfFailed();
            Assert.True(stopper.DoneCount > 0 && stopper.DoneCount < 10, $"{stopper.DoneCount} of 10 renumberings reported done after the stop");
            RepairQmailQueueTests.AssertSameView(healthy, RepairQmailQueueTests.QmailView(q.Layout), "after the stop");
            var left = new QueueInspector(layout, SendLock.Probe(layout)).Inspect().ToList();
            Assert.True(left.All(i => i.Kind == QueueIssueKind.IdNotInode) && left.Count == 10 - stopper.DoneCount,
                $"after the stop, {stopper.DoneCount} done: " + string.Join(" | ", left.Select(i => $"{i.Kind} {i.Path}")));
            string did = RepairQmailQueueTests.RunRepair(q, TestFs.Raw);
            RepairQmailQueueTests.AssertSameView(healthy, RepairQmailQueueTests.QmailView(q.Layout), "after the rerun: " + did);
            Assert.Empty(new QueueInspector(layout, SendLock.Probe(layout)).Inspect());
        }

        /// <summary>
        /// A batch keeps one descriptor per directory for its writes (IFileSystem.HoldDirectories).
        /// An attacker moves two directories the batch has written in out of the queue mid-batch and
        /// puts symlinks to another directory in their place: no write of the batch goes through
        /// them. The directory they point to is left exactly as it was, whatever the repair then
        /// manages or reports; a fresh resolution of the path meets the symlink and is refused.
        /// </summary>
        [Fact]
        public void A_directory_swapped_for_a_symlink_in_the_middle_of_a_batch_is_never_written_through()
        {
            RootOnly();
            using var q = GoldenQueue.Restore();
            string outside = q.Home + "/outside";
            Directory.CreateDirectory(outside);
            foreach (string n in new[] { "1", "2", "victim" }) File.WriteAllText(outside + "/" + n, "not the queue's " + n);
            var before = QueueSnapshot.Take(outside);
            var layout = QueueLayout.Detect(q.Root, null, null);
            string? first = null, swapped = null;
            var seam = new SwapAtLink(TestFs.Raw, 5, (existing, newPath) => first ??= existing + "|" + newPath, () =>
            {
                var (from, to) = (first!.Split('|')[0], first.Split('|')[1]);
                foreach (string dir in new[] { Path.GetDirectoryName(from)!, Path.GetDirectoryName(to)! }.Distinct())
                {
                    Directory.Move(dir, q.Home + "/moved-" + Path.GetFileName(Path.GetDirectoryName(dir)) + "-" + Path.GetFileName(dir));
                    File.CreateSymbolicLink(dir, outside);
                    swapped += dir + " ";
                }
            });
            var observer = new RepairQmailQueueTests.StepLog(); // failures are the attacker's doing: counted, not thrown
            new RepairSession(layout, seam, SendLock.Probe(layout), q.Home + "/quarantine") { Workers = 2 }.Run(observer);
            Assert.True(swapped != null, "the attacker never got to act");
            QueueSnapshot.AssertSame(before, QueueSnapshot.Take(outside));
            Assert.True(Directory.GetFileSystemEntries(outside).Length == 3, string.Join(" ", Directory.GetFileSystemEntries(outside)));
            // The batch went on in the directory it began with: the first message's old mess, linked
            // before the swap, was unlinked there (a path resolved again would have met the symlink).
            string old = first!.Split('|')[0], movedOld = q.Home + "/moved-" + Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(old))) + "-" + Path.GetFileName(Path.GetDirectoryName(old));
            Assert.True(Directory.Exists(movedOld) && !File.Exists(movedOld + "/" + Path.GetFileName(old)), $"{old}: its directory, moved to {movedOld}, still has it; failures: {observer.Failures}");
        }

        /// <summary>Lets an attacker act once, right before the Nth link; sees every link first.</summary>
        private sealed class SwapAtLink : PassThroughPosix
        {
            private readonly int _at;
            private readonly Action<string, string> _see;
            private readonly Action _swap;
            private int _links;
            public SwapAtLink(IFileSystem inner, int at, Action<string, string> see, Action swap) : base(inner) { _at = at; _see = see; _swap = swap; }
            public override void Link(string existing, string newPath)
            {
                lock (this) { _see(existing, newPath); if (++_links == _at) _swap(); }
                base.Link(existing, newPath);
            }
        }

        /// <summary>
        /// A run whose every finding is a misnumbered message, each renumbered whole, is not
        /// inspected a second time (it would find nothing: the same files under their inode
        /// numbers); Test agrees afterwards. One more finding of another kind (a bounce/ file
        /// without a message) and the run inspects again, as after any other repair.
        /// </summary>
        [Fact]
        public void A_pure_renumbering_is_not_inspected_again_and_anything_else_is()
        {
            RootOnly();
            using (var q = GoldenQueue.Restore())
            {
                var (session, log, did) = RepairQmailQueueTests.RunSession(q, TestFs.Raw);
                Assert.True(session.Inspections == 1 && session.Found.Count == 10, $"{session.Inspections} inspections, {session.Found.Count} findings: {did}");
                Assert.Contains(log.Notes, n => n.Contains("not inspected again", StringComparison.Ordinal));
                var layout = QueueLayout.Detect(q.Root, null, null);
                Assert.Empty(new QueueInspector(layout, SendLock.Probe(layout)).Inspect());
            }
            using (var q = GoldenQueue.Restore())
            {
                File.WriteAllText(q.Root + "/bounce/" + "4242", "stray\n");
                var (session, log, did) = RepairQmailQueueTests.RunSession(q, TestFs.Raw);
                Assert.True(session.Inspections == 2 && session.Found.Count == 11, $"{session.Inspections} inspections, {session.Found.Count} findings: {did}");
                Assert.DoesNotContain(log.Notes, n => n.Contains("not inspected again", StringComparison.Ordinal));
            }
        }

        /// <summary>
        /// A kill in the middle of a batch (here before its 5th write, with two workers) ends the
        /// run with nothing held: later writes through the same seam, on the same thread, resolve
        /// their directories again and keep no descriptor (a hold left behind kept one per
        /// directory for ever: 14,000 descriptors by the end of the test suite).
        /// </summary>
        [Fact]
        public void A_run_killed_in_the_middle_of_a_batch_leaves_no_directory_held()
        {
            RootOnly();
            using var q = GoldenQueue.Restore();
            Assert.True(RepairQmailQueueTests.Crashes(() => RepairQmailQueueTests.RunRepair(q, new FaultyPosix(TestFs.Raw, 5), workers: 2)));
            int before = Directory.GetFileSystemEntries("/proc/self/fd").Length;
            for (int split = 0; split < 23; split++)
            {
                string path = $"{q.Root}/mess/{split}/scratch";
                File.WriteAllText(path, "x");
                TestFs.Raw.Unlink(path);
            }
            int after = Directory.GetFileSystemEntries("/proc/self/fd").Length;
            Assert.True(after - before < 5, $"{after - before} more descriptors open after 23 unlinks in 23 directories");
        }

        /// <summary>Counts links; every call goes through.</summary>
        private sealed class CountingPosix : PassThroughPosix
        {
            private int _links;
            public CountingPosix(IFileSystem inner) : base(inner) { }
            public int Links => Volatile.Read(ref _links);
            public override void Link(string existing, string newPath) { Interlocked.Increment(ref _links); base.Link(existing, newPath); }
        }

        /// <summary>A link waits (up to <see cref="Patience"/>) until another is under way; Met says whether two ever were.</summary>
        private sealed class MeetingPosix : PassThroughPosix
        {
            private readonly object _gate = new object();
            private int _inFlight;
            public MeetingPosix(IFileSystem inner) : base(inner) { }
            public bool Met { get; private set; }
            public TimeSpan Patience { get; set; } = TimeSpan.FromSeconds(5);
            public override void Link(string existing, string newPath)
            {
                lock (_gate)
                {
                    _inFlight++;
                    if (_inFlight >= 2) { Met = true; Monitor.PulseAll(_gate); }
                    else if (!Met) Monitor.Wait(_gate, Patience);
                }
                try { base.Link(existing, newPath); }
                finally { lock (_gate) _inFlight--; }
            }
        }

        private static void RootOnly()
        {
            Assert.True(TestFs.Raw.EffectiveUserId == 0, "Repair tests give files qmail's owners; they run as root (CI runs as root).");
            Assert.True(TestFs.Raw.LookupUser(QmailUsers.Qmailq) != null, "The qmail users must exist (.ci/run creates them).");
        }
    }
}
