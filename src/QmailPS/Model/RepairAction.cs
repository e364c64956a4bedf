namespace QmailPS
{
    /// <summary>One change Repair-QmailQueue made (or, with -WhatIf, would make).</summary>
    public sealed class RepairAction
    {
        public RepairAction(QueueIssueKind kind, RepairOperation operation, ulong? id, string action, string path, string? quarantinedTo, string queuePath)
        {
            Kind = kind; Operation = operation; Id = id; Action = action; Path = path; QuarantinedTo = quarantinedTo; QueuePath = queuePath;
        }

        /// <summary>The finding this fixes.</summary>
        public QueueIssueKind Kind { get; }
        /// <summary>What kind of change it is (Quarantine, Rename, Renumber, RewriteRecords, ...).</summary>
        public RepairOperation Operation { get; }
        public ulong? Id { get; }
        /// <summary>What was done, in qmail's terms.</summary>
        public string Action { get; }
        public string Path { get; }
        /// <summary>Where damaged data went, when it was moved out of the queue.</summary>
        public string? QuarantinedTo { get; }
        public string QueuePath { get; }

        public override string ToString() => Action;
    }
}
