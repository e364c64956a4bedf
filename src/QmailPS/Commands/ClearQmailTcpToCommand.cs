using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Net;
using QmailPS.Posix;
using QmailPS.Queue;
using QmailPS.TcpTo;

namespace QmailPS.Commands
{
    /// <summary>
    /// Forgets connect timeouts in queue/lock/tcpto so that qmail-remote tries those addresses
    /// again: every record (what qmail-tcpok does), or only the records of some addresses.
    /// </summary>
    [Cmdlet(VerbsCommon.Clear, "QmailTcpTo", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(TcpToEntry))]
    public sealed class ClearQmailTcpToCommand : QmailCmdletBase
    {
        /// <summary>Clear only the records of these addresses. Binds from the Address property of piped TcpToEntry objects.</summary>
        [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public IPAddress[]? Address { get; set; }

        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(QueuePathCompleter))]
        public string? QueuePath { get; set; }

        [Parameter]
        [ValidateSet("Auto", "Classic", "Struct", IgnoreCase = true)]
        public string Format { get; set; } = "Auto";

        [Parameter]
        [ValidateRange(0, 3600)]
        public int LockTimeoutSec { get; set; } = 5;

        /// <summary>Write the cleared records, as they were just before they were cleared.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        /// <summary>What to do to one queue's tcpto: everything, or a set of addresses (in input order).</summary>
        private sealed class Work
        {
            public Work(QueueLayout layout) { Layout = layout; }
            public QueueLayout Layout { get; }
            public bool All;
            public readonly List<IPAddress> Addresses = new List<IPAddress>();
        }

        private readonly List<Work> _work = new List<Work>();
        private bool _announced;

        private TimeSpan Timeout => TimeSpan.FromSeconds(LockTimeoutSec);

        // Pipeline input is only collected here. It is applied in EndProcessing, per queue under ONE
        // lock: qmail-remote (which reads and rewrites records under the same flock) then sees the
        // table either before or after all of the changes, never half of them; the records are found
        // and cleared in a single consistent read; and qmail-remote is locked out once, briefly,
        // instead of once per piped object while the rest of the pipeline runs.
        protected override void ProcessRecord()
        {
            QueueLayout layout = ResolveQueue(QueuePath);
            Work? work = _work.FirstOrDefault(w => w.Layout.Root == layout.Root);
            if (work is null) _work.Add(work = new Work(layout));
            if (Address != null)
            {
                foreach (IPAddress a in Address)
                    if (a != null && !work.Addresses.Contains(a)) work.Addresses.Add(a);
            }
            else if (!MyInvocation.ExpectingInput)
            {
                work.All = true;
            }
            else
            {
                // A piped object without an Address (say, a queue message): never read as "clear everything".
                WriteError(QmailErrors.TcpToInvalidArgument(
                    "The piped object has no Address property, so there is nothing to clear. To clear every record, run Clear-QmailTcpTo without pipeline input.",
                    layout.Root));
            }
        }

        protected override void EndProcessing()
        {
            foreach (Work w in _work)
            {
                if (Stopping) return;
                string path = GetQmailTcpToCommand.TcpToPath(w.Layout);
                try
                {
                    if (w.All) ClearAll(w, path);
                    else if (w.Addresses.Count > 0) ClearAddresses(w, path);
                }
                catch (TcpToException e)
                {
                    WriteError(QmailErrors.TcpTo(e, Timeout));
                }
                catch (TcpToFormatException e)
                {
                    ThrowTerminatingError(QmailErrors.TcpToFormatUnknown(e.Path, e.Reason));
                }
                catch (OperationCanceledException) when (Stopping)
                {
                    return;
                }
            }
        }

        private void Announce()
        {
            if (_announced) return;
            _announced = true;
            WriteVerbose("Note: qmail-rspawn empties lock/tcpto itself every time qmail starts (tcpto_clean), so a qmail restart has the same effect as clearing every record.");
        }

        /// <summary>qmail-tcpok: 1024 NUL bytes from offset 0 under flock(LOCK_EX); a short file grows, bytes past 1024 stay.</summary>
        private void ClearAll(Work w, string path)
        {
            if (!ShouldProcess($"{path}: all records", "Clear every record (write 1024 NUL bytes, like qmail-tcpok)")) return;
            Announce();
            TcpToSnapshot before;
            int size;
            using (TcpToFile file = TcpToFile.Open(Fs, path, requireWrite: true))
            {
                file.Lock(Timeout, CancelToken);
                // Read first: for -PassThru, and because a struct-format file longer than 1024 bytes
                // (eQmail's 2048) holds records past 1024 that eQmail's own qmail-tcpok zeroes too.
                before = TcpToSnapshot.Read(file, GetQmailTcpToCommand.ParseFormat(Format), tolerateUnknown: true);
                size = before.Format == TcpToRecordFormat.Struct32 && before.Length > TcpToRecords.ClearBytes
                    ? TcpToRecords.StructMaxBytes
                    : TcpToRecords.ClearBytes;
                file.WriteAt(0, new byte[size]);
            }
            // Output only after the lock is released: downstream commands must not run while qmail-remote waits.
            WriteVerbose($"{path}: wrote {size} NUL bytes at offset 0 ({before.Records.Count(r => r.Count != 0)} record(s) were in use; {Describe(before)}).");
            if (!PassThru) return;
            long now = UnixTime.Now;
            foreach (TcpToRecord r in before.Records)
                if (r.Count != 0) WriteObject(new TcpToEntry(r, before.Effective[r.Slot], now, w.Layout.Root));
        }

        private static string Describe(TcpToSnapshot s) => GetQmailTcpToCommand.Describe(s);

        private void ClearAddresses(Work w, string path)
        {
            TcpToRecordFormat? forced = GetQmailTcpToCommand.ParseFormat(Format);

            // Phase 1: a short locked read to name slot and count in each ShouldProcess. The lock is
            // released before asking, so that a -Confirm prompt never keeps qmail-remote waiting.
            TcpToSnapshot first;
            using (TcpToFile file = TcpToFile.Open(Fs, path, requireWrite: true))
            {
                file.Lock(Timeout, CancelToken);
                first = TcpToSnapshot.Read(file, forced);
            }
            WriteVerbose($"{path}: {Describe(first)}.");

            var approved = new List<IPAddress>();
            var declined = new HashSet<(int Slot, IPAddress Address)>();
            foreach (IPAddress a in w.Addresses)
            {
                List<TcpToRecord> holding = first.Records.Where(r => r.Holds(a)).ToList();
                if (holding.Count == 0)
                {
                    WriteError(QmailErrors.TcpToAddressNotFound(a, path, first.Format));
                    continue;
                }
                bool any = false;
                foreach (TcpToRecord r in holding)
                {
                    if (r.Count == 0)
                    {
                        WriteVerbose($"tcpto record {r.Slot} ({QmailTcptoText.FormatAddress(a)}) is already clear (count 0).");
                        continue;
                    }
                    if (ShouldProcess($"tcpto record {r.Slot} ({QmailTcptoText.FormatAddress(a)}, {r.Count} timeouts)", "Clear"))
                        any = true;
                    else
                        declined.Add((r.Slot, a));
                }
                if (any) approved.Add(a);
            }
            if (approved.Count == 0) return;
            Announce();

            // Phase 2: one lock for all the writes. Records are found again by address, because
            // qmail-remote may have moved or evicted one while the lock was free.
            var cleared = new List<TcpToRecord>();
            TcpToSnapshot current;
            using (TcpToFile file = TcpToFile.Open(Fs, path, requireWrite: true))
            {
                file.Lock(Timeout, CancelToken);
                current = TcpToSnapshot.Read(file, first.Format);
                foreach (IPAddress a in approved)
                {
                    List<TcpToRecord> targets = current.Records.Where(r => r.Holds(a) && r.Count != 0 && !declined.Contains((r.Slot, a))).ToList();
                    if (targets.Count == 0)
                        WriteVerbose($"{QmailTcptoText.FormatAddress(a)} has no timeouts left in {path} (qmail-remote changed its record meanwhile).");
                    foreach (TcpToRecord r in targets)
                    {
                        // Like qmail-remote's own write-back: the whole record at slot x size, count and time zeroed, the rest kept.
                        file.WriteAt((long)r.Slot * TcpToRecords.RecordSize(r.Format), r.Cleared());
                        cleared.Add(r);
                    }
                }
            }
            // Output only after the lock is released: downstream commands must not run while qmail-remote waits.
            foreach (TcpToRecord r in cleared)
                WriteVerbose($"Cleared tcpto record {r.Slot} ({QmailTcptoText.FormatAddress(r.Address)}, had {r.Count} timeouts).");
            if (!PassThru) return;
            long nowSec = UnixTime.Now;
            foreach (TcpToRecord r in cleared) WriteObject(new TcpToEntry(r, current.Effective[r.Slot], nowSec, w.Layout.Root));
        }
    }
}
