using System;
using System.Collections.Generic;
using System.Management.Automation;
using System.Threading;
using QmailPS.Queue;

namespace QmailPS.Commands
{
    /// <summary>
    /// What every QmailPS cmdlet shares: -QueuePath resolution (through the PowerShell location,
    /// like any path parameter), cancellation on Ctrl+C, and throttled progress.
    /// </summary>
    public abstract class QmailCmdletBase : PSCmdlet, IDisposable
    {
        private readonly CancellationTokenSource _cts = new CancellationTokenSource();
        private readonly Dictionary<string, QueueLayout> _layouts = new Dictionary<string, QueueLayout>(StringComparer.Ordinal);
        private readonly System.Diagnostics.Stopwatch _progressClock = System.Diagnostics.Stopwatch.StartNew();
        private ProgressRecord? _progress;

        private Posix.IFileSystem? _fs;

        protected CancellationToken CancelToken => _cts.Token;

        /// <summary>This command's file-system seam: one per invocation, anchored at the queues and quarantines it uses.</summary>
        internal Posix.IFileSystem Fs => _fs ??= new Posix.LinuxFileSystem();

        protected override void StopProcessing() => _cts.Cancel();

        public void Dispose()
        {
            _cts.Dispose();
            _fs?.Dispose();
        }

        /// <summary>
        /// The queue for a -QueuePath value (null: $env:QMAIL_HOME/queue or the usual places).
        /// A path that is not a queue, or one this user cannot read, stops the command: nothing
        /// else can proceed.
        /// </summary>
        protected QueueLayout ResolveQueue(string? queuePath, int? split = null, TodoLayout? todoLayout = null)
        {
            string key = queuePath ?? "";
            if (_layouts.TryGetValue(key, out QueueLayout? cached)) return cached;
            string? root;
            if (string.IsNullOrEmpty(queuePath))
            {
                root = QueueLayout.FindDefaultRoot(Environment.GetEnvironmentVariable);
                if (root is null)
                {
                    ThrowTerminatingError(QmailErrors.QueueNotFound(string.Join(", ", QueueLayout.DefaultCandidates)));
                }
            }
            else
            {
                root = SessionState.Path.GetUnresolvedProviderPathFromPSPath(queuePath, out ProviderInfo provider, out _);
                if (provider.Name != "FileSystem")
                    ThrowTerminatingError(QmailErrors.NotFileSystem(queuePath!));
            }
            WriteVerbose($"Reading the qmail queue at {root}.");
            QueueLayout layout = null!;
            try { layout = QueueLayout.Detect(Fs, root!, split, todoLayout.HasValue ? todoLayout.Value == TodoLayout.BigTodo : (bool?)null); }
            catch (NotAQueueException e) { ThrowTerminatingError(QmailErrors.NotAQueue(e)); }
            catch (QueueAccessException e) { ThrowTerminatingError(QmailErrors.AccessDenied(e)); }
            WriteVerbose($"Queue {layout.Root}: split {layout.Split}{(split.HasValue ? " (given)" : " (detected: the split that puts the messages where qmail looks)")}, " +
                         (layout.BigTodo ? "big-todo layout (todo/ and intd/ split)" : "vanilla todo/ and intd/") + (todoLayout.HasValue ? " (given)." : " (from todo/)."));
            _layouts[key] = layout;
            return layout;
        }

        protected void Progress(string activity, string status, int percent)
        {
            if (_progress is null) _progress = new ProgressRecord(0x51a1, activity, status);
            if (_progressClock.ElapsedMilliseconds < 200 && percent < 100) return;
            _progressClock.Restart();
            _progress.StatusDescription = status;
            _progress.PercentComplete = Math.Max(0, Math.Min(100, percent));
            WriteProgress(_progress);
        }

        protected void CompleteProgress()
        {
            if (_progress is null || Stopping) return;
            _progress.RecordType = ProgressRecordType.Completed;
            WriteProgress(_progress);
            _progress = null;
        }

        /// <summary>Routes the scanner's diagnostics to the right stream; returns the message, if any.</summary>
        protected QueueMessage? Route(ScanEvent e, string activity)
        {
            switch (e.Kind)
            {
                case ScanEventKind.Message:
                    return e.Message;
                case ScanEventKind.Vanished:
                    WriteVerbose($"Message {e.Id} left the queue while it was being read (qmail-send finished it); skipped.");
                    break;
                case ScanEventKind.Ignored:
                    WriteVerbose(e.Text);
                    break;
                case ScanEventKind.Warning:
                    WriteWarning(e.Text);
                    break;
                case ScanEventKind.DirectoryError:
                    WriteError(QmailErrors.DirectoryUnreadable(e.Path!, e.Errno, e.Text!));
                    break;
                case ScanEventKind.Progress:
                    Progress(activity, "Reading " + e.Path, e.Percent);
                    break;
            }
            return null;
        }
    }
}
