using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace QmailPS.Metrics
{
    /// <summary>
    /// The figures Export-QmailMetric gathers about one queue (and the host's qmail processes),
    /// collected one message, finding, tcpto record and process at a time, then written in the
    /// Prometheus text exposition format (version 0.0.4) that node_exporter's textfile collector reads.
    /// No PowerShell and no file system here: the cmdlet feeds it, tests can too.
    /// </summary>
    public sealed class QueueMetrics
    {
        private static readonly QueueMessageState[] States = (QueueMessageState[])Enum.GetValues(typeof(QueueMessageState));
        private static readonly IssueSeverity[] Severities = (IssueSeverity[])Enum.GetValues(typeof(IssueSeverity));

        private readonly long[] _byState = new long[States.Length];
        // [channel, delivered]
        private readonly long[,] _recipients = new long[2, 2];
        private readonly long[] _bySeverity = new long[Severities.Length];
        private readonly SortedDictionary<string, ProcessFigures> _processes = new SortedDictionary<string, ProcessFigures>(StringComparer.Ordinal);

        public QueueMetrics(string queuePath, IEnumerable<string> processNames)
        {
            QueuePath = queuePath;
            foreach (string n in processNames) _processes[n] = new ProcessFigures();
        }

        public string QueuePath { get; }

        /// <summary>qmail-qstat's "messages in queue" (find mess/* -type f | wc -l).</summary>
        public long MessagesInQueue { get; set; }
        /// <summary>qmail-qstat's "messages in queue but not yet preprocessed" (find todo -type f | wc -l).</summary>
        public long NotYetPreprocessed { get; set; }
        public long Bouncing { get; private set; }
        public long Bounces { get; private set; }
        public long TotalBytes { get; private set; }
        public DateTime? OldestQueuedAt { get; private set; }

        /// <summary>Findings are only written when the inspector ran (-IncludeTest).</summary>
        public bool Inspected { get; set; }
        /// <summary>Null: lock/tcpto could not be read, and the metric is left out.</summary>
        public int? TcpToSkipped { get; set; }
        public int? TcpToSkippedPossibly { get; set; }
        public bool ProcessesRead { get; set; }
        public bool? SendRunning { get; set; }
        /// <summary>Errors written while collecting (each also reported as an ErrorRecord).</summary>
        public int Errors { get; set; }
        public TimeSpan Duration { get; set; }
        /// <summary>When the figures were taken (UTC), for the processes' ages.</summary>
        public DateTime Now { get; set; } = DateTime.UtcNow;

        public void AddMessage(QueueMessage m)
        {
            _byState[(int)m.State]++;
            if (m.HasBounce) Bouncing++;
            if (m.IsBounce) Bounces++;
            if (m.Size > 0) TotalBytes += m.Size;
            if (OldestQueuedAt is null || m.QueuedAt < OldestQueuedAt) OldestQueuedAt = m.QueuedAt;
            foreach (QueueRecipient r in m.Recipients)
                _recipients[r.Channel == RecipientChannel.Local ? 0 : 1, r.Delivered ? 1 : 0]++;
        }

        public void AddIssue(IssueSeverity severity) => _bySeverity[(int)severity]++;

        public void AddProcess(string name, DateTime startTimeUtc)
        {
            if (!_processes.TryGetValue(name, out ProcessFigures? f)) _processes[name] = f = new ProcessFigures();
            f.Count++;
            if (f.OldestStart is null || startTimeUtc < f.OldestStart) f.OldestStart = startTimeUtc;
        }

        public long Recipients(RecipientChannel channel, bool delivered) => _recipients[channel == RecipientChannel.Local ? 0 : 1, delivered ? 1 : 0];
        public long Messages(QueueMessageState state) => _byState[(int)state];
        public long Findings(IssueSeverity severity) => _bySeverity[(int)severity];

        private sealed class ProcessFigures
        {
            public int Count;
            public DateTime? OldestStart;
        }

        /// <summary>The whole exposition for one queue, every line ending in a newline (as the format requires).</summary>
        public string Render() => Render(new[] { this });

        /// <summary>
        /// The exposition for several queues: each metric family once (HELP, TYPE, then a sample per
        /// queue, told apart by the queue label). The processes are the host's: taken from the first
        /// queue's figures that read them.
        /// </summary>
        public static string Render(IReadOnlyList<QueueMetrics> all)
        {
            var w = new MetricText();
            string Q(QueueMetrics m) => MetricText.Label("queue", m.QueuePath);

            w.Family("qmail_queue_messages", "gauge", "Messages in the queue as qmail-qstat counts them (find mess/* -type f | wc -l).");
            foreach (QueueMetrics m in all) w.Sample("qmail_queue_messages", Q(m), m.MessagesInQueue);
            w.Family("qmail_queue_unprocessed_messages", "gauge", "Messages not yet preprocessed as qmail-qstat counts them (find todo -type f | wc -l).");
            foreach (QueueMetrics m in all) w.Sample("qmail_queue_unprocessed_messages", Q(m), m.NotYetPreprocessed);

            w.Family("qmail_queue_listed_messages", "gauge", "Messages qmail-send knows about (what Get-QmailQueueMessage lists), by state.");
            foreach (QueueMetrics m in all)
                foreach (QueueMessageState s in States)
                    w.Sample("qmail_queue_listed_messages", Q(m) + "," + MetricText.Label("state", s.ToString().ToLowerInvariant()), m._byState[(int)s]);

            w.Family("qmail_queue_recipients", "gauge", "Recipients of queued messages by channel (local, remote) and state (pending; delivered: done, or failed for good).");
            foreach (QueueMetrics m in all)
                foreach (RecipientChannel c in new[] { RecipientChannel.Local, RecipientChannel.Remote })
                    foreach (bool delivered in new[] { false, true })
                        w.Sample("qmail_queue_recipients", Q(m) + "," + MetricText.Label("channel", c.ToString().ToLowerInvariant()) + "," +
                                 MetricText.Label("state", delivered ? "delivered" : "pending"), m.Recipients(c, delivered));

            w.Family("qmail_queue_bouncing_messages", "gauge", "Messages with a bounce/ file: at least one recipient failed permanently.");
            foreach (QueueMetrics m in all) w.Sample("qmail_queue_bouncing_messages", Q(m), m.Bouncing);
            w.Family("qmail_queue_bounce_messages", "gauge", "Messages with the empty envelope sender (bounces).");
            foreach (QueueMetrics m in all) w.Sample("qmail_queue_bounce_messages", Q(m), m.Bounces);
            w.Family("qmail_queue_size_bytes", "gauge", "Total size of the queued messages' mess files.");
            foreach (QueueMetrics m in all) w.Sample("qmail_queue_size_bytes", Q(m), m.TotalBytes);
            w.Family("qmail_queue_oldest_message_timestamp_seconds", "gauge", "When the oldest queued message was queued (Unix time); absent when the queue is empty.");
            foreach (QueueMetrics m in all)
                if (m.OldestQueuedAt.HasValue) w.Sample("qmail_queue_oldest_message_timestamp_seconds", Q(m), ToUnixSeconds(m.OldestQueuedAt.Value));

            if (all.Any(m => m.Inspected))
            {
                w.Family("qmail_queue_findings", "gauge", "Findings of Test-QmailQueue by severity.");
                foreach (QueueMetrics m in all.Where(m => m.Inspected))
                    foreach (IssueSeverity s in Severities)
                        w.Sample("qmail_queue_findings", Q(m) + "," + MetricText.Label("severity", s.ToString().ToLowerInvariant()), m._bySeverity[(int)s]);
            }

            if (all.Any(m => m.TcpToSkipped.HasValue))
            {
                w.Family("qmail_tcpto_skipped_hosts", "gauge", "Addresses in lock/tcpto that every qmail-remote skips now (2 or more timeouts, the last less than 3840 s ago).");
                foreach (QueueMetrics m in all.Where(m => m.TcpToSkipped.HasValue)) w.Sample("qmail_tcpto_skipped_hosts", Q(m), m.TcpToSkipped!.Value);
                w.Family("qmail_tcpto_possibly_skipped_hosts", "gauge", "Addresses in lock/tcpto that some qmail-remote may skip now (the last timeout less than 5824 s ago).");
                foreach (QueueMetrics m in all.Where(m => m.TcpToSkipped.HasValue)) w.Sample("qmail_tcpto_possibly_skipped_hosts", Q(m), m.TcpToSkippedPossibly ?? m.TcpToSkipped!.Value);
            }

            if (all.Any(m => m.SendRunning.HasValue))
            {
                w.Family("qmail_send_running", "gauge", "1 when a qmail-send holds lock/sendmutex of the queue, else 0.");
                foreach (QueueMetrics m in all.Where(m => m.SendRunning.HasValue)) w.Sample("qmail_send_running", Q(m), m.SendRunning!.Value ? 1 : 0);
            }

            QueueMetrics? host = all.FirstOrDefault(m => m.ProcessesRead);
            if (host != null)
            {
                w.Family("qmail_processes", "gauge", "Running qmail processes on this host, by program name.");
                foreach (var kv in host._processes) w.Sample("qmail_processes", MetricText.Label("name", kv.Key), kv.Value.Count);
                w.Family("qmail_process_oldest_age_seconds", "gauge", "Age of the oldest running process of each qmail program (only programs that run).");
                foreach (var kv in host._processes)
                    if (kv.Value.OldestStart.HasValue)
                        w.Sample("qmail_process_oldest_age_seconds", MetricText.Label("name", kv.Key), Math.Max(0, (host.Now - kv.Value.OldestStart.Value).TotalSeconds));
            }

            w.Family("qmail_export_errors", "gauge", "Errors while collecting these figures (each also written as an error by Export-QmailMetric).");
            foreach (QueueMetrics m in all) w.Sample("qmail_export_errors", Q(m), m.Errors);
            w.Family("qmail_export_duration_seconds", "gauge", "How long Export-QmailMetric took to collect these figures.");
            foreach (QueueMetrics m in all) w.Sample("qmail_export_duration_seconds", Q(m), m.Duration.TotalSeconds);
            return w.ToString();
        }

        internal static double ToUnixSeconds(DateTime utc) =>
            (utc.ToUniversalTime() - new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc)).TotalSeconds;
    }

    /// <summary>The text exposition format's lines, with its escaping rules.</summary>
    internal sealed class MetricText
    {
        private readonly StringBuilder _sb = new StringBuilder(4096);

        public void Family(string name, string type, string help)
        {
            _sb.Append("# HELP ").Append(name).Append(' ').Append(EscapeHelp(help)).Append('\n');
            _sb.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
        }

        public void Sample(string name, string labels, double value)
        {
            _sb.Append(name);
            if (labels.Length > 0) _sb.Append('{').Append(labels).Append('}');
            _sb.Append(' ').Append(FormatValue(value)).Append('\n');
        }

        public override string ToString() => _sb.ToString();

        /// <summary>name="value", the value escaped as the format says: backslash, double quote and line feed.</summary>
        public static string Label(string name, string value) => name + "=\"" + EscapeLabelValue(value) + "\"";

        public static string EscapeLabelValue(string value)
        {
            var sb = new StringBuilder(value.Length + 8);
            foreach (char c in value)
            {
                switch (c)
                {
                    case '\\': sb.Append("\\\\"); break;
                    case '"': sb.Append("\\\""); break;
                    case '\n': sb.Append("\\n"); break;
                    default: sb.Append(c); break;
                }
            }
            return sb.ToString();
        }

        /// <summary>HELP text: only backslash and line feed are escaped.</summary>
        public static string EscapeHelp(string help) => help.Replace("\\", "\\\\").Replace("\n", "\\n");

        public static string FormatValue(double v)
        {
            if (double.IsNaN(v)) return "NaN";
            if (double.IsPositiveInfinity(v)) return "+Inf";
            if (double.IsNegativeInfinity(v)) return "-Inf";
            if (v == Math.Floor(v) && Math.Abs(v) < 1e15) return ((long)v).ToString(CultureInfo.InvariantCulture);
            return v.ToString("R", CultureInfo.InvariantCulture);
        }
    }
}
