using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using QmailPS.Check;
using QmailPS.Check.Repair;
using QmailPS.Posix;
using QmailPS.Queue;

namespace QmailPS.Commands
{
    /// <summary>
    /// Repairs what Test-QmailQueue finds, without losing or duplicating a recipient: what cannot be
    /// put back into a state qmail delivers correctly goes to a quarantine folder with a manifest.
    /// Runs with qmail-send stopped, and holds lock/sendmutex meanwhile so it cannot start.
    /// </summary>
    [Cmdlet(VerbsDiagnostic.Repair, "QmailQueue", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = QueueSet)]
    [OutputType(typeof(RepairAction))]
    public sealed class RepairQmailQueueCommand : QmailQueueChangeCommand
    {
        private const string QueueSet = "Queue", IssueSet = "Issue";

        [Parameter(Position = 0, ParameterSetName = QueueSet, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(QueuePathCompleter))]
        public string? QueuePath { get; set; }

        /// <summary>Findings from Test-QmailQueue: repair only these.</summary>
        [Parameter(Mandatory = true, ParameterSetName = IssueSet, ValueFromPipeline = true)]
        public QueueIssue[] InputObject { get; set; } = new QueueIssue[0];

        [Parameter]
        [ValidateRange(1, 100000)]
        public int? Split { get; set; }

        /// <summary>
        /// The todo layout the installed qmail binaries use. When the queue's todo/ and intd/ files
        /// are laid out otherwise (or partly), they are moved to it (BigTodoMismatch).
        /// </summary>
        [Parameter]
        public TodoLayout? TodoLayout { get; set; }

        /// <summary>Where damaged data goes; default: a timestamped sibling of the queue.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? QuarantinePath { get; set; }

        /// <summary>
        /// Envelope sender for a message recovered without its info file (ChannelWithoutInfo); the
        /// queue no longer has the original. Default '' (the null sender): failures go to the
        /// postmaster as double bounces.
        /// </summary>
        [Parameter]
        [AllowEmptyString]
        [NullSender]
        public string RecoverySender { get; set; } = "";

        private readonly Dictionary<string, List<QueueIssue>> _piped = new Dictionary<string, List<QueueIssue>>(StringComparer.Ordinal);

        protected override void BeginProcessing()
        {
            // Checked like qmail-queue checks a sender (and Add-QmailQueueMessage -Sender): it is
            // written into info as F<sender>\0.
            string? problem = QueueRecords.CheckAddress(QueueRecords.EncodeAddress(RecoverySender));
            if (problem is null && (RecoverySender.IndexOf('\n') >= 0 || RecoverySender.IndexOf('\r') >= 0)) problem = "contains a line break";
            if (problem != null) ThrowTerminatingError(QmailErrors.BadAddress("recovery sender", RecoverySender, problem));
        }

        protected override void ProcessRecord()
        {
            if (HostOrigin.Refuse(this, OriginComputerName, OriginTypeNames, QueuePath ?? (object?)InputObject.FirstOrDefault()?.Path)) return;
            if (ParameterSetName == QueueSet)
            {
                // A piped object without a QueuePath must not mean "repair the default queue".
                if (OriginTypeNames != null && QueuePath is null) { WriteError(QmailErrors.InputNotQmail(OriginTypeNames.Length > 0 ? OriginTypeNames[0] : "object", "Repair-QmailQueue")); return; }
                Repair(ResolveQueue(QueuePath, Split, TodoLayout), null);
                return;
            }
            foreach (QueueIssue i in InputObject)
            {
                if (i is null) continue;
                // A finding names the file it is about; one whose Path is not inside its own queue
                // (forged, or edited) would have Repair move some other file. Refused, per item.
                if (!IsInsideQueue(i))
                {
                    WriteError(new ErrorRecord(new ArgumentException($"The finding's Path '{PathName.Printable(i.Path ?? "")}' is not inside its QueuePath '{PathName.Printable(i.QueuePath ?? "")}': Repair-QmailQueue only acts on files of the queue it names, so nothing was done for it."),
                        "QmailIssueOutsideQueue", ErrorCategory.InvalidArgument, i));
                    continue;
                }
                if (!_piped.TryGetValue(i.QueuePath!, out List<QueueIssue>? list)) _piped[i.QueuePath!] = list = new List<QueueIssue>();
                list.Add(i);
            }
        }

        private static bool IsInsideQueue(QueueIssue i)
        {
            if (string.IsNullOrEmpty(i.QueuePath) || string.IsNullOrEmpty(i.Path) || i.QueuePath[0] != '/') return false;
            string root = i.QueuePath.Length > 1 ? i.QueuePath.TrimEnd('/') : i.QueuePath;
            if (i.Path != root && !i.Path.StartsWith(root + "/", StringComparison.Ordinal)) return false;
            foreach (string c in i.Path.Substring(root.Length).Split('/'))
                if (c == "." || c == "..") return false;
            return true;
        }

        /// <summary>
        /// Piped findings are only a selection: the queue is inspected again now and what is found
        /// there for the same files is repaired. A finding no longer true (the file changed since
        /// Test-QmailQueue ran: a channel file empty then that holds a recipient now) is skipped
        /// with a warning, never acted on from its stale description.
        /// </summary>
        private List<QueueIssue> Refresh(QueueLayout layout, SendMutexState send, List<QueueIssue> piped)
        {
            List<QueueIssue> now = new QueueInspector(layout, send).Inspect(CancelToken).ToList();
            var wanted = new HashSet<string>(piped.Select(i => i.Kind + "|" + i.Path), StringComparer.Ordinal);
            var seen = new HashSet<string>(now.Select(i => i.Kind + "|" + i.Path), StringComparer.Ordinal);
            foreach (QueueIssue old in piped)
                if (!seen.Contains(old.Kind + "|" + old.Path))
                {
                    WriteWarning($"Skipped {old.Kind} at {PathName.Printable(old.Path)}: the queue no longer shows it (it changed since it was found); run Test-QmailQueue again.");
                    WriteVerbose($"Inspected {layout.Root} again before repairing piped findings: {old.Kind} at {old.Path} is not among the {now.Count} finding(s) there now.");
                }
            return now.Where(i => wanted.Contains(i.Kind + "|" + i.Path)).ToList();
        }

        protected override void EndProcessing()
        {
            // Piped findings are planned together: renumbering needs to see every finding of a queue.
            foreach (var kv in _piped) Repair(ResolveQueue(kv.Key, Split, TodoLayout), kv.Value);
        }

        private void Repair(QueueLayout layout, List<QueueIssue>? only)
        {
            SendMutexState send = RequireQmailSendStopped(layout, "Repair-QmailQueue",
                "Repair-QmailQueue has no live-safe mode; it makes the planned changes while qmail-send may be using the same files. Stop qmail-send if you can.");
            using IDisposable? hold = send.IsRunning ? null : SendLock.TryHold(layout);
            // No usable lock/sendmutex (missing, a symlink, a directory): qmail-send cannot hold it,
            // and the repair recreates it.
            bool mutexIsFile = Fs.TryLstat(SendLock.PathOf(layout), out FileStatus ms, out _) && ms.Kind == FileKind.Regular;
            if (!send.IsRunning && hold is null && mutexIsFile && !Force)
                ThrowTerminatingError(QmailErrors.QmailSendRunning(layout.Root, SendLock.Probe(layout), "Repair-QmailQueue"));
            if (hold != null) WriteVerbose("Holding lock/sendmutex while repairing, so qmail-send cannot start meanwhile.");

            string quarantine = QuarantinePath is null ? Quarantine.DefaultPath(layout.Root, DateTime.Now)
                : SessionState.Path.GetUnresolvedProviderPathFromPSPath(QuarantinePath, out _, out _);
            // Checked before any change, -WhatIf included: inside the queue a move is only a rename to a
            // name qmail ignores, which every later run would move again.
            if (Quarantine.Refuse(quarantine, layout.Root, Fs) is string refused)
                ThrowTerminatingError(QmailErrors.BadQuarantinePath(quarantine, refused));
            var warned = new HashSet<string>(StringComparer.Ordinal);
            // A pass that moved names (renumbered, renamed into the right split or to the canonical
            // name) may uncover findings the wrong name hid: a message whose info was misplaced is
            // judged "recipients without info", so its duplicate recipients only show once info is
            // back. Such a pass is followed by a fresh inspection and another pass (at most three), so
            // one run leaves nothing a second run would repair. Found by RandomDamageTests ('remote
            // duplicate' then 'info in wrong split' on one message). Piped findings get one pass.
            for (int pass = 1; ; pass++)
            {
                IEnumerable<QueueIssue> issues = only != null ? Refresh(layout, send, only) : new QueueInspector(layout, send).Inspect(CancelToken).ToList();
                var repairer = new QueueRepairer(layout, Fs, quarantine, RecoverySender, convertTodoLayout: TodoLayout.HasValue);
                List<PlannedRepair> plan = repairer.Plan(issues);
                foreach (string conflict in repairer.Conflicts)
                    if (warned.Add("conflict|" + conflict))
                        WriteError(new ErrorRecord(new RepairConflictException($"Cannot convert {layout.Root} to the {(layout.BigTodo ? "big-todo" : "vanilla")} todo layout: {conflict}. Nothing of the conversion is done."),
                            "QmailTodoLayoutConflict", ErrorCategory.ResourceExists, layout.Root));
                foreach (var (issue, why) in repairer.NotRepaired)
                    if (warned.Add(issue.Kind + "|" + issue.Path)) WriteWarning($"Not repaired: {issue.Kind} at {issue.Path}: {why}.");
                WriteVerbose($"{plan.Count} repair(s) planned for {layout.Root}{(pass > 1 ? $" (pass {pass})" : "")}; damaged data goes to {quarantine}.");

                var run = new Observer(this, layout.Root);
                RepairExecutor.Run(plan, run);
                if (Stopping) return;
                foreach (string w in repairer.Warnings) WriteWarning(w);
                if (only != null || !run.Renamed || run.Failed || pass == 3) break;
            }
            CompleteProgress();
        }

        /// <summary>The executor's reports, as this cmdlet's progress, ShouldProcess, output and errors.</summary>
        private sealed class Observer : IRepairObserver
        {
            private readonly RepairQmailQueueCommand _c;
            private readonly string _root;
            public Observer(RepairQmailQueueCommand c, string root) { _c = c; _root = root; }
            public bool Renamed { get; private set; }
            public bool Failed { get; private set; }
            public bool Stopping => _c.Stopping;

            public bool ShouldRun(PlannedRepair p, int index, int count)
            {
                _c.Progress($"Repairing qmail queue {_root}", p.Action, count == 0 ? 100 : index * 100 / count);
                return _c.ShouldProcess(PathName.Printable(p.Path), p.Action);
            }

            public void Done(PlannedRepair p, string? to)
            {
                Renamed |= p.Kind is QueueIssueKind.IdNotInode or QueueIssueKind.NonCanonicalName or QueueIssueKind.WrongSplitDirectory;
                if (!_c.Stopping) _c.WriteObject(new RepairAction(p.Kind, p.Id, p.Action, p.Path, to, _root));
            }

            public void NothingLeft(PlannedRepair p) =>
                _c.WriteVerbose($"Nothing done for {p.Path}: it was gone when its repair came (qmail-send finished it, or an earlier repair moved it).");

            void IRepairObserver.Failed(PlannedRepair p, Exception e)
            {
                Failed = true;
                if (_c.Stopping) return;
                _c.WriteError(new ErrorRecord(e, e is RepairConflictException ? "QmailRepairConflict" : "QmailRepairFailed",
                    e is PosixIOException px ? QmailErrors.FromErrno(px.Errno) : ErrorCategory.WriteError, (object?)p.Id ?? p.Path)
                { ErrorDetails = new ErrorDetails($"{p.Action}: {e.Message}") });
            }
        }
    }
}
