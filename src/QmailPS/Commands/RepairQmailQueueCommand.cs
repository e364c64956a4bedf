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
            new RepairSession(layout, Fs, send, quarantine, RecoverySender, convertTodoLayout: TodoLayout.HasValue)
                .Run(new Observer(this, layout, quarantine), only, CancelToken);
            if (!Stopping) CompleteProgress();
        }

        /// <summary>The session's reports, as this cmdlet's progress, ShouldProcess, output, warnings and errors.</summary>
        private sealed class Observer : IRepairObserver
        {
            private readonly RepairQmailQueueCommand _c;
            private readonly string _root, _quarantine;
            private readonly bool _bigTodo;
            public Observer(RepairQmailQueueCommand c, QueueLayout layout, string quarantine) { _c = c; _root = layout.Root; _bigTodo = layout.BigTodo; _quarantine = quarantine; }
            public bool Stopping => _c.Stopping;

            public bool ShouldRun(RepairStep p, int index, int count)
            {
                _c.Progress($"Repairing qmail queue {_root}", p.Action, count == 0 ? 100 : index * 100 / count);
                return _c.ShouldProcess(PathName.Printable(p.Path), p.Action);
            }

            public void Done(RepairStep p, string? to)
            {
                if (!_c.Stopping) _c.WriteObject(new RepairAction(p.Kind, p.Operation, p.Id, p.Action, p.Path, to, _root));
            }

            public void NothingLeft(RepairStep p) =>
                _c.WriteVerbose($"Nothing done for {p.Path}: it was gone (or no longer the file inspected) when its repair came (qmail-send finished it, or an earlier repair moved it).");

            public void Failed(RepairStep p, Exception e)
            {
                if (_c.Stopping) return;
                _c.WriteError(new ErrorRecord(e, e is RepairConflictException ? "QmailRepairConflict" : "QmailRepairFailed",
                    e is PosixIOException px ? QmailErrors.FromErrno(px.Errno) : ErrorCategory.WriteError, (object?)p.Id ?? p.Path)
                { ErrorDetails = new ErrorDetails($"{p.Action}: {e.Message}") });
            }

            public void Planned(int pass, int steps) =>
                _c.WriteVerbose($"{steps} repair(s) planned for {_root}{(pass > 1 ? $" (pass {pass}, after inspecting the queue again)" : "")}; damaged data goes to {_quarantine}.");

            public void NotRepaired(QueueIssue issue, string why) => _c.WriteWarning($"Not repaired: {issue.Kind} at {issue.Path}: {why}.");

            public void Conflict(string conflict) =>
                _c.WriteError(new ErrorRecord(new RepairConflictException($"Cannot convert {_root} to the {(_bigTodo ? "big-todo" : "vanilla")} todo layout: {conflict}. Nothing of the conversion is done."),
                    "QmailTodoLayoutConflict", ErrorCategory.ResourceExists, _root));

            public void Warning(string text) { if (!_c.Stopping) _c.WriteWarning(text); }

            public void Note(string text) { if (!_c.Stopping) _c.WriteVerbose(text); }

            public void Stale(QueueIssue old, int now)
            {
                _c.WriteWarning($"Skipped {old.Kind} at {PathName.Printable(old.Path)}: the queue no longer shows it (it changed since it was found); run Test-QmailQueue again.");
                _c.WriteVerbose($"Inspected {_root} again before repairing piped findings: {old.Kind} at {old.Path} is not among the {now} finding(s) there now.");
            }
        }
    }
}
