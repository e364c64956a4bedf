using QmailPS.Queue;
using QmailPS.Check.Repair;
using System.Collections.Generic;
using QmailPS.Posix;

namespace QmailPS.Check.Rules
{
    /// <summary>
    /// Owners and modes of a message's files (queue-format.md §1.3, §3.2 "not readable by
    /// qmails", "not writable by qmails"): what qmail-send can still use is Cosmetic; what it
    /// cannot read is Stuck; a channel file it cannot mark done is Danger (delivered twice).
    /// </summary>
    internal static class AccessRules
    {
        /// <summary>info/local/remote must be readable (channels writable) by qmails.</summary>
        public static void ReadableByQmails(RuleContext c, string rel, FileStatus st, bool needWrite, List<Finding> sink)
        {
            if (!c.Qmails.HasValue) return;
            bool read = RuleContext.CanAccess(st, c.Qmails.Value, c.QmailGid, 4);
            bool write = !needWrite || RuleContext.CanAccess(st, c.Qmails.Value, c.QmailGid, 2);
            if (!read)
                sink.Add(new Finding(QueueIssueKind.FileWrongOwner, IssueSeverity.Stuck, rel,
                    $"{rel} ({c.UserName(st.Uid)}, {RuleContext.Octal(st.Permissions)}) cannot be read by qmail-send: 'trouble opening {rel}; will try again later' for ever.",
                    "Give it back to qmails:qmail with mode 0600."));
            else if (!write)
                sink.Add(new Finding(QueueIssueKind.FileWrongOwner, IssueSeverity.Danger, rel,
                    $"{rel} ({c.UserName(st.Uid)}, {RuleContext.Octal(st.Permissions)}) cannot be written by qmail-send: it cannot mark deliveries done ('message will be delivered twice!').",
                    "Give it back to qmails:qmail with mode 0600."));
            else Owner(c, rel, st, c.Qmails, Mode.Rw_______, sink);
        }

        /// <summary>A file qmail can use whoever owns it: a wrong owner or mode is Cosmetic.</summary>
        public static void Owner(RuleContext c, string rel, FileStatus st, uint? owner, uint mode, List<Finding> sink)
        {
            if (owner.HasValue && st.Uid != owner.Value)
                sink.Add(new Finding(QueueIssueKind.FileWrongOwner, IssueSeverity.Cosmetic, rel,
                    $"{rel} is owned by {c.UserName(st.Uid)}, not {c.UserName(owner)} (qmail can still use it).", $"Give it back to {c.UserName(owner)}."));
            else if (st.Permissions != mode)
                sink.Add(new Finding(QueueIssueKind.FileWrongMode, IssueSeverity.Cosmetic, rel,
                    $"{rel} has mode {RuleContext.Octal(st.Permissions)}, not {RuleContext.Octal(mode)} (qmail can still use it).", $"Reset its mode to {RuleContext.Octal(mode)}."));
        }

        /// <summary>A file of a message that is there but cannot be read (a symlink, a FIFO, no permission).</summary>
        public static void Unreadable(string rel, int errno, string effect, string fix, List<Finding> sink, QueueIssueKind otherwise = QueueIssueKind.ForeignFileType) =>
            sink.Add(new Finding(errno == Errno.ELOOP ? QueueIssueKind.Symlink : errno == DirectoryHandle.NotRegular ? QueueIssueKind.ForeignFileType : otherwise,
                IssueSeverity.Stuck, rel, $"{rel} cannot be read ({RuleContext.FileError(errno)}): {effect}", fix));

        public static readonly QueueIssueKind[] Kinds =
            { QueueIssueKind.FileWrongOwner, QueueIssueKind.FileWrongMode, QueueIssueKind.Symlink, QueueIssueKind.ForeignFileType, QueueIssueKind.SharedInode };

        /// <summary>
        /// Owners and modes are reset (lchown, fchmod: a link is never followed). A symbolic link or
        /// a FIFO, socket, device is never opened: a linked directory or lock file is itself moved
        /// to the quarantine and the real one made; a link at a message's mess takes the message with
        /// it; any other goes alone. A name sharing its inode with a file outside the queue is only
        /// renamed away, never written.
        /// </summary>
        public static void Plan(QueueIssue i, IRepairPlanner p)
        {
            string rel = p.Rel(i.Path), top = rel.Split('/')[0];
            switch (i.Kind)
            {
                case QueueIssueKind.FileWrongOwner:
                case QueueIssueKind.FileWrongMode:
                    p.Add(RepairStep.Reset(i, QueueLayout.FileOwner(top), keepGroup: top is "mess" or "todo" or "intd"));
                    break;
                case QueueIssueKind.Symlink when i.Id is null:
                    // No mail in a lock file or behind a directory's link: the name goes, what it points to is never entered.
                    p.Add(RepairStep.For(StructureRules.IsLockFile(rel) ? RepairOperation.ReplaceLockFile : RepairOperation.ReplaceWithDirectory, i));
                    break;
                case QueueIssueKind.Symlink when top == "mess" && i.Path == p.PathOf("mess", i.Id!.Value):
                    p.QuarantineMessage(i);
                    break;
                case QueueIssueKind.Symlink:
                case QueueIssueKind.ForeignFileType:
                    p.Add(RepairStep.For(RepairOperation.Quarantine, i));
                    break;
                case QueueIssueKind.SharedInode when top == "lock":
                    p.Add(RepairStep.For(RepairOperation.ReplaceLockFile, i));
                    break;
                case QueueIssueKind.SharedInode when i.Id.HasValue && top != "pid" && p.Exists(p.PathOf("mess", i.Id.Value)):
                    p.QuarantineMessage(i);
                    break;
                case QueueIssueKind.SharedInode:
                    p.Add(RepairStep.For(RepairOperation.Quarantine, i));
                    break;
            }
        }
    }
}
