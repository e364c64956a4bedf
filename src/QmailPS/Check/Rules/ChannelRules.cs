using QmailPS.Check.Repair;
using System.Collections.Generic;
using QmailPS.Posix;
using QmailPS.Queue;

namespace QmailPS.Check.Rules
{
    /// <summary>
    /// local/N/ID and remote/N/ID (queue-format.md §2.4, §3.2 "unknown record type", "0 bytes",
    /// "truncated last record", "only D records"): what qmail-send's pass_do makes of the records.
    /// A recipient listed twice is what qmail-queue accepted and qmail-send delivers once per
    /// record: the envelope as qmail wrote it, not damage (and never marked done).
    /// </summary>
    internal static class ChannelRules
    {
        public const string Types = "TD";

        public const string CutFix = "Complete the record only if the address is proven whole (the headers or another copy of the envelope name it); otherwise leave it out, as qmail does, with its bytes in the quarantine manifest.";

        public static void Detect(RuleContext c, string rel, FileRead channel, bool preprocessing, bool reportAllDone, List<Finding> sink)
        {
            if (!channel.Ok)
            {
                if (channel.Errno == Errno.ENOENT) return; // finished while we looked
                AccessRules.Unreadable(rel, channel.Errno, "qmail-send retries it for ever.", "Quarantine it and rebuild the recipient list.", sink);
                return;
            }
            AccessRules.ReadableByQmails(c, rel, channel.Status, true, sink);
            RecordScan r = channel.Records!;
            IssueSeverity sev(IssueSeverity s) => preprocessing ? IssueSeverity.Transient : s;
            if (r.Length == 0)
            {
                sink.Add(new Finding(QueueIssueKind.ChannelEmpty, sev(IssueSeverity.Danger), rel,
                    $"{rel} is empty: qmail-send takes it as 'all done', removes it and finishes the message; its recipients are lost.",
                    "Move the empty file to the quarantine (manifest line): its recipients are gone with its bytes, and nothing else in the queue names them (the headers are not the envelope). The message then finishes with its other recipients, as qmail would."));
                return;
            }
            if (r.UnknownAt >= 0)
                sink.Add(new Finding(QueueIssueKind.ChannelUnknownRecord, sev(IssueSeverity.Stuck), rel,
                    $"{rel} has an unknown record {ChannelRules.ShowType(r.UnknownType)} at byte {r.UnknownAt}: qmail-send stops the pass there ('unknown record type'), never delivers the recipients after it, never finishes the message.",
                    "Rewrite the file without the unknown record (with qmail-send stopped)."));
            if (r.Truncated != null)
                // qmail-send's getln finds no NUL and ends the file there: a cut pending recipient
                // is silently never delivered; cut bytes of any other kind change nothing.
                sink.Add(new Finding(QueueIssueKind.ChannelTruncated, sev(r.TruncatedRecipient ? IssueSeverity.Danger : IssueSeverity.Cosmetic), rel,
                    r.TruncatedRecipient ? $"the last record of {rel}, {ShowCut(r)}, has no NUL: qmail-send silently ignores that recipient."
                                         : $"the last record of {rel}, {ShowCut(r)}, has no NUL: qmail-send ignores it.",
                    CutFix));
            if (reportAllDone && r.Pending == 0 && r.UnknownAt < 0 && r.Truncated == null)
                sink.Add(new Finding(QueueIssueKind.ChannelAllDone, IssueSeverity.Transient, rel,
                    $"{rel} has only done records: qmail-send removes it at its next pass.", "Nothing."));
        }

        /// <summary>A record's type byte as the postmaster reads it.</summary>
        public static string ShowType(byte type) => type == 0 ? "(an empty one)" : type >= 32 && type < 127 ? $"'{(char)type}'" : $"0x{type:X2}";

        /// <summary>A cut record as the postmaster knows it ("pending recipient 'b@rem'"), its length when only its start is kept.</summary>
        public static string ShowCut(RecordScan r) =>
            RecordRules.Show(r.Truncated!) + (r.TruncatedLength > r.Truncated!.Length ? $" (first {r.Truncated.Length} of {r.TruncatedLength} bytes)" : "");

        public static readonly QueueIssueKind[] Kinds =
        {
            QueueIssueKind.ChannelEmpty, QueueIssueKind.ChannelTruncated, QueueIssueKind.ChannelUnknownRecord, QueueIssueKind.ChannelAllDone,
            QueueIssueKind.ChannelWithoutInfo,
        };

        /// <summary>
        /// A cut or unknown record is judged with the rest of the file (RecordRules); a channel file
        /// with nothing in it goes to the quarantine; one whose recipients are all done is qmail-send's
        /// to finish. Recipients without info are given back to qmail-send when the bytes allow.
        /// </summary>
        public static void Plan(QueueIssue i, IRepairPlanner p)
        {
            switch (i.Kind)
            {
                case QueueIssueKind.ChannelTruncated:
                case QueueIssueKind.ChannelUnknownRecord:
                    p.RewriteRecords(i, Types);
                    break;
                case QueueIssueKind.ChannelEmpty:
                    p.Add(RepairStep.For(RepairOperation.Quarantine, i));
                    break;
                case QueueIssueKind.ChannelWithoutInfo:
                    p.RecoverOrQuarantine(i);
                    break;
                case QueueIssueKind.ChannelAllDone:
                    break;
            }
        }
    }
}
