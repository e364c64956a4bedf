using System.Collections.Generic;
using System.Management.Automation;
using QmailPS.Queue;

namespace QmailPS.Commands
{
    /// <summary>
    /// Base of every cmdlet that edits queue files qmail-send owns: it refuses to run while
    /// qmail-send holds lock/sendmutex, unless -Force (queue-format.md §3.3: qmail-send keeps channel
    /// files open, writes D records at fixed offsets and re-stamps mtimes when it exits).
    /// </summary>
    public abstract class QmailQueueChangeCommand : QmailCmdletBase
    {
        /// <summary>A piped object's PSComputerName (Invoke-Command and Start-Job add it): one from another host is refused. Bound from the pipeline only.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true, DontShow = true)]
        [Alias("PSComputerName")]
        public string? OriginComputerName { get; set; }

        /// <summary>A piped object's type names: a deserialized QmailPS object of unknown origin is refused. Bound from the pipeline only.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true, DontShow = true)]
        [Alias("PSTypeNames")]
        public string[]? OriginTypeNames { get; set; }

        private readonly Dictionary<string, SendMutexState> _checked = new Dictionary<string, SendMutexState>();

        /// <summary>Work on a queue while qmail-send runs, using only changes qmail-send tolerates.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        /// <summary>Stops the command (QmailSendRunning) if qmail-send runs and -Force was not given; returns the state.</summary>
        protected SendMutexState RequireQmailSendStopped(QueueLayout layout, string action, string? liveNote = null)
        {
            if (_checked.TryGetValue(layout.Root, out SendMutexState? known)) return known;
            SendMutexState state = SendLock.Probe(layout);
            WriteVerbose($"Is qmail-send running? {state.Method}.");
            _checked[layout.Root] = state;
            if (state.IsRunning && !Force)
                ThrowTerminatingError(QmailErrors.QmailSendRunning(layout.Root, state, action));
            if (state.IsRunning)
                WriteWarning($"qmail-send is running on {layout.Root} (pid {state.ProcessId?.ToString() ?? "unknown"}); -Force given: " +
                             (liveNote ?? $"{action} uses only changes a running qmail-send tolerates."));
            return state;
        }
    }
}
