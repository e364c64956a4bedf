using System;
using System.IO;
using System.Management.Automation;
using QmailPS.Queue;

namespace QmailPS.Commands
{
    /// <summary>
    /// Tells the running qmail-send to retry every deferred message now: SIGALRM to the process
    /// that holds lock/sendmutex (found in /proc/locks, never by a guessed name).
    /// </summary>
    [Cmdlet(VerbsLifecycle.Start, "QmailRedelivery", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(void))]
    public sealed class StartQmailRedeliveryCommand : QmailCmdletBase
    {
        private const int SIGALRM = 14;

        [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(QueuePathCompleter))]
        public string? QueuePath { get; set; }

        protected override void ProcessRecord()
        {
            QueueLayout layout = ResolveQueue(QueuePath);
            SendMutexState state = SendLock.Probe(layout);
            WriteVerbose($"Is qmail-send running? {state.Method}.");
            if (!state.IsRunning)
            {
                WriteError(new ErrorRecord(new InvalidOperationException($"qmail-send is not running on '{layout.Root}' (nobody holds lock/sendmutex); nothing to wake up."),
                    "QmailSendNotRunning", ErrorCategory.ObjectNotFound, layout.Root));
                return;
            }
            int? pid = state.ProcessId;
            string? comm = pid.HasValue ? ReadComm(pid.Value) : null;
            if (pid is null || comm != "qmail-send")
            {
                // The lock can be held by a qmail-queue child that inherited the descriptor (§7), or
                // /proc/locks may be unavailable: never signal a process we have not identified.
                WriteError(new ErrorRecord(new InvalidOperationException(pid is null
                    ? "lock/sendmutex is held, but /proc/locks does not say by whom; not guessing a process to signal."
                    : $"lock/sendmutex is held by process {pid} ({comm ?? "unknown"}), not by qmail-send; try again in a moment."),
                    "QmailSendNotIdentified", ErrorCategory.ObjectNotFound, layout.Root));
                return;
            }
            if (!ShouldProcess($"qmail-send (pid {pid}) on {layout.Root}", "Send SIGALRM: retry every deferred message now")) return;
            int errno = Fs.Kill(pid.Value, SIGALRM);
            if (errno != 0)
            {
                WriteError(new ErrorRecord(new IOException($"kill -ALRM {pid}: {Posix.Errno.QmailText(errno)}"),
                    "QmailSignalFailed", QmailErrors.FromErrno(errno), pid.Value));
                return;
            }
            WriteVerbose($"Sent SIGALRM to qmail-send {pid}: every scheduled delivery is retried now. Remote hosts that timed out recently are still skipped by qmail-remote (see Get-QmailTcpTo); a message past queuelifetime whose retry fails is bounced.");
        }

        private static string? ReadComm(int pid)
        {
            try { return File.ReadAllText($"/proc/{pid}/comm").TrimEnd('\n'); }
            catch (IOException) { return null; }
            catch (UnauthorizedAccessException) { return null; }
        }
    }
}
