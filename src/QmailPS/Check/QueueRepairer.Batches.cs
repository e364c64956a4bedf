using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.ExceptionServices;
using System.Threading;
using QmailPS.Check.Repair;

namespace QmailPS.Check
{
    /// <summary>Renumbering batches: their phases, the threads they run on, and how batches overlap.</summary>
    internal sealed partial class QueueRepairer
    {
        /// <summary>
        /// Renumberings done a batch at a time, each phase ended by one fsync per directory it touched:
        /// (A, <see cref="BeginRenumber"/>) for each message the hard links of mess, intd, local, remote
        /// and bounce at the new number, mess first; fsync. (B) for each message the rename of info
        /// (and todo): the switch; fsync. (C) for each message the unlink of the old names that are
        /// links of the new ones, mess last (<see cref="FinishRenumber"/>); fsync.
        ///
        /// What holds at every crash point, inside a phase or between phases and batches, for each
        /// message on its own (kernel state, and what a power cut keeps: ext4's journal commits in
        /// order, and a phase starts only once the fsyncs of the one before it returned):
        /// - Its identity is one rename, so it is at exactly one number: info (or todo) at OLD or at
        ///   NEW, never both or neither. qmail sees it once.
        /// - A rename that reached the disk comes after every link of its message reached it (the
        ///   fsyncs of A): the message is whole at NEW. Before the switch, the names at NEW are extra
        ///   links qmail ignores (a mess at NEW without info is a young orphan; its inode stays with
        ///   mess/OLD), and the message is whole at OLD.
        /// - An unlink of an old name comes after the switch reached the disk (the fsyncs of B), is
        ///   only of a name with the same inode as the new one, and mess/OLD goes last: nothing is
        ///   lost, and while any old name is left mess/OLD is there.
        /// A new run therefore finds each message in one of three states and finishes it: links only
        /// (IdNotInode again: Renumber skips the links made, <see cref="BeginRenumber"/>), switched with
        /// old names left (<see cref="RenumberedTo"/>: a "Finish renumbering" step), or done. A batch
        /// never holds a message moving to a number another of its messages leaves (the plan starts a
        /// new batch there), so no link waits on an unlink of the same batch.
        ///
        /// Batches overlap: while one batch switches, the next one links and the one before it
        /// unlinks, in one step that ends with the fsyncs of all three. A switch to another
        /// directory takes the file system's rename mutex, so renames do not run side by side; the
        /// links and unlinks of the neighbouring batches use the other CPUs meanwhile (issue 14:
        /// alone, the switch phase left a CPU spinning on that mutex). Each message still goes A,
        /// fsync, B, fsync, C, fsync in that order, and all of the above is about each message on
        /// its own, so it holds for any mix of messages of different batches at different phases.
        /// A batch begins while others are under way only when it shares no number with them
        /// (<see cref="RenumberBatch.Shares"/>): otherwise it begins once they are done, as above.
        /// </summary>
        /// <param name="next">The next batch to run with the members the admin confirmed, or null
        /// when the plan's next step is not one; called on this thread between steps (it may ask).</param>
        /// <param name="stopping">Ctrl+C: no further member is begun; those begun are completed, so
        /// every message is left whole at one number.</param>
        /// <param name="report">What came of each member, on this thread, once its batch is done.</param>
        internal void RunBatches(Func<(RenumberBatch Batch, List<RepairStep> Members)?> next, Func<bool> stopping, Action<BatchOutcome> report)
        {
            var under = new List<BatchRun>(); // begun and not done, in plan order
            (RenumberBatch Batch, List<RepairStep> Members)? coming = next();
            IDisposable scope = BatchScope();
            try
            {
                while (coming != null || under.Count > 0)
                {
                    var step = new List<BatchRun>(under);
                    bool begins = false;
                    if (coming is { } c)
                    {
                        if (stopping()) coming = null; // never begun
                        else if (!under.Any(r => r.Batch.Shares(c.Batch)))
                        {
                            if (c.Batch.Completed) throw new InvalidOperationException("a completed batch");
                            c.Batch.Completed = true;
                            step.Add(new BatchRun(c.Batch, c.Members, begun: false));
                            coming = null;
                            begins = true;
                        }
                    }
                    if (step.Count == 0) continue;
                    RunStep(step, stopping);
                    under.Clear();
                    foreach (BatchRun r in step)
                        if (r.Phase != BatchRun.Done) under.Add(r);
                        else foreach (BatchOutcome o in r.Outcomes) report(o);
                    if (begins) coming = next();
                }
            }
            finally { scope.Dispose(); } // also when a kill (or a bug) ends the run mid-phase
        }

        /// <summary>
        /// Workers per phase of a renumbering batch. The members of a batch touch disjoint names
        /// (<see cref="RenumberBatch.Touches"/>), so within a phase their order does not matter, and
        /// the phases stay apart: each starts after every worker of the one before has finished and
        /// its directories are fsync'ed. Links and unlinks are kernel work in directories of their own
        /// (ext4 locks one directory, not the file system), so two CPUs do those phases in about half
        /// the time (issue 14); a rename to another directory takes the file system's rename mutex,
        /// so the switches of a step are taken by one worker first (the others join it once the
        /// links and unlinks are done). 1 runs every member on the calling thread, in plan order.
        /// </summary>
        public int Workers { get; set; } = Math.Max(1, Math.Min(4, Environment.ProcessorCount));

        /// <summary>
        /// One phase of each of <paramref name="runs"/> on <see cref="Workers"/> threads, then the
        /// fsyncs of every directory they wrote in; each run then moves to its next phase. An I/O
        /// error is its member's alone (or, in an fsync, its run's); anything else stops every worker
        /// and is thrown, as a kill would end the run.
        /// </summary>
        private void RunStep(List<BatchRun> runs, Func<bool> stopping)
        {
            var switches = new List<(BatchRun Run, int I)>();
            var others = new List<(BatchRun Run, int I)>();
            foreach (BatchRun r in runs)
            {
                r.Prepare();
                for (int i = 0; i < r.Count; i++) (r.Phase == BatchRun.Switch ? switches : others).Add((r, i));
            }
            Exception? fatal = null;
            int nextSwitch = -1, nextOther = -1;
            bool Take(List<(BatchRun, int)> list, ref int at, out (BatchRun Run, int I) item)
            {
                int i = Interlocked.Increment(ref at);
                item = i < list.Count ? list[i] : default;
                return i < list.Count;
            }
            void Work(bool switcher)
            {
                while (Volatile.Read(ref fatal) is null)
                {
                    (BatchRun Run, int I) item;
                    bool got = switcher
                        ? Take(switches, ref nextSwitch, out item) || Take(others, ref nextOther, out item)
                        : Take(others, ref nextOther, out item) || Take(switches, ref nextSwitch, out item);
                    if (!got) return;
                    try { Do(item.Run, item.I, stopping); }
                    catch (Exception e) when (e is IOException || e is UnauthorizedAccessException) { item.Run.Errors[item.I] = e; }
                    catch (Exception e) { Interlocked.CompareExchange(ref fatal, e, null); }
                }
            }
            var threads = new Thread[Math.Max(0, Math.Min(Workers, switches.Count + others.Count) - 1)];
            for (int t = 0; t < threads.Length; t++) { threads[t] = new Thread(() => Work(false)) { IsBackground = true, Name = "QmailPS repair" }; threads[t].Start(); }
            Work(true);
            foreach (Thread t in threads) t.Join();
            if (fatal != null) ExceptionDispatchInfo.Capture(fatal).Throw();
            SyncRuns(runs);
            foreach (BatchRun r in runs) r.Advance();
        }

        /// <summary>Item <paramref name="i"/> of the phase <paramref name="r"/> is in.</summary>
        private void Do(BatchRun r, int i, Func<bool> stopping)
        {
            switch (r.Phase)
            {
                case BatchRun.Link:
                    RepairStep p = r.Members[i];
                    if (!r.AlreadyBegun)
                    {
                        if (stopping()) return;
                        if (!ReferenceEquals(p.Batch, r.Batch)) throw new InvalidOperationException("not a step of this batch");
                        if (p.Operation == RepairOperation.Renumber) BeginRenumber(r.Batch, p);
                    }
                    r.Begun[i] = true;
                    return;
                case BatchRun.Switch:
                    p = r.Live[i];
                    if (p.Operation == RepairOperation.FinishRenumber) return;
                    foreach (string k in new[] { "info", "todo" })
                        if (p.Begun is RenumberFacts f ? (f.Old & Bit(k)) != 0 : Exists(P(k, p.From)))
                        {
                            _p.Rename(P(k, p.From), P(k, p.To));
                            lock (r.Switched) { r.Switched.Add(Path.GetDirectoryName(P(k, p.To))!); r.Switched.Add(Path.GetDirectoryName(P(k, p.From))!); }
                        }
                    return;
                case BatchRun.Unlink:
                    p = r.Live[i];
                    // A leftover (FinishRenumber) is finished only if it still is one when it runs.
                    r.Quarantined[i] = p.Operation == RepairOperation.Renumber || RenumberedTo(p.From) == p.To ? FinishRenumber(p.From, p.To, r.Removed, p.Begun) : null;
                    return;
            }
        }

        /// <summary>
        /// fsync of each directory the runs' last phase wrote in, once for all of them. Each waits for
        /// the disk, and they are independent: issued from several threads, they wait together (a
        /// 100,000-message renumbering makes about 15,000; one after another they were a quarter of
        /// its time, issue 14). An error fails every run that wrote in that directory.
        /// </summary>
        private void SyncRuns(List<BatchRun> runs)
        {
            var owners = new Dictionary<string, List<BatchRun>>(StringComparer.Ordinal);
            foreach (BatchRun r in runs)
            {
                foreach (string d in r.Written)
                {
                    if (!owners.TryGetValue(d, out List<BatchRun>? o)) owners[d] = o = new List<BatchRun>();
                    o.Add(r);
                }
                r.Written.Clear();
            }
            string[] dirs = owners.Keys.ToArray();
            var errors = new Exception?[dirs.Length];
            OnThreads(dirs.Length, FsyncThreads, i =>
            {
                try { _p.FsyncDirectory(dirs[i]); }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException) { errors[i] = e; }
            });
            for (int i = 0; i < dirs.Length; i++)
                if (errors[i] is Exception e) foreach (BatchRun r in owners[dirs[i]]) r.SyncError ??= e;
        }

        private const int FsyncThreads = 8;

        /// <summary>A batch on its way through the phases: who is still in it, and what each phase left to fsync.</summary>
        private sealed class BatchRun
        {
            public const int Link = 0, Switch = 1, Unlink = 2, Done = 3;

            public BatchRun(RenumberBatch batch, List<RepairStep> members, bool begun)
            {
                Batch = batch;
                Members = members;
                AlreadyBegun = begun;
            }

            public RenumberBatch Batch { get; }
            /// <summary>The confirmed members, in plan order (phase A's items).</summary>
            public List<RepairStep> Members { get; }
            /// <summary>Phase A was done by <see cref="QueueRepairer.Begin"/>: only its fsyncs are left.</summary>
            public bool AlreadyBegun { get; }
            public int Phase { get; private set; } = Link;
            /// <summary>Members begun and not failed (phases B and C's items).</summary>
            public List<RepairStep> Live { get; private set; } = new List<RepairStep>();
            public List<BatchOutcome> Outcomes { get; } = new List<BatchOutcome>();
            public HashSet<string> Switched { get; } = new HashSet<string>(StringComparer.Ordinal);
            public HashSet<string> Removed { get; } = new HashSet<string>(StringComparer.Ordinal);
            public Exception?[] Errors { get; private set; } = new Exception?[0];
            public bool[] Begun { get; private set; } = new bool[0];
            public string?[] Quarantined { get; private set; } = new string?[0];
            public Exception? SyncError { get; set; }

            public int Count => Phase == Link ? Members.Count : Live.Count;

            /// <summary>The directories this phase writes in (fsync'ed at the end of the step).</summary>
            public HashSet<string> Written => Phase == Link ? Batch.Linked : Phase == Switch ? Switched : Removed;

            public void Prepare()
            {
                Errors = new Exception?[Count];
                if (Phase == Link) Begun = new bool[Count];
                if (Phase == Unlink) Quarantined = new string?[Count];
            }

            /// <summary>After the step's fsyncs: failed members are reported, the rest go on (or are done).</summary>
            public void Advance()
            {
                var live = new List<RepairStep>();
                var quarantined = new List<string?>();
                for (int i = 0; i < Count; i++)
                {
                    RepairStep p = Phase == Link ? Members[i] : Live[i];
                    if (Errors[i] is Exception e) Outcomes.Add(new BatchOutcome(p, null, e));
                    else if (Phase != Link || Begun[i]) { live.Add(p); if (Phase == Unlink) quarantined.Add(Quarantined[i]); }
                }
                Live = live;
                if (SyncError != null)
                {
                    foreach (RepairStep p in live) Outcomes.Add(new BatchOutcome(p, null, SyncError));
                    Live = new List<RepairStep>();
                    Phase = Done;
                    return;
                }
                if (Phase == Unlink)
                {
                    for (int i = 0; i < live.Count; i++) Outcomes.Add(new BatchOutcome(live[i], quarantined[i], null));
                    Phase = Done;
                    return;
                }
                Phase = live.Count == 0 ? Done : Phase + 1;
            }
        }

        /// <summary>
        /// Begins a member of its batch (phase A: its links, through the batch's directory
        /// descriptors). An error here is that member's alone, and it is not begun.
        /// </summary>
        internal void Begin(RepairStep step)
        {
            RenumberBatch batch = step.Batch ?? throw new InvalidOperationException("not a step of a batch");
            if (batch.Completed) throw new InvalidOperationException("a step of a completed batch");
            batch.Scope ??= BatchScope();
            try { if (step.Operation == RepairOperation.Renumber) BeginRenumber(batch, step); }
            catch (Exception e) when (!(e is IOException || e is UnauthorizedAccessException))
            {
                EndScope(batch); // the run ends here: nothing may stay held
                throw;
            }
            batch.Begun.Add(step);
        }

        /// <summary>Finishes the members of <paramref name="batch"/> that <see cref="Begin"/> began (once; later calls return nothing) and says, member by member, what came of it.</summary>
        internal List<BatchOutcome> Complete(RenumberBatch batch)
        {
            if (batch.Completed) return new List<BatchOutcome>();
            batch.Completed = true;
            batch.Scope ??= BatchScope();
            try
            {
                var run = new BatchRun(batch, new List<RepairStep>(batch.Begun), begun: true);
                var runs = new List<BatchRun> { run };
                while (run.Phase != BatchRun.Done) RunStep(runs, () => false);
                return run.Outcomes;
            }
            finally { EndScope(batch); }
        }

        /// <summary>A member's Apply without an executor: begun, and on the last member the batch completed; the first error is thrown.</summary>
        private string? ApplyAlone(RepairStep step)
        {
            RenumberBatch batch = step.Batch!;
            bool last = batch.IsLast(step);
            Exception? first = null;
            try { Begin(step); }
            catch (Exception e) when (last && (e is IOException || e is UnauthorizedAccessException)) { first = e; }
            if (!last) return null;
            foreach (BatchOutcome o in Complete(batch)) first ??= o.Error;
            if (first != null) ExceptionDispatchInfo.Capture(first).Throw();
            return null;
        }

        /// <summary>
        /// <paramref name="body"/> for 0 … count-1 on up to <paramref name="threads"/> threads (the
        /// calling one among them; with one, in order). The first exception stops the others from
        /// taking more and is thrown once all have stopped.
        /// </summary>
        private static void OnThreads(int count, int threads, Action<int> body)
        {
            Exception? fatal = null;
            int next = -1;
            void Work()
            {
                for (int i; Volatile.Read(ref fatal) is null && (i = Interlocked.Increment(ref next)) < count;)
                {
                    try { body(i); }
                    catch (Exception e) { Interlocked.CompareExchange(ref fatal, e, null); }
                }
            }
            var others = new Thread[Math.Max(0, Math.Min(threads, count) - 1)];
            for (int t = 0; t < others.Length; t++) { others[t] = new Thread(Work) { IsBackground = true, Name = "QmailPS repair" }; others[t].Start(); }
            Work();
            foreach (Thread t in others) t.Join();
            if (fatal != null) ExceptionDispatchInfo.Capture(fatal).Throw();
        }
    }
}
