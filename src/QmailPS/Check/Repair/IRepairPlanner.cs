namespace QmailPS.Check.Repair
{
    /// <summary>
    /// What a rule family's Plan may use (QueueRepairer implements it): the queue as it is now,
    /// and the plan it adds its steps to. The order of the plan (structure, renumbering, names,
    /// whole messages, then the rest) is the repairer's; what each finding needs is the rule's.
    /// </summary>
    internal interface IRepairPlanner
    {
        /// <summary>The path relative to the queue root ("." for the root).</summary>
        string Rel(string path);
        /// <summary>Where qmail reads DIR's file of message ID.</summary>
        string PathOf(string dir, ulong id);
        /// <summary>lstat: anything at PATH (never followed).</summary>
        bool Exists(string path);
        bool IsRegularFile(string path);
        /// <summary>todo/ID in either layout's place.</summary>
        bool HasTodo(ulong id);
        /// <summary>A step, with its -WhatIf text.</summary>
        void Add(RepairStep step);
        /// <summary>A step after every other (rmdir, once the files have moved out).</summary>
        void AddLast(RepairStep step);
        /// <summary>Every file of the finding's message to the quarantine, its envelope in the manifest (once per message).</summary>
        void QuarantineMessage(QueueIssue i);
        /// <summary>Cut and unknown records of the finding's file, judged together (once per file).</summary>
        void RewriteRecords(QueueIssue i, string types);
        /// <summary>A message without info: recovered when its bytes allow, else quarantined whole.</summary>
        void RecoverOrQuarantine(QueueIssue i);
        /// <summary>A stale todo beside info: quarantined when it holds the same envelope, else the postmaster's call.</summary>
        void StaleTodo(QueueIssue i);
        /// <summary>Left alone, with the reason (reported, never silently skipped).</summary>
        void NotRepaired(QueueIssue i, string why);
    }
}
