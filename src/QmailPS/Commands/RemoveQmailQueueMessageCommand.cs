using System;
using System.Collections.Generic;
using System.IO;
using System.Management.Automation;
using QmailPS.Queue;

namespace QmailPS.Commands
{
    /// <summary>
    /// Removes messages: every file of the message, in the safe order of queue-format.md §3.3, with
    /// qmail-send stopped. With -Force on a live queue it marks every pending recipient done
    /// instead, so qmail-send finishes the message itself without a bounce.
    /// </summary>
    [Cmdlet(VerbsCommon.Remove, "QmailQueueMessage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
    [OutputType(typeof(QueueMessage))]
    public sealed class RemoveQmailQueueMessageCommand : QmailQueueChangeCommand
    {
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("MessageId")]
        [ArgumentCompleter(typeof(QueueIdCompleter))]
        public ulong[] Id { get; set; } = new ulong[0];

        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(QueuePathCompleter))]
        public string? QueuePath { get; set; }

        /// <summary>Emit each removed message (as it was before removal).</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        private readonly Dictionary<string, QueueScanner> _scanners = new Dictionary<string, QueueScanner>();
        private int _removed, _marked, _files;

        protected override void ProcessRecord()
        {
            if (HostOrigin.Refuse(this, OriginComputerName, OriginTypeNames, Id.Length == 1 ? (object)Id[0] : Id)) return;
            QueueLayout layout = ResolveQueue(QueuePath);
            SendMutexState send = RequireQmailSendStopped(layout, "Remove-QmailQueueMessage");
            if (!_scanners.TryGetValue(layout.Root, out QueueScanner? scanner)) _scanners[layout.Root] = scanner = new QueueScanner(layout);
            var editor = new MessageEditor(layout);

            foreach (ulong id in Id)
            {
                if (Stopping) return;
                ScanEvent? e = scanner.Read(id);
                QueueMessage? m = e?.Message;
                if (m is null) { WriteError(QmailErrors.MessageNotFound(id, layout.Root)); continue; }
                string target = $"message {id} from <{m.Sender}> to {m.Recipients.Count} recipient(s), {m.State} ({layout.Root})";
                try
                {
                    if (!send.IsRunning)
                    {
                        if (!ShouldProcess(target, "Remove every file of the message")) continue;
                        List<string> removed = editor.Remove(id);
                        _removed++; _files += removed.Count;
                        WriteVerbose($"Message {id}: removed {string.Join(", ", removed)}.");
                    }
                    else
                    {
                        if (m.FromTodo)
                        {
                            WriteError(new ErrorRecord(new InvalidOperationException(
                                $"Message {id} is not yet preprocessed and qmail-send is running: there is no live-safe way to remove it. Stop qmail-send, or remove it once it is preprocessed."),
                                "QmailMessageUnprocessedLive", ErrorCategory.ResourceBusy, id));
                            continue;
                        }
                        if (!ShouldProcess(target, "Mark every pending recipient done (qmail-send is running)")) continue;
                        int n = editor.MarkAllDone(id);
                        _marked++;
                        WriteVerbose($"Message {id}: {n} record(s) not yet done marked done and bounce/{id} removed; qmail-send removes the message at its next attempt (Start-QmailRedelivery makes that now).");
                    }
                }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
                {
                    WriteError(QmailErrors.WriteFailed($"Removing message {id}", id, ex));
                    continue;
                }
                if (PassThru) WriteObject(m);
            }
        }

        protected override void EndProcessing()
        {
            if (_removed > 0) WriteVerbose($"Removed {_removed} message(s), {_files} file(s).");
            if (_marked > 0) WriteVerbose($"Marked {_marked} message(s) done for the running qmail-send to finish.");
        }
    }
}
