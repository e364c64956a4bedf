namespace QmailPS
{
    /// <summary>How bad a finding is, in what qmail will do about it (queue-format.md §3.2).</summary>
    public enum IssueSeverity : long
    {
        /// <summary>Mail is lost or delivered twice (silently, or intermittently).</summary>
        Danger,
        /// <summary>qmail never delivers or finishes it, or stalls altogether, until someone repairs it.</summary>
        Stuck,
        /// <summary>qmail works, but worse (no instant wake-up, no timeout table, retries too soon).</summary>
        Degraded,
        /// <summary>Left-overs qmail ignores for ever or removes itself; safe to clean.</summary>
        Garbage,
        /// <summary>Only tools are confused (qmail-qread shows it oddly); delivery is not affected.</summary>
        Cosmetic,
        /// <summary>A normal state while qmail works (an injection or preprocessing in progress).</summary>
        Transient,
    }

    /// <summary>Each kind of finding: one per row of queue-format.md §3.2, plus owners, modes and file types.</summary>
    public enum QueueIssueKind : long
    {
        // structure
        QmailSendRunning,
        DirectoryMissing,
        DirectoryWrongType,
        DirectoryWrongOwner,
        DirectoryWrongMode,
        SplitDirectoryExtra,
        BigTodoMismatch,
        LockFileMissing,
        LockFileWrongType,
        LockFileWrongOwner,
        LockFileWrongMode,
        TcpToWrongSize,
        LockDirectoryExtraEntry,
        // names and file types
        NonNumericName,
        NonCanonicalName,
        WrongSplitDirectory,
        Symlink,
        ForeignFileType,
        // per message
        IdNotInode,
        OrphanMess,
        IntdWithoutMess,
        TodoWithoutMess,
        TodoUnreadable,
        TodoUnknownRecord,
        TodoTruncated,
        TodoEmpty,
        TodoWithoutSender,
        TodoWithInfo,
        StaleBounce,
        InfoWithoutMess,
        ChannelWithoutInfo,
        StrayFile,
        InfoBad,
        InfoTrailingBytes,
        InfoInFuture,
        ChannelEmpty,
        ChannelTruncated,
        ChannelUnknownRecord,
        ChannelAllDone,
        MessWrongOwner,
        MessNotReadableByQmailr,
        MessNoReceivedLine,
        /// <summary>A 0-byte mess, or one cut inside the line qmail-queue writes first, beside info or todo: every recipient would get an empty message.</summary>
        MessEmpty,
        FileWrongOwner,
        FileWrongMode,
        StalePidFile,
        PidFileHoldsMessageId,
        /// <summary>A queue file whose inode also has a name outside the queue (a hard link): never written, only renamed away.</summary>
        SharedInode,
    }

    /// <summary>One finding of Test-QmailQueue.</summary>
    public sealed class QueueIssue
    {
        public QueueIssue(QueueIssueKind kind, IssueSeverity severity, ulong? id, string path, string description, string fix, string queuePath)
        {
            Kind = kind; Severity = severity; Id = id; Path = path; Description = description; Fix = fix; QueuePath = queuePath;
        }

        public QueueIssueKind Kind { get; }
        public IssueSeverity Severity { get; }
        /// <summary>The message concerned, when there is one.</summary>
        public ulong? Id { get; }
        public string Path { get; }
        /// <summary>What is wrong and what qmail will do about it.</summary>
        public string Description { get; }
        /// <summary>What a repair does about it.</summary>
        public string Fix { get; }
        public string QueuePath { get; }

        public override string ToString() => $"{Severity} {Kind}: {Description}";
    }
}
