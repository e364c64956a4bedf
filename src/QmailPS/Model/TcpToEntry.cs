using System;
using System.Net;
using QmailPS.Posix;
using QmailPS.TcpTo;

namespace QmailPS
{
    /// <summary>
    /// One record of queue/lock/tcpto: qmail-remote's memory of an address whose SMTP connect
    /// timed out recently. qmail-remote skips an address with 2 or more recent timeouts for 64 to
    /// 97 minutes after the last one (the exact window depends on its pid); qmail-rspawn empties the
    /// table at every qmail start.
    /// </summary>
    public sealed class TcpToEntry
    {
        internal TcpToEntry(TcpToRecord record, bool effective, long nowSeconds, string queuePath)
        {
            Record = record;
            NowSeconds = nowSeconds;
            QueuePath = queuePath;
            Address = record.Address;
            TimeoutCount = record.Count;
            Slot = record.Slot;
            Format = record.Format;
            IsCorrupt = record.IsCorrupt;
            IsShadowed = !effective;

            long t = record.Time > 253402300799UL ? 253402300799L : (long)record.Time;
            LastTimeoutUtc = UnixTime.ToUtc(t);
            Age = TimeSpan.FromTicks((nowSeconds - t) * TimeSpan.TicksPerSecond);

            // tcpto.c: the first record with the address decides; count >= 2 in qmail's own
            // signedness; now - when < (60 + (getpid() & 31)) << 6, computed unsigned, so a time in
            // the future is never within the window.
            ulong ago = unchecked((ulong)nowSeconds - record.Time);
            bool eligible = effective && record.CountAsQmailSeesIt >= 2 && record.Time <= (ulong)Math.Max(0, nowSeconds);
            if (eligible)
            {
                SkippedUntilEarliestUtc = LastTimeoutUtc.AddSeconds(TcpToRecords.ShortestWindow);
                SkippedUntilLatestUtc = LastTimeoutUtc.AddSeconds(TcpToRecords.LongestWindow);
            }
            IsSkipped = eligible && ago < TcpToRecords.ShortestWindow;
            IsSkippedPossibly = eligible && ago < TcpToRecords.LongestWindow;
        }

        /// <summary>The remote address (IPv4; IPv6 only in the struct format of the IPv6 patches).</summary>
        public IPAddress Address { get; }

        /// <summary>
        /// Connect timeouts counted recently, as the unsigned byte on disk. qmail-remote counts
        /// 1 to 10; 0 is a free slot; anything above 10 is damage (see IsCorrupt). qmail-tcpto does
        /// not print 128–255 in the classic format: it keeps the count in a signed char on x86.
        /// </summary>
        public int TimeoutCount { get; }

        /// <summary>When the last counted timeout happened, in local time (as FileInfo.LastWriteTime).</summary>
        public DateTime LastTimeout => LastTimeoutUtc.ToLocalTime();
        /// <summary>LastTimeout in UTC.</summary>
        public DateTime LastTimeoutUtc { get; }

        /// <summary>Reference time minus LastTimeout; negative when LastTimeout is in the future.</summary>
        public TimeSpan Age { get; }

        /// <summary>
        /// qmail-remote skips this address now, whatever its pid: 2 or more timeouts (as qmail
        /// reads the count), and the last one less than 3840 s ago (the shortest window).
        /// </summary>
        public bool IsSkipped { get; }

        /// <summary>
        /// qmail-remote may skip this address now: the last timeout is less than 5824 s ago (the
        /// longest window). Whether it does depends on the pid of the qmail-remote that tries.
        /// </summary>
        public bool IsSkippedPossibly { get; }

        /// <summary>LastTimeout + 3840 s: from then on no qmail-remote skips the address. Null when it is never skipped.</summary>
        public DateTime? SkippedUntilEarliest => SkippedUntilEarliestUtc?.ToLocalTime();
        /// <summary>SkippedUntilEarliest in UTC.</summary>
        public DateTime? SkippedUntilEarliestUtc { get; }

        /// <summary>LastTimeout + 5824 s: until then some qmail-remote may skip the address. Null when it is never skipped.</summary>
        public DateTime? SkippedUntilLatest => SkippedUntilLatestUtc?.ToLocalTime();
        /// <summary>SkippedUntilLatest in UTC.</summary>
        public DateTime? SkippedUntilLatestUtc { get; }

        /// <summary>Index of the record in the file (byte offset = Slot × record size).</summary>
        public int Slot { get; }

        /// <summary>Record layout the file was read with: Classic16 (qmail, netqmail, notqmail) or Struct32 (IPv6 patches).</summary>
        public TcpToRecordFormat Format { get; }

        /// <summary>A count above 10, or bytes qmail never writes are set (unused bytes, struct padding or address family).</summary>
        public bool IsCorrupt { get; }

        /// <summary>An earlier slot holds the same address: qmail-remote stops at that one and never reads this record.</summary>
        public bool IsShadowed { get; }

        /// <summary>The queue directory whose lock/tcpto holds the record (binds to -QueuePath of Clear-QmailTcpTo).</summary>
        public string QueuePath { get; }

        internal TcpToRecord Record { get; }
        internal long NowSeconds { get; }

        /// <summary>The line qmail-tcpto prints for this record at the same clock.</summary>
        public override string ToString() => QmailTcptoText.Line(Record, NowSeconds);
    }
}
