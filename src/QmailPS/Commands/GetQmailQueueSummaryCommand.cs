using System;
using System.Collections.Generic;
using System.Management.Automation;
using QmailPS.Queue;

namespace QmailPS.Commands
{
    /// <summary>qmail-qstat's two figures, computed exactly as notqmail's qmail-qstat does, plus the queue's make-up.</summary>
    [Cmdlet(VerbsCommon.Get, "QmailQueueSummary")]
    [OutputType(typeof(QueueSummary))]
    public sealed class GetQmailQueueSummaryCommand : QmailCmdletBase
    {
        [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(QueuePathCompleter))]
        public string? QueuePath { get; set; }

        [Parameter]
        [ValidateRange(1, 100000)]
        public int? Split { get; set; }

        /// <summary>
        /// Only qmail-qstat's two figures, counted as qmail-qstat counts them (two directory walks):
        /// no message is read, so a monitoring check pays what qmail-qstat pays.
        /// </summary>
        [Parameter]
        public SwitchParameter CountOnly { get; set; }

        private readonly HashSet<string> _done = new HashSet<string>(StringComparer.Ordinal);

        protected override void ProcessRecord()
        {
            QueueLayout layout = ResolveQueue(QueuePath, Split);
            if (!_done.Add(layout.Root)) return; // many piped messages of one queue: one summary
            var summary = new QueueSummary(layout.Root) { Split = layout.Split, BigTodo = layout.BigTodo };

            var problems = new List<string>();
            WriteVerbose("Counting as qmail-qstat does: find mess/* -type f, find todo -type f.");
            summary.MessagesInQueue = Qstat.CountMess(layout, problems);
            summary.NotYetPreprocessed = Qstat.CountTodo(layout, problems);
            foreach (string p in problems) WriteWarning("qmail-qstat would print: " + p);
            if (CountOnly)
            {
                summary.IsCountOnly = true;
                WriteObject(summary);
                return;
            }

            string activity = $"Summarizing qmail queue {layout.Root}";
            try
            {
                foreach (ScanEvent e in new QueueScanner(layout).Scan(CancelToken))
                {
                    QueueMessage? m = Route(e, activity);
                    if (m is null) continue;
                    summary.Messages++;
                    if (m.State == QueueMessageState.Unprocessed) summary.Unprocessed++;
                    if (m.State == QueueMessageState.Damaged) summary.Damaged++;
                    if (m.HasBounce) summary.Bouncing++;
                    if (m.IsBounce) summary.Bounces++;
                    if (m.IsDoubleBounce) summary.DoubleBounces++;
                    if (m.Size > 0) summary.TotalBytes += m.Size;
                    if (summary.OldestQueuedAtUtc is null || m.QueuedAtUtc < summary.OldestQueuedAtUtc) summary.OldestQueuedAtUtc = m.QueuedAtUtc;
                    foreach (QueueRecipient r in m.Recipients)
                    {
                        if (r.Delivered) continue;
                        if (r.Channel == RecipientChannel.Local) summary.PendingLocal++; else summary.PendingRemote++;
                    }
                }
            }
            catch (OperationCanceledException) when (Stopping) { return; }
            finally { CompleteProgress(); }
            WriteObject(summary);
        }
    }
}
