using System;
using System.Collections.Generic;
using System.IO;

namespace QmailPS.Check.Repair
{
    /// <summary>What the executor tells the one who runs it (the cmdlet: ShouldProcess, progress, output).</summary>
    internal interface IRepairObserver
    {
        /// <summary>Ctrl+C: the executor completes the batch it began (a few hundred milliseconds at most) and stops.</summary>
        bool Stopping { get; }
        /// <summary>Whether step <paramref name="index"/> of <paramref name="count"/> is to run (-WhatIf, -Confirm); progress goes here too.</summary>
        bool ShouldRun(PlannedRepair step, int index, int count);
        /// <summary>The step made its change; <paramref name="quarantined"/> is where data went, if anywhere.</summary>
        void Done(PlannedRepair step, string? quarantined);
        /// <summary>Its file was gone when the step came: no change, nothing to report but a note.</summary>
        void NothingLeft(PlannedRepair step);
        void Failed(PlannedRepair step, Exception error);
    }

    /// <summary>
    /// Runs a plan in order. Members of a <see cref="StepBatch"/> (renumberings) are begun one by
    /// one and the batch is completed before the first step outside it runs, so what a batch
    /// shares (its directory fsyncs) is never shared with another step, and each member is reported
    /// only once it is really done. An I/O error fails its step alone; anything else (a bug, or
    /// a test's injected crash) ends the run as a kill would.
    /// </summary>
    internal static class RepairExecutor
    {
        public static void Run(IReadOnlyList<PlannedRepair> plan, IRepairObserver observer)
        {
            StepBatch? open = null;
            void Flush()
            {
                if (open is null) return;
                StepBatch b = open;
                open = null;
                foreach (BatchOutcome o in b.Complete())
                    if (o.Error != null) observer.Failed(o.Step, o.Error);
                    else observer.Done(o.Step, o.Quarantined);
            }
            for (int n = 0; n < plan.Count; n++)
            {
                PlannedRepair p = plan[n];
                if (open != null && !ReferenceEquals(p.Batch, open)) Flush();
                if (observer.Stopping) { Flush(); return; }
                if (!observer.ShouldRun(p, n, plan.Count)) continue;
                try
                {
                    if (p.Batch != null)
                    {
                        open = p.Batch;
                        p.Batch.Begin(p);
                    }
                    else
                    {
                        string? to = p.Run();
                        if (ReferenceEquals(to, PlannedRepair.NothingLeft)) observer.NothingLeft(p);
                        else observer.Done(p, to);
                    }
                }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException) { observer.Failed(p, e); }
                if (p.Batch != null && p.Batch.IsLast(p)) Flush();
            }
            Flush();
        }
    }
}
