using System;
using System.Management.Automation;
using QmailPS.Check;
using QmailPS.Queue;

namespace QmailPS.Commands
{
    /// <summary>
    /// Finds every damage qmail can suffer (queue-format.md §3.2) and says what qmail will do about
    /// it. Read-only, safe on a live queue: while qmail-send runs, what an injection or
    /// preprocessing in progress explains is reported as Transient.
    /// </summary>
    [Cmdlet(VerbsDiagnostic.Test, "QmailQueue", DefaultParameterSetName = IssuesSet)]
    [OutputType(typeof(QueueIssue), ParameterSetName = new[] { IssuesSet })]
    [OutputType(typeof(bool), ParameterSetName = new[] { QuietSet })]
    public sealed class TestQmailQueueCommand : QmailCmdletBase
    {
        private const string IssuesSet = "Issues", QuietSet = "Quiet";

        [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(QueuePathCompleter))]
        public string? QueuePath { get; set; }

        [Parameter]
        [ValidateRange(1, 100000)]
        public int? Split { get; set; }

        /// <summary>Check against this todo layout instead of the one detected from todo/.</summary>
        [Parameter]
        public TodoLayout? TodoLayout { get; set; }

        /// <summary>Only findings of these severities.</summary>
        [Parameter(ParameterSetName = IssuesSet)]
        public IssueSeverity[]? Severity { get; set; }

        /// <summary>Return only $true (nothing but Transient findings) or $false, like Test-Path.</summary>
        [Parameter(Mandatory = true, ParameterSetName = QuietSet)]
        public SwitchParameter Quiet { get; set; }

        protected override void ProcessRecord()
        {
            QueueLayout layout = ResolveQueue(QueuePath, Split, TodoLayout);
            SendMutexState send = SendLock.Probe(layout);
            WriteVerbose($"Is qmail-send running? {send.Method}.");
            var inspector = new QueueInspector(layout, send);
            bool healthy = true;
            int count = 0;
            Progress($"Checking qmail queue {layout.Root}", "Reading", 0);
            try
            {
                foreach (QueueIssue issue in inspector.Inspect(CancelToken))
                {
                    if (issue.Severity != IssueSeverity.Transient) healthy = false;
                    if (Quiet)
                    {
                        if (!healthy) break; // the answer is known
                        continue;
                    }
                    if (Severity != null && Array.IndexOf(Severity, issue.Severity) < 0) continue;
                    count++;
                    WriteObject(issue);
                }
            }
            catch (OperationCanceledException) when (Stopping) { return; }
            finally { CompleteProgress(); }
            if (Quiet) WriteObject(healthy);
            else WriteVerbose($"{count} finding(s) in {layout.Root}.");
        }
    }
}
