using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Management.Automation;
using System.Text;
using QmailPS.Check;
using QmailPS.Metrics;
using QmailPS.Posix;
using QmailPS.Processes;
using QmailPS.Queue;
using QmailPS.TcpTo;

namespace QmailPS.Commands
{
    /// <summary>
    /// The queue's figures in the Prometheus text exposition format, for node_exporter's textfile
    /// collector: written atomically to -Path (a temporary file in the same directory, fsync, rename,
    /// mode 0644), or to the pipeline as one string.
    /// </summary>
    [Cmdlet(VerbsData.Export, "QmailMetric", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(string))]
    public sealed class ExportQmailMetricCommand : QmailCmdletBase
    {
        [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string? QueuePath { get; set; }

        /// <summary>The file to replace, e.g. /var/lib/prometheus/node-exporter/qmail.prom. Without it the text goes to the pipeline.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Path { get; set; }

        /// <summary>Also run Test-QmailQueue's inspection and export its findings by severity.</summary>
        [Parameter]
        public SwitchParameter IncludeTest { get; set; }

        [Parameter]
        [ValidateRange(1, 100000)]
        public int? Split { get; set; }

        private readonly List<QueueMetrics> _queues = new List<QueueMetrics>();
        private readonly HashSet<string> _done = new HashSet<string>(StringComparer.Ordinal);
        private string? _target;

        protected override void BeginProcessing()
        {
            if (Path is null) return;
            _target = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path, out ProviderInfo provider, out _);
            if (provider.Name != "FileSystem") ThrowTerminatingError(QmailErrors.NotFileSystem(Path));
            if (Directory.Exists(_target)) ThrowTerminatingError(QmailErrors.MetricPathIsDirectory(_target!));
            if (!_target!.EndsWith(".prom", StringComparison.Ordinal))
                WriteWarning($"'{_target}' does not end in .prom: node_exporter's textfile collector reads only *.prom files.");
        }

        protected override void ProcessRecord()
        {
            Stopwatch clock = Stopwatch.StartNew();
            QueueLayout layout = ResolveQueue(QueuePath, Split);
            if (!_done.Add(layout.Root)) return; // many piped objects of one queue: one set of figures
            var m = new QueueMetrics(layout.Root, QmailProgramNames.All);

            var problems = new List<string>();
            m.MessagesInQueue = Qstat.CountMess(layout, problems);
            m.NotYetPreprocessed = Qstat.CountTodo(layout, problems);
            foreach (string p in problems) WriteWarning("qmail-qstat would print: " + p);

            string activity = $"Reading qmail queue {layout.Root} for metrics";
            try
            {
                foreach (ScanEvent e in new QueueScanner(layout).Scan(CancelToken))
                {
                    if (e.Kind == ScanEventKind.DirectoryError) m.Errors++;
                    QueueMessage? msg = Route(e, activity);
                    if (msg != null) m.AddMessage(msg);
                }

                SendMutexState send = SendLock.Probe(layout);
                WriteVerbose($"Is qmail-send running? {send.Method}.");
                m.SendRunning = send.IsRunning;

                if (IncludeTest)
                {
                    foreach (QueueIssue issue in new QueueInspector(layout, send).Inspect(CancelToken)) m.AddIssue(issue.Severity);
                    m.Inspected = true;
                }
            }
            catch (OperationCanceledException) when (Stopping) { return; }
            finally { CompleteProgress(); }

            ReadTcpTo(layout, m);
            if (_queues.Count == 0) ReadProcesses(m);
            m.Now = DateTime.UtcNow;
            m.Duration = clock.Elapsed;
            WriteVerbose($"Figures of {layout.Root} taken in {clock.Elapsed.TotalMilliseconds:0} ms.");
            _queues.Add(m);
        }

        protected override void EndProcessing()
        {
            if (_queues.Count == 0) return;
            string text = QueueMetrics.Render(_queues);
            if (_target is null) { WriteObject(text); return; }
            if (!ShouldProcess(_target, "Replace with the qmail queue metrics (Prometheus text format)")) return;
            WriteAtomically(_target, Encoding.UTF8.GetBytes(text));
        }

        private void ReadTcpTo(QueueLayout layout, QueueMetrics m)
        {
            string path = GetQmailTcpToCommand.TcpToPath(layout);
            TimeSpan timeout = TimeSpan.FromSeconds(5);
            try
            {
                TcpToSnapshot snapshot;
                using (TcpToFile file = TcpToFile.Open(Fs, path, requireWrite: false))
                {
                    file.Lock(timeout, CancelToken);
                    snapshot = TcpToSnapshot.Read(file, null, tolerateUnknown: true);
                }
                long now = UnixTime.ToSeconds(DateTime.UtcNow);
                int skipped = 0, possibly = 0;
                foreach (TcpToRecord r in snapshot.Records)
                {
                    var entry = new TcpToEntry(r, snapshot.Effective[r.Slot], now, layout.Root);
                    if (entry.IsSkipped) skipped++;
                    if (entry.IsSkippedPossibly) possibly++;
                }
                m.TcpToSkipped = skipped;
                m.TcpToSkippedPossibly = possibly;
            }
            catch (TcpToException e)
            {
                m.Errors++;
                WriteError(QmailErrors.TcpTo(e, timeout));
            }
            catch (TcpToFormatException e)
            {
                m.Errors++;
                WriteError(QmailErrors.TcpToFormatUnknown(e.Path, e.Reason));
            }
        }

        private void ReadProcesses(QueueMetrics m)
        {
            var reader = new QmailProcessReader(new ProcTable(), Fs.UserName);
            foreach (QmailProcess p in reader.Scan(_ => true, CancelToken)) m.AddProcess(p.Name, p.StartTime);
            m.ProcessesRead = true;
        }

        /// <summary>node_exporter must never read half a file: a temporary file in the same directory, fsync, rename, fsync the directory.</summary>
        private void WriteAtomically(string target, byte[] bytes)
        {
            string dir = System.IO.Path.GetDirectoryName(target) ?? "/";
            if (dir.Length == 0) dir = ".";
            string temp = System.IO.Path.Combine(dir, "." + System.IO.Path.GetFileName(target) + "." + Process.GetCurrentProcess().Id + ".tmp");
            Posix.IFileSystem posix = Fs;
            try
            {
                // The directory the admin named (node_exporter's textfile directory) is trusted as
                // given; inside it the temporary file is made O_EXCL | O_NOFOLLOW and renamed over
                // the target's name (a symlink there is replaced, never written through).
                posix.Trust(System.IO.Path.GetFullPath(dir));
                if (posix.TryLstat(temp, out _, out _)) posix.Unlink(temp); // left by a run that was killed
                posix.WriteNewFile(temp, bytes, 0x1A4 /* 0644 */, fsync: true);
                posix.Rename(temp, target);
                posix.FsyncDirectory(dir);
                WriteVerbose($"Wrote {bytes.Length} bytes to {target}.");
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                try { if (posix.TryLstat(temp, out _, out _)) posix.Unlink(temp); } catch (IOException) { }
                WriteError(QmailErrors.MetricWriteFailed(target, e));
            }
        }
    }
}
