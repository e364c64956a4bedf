namespace QmailPS
{
    /// <summary>What one repair step does to the queue (RepairAction.Operation).</summary>
    public enum RepairOperation
    {
        /// <summary>mkdir with qmail's installer's owner and mode.</summary>
        CreateDirectory,
        /// <summary>What is at a directory's name (a file, a symbolic link: never followed) to the quarantine, then mkdir.</summary>
        ReplaceWithDirectory,
        /// <summary>rmdir of an empty directory qmail does not use (beyond the split, or of the other todo layout).</summary>
        RemoveDirectory,
        /// <summary>A lock file made as qmail's installer makes it.</summary>
        CreateLockFile,
        /// <summary>What is at a lock file's name to the quarantine, then the lock file made.</summary>
        ReplaceLockFile,
        /// <summary>lchown and fchmod (never through a symbolic link).</summary>
        ResetOwnerAndMode,
        /// <summary>One file to the quarantine.</summary>
        Quarantine,
        /// <summary>A stale todo (with the intd it was linked from) to the quarantine.</summary>
        QuarantineStaleTodo,
        /// <summary>Every file of one message to the quarantine, its envelope in the manifest.</summary>
        QuarantineMessage,
        /// <summary>rename(2) to the name qmail reads.</summary>
        Rename,
        /// <summary>todo/ or intd/ file moved to its place in the todo layout qmail uses.</summary>
        MoveToLayout,
        /// <summary>A todo or channel file written again with only the records qmail reads (original to the quarantine).</summary>
        RewriteRecords,
        /// <summary>info cut after its F record, keeping its mtime.</summary>
        CutAfterSender,
        /// <summary>info's mtime (the birth) set to now.</summary>
        SetBirthToNow,
        /// <summary>info re-created for a message that lost it.</summary>
        RecoverInfo,
        /// <summary>Every file of a message moved to the number of its mess inode.</summary>
        Renumber,
        /// <summary>The old names an interrupted renumbering left unlinked.</summary>
        FinishRenumber,
    }
}
