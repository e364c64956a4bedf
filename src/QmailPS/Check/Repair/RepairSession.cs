using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using QmailPS.Posix;
using QmailPS.Queue;

namespace QmailPS.Check.Repair
{
    /// <summary>What a repair session tells the one who runs it (the cmdlet: ShouldProcess, progress, output, warnings).</summary>
    internal interface IRepairObserver
    {
        /// <summary>Ctrl+C: the session completes the batch it began (a few hundred milliseconds at most) and stops.</summary>
        bool Stopping { get; }
        /// <summary>Whether step <paramref name="index"/> of <paramref name="count"/> is to run (-WhatIf, -Confirm); progress goes here too.</summary>
        bool ShouldRun(RepairStep step, int index, int count);
        /// <summary>The step made its change; <paramref name="quarantined"/> is where data went, if anywhere.</summary>
        void Done(RepairStep step, string? quarantined);
        /// <summary>Its file was gone (or had changed) when the step came: no change, nothing to report but a note.</summary>
        void NothingLeft(RepairStep step);
        void Failed(RepairStep step, Exception error);
        /// <summary>A pass is planned (verbose).</summary>
        void Planned(int pass, int steps);
        /// <summary>A finding this version leaves alone, once per run.</summary>
        void NotRepaired(QueueIssue issue, string why);
        /// <summary>The todo layout conversion asked for is refused, once per run.</summary>
        void Conflict(string conflict);
        /// <summary>What the postmaster must know about a change made (a cut address left out).</summary>
        void Warning(string text);
        /// <summary>What the run decided and why (-Verbose).</summary>
        void Note(string text);
        /// <summary>A piped finding the queue no longer shows (<paramref name="now"/> findings there now): skipped.</summary>
        void Stale(QueueIssue old, int now);
    }

    /// <summary>
    /// One Repair-QmailQueue run on one queue, for the cmdlet and for the tests alike: inspect,
    /// plan, execute, and inspect again. A pass that changed anything is followed by a fresh
    /// inspection and, when it finds more to do, another pass: a pass that moved names
    /// (renumbered, renamed into the right split or to the canonical name) may uncover findings
    /// the wrong name hid (a message whose info was misplaced is judged "recipients without
    /// info", so its duplicate recipients only show once info is back; found by RandomDamageTests,
    /// 'remote duplicate' then 'info in wrong split' on one message). After the last pass one more
    /// inspection says whether anything is left, so one run leaves nothing a second run would
    /// repair, or says so. Piped findings get one pass, on what the queue shows for them now.
    /// </summary>
    internal sealed class RepairSession
    {
        private readonly QueueLayout _l;
        private readonly IFileSystem _fs;
        private readonly SendMutexState _send;
        private readonly string _quarantine;
        private readonly string _sender;
        private readonly bool _convert;

        public RepairSession(QueueLayout layout, IFileSystem fs, SendMutexState send, string quarantinePath, string recoverySender = "", bool convertTodoLayout = false)
        {
            _l = layout; _fs = fs; _send = send; _quarantine = quarantinePath; _sender = recoverySender; _convert = convertTodoLayout;
        }

        /// <summary>Renumberings per batch (see QueueRepairer.RenumberBatchSize); tests make it small to cut between batches.</summary>
        public int RenumberBatchSize { get; set; } = 5000;
        public int MaxPasses { get; set; } = 3;
        /// <summary>Threads per phase of a renumbering batch (<see cref="QueueRepairer.Workers"/>); null: one per CPU, up to 4.</summary>
        public int? Workers { get; set; }

        /// <summary>What the first inspection found (all of it, or what the piped findings are now).</summary>
        public List<QueueIssue> Found { get; private set; } = new List<QueueIssue>();
        /// <summary>Steps made, over every pass.</summary>
        public int Changes { get; private set; }
        public int Passes { get; private set; }
        public bool Failed { get; private set; }

        public void Run(IRepairObserver observer, IReadOnlyCollection<QueueIssue>? only = null, CancellationToken cancel = default)
        {
            var once = new HashSet<string>(StringComparer.Ordinal);
            for (int pass = 1; ; pass++)
            {
                // (Piped findings are compared with a full inspection, MessNoReceivedLine included.)
                List<QueueIssue> issues = only != null ? Refresh(only, observer, cancel) : new QueueInspector(_l, _send) { ReadEveryHead = false }.Inspect(cancel).ToList();
                Inspections++;
                if (pass == 1) Found = issues;
                var repairer = new QueueRepairer(_l, _fs, _quarantine, _sender, _convert) { RenumberBatchSize = RenumberBatchSize };
                if (Workers.HasValue) repairer.Workers = Workers.Value;
                List<RepairStep> plan = repairer.Plan(issues);
                foreach (string conflict in repairer.Conflicts)
                    if (once.Add("conflict|" + conflict)) observer.Conflict(conflict);
                foreach (var (issue, why) in repairer.NotRepaired)
                    if (once.Add(issue.Kind + "|" + issue.Path)) observer.NotRepaired(issue, why);
                if (pass > MaxPasses)
                {
                    if (plan.Count > 0)
                        observer.Warning($"{_l.Root}: after {MaxPasses} passes the queue still needs {plan.Count} repair(s) (first: {plan[0].Action}); run Repair-QmailQueue again, and report it if that one does not finish.");
                    return;
                }
                if (plan.Count == 0) return;
                observer.Planned(pass, plan.Count);
                Passes = pass;
                var counted = new Counting(observer);
                Execute(repairer, plan, counted);
                Changes += counted.Done;
                Failed |= counted.Failed;
                if (observer.Stopping) return;
                foreach (string w in repairer.Warnings) observer.Warning(w);
                // A step declined at a -Confirm prompt would be asked again: the postmaster steers by hand.
                // A refused conversion was reported as "nothing of it is done": a later pass must not do it.
                if (only != null || counted.Done == 0 || counted.Failed || counted.Declined > 0 || repairer.Conflicts.Count > 0) return;
                // Every finding was a misnumbered message and each was renumbered whole, nothing set
                // aside or warned of: the queue holds the same files under their inode numbers, and
                // the inspection that found them judged them sound otherwise. Another would find
                // nothing, and cost a tenth of a 100,000-message renumbering (issue 14).
                if (issues.Count == plan.Count && counted.Done == plan.Count && counted.Quarantined == 0 && repairer.Warnings.Count == 0 && repairer.NotRepaired.Count == 0
                    && issues.All(i => i.Kind == QueueIssueKind.IdNotInode) && plan.All(p => p.Operation == RepairOperation.Renumber))
                {
                    observer.Note($"{_l.Root}: not inspected again: all {plan.Count} finding(s) were misnumbered messages, each renumbered whole to its mess inode with nothing else changed.");
                    return;
                }
            }
        }

        /// <summary>Inspections of the queue this run made (the first, and one after each pass that changed something it could not vouch for).</summary>
        public int Inspections { get; private set; }

        /// <summary>
        /// Piped findings are only a selection: the queue is inspected again now and what is found
        /// there for the same files is repaired. A finding no longer true (the file changed since
        /// Test-QmailQueue ran: a channel file empty then that holds a recipient now) is skipped,
        /// never acted on from its stale description.
        /// </summary>
        private List<QueueIssue> Refresh(IReadOnlyCollection<QueueIssue> piped, IRepairObserver observer, CancellationToken cancel)
        {
            List<QueueIssue> now = new QueueInspector(_l, _send).Inspect(cancel).ToList();
            var wanted = new HashSet<string>(piped.Select(i => i.Kind + "|" + i.Path), StringComparer.Ordinal);
            var seen = new HashSet<string>(now.Select(i => i.Kind + "|" + i.Path), StringComparer.Ordinal);
            foreach (QueueIssue old in piped)
                if (!seen.Contains(old.Kind + "|" + old.Path)) observer.Stale(old, now.Count);
            return now.Where(i => wanted.Contains(i.Kind + "|" + i.Path)).ToList();
        }

        /// <summary>
        /// Runs a plan in order. The members of a <see cref="RenumberBatch"/> are asked for one by one,
        /// then run together (<see cref="QueueRepairer.RunBatches"/>, which asks for the next batch
        /// while one runs), and every batch is completed before the first step outside them runs,
        /// so what batches share (their directory fsyncs) is never shared with another step, and
        /// each member is reported only once it is really done. An I/O error fails its step alone; anything else (a bug, or a
        /// test's injected crash) ends the run as a kill would.
        /// </summary>
        internal static void Execute(QueueRepairer repairer, IReadOnlyList<RepairStep> plan, IRepairObserver observer)
        {
            int n = 0;
            // The batches that follow one another from plan[n] on, each with the members confirmed.
            (RenumberBatch, List<RepairStep>)? NextBatch()
            {
                while (n < plan.Count && plan[n].Batch is RenumberBatch batch)
                {
                    var members = new List<RepairStep>();
                    for (; n < plan.Count && ReferenceEquals(plan[n].Batch, batch); n++)
                    {
                        if (observer.Stopping) return null; // nothing of a batch not yet run is begun
                        if (observer.ShouldRun(plan[n], n, plan.Count)) members.Add(plan[n]);
                    }
                    if (members.Count > 0) return (batch, members);
                }
                return null;
            }
            void Report(BatchOutcome o)
            {
                if (o.Error != null) observer.Failed(o.Step, o.Error);
                else observer.Done(o.Step, o.Quarantined);
            }
            while (n < plan.Count)
            {
                if (observer.Stopping) return;
                RepairStep p = plan[n];
                if (p.Batch != null)
                {
                    repairer.RunBatches(NextBatch, () => observer.Stopping, Report);
                    continue;
                }
                int index = n++;
                if (!observer.ShouldRun(p, index, plan.Count)) continue;
                try
                {
                    string? to = repairer.Apply(p);
                    if (ReferenceEquals(to, RepairStep.NothingLeft)) observer.NothingLeft(p);
                    else observer.Done(p, to);
                }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException) { observer.Failed(p, e); }
            }
        }

        private sealed class Counting : IRepairObserver
        {
            private readonly IRepairObserver _o;
            public Counting(IRepairObserver o) { _o = o; }
            public int Done { get; private set; }
            public bool Failed { get; private set; }
            public bool Stopping => _o.Stopping;
            public int Declined { get; private set; }
            public bool ShouldRun(RepairStep step, int index, int count)
            {
                if (_o.ShouldRun(step, index, count)) return true;
                Declined++;
                return false;
            }
            public int Quarantined { get; private set; }
            void IRepairObserver.Done(RepairStep step, string? quarantined) { Done++; if (quarantined != null) Quarantined++; _o.Done(step, quarantined); }
            public void Note(string text) => _o.Note(text);
            public void NothingLeft(RepairStep step) => _o.NothingLeft(step);
            void IRepairObserver.Failed(RepairStep step, Exception error) { Failed = true; _o.Failed(step, error); }
            public void Planned(int pass, int steps) => _o.Planned(pass, steps);
            public void NotRepaired(QueueIssue issue, string why) => _o.NotRepaired(issue, why);
            public void Conflict(string conflict) => _o.Conflict(conflict);
            public void Warning(string text) => _o.Warning(text);
            public void Stale(QueueIssue old, int now) => _o.Stale(old, now);
        }
    }
}
