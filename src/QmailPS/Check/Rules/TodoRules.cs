using QmailPS.Check.Repair;
using System.Collections.Generic;
using QmailPS.Posix;
using QmailPS.Queue;

namespace QmailPS.Check.Rules
{
    /// <summary>
    /// todo/ID (queue-format.md §2.2, §2.3, §3.2 "todo unreadable", "unknown record type",
    /// "last record truncated", "todo empty", "todo without F"): what qmail-send's todo_do makes of it.
    /// </summary>
    internal static class TodoRules
    {
        public const string Types = "upFT";

        public static void Detect(RuleContext c, string rel, FileRead todo, bool preprocessing, List<Finding> sink)
        {
            if (!todo.Ok)
            {
                if (todo.Errno == Errno.ENOENT) return; // preprocessed while we looked
                AccessRules.Unreadable(rel, todo.Errno, $"qmail-send warns 'unable to open {rel}' at every scan.", "Quarantine the message.", sink, QueueIssueKind.TodoUnreadable);
                return;
            }
            FileStatus st = todo.Status;
            if (c.Qmails.HasValue && !RuleContext.CanAccess(st, c.Qmails.Value, c.QmailGid, 4))
                sink.Add(new Finding(QueueIssueKind.TodoUnreadable, IssueSeverity.Stuck, rel,
                    $"{rel} ({c.UserName(st.Uid)}, {RuleContext.Octal(st.Permissions)}) cannot be read by qmail-send: 'unable to open {rel}' at every scan.",
                    "Give it back to qmailq with mode 0644."));
            else AccessRules.Owner(c, rel, st, c.Qmailq, Mode.Rw_r__r__, sink);
            RecordScan r = todo.Records!;
            if (r.Length == 0)
                sink.Add(new Finding(QueueIssueKind.TodoEmpty, IssueSeverity.Stuck, rel,
                    $"{rel} is empty: qmail-send writes an empty info file and then fails silently every 123 s for ever.", "Quarantine the message (its recipients are unknown)."));
            else if (r.Senders == 0)
                sink.Add(new Finding(QueueIssueKind.TodoWithoutSender, IssueSeverity.Stuck, rel,
                    $"{rel} has no F (sender) record: the message never finishes ('trouble opening info').", "Rebuild the envelope with a sender, or quarantine it."));
            if (r.UnknownAt >= 0)
                sink.Add(new Finding(QueueIssueKind.TodoUnknownRecord, IssueSeverity.Stuck, rel,
                    $"{rel} has an unknown record {ChannelRules.ShowType(r.UnknownType)} at byte {r.UnknownAt}: qmail-send abandons preprocessing at every scan ('unknown record type in todo').",
                    "Rewrite the envelope without the unknown record."));
            if (r.Truncated is byte[] cut)
                sink.Add(new Finding(QueueIssueKind.TodoTruncated, preprocessing ? IssueSeverity.Transient : r.TruncatedRecipient ? IssueSeverity.Danger : IssueSeverity.Cosmetic, rel,
                    r.TruncatedRecipient ? $"the last record of {rel}, {ChannelRules.ShowCut(r)}, has no NUL: qmail-send silently drops that recipient."
                                         : $"the last record of {rel}, {ChannelRules.ShowCut(r)}, has no NUL: qmail-send ignores it.",
                    ChannelRules.CutFix));
        }

        /// <summary>bounce/ID beside a message not yet preprocessed (§3.2 "stale bounce/ID when ID is reused").</summary>
        public static void StaleBounce(string bounceRel, List<Finding> sink) =>
            sink.Add(new Finding(QueueIssueKind.StaleBounce, IssueSeverity.Danger, bounceRel,
                $"{bounceRel} already exists for a message not yet preprocessed (an id reused after an old message): qmail-send will attach that old bounce text to this message.",
                "Move the old bounce file to the quarantine."));

        public static readonly QueueIssueKind[] Kinds =
        {
            QueueIssueKind.TodoUnreadable, QueueIssueKind.TodoUnknownRecord, QueueIssueKind.TodoTruncated, QueueIssueKind.TodoEmpty,
            QueueIssueKind.TodoWithoutSender, QueueIssueKind.TodoWithInfo, QueueIssueKind.StaleBounce, QueueIssueKind.IntdWithoutMess,
        };

        /// <summary>
        /// An unreadable todo gets qmail's owner back; cut and unknown records are judged with the
        /// rest of the file; a todo qmail-send cannot preprocess at all (empty, no sender) takes its
        /// message to the quarantine; a stale todo beside info goes when it holds the same envelope.
        /// A bounce of a message not yet preprocessed, and an intd without mess, are left-overs.
        /// </summary>
        public static void Plan(QueueIssue i, IRepairPlanner p)
        {
            switch (i.Kind)
            {
                case QueueIssueKind.TodoUnreadable:
                    if (p.IsRegularFile(i.Path)) p.Add(RepairStep.Reset(i, QueueLayout.FileOwner("todo"), keepGroup: true));
                    else p.NotRepaired(i, "this version does not repair it");
                    break;
                case QueueIssueKind.TodoTruncated:
                case QueueIssueKind.TodoUnknownRecord:
                    p.RewriteRecords(i, Types);
                    break;
                case QueueIssueKind.TodoEmpty:
                case QueueIssueKind.TodoWithoutSender:
                    p.QuarantineMessage(i);
                    break;
                case QueueIssueKind.TodoWithInfo:
                    // With done recipients the todo is stale (they would be delivered again); otherwise qmail copes.
                    if (i.Severity == IssueSeverity.Danger) p.StaleTodo(i);
                    break;
                case QueueIssueKind.StaleBounce:
                case QueueIssueKind.IntdWithoutMess:
                    p.Add(RepairStep.For(RepairOperation.Quarantine, i));
                    break;
            }
        }
    }
}
