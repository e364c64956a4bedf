using System;
using System.IO;
using System.Management.Automation;
using QmailPS.Queue;

namespace QmailPS.Commands
{
    /// <summary>
    /// Changes a message's age as qmail-send sees it: birth is the mtime of info/N/ID (retry
    /// schedule and queuelifetime), next attempts are the mtimes of local/N/ID and remote/N/ID.
    /// </summary>
    [Cmdlet(VerbsCommon.Set, "QmailMessageAge", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = RetrySet)]
    [OutputType(typeof(QueueMessage))]
    public sealed class SetQmailMessageAgeCommand : QmailQueueChangeCommand
    {
        private const string ExpireSet = "Expire", RejuvenateSet = "Rejuvenate", QueuedAtSet = "QueuedAt", RetrySet = "RetryNow";

        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("MessageId")]
        [ArgumentCompleter(typeof(QueueIdCompleter))]
        public ulong[] Id { get; set; } = new ulong[0];

        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(QueuePathCompleter))]
        public string? QueuePath { get; set; }

        /// <summary>Birth = now − queuelifetime − 1 s: qmail-send bounces it when its next delivery attempt fails.</summary>
        [Parameter(Mandatory = true, ParameterSetName = ExpireSet)]
        public SwitchParameter Expire { get; set; }

        /// <summary>Birth = now, like qmHandle -t: retries start over and it may stay queuelifetime longer.</summary>
        [Parameter(Mandatory = true, ParameterSetName = RejuvenateSet)]
        public SwitchParameter Rejuvenate { get; set; }

        [Parameter(Mandatory = true, ParameterSetName = QueuedAtSet)]
        public DateTime QueuedAt { get; set; }

        /// <summary>Next attempt = now for every channel file (honoured when qmail-send starts).</summary>
        [Parameter(ParameterSetName = ExpireSet)]
        [Parameter(ParameterSetName = RejuvenateSet)]
        [Parameter(ParameterSetName = QueuedAtSet)]
        [Parameter(Mandatory = true, ParameterSetName = RetrySet)]
        public SwitchParameter RetryNow { get; set; }

        [Parameter]
        public SwitchParameter PassThru { get; set; }

        private bool _warnedLive;

        protected override void ProcessRecord()
        {
            if (HostOrigin.Refuse(this, OriginComputerName, OriginTypeNames, Id.Length == 1 ? (object)Id[0] : Id)) return;
            QueueLayout layout = ResolveQueue(QueuePath);
            SendMutexState send = RequireQmailSendStopped(layout, "Set-QmailMessageAge");
            var control = new ControlFiles(layout.ControlDirectory);
            string? lifetimeProblem = ParameterSetName == ExpireSet ? control.QueueLifetimeProblem : null;
            var scanner = new QueueScanner(layout);
            var editor = new MessageEditor(layout);
            DateTime now = DateTime.UtcNow;

            DateTime? birth = ParameterSetName switch
            {
                ExpireSet => now.AddSeconds(-control.QueueLifetime - 1),
                RejuvenateSet => now,
                QueuedAtSet => QueuedAt.ToUniversalTime(),
                _ => null,
            };
            if (ParameterSetName == ExpireSet)
                WriteVerbose($"queuelifetime is {control.QueueLifetime} s (control/queuelifetime{(File.Exists(Path.Combine(layout.ControlDirectory, "queuelifetime")) ? "" : " absent: qmail's default")}). An expired message is not bounced now: qmail-send bounces it when its next delivery attempt fails temporarily.");
            if (RetryNow && send.IsRunning && !_warnedLive)
            {
                _warnedLive = true;
                WriteWarning("qmail-send is running: it reads next-attempt times only when it starts and overwrites them when it stops, so -RetryNow has no effect now. Use Start-QmailRedelivery to retry everything at once.");
            }

            foreach (ulong id in Id)
            {
                if (Stopping) return;
                QueueMessage? m = scanner.Read(id)?.Message;
                if (m is null) { WriteError(QmailErrors.MessageNotFound(id, layout.Root)); continue; }
                if (lifetimeProblem != null)
                {
                    // Expiring with a guessed lifetime could bounce mail qmail would keep, or keep mail it would bounce.
                    WriteError(new ErrorRecord(new IOException($"Cannot expire message {id}: {lifetimeProblem}."),
                        "QmailControlUnreadable", ErrorCategory.ReadError, id));
                    continue;
                }
                if (m.FromTodo)
                {
                    WriteError(new ErrorRecord(new InvalidOperationException($"Message {id} is not yet preprocessed: it gets its birth when qmail-send preprocesses it."),
                        "QmailMessageUnprocessed", ErrorCategory.InvalidOperation, id));
                    continue;
                }
                string action = (birth.HasValue ? $"Set birth (info mtime) to {birth.Value:u}" : "") +
                                (RetryNow ? (birth.HasValue ? " and" : "") + " set next attempt to now" : "");
                if (!ShouldProcess($"message {id} ({layout.PathOf("info", id)})", action.Trim())) continue;
                try
                {
                    editor.SetAge(id, birth, RetryNow ? now : (DateTime?)null);
                }
                catch (TimeNotStorableException e)
                {
                    WriteError(new ErrorRecord(e, "QmailTimeOutOfRange", ErrorCategory.InvalidArgument, id));
                    continue;
                }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
                {
                    WriteError(QmailErrors.WriteFailed($"Changing the age of message {id}", id, e));
                    continue;
                }
                if (PassThru) WriteObject(scanner.Read(id)?.Message);
            }
        }
    }
}
