using System.Collections.Generic;
using QmailPS.Posix;

namespace QmailPS.Check.Repair
{
    /// <summary>
    /// One planned change, as data: an operation and its arguments. The -WhatIf text (Action) is
    /// made from them when the step is planned (QueueRepairer.Describe), and QueueRepairer.Apply
    /// does what they say; nothing is decided from the text.
    /// </summary>
    internal sealed class RepairStep
    {
        public RepairStep(RepairOperation operation, QueueIssueKind kind, IssueSeverity severity, ulong? id, string path)
        {
            Operation = operation; Kind = kind; Severity = severity; Id = id; Path = path;
        }

        public RepairOperation Operation { get; }
        /// <summary>The finding it repairs.</summary>
        public QueueIssueKind Kind { get; }
        public IssueSeverity Severity { get; }
        public ulong? Id { get; }
        /// <summary>The file or directory it changes (a renumbering: the old mess; a recovery: the mess).</summary>
        public string Path { get; }
        /// <summary>Rename, MoveToLayout: the new name. Quarantine of a second name: the name qmail reads.</summary>
        public string? Target { get; set; }
        /// <summary>Why, for the quarantine manifest: the finding's description.</summary>
        public string Reason { get; set; } = "";
        /// <summary>ResetOwnerAndMode: the owner and mode qmail's installer gives; keep the group (mess, todo, intd: qmail-queue keeps the caller's).</summary>
        public (string Owner, uint Mode) Owner { get; set; }
        public bool KeepGroup { get; set; }
        /// <summary>Renumber, FinishRenumber: the numbers; RecoverInfo after a renumbering: From is the old number.</summary>
        public ulong From { get; set; }
        public ulong To { get; set; }
        public ulong? RenumberedFrom { get; set; }
        /// <summary>MoveToLayout: what the file's move is, as found when planned.</summary>
        public LayoutMove Layout { get; set; }
        /// <summary>RewriteRecords: how the records are judged.</summary>
        public RecordRepair? Records { get; set; }
        /// <summary>
        /// Done only when the file is still there and, when it was seen (<see cref="Seen"/>), still
        /// the one inspected (or this run changed it itself): otherwise nothing is done and the next
        /// inspection judges it again.
        /// </summary>
        public bool OnlyIfUnchanged { get; set; }
        public FileStatus? Seen { get; set; }
        /// <summary>The batch whose directory fsyncs this step shares (renumberings), or null.</summary>
        public RenumberBatch? Batch { get; set; }
        /// <summary>Renumber, once its links are made: what that phase saw (QueueRepairer.BeginRenumber).</summary>
        public RenumberFacts? Begun { get; set; }
        /// <summary>The -WhatIf text, one line whatever bytes a name holds.</summary>
        public string Action { get; set; } = "";

        /// <summary>A step for finding <paramref name="i"/>: its kind, severity, id and file, and its description as the manifest's reason.</summary>
        public static RepairStep For(RepairOperation op, QueueIssue i) => new RepairStep(op, i.Kind, i.Severity, i.Id, i.Path) { Reason = i.Description };

        /// <summary>lchown and fchmod to qmail's owner and mode (keeping the group for mess, todo and intd).</summary>
        public static RepairStep Reset(QueueIssue i, (string Owner, uint Mode) owner, bool keepGroup = false) =>
            new RepairStep(RepairOperation.ResetOwnerAndMode, i.Kind, i.Severity, i.Id, i.Path) { Reason = i.Description, Owner = owner, KeepGroup = keepGroup };

        /// <summary>What Apply returns when the file was gone (or had changed) by then: no change was made, so none is reported.</summary>
        public static readonly string NothingLeft = new string('-', 1);
    }

    internal enum LayoutMove
    {
        /// <summary>rename to the new name.</summary>
        Move,
        /// <summary>the new name is the same inode: the old one is unlinked.</summary>
        UnlinkSecondName,
        /// <summary>the new name is another file: the old one goes to the quarantine.</summary>
        Quarantine,
    }

    /// <summary>A todo or channel file's records as judged when planned, and the digest of the bytes judged.</summary>
    internal sealed class RecordRepair
    {
        public RecordRepair(string types, RecordFix fix, byte[] digest, string partial) { Types = types; Fix = fix; Digest = digest; Partial = partial; }
        public string Types { get; }
        public RecordFix Fix { get; }
        public byte[] Digest { get; }
        /// <summary>The cut-off record, printable, or "".</summary>
        public string Partial { get; }
    }

    /// <summary>
    /// Renumberings that share their directory fsyncs (issue 14: one fsync per touched directory
    /// per phase, instead of about eight per renumbered message); see QueueRepairer.RunBatches.
    /// </summary>
    internal sealed class RenumberBatch
    {
        private readonly HashSet<ulong> _numbers = new HashSet<ulong>();

        /// <summary>In plan order.</summary>
        public List<RepairStep> Members { get; } = new List<RepairStep>();
        /// <summary>Members begun (their links made) and not yet completed.</summary>
        public List<RepairStep> Begun { get; } = new List<RepairStep>();
        public bool Completed { get; set; }
        /// <summary>Directories phase A linked into.</summary>
        public HashSet<string> Linked { get; } = new HashSet<string>(System.StringComparer.Ordinal);
        public System.IDisposable? Scope { get; set; }

        public bool IsLast(RepairStep step) => Members.Count > 0 && ReferenceEquals(Members[Members.Count - 1], step);

        /// <summary>Whether FROM or TO is a number a member already leaves or takes.</summary>
        public bool Touches(ulong from, ulong to) => _numbers.Contains(from) || _numbers.Contains(to);

        /// <summary>Whether the two batches have a number in common: one leaves or takes a number the other leaves or takes.</summary>
        public bool Shares(RenumberBatch other)
        {
            HashSet<ulong> small = _numbers.Count <= other._numbers.Count ? _numbers : other._numbers;
            HashSet<ulong> large = ReferenceEquals(small, _numbers) ? other._numbers : _numbers;
            foreach (ulong n in small) if (large.Contains(n)) return true;
            return false;
        }

        public void Add(RepairStep step)
        {
            step.Batch = this;
            Members.Add(step);
            _numbers.Add(step.From); _numbers.Add(step.To);
        }
    }

    /// <summary>
    /// A begun renumbering, as its first phase left it: bits of QueueRepairer's message files, the
    /// names that exist at the old number (Old) and those of them that are links of the name at the
    /// new number (Linked).
    /// </summary>
    internal readonly struct RenumberFacts
    {
        public RenumberFacts(int linked, int old) { Linked = linked; Old = old; }
        public int Linked { get; }
        public int Old { get; }
    }

    /// <summary>What came of one begun member of a <see cref="RenumberBatch"/>: done (quarantined: where to, if anywhere) or failed.</summary>
    internal readonly struct BatchOutcome
    {
        public BatchOutcome(RepairStep step, string? quarantined, System.Exception? error) { Step = step; Quarantined = quarantined; Error = error; }
        public RepairStep Step { get; }
        public string? Quarantined { get; }
        public System.Exception? Error { get; }
    }
}
