using QmailPS.Check.Repair;
using QmailPS.Queue;

namespace QmailPS.Check.Rules
{
    /// <summary>
    /// The queue's directories, lock files and pid/ (queue-format.md §1, §3.2 "directory missing",
    /// "lock file missing", "lock/tcpto wrong size", "pid left-overs", "split directory beyond the
    /// split"): what qmail's installer makes and qmail-send needs before it reads any message.
    /// Detected by QueueInspector's walk of the queue's structure.
    /// </summary>
    internal static class StructureRules
    {
        public static readonly QueueIssueKind[] Kinds =
        {
            QueueIssueKind.QmailSendRunning, QueueIssueKind.DirectoryMissing, QueueIssueKind.DirectoryWrongType, QueueIssueKind.DirectoryWrongOwner,
            QueueIssueKind.DirectoryWrongMode, QueueIssueKind.SplitDirectoryExtra, QueueIssueKind.LockFileMissing, QueueIssueKind.LockFileWrongType,
            QueueIssueKind.LockFileWrongOwner, QueueIssueKind.LockFileWrongMode, QueueIssueKind.TcpToWrongSize, QueueIssueKind.LockDirectoryExtraEntry,
            QueueIssueKind.StalePidFile, QueueIssueKind.PidFileHoldsMessageId,
        };

        public static bool IsLockFile(string rel) => rel is "lock/sendmutex" or "lock/tcpto" or "lock/trigger";

        /// <summary>Owner and mode qmail's installer gives each lock file.</summary>
        public static (string Owner, uint Mode) LockOwner(string rel) => rel switch
        {
            "lock/tcpto" => (QmailUsers.Qmailr, Posix.Mode.Rw_r__r__),
            "lock/trigger" => (QmailUsers.Qmails, Posix.Mode.Rw__w__w_),
            _ => (QmailUsers.Qmails, Posix.Mode.Rw_______),
        };

        /// <summary>
        /// Made as qmail's installer makes them; what is in the way (a file where a directory
        /// belongs, a lock file of the wrong type or size) goes to the quarantine first. A split
        /// directory beyond the split is removed once its files have moved out (rmdir refuses a
        /// directory that is not empty). A pid/ file qmail-send would remove goes to the
        /// quarantine; a young one belongs to a running qmail-send.
        /// </summary>
        public static void Plan(QueueIssue i, IRepairPlanner p)
        {
            string rel = p.Rel(i.Path), top = rel.Split('/')[0];
            switch (i.Kind)
            {
                case QueueIssueKind.DirectoryMissing:
                    p.Add(RepairStep.For(RepairOperation.CreateDirectory, i));
                    break;
                case QueueIssueKind.DirectoryWrongType:
                    p.Add(RepairStep.For(RepairOperation.ReplaceWithDirectory, i));
                    break;
                case QueueIssueKind.DirectoryWrongOwner:
                case QueueIssueKind.DirectoryWrongMode:
                    p.Add(RepairStep.Reset(i, QueueLayout.DirectoryOwner(top)));
                    break;
                case QueueIssueKind.SplitDirectoryExtra:
                    p.AddLast(RepairStep.For(RepairOperation.RemoveDirectory, i));
                    break;
                case QueueIssueKind.LockFileMissing:
                    p.Add(RepairStep.For(RepairOperation.CreateLockFile, i));
                    break;
                case QueueIssueKind.LockFileWrongType:
                case QueueIssueKind.TcpToWrongSize:
                    p.Add(RepairStep.For(RepairOperation.ReplaceLockFile, i));
                    break;
                case QueueIssueKind.LockFileWrongOwner:
                case QueueIssueKind.LockFileWrongMode:
                    p.Add(RepairStep.Reset(i, LockOwner(rel)));
                    break;
                case QueueIssueKind.LockDirectoryExtraEntry:
                case QueueIssueKind.StalePidFile when i.Severity == IssueSeverity.Garbage:
                    p.Add(RepairStep.For(RepairOperation.Quarantine, i));
                    break;
                case QueueIssueKind.StalePidFile:
                case QueueIssueKind.PidFileHoldsMessageId:
                case QueueIssueKind.QmailSendRunning:
                    break;
            }
        }
    }
}
