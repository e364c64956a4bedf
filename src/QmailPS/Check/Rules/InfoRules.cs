using QmailPS.Check.Repair;
using System.Collections.Generic;
using QmailPS.Posix;
using QmailPS.Queue;

namespace QmailPS.Check.Rules
{
    /// <summary>
    /// info/N/ID (queue-format.md §2.4, §3.2 "info empty, or not starting with F, or without NUL",
    /// "bytes after the F record", "info mtime in the future"): qmail-send's getinfo reads one F
    /// record and the mtime (the birth).
    /// </summary>
    internal static class InfoRules
    {
        public const string Types = "F";

        public static void Detect(RuleContext c, string rel, FileRead info, bool preprocessing, List<Finding> sink)
        {
            if (!info.Ok)
            {
                if (info.Errno == Errno.ENOENT) return; // finished while we looked
                AccessRules.Unreadable(rel, info.Errno, "qmail-send retries it for ever ('trouble opening " + rel + "').", "Quarantine the file and rebuild info.", sink);
                return;
            }
            AccessRules.ReadableByQmails(c, rel, info.Status, false, sink);
            RecordScan r = info.Records!;
            IssueSeverity sev(IssueSeverity s) => preprocessing ? IssueSeverity.Transient : s;
            if (r.Length == 0 || r.FirstByte != 'F' || r.FirstNul < 0)
                sink.Add(new Finding(QueueIssueKind.InfoBad, sev(IssueSeverity.Stuck), rel,
                    $"{rel} {(r.Length == 0 ? "is empty" : r.FirstByte != 'F' ? "does not start with an F record" : "has no NUL after the sender")}: qmail-send cannot read the sender, never finishes the message and never expires it.",
                    "Rebuild info with the sender (from todo, the bounce or the message itself)."));
            else if (r.FirstNul < r.Length - 1)
                sink.Add(new Finding(QueueIssueKind.InfoTrailingBytes, IssueSeverity.Cosmetic, rel,
                    $"{rel} has {r.Length - r.FirstNul - 1} byte(s) after its F record: qmail-send ignores them, but qmail-qread prints them as recipients.",
                    "Truncate info after the first record (keeping its mtime, the birth)."));
            if (info.Status.MTimeSeconds > c.Now + 60)
                sink.Add(new Finding(QueueIssueKind.InfoInFuture, IssueSeverity.Degraded, rel,
                    $"{rel} has a birth in the future ({UnixTime.ToUtc(info.Status.MTimeSeconds):u}): retries are scheduled as for a new message and it cannot expire before then.",
                    "Set its birth to now (Set-QmailMessageAge -Rejuvenate)."));
        }

        public static readonly QueueIssueKind[] Kinds = { QueueIssueKind.InfoBad, QueueIssueKind.InfoTrailingBytes, QueueIssueKind.InfoInFuture };

        public static void Plan(QueueIssue i, IRepairPlanner p)
        {
            switch (i.Kind)
            {
                case QueueIssueKind.InfoTrailingBytes:
                    p.Add(RepairStep.For(RepairOperation.CutAfterSender, i));
                    break;
                case QueueIssueKind.InfoInFuture:
                    p.Add(RepairStep.For(RepairOperation.SetBirthToNow, i));
                    break;
                case QueueIssueKind.InfoBad:
                    if (p.HasTodo(i.Id!.Value)) break; // qmail-send redoes info from todo
                    p.QuarantineMessage(i);
                    break;
            }
        }
    }
}
