using System;
using System.Collections.Generic;
using System.Management.Automation;
using QmailPS.Posix;
using QmailPS.Queue;
using QmailPS.TcpTo;

namespace QmailPS.Commands
{
    /// <summary>
    /// The records of queue/lock/tcpto: the addresses qmail-remote has seen time out and may be
    /// skipping. By default exactly the records qmail-tcpto prints; -All adds free and damaged slots.
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "QmailTcpTo")]
    [OutputType(typeof(TcpToEntry))]
    public sealed class GetQmailTcpToCommand : QmailCmdletBase
    {
        [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(QueuePathCompleter))]
        public string? QueuePath { get; set; }

        /// <summary>Every record, including free slots (count 0) and counts qmail-tcpto hides (128–255).</summary>
        [Parameter]
        public SwitchParameter All { get; set; }

        /// <summary>Record layout: Auto (detect), Classic (16-byte records) or Struct (32-byte records of the IPv6 patches).</summary>
        [Parameter]
        [ValidateSet("Auto", "Classic", "Struct", IgnoreCase = true)]
        public string Format { get; set; } = "Auto";

        /// <summary>Compute Age and IsSkipped as of this time instead of now (reproduces qmail-tcpto at a given clock).</summary>
        [Parameter]
        public DateTime? ReferenceTime { get; set; }

        /// <summary>How long to wait for the lock that qmail-remote holds while it updates the file.</summary>
        [Parameter]
        [ValidateRange(0, 3600)]
        public int LockTimeoutSec { get; set; } = 5;

        private readonly HashSet<string> _done = new HashSet<string>(StringComparer.Ordinal);
        private long _now;

        internal static TcpToRecordFormat? ParseFormat(string value) =>
            string.Equals(value, "Classic", StringComparison.OrdinalIgnoreCase) ? TcpToRecordFormat.Classic16
            : string.Equals(value, "Struct", StringComparison.OrdinalIgnoreCase) ? TcpToRecordFormat.Struct32
            : (TcpToRecordFormat?)null;

        internal static string TcpToPath(QueueLayout layout) => layout.Dir("lock") + "/tcpto";

        internal static string Describe(TcpToSnapshot s) =>
            $"{s.Length} byte(s) read, {s.Records.Count} whole {(int)s.Format}-byte record(s), " +
            $"{(s.Format == TcpToRecordFormat.Classic16 ? "classic format" : "struct format (IPv6 patches)")} " +
            (s.Detected ? $"(detected: {s.Reason})" : "(given with -Format)");

        protected override void BeginProcessing()
        {
            _now = UnixTime.ToSeconds(ReferenceTime ?? DateTime.UtcNow);
        }

        protected override void ProcessRecord()
        {
            QueueLayout layout = ResolveQueue(QueuePath);
            if (!_done.Add(layout.Root)) return; // many piped objects of one queue: one table
            string path = TcpToPath(layout);
            TimeSpan timeout = TimeSpan.FromSeconds(LockTimeoutSec);
            TcpToSnapshot snapshot;
            try
            {
                using TcpToFile file = TcpToFile.Open(Fs, path, requireWrite: false);
                if (!file.Writable)
                    WriteVerbose($"Cannot open {path} for writing ({file.ReadOnlyReason}); reading it under a shared lock instead of qmail-tcpto's exclusive one.");
                file.Lock(timeout, CancelToken);
                if (file.LockWait > TimeSpan.FromMilliseconds(50))
                    WriteVerbose($"Waited {file.LockWait.TotalMilliseconds:0} ms for the lock on {path} (qmail-remote was updating it).");
                snapshot = TcpToSnapshot.Read(file, ParseFormat(Format));
                // Disposing releases the lock before anything is written to the pipeline:
                // downstream commands must not run while qmail-remote is locked out.
            }
            catch (TcpToException e)
            {
                WriteError(QmailErrors.TcpTo(e, timeout));
                return;
            }
            catch (TcpToFormatException e)
            {
                ThrowTerminatingError(QmailErrors.TcpToFormatUnknown(e.Path, e.Reason));
                return;
            }
            catch (OperationCanceledException) when (Stopping)
            {
                return;
            }

            WriteVerbose($"{path}: {Describe(snapshot)}.");
            int shown = 0;
            foreach (TcpToRecord r in snapshot.Records)
            {
                if (!All && !r.ShownByQmailTcpto) continue;
                var entry = new TcpToEntry(r, snapshot.Effective[r.Slot], _now, layout.Root);
                if (r.IsCorrupt)
                    WriteWarning($"tcpto record {r.Slot} ({QmailTcptoText.FormatAddress(r.Address)}) is damaged: " +
                                 (r.Count > 10 ? $"count {r.Count} (qmail-remote counts to 10)" : "bytes qmail never writes are set") + ".");
                WriteObject(entry);
                shown++;
            }
            WriteVerbose($"{shown} record(s) written{(All ? "" : " (those qmail-tcpto prints; -All shows every slot)")}.");
        }
    }
}
