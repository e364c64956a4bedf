using QmailPS.Queue;
using QmailPS.Check.Repair;
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using QmailPS.Posix;

namespace QmailPS.Check.Rules
{
    /// <summary>
    /// mess/N/ID (queue-format.md §2.1, §3.2 "mess owner ≠ qmailq, or not a regular file", "mess
    /// not readable by qmailr", "ID != inode(mess)", "0-byte mess", "info without mess"): what
    /// qmail-spawn and qmail-send make of the message file itself.
    /// </summary>
    internal static class MessRules
    {
        /// <summary>The line qmail-queue always writes first.</summary>
        public const string ReceivedStart = "Received: (qmail ";
        public static int HeadBytes => ReceivedStart.Length;

        /// <param name="head">The first <see cref="HeadBytes"/> bytes when the reader read them (length in <paramref name="headLength"/>), else null.</param>
        /// <param name="enveloped">todo or info exists: qmail-send will deliver this mess.</param>
        public static void Detect(RuleContext c, string rel, ulong id, FileStatus mess, byte[]? head, int headLength, bool enveloped, List<Finding> sink)
        {
            string sid = id.ToString(CultureInfo.InvariantCulture);
            if (mess.Kind != FileKind.Regular)
            {
                sink.Add(new Finding(mess.Kind == FileKind.Symlink ? QueueIssueKind.Symlink : QueueIssueKind.ForeignFileType, IssueSeverity.Stuck, rel,
                    $"{rel} is a {FileStatus.Describe(mess.Kind)}: every delivery is deferred ('Sorry, message has wrong type. (#4.3.5)').",
                    "Quarantine the message."));
                return;
            }
            if (mess.Inode != id)
                sink.Add(new Finding(QueueIssueKind.IdNotInode, IssueSeverity.Danger, rel,
                    $"message {sid} is stored in inode {mess.Inode} (the queue was copied: cp, rsync, tar): a new message can get inode {sid} and fail with 'qq trouble creating files in queue', or qmail-send's own bounce can.",
                    $"Renumber it to {mess.Inode}: move mess, info, local, remote, todo, intd and bounce together."));
            if (c.Qmailq.HasValue && mess.Uid != c.Qmailq.Value)
                sink.Add(new Finding(QueueIssueKind.MessWrongOwner, IssueSeverity.Stuck, rel,
                    $"{rel} is owned by {c.UserName(mess.Uid)}, not qmailq: every delivery is deferred ('Sorry, message has wrong owner. (#4.3.5)') until it bounces after queuelifetime.",
                    "Give it back to qmailq (lchown; the group is free)."));
            else if (c.Qmailr.HasValue && !RuleContext.CanAccess(mess, c.Qmailr.Value, c.QmailGid, 4))
                sink.Add(new Finding(QueueIssueKind.MessNotReadableByQmailr, IssueSeverity.Stuck, rel,
                    $"{rel} (mode {RuleContext.Octal(mess.Permissions)}) cannot be read by qmail-remote: remote deliveries fail with 'qmail-spawn unable to open message'.",
                    "Reset its mode to 0644."));
            else if (mess.Permissions != Mode.Rw_r__r__)
                sink.Add(new Finding(QueueIssueKind.FileWrongMode, IssueSeverity.Cosmetic, rel, $"{rel} has mode {RuleContext.Octal(mess.Permissions)}, not 0644.", "Reset its mode to 0644."));
            // A mess with no bytes, or cut inside the Received line qmail-queue always writes
            // first, is what a killed qmail-queue leaves: harmless alone (qmail cleans it), but
            // beside an envelope qmail-send delivers it, an empty message, to every recipient.
            if (enveloped && IsStub(mess.Size, head, headLength))
            {
                int n = mess.Size == 0 ? 0 : headLength;
                sink.Add(new Finding(QueueIssueKind.MessEmpty, IssueSeverity.Danger, rel,
                    n == 0 ? $"{rel} is empty beside the envelope of message {sid}: qmail-send would deliver an empty message to every recipient."
                           : $"{rel} holds only {n} byte(s), cut inside the Received line qmail-queue writes first, beside the envelope of message {sid}: qmail-send would deliver that stub to every recipient.",
                    "Move the whole message to the quarantine, its envelope (sender and recipients) in the manifest."));
                return;
            }
            // qmail-queue always writes its Received line first; a replacement might not (warning level only).
            if (mess.Size > 0 && head != null && headLength >= 0 && (headLength < HeadBytes || Encoding.ASCII.GetString(head, 0, HeadBytes) != ReceivedStart))
                sink.Add(new Finding(QueueIssueKind.MessNoReceivedLine, IssueSeverity.Cosmetic, rel,
                    $"{rel} does not start with qmail-queue's 'Received: (qmail ' line: it was not queued by qmail-queue.", "Nothing, if another queueing program is in use."));
        }

        /// <summary>Whether the reader must read the head to judge this mess (a short one might be a stub).</summary>
        public static bool NeedsHead(FileStatus mess) => mess.Kind == FileKind.Regular && mess.Size > 0 && mess.Size < HeadBytes;

        /// <summary>0 bytes, or a start of "Received: (qmail " and nothing more: a killed qmail-queue's mess.</summary>
        public static bool IsStub(long size, byte[]? head, int headLength) =>
            size == 0 || (size < HeadBytes && head != null && headLength > 0 && headLength < HeadBytes
                          && ReceivedStart.StartsWith(Encoding.ASCII.GetString(head, 0, headLength), StringComparison.Ordinal));

        /// <summary>mess/N/ID is gone or cannot be stat'ed while its envelope is there (§3.2 "info without mess", "todo without mess").</summary>
        public static void Missing(string messRel, ulong id, int errno, string? todoRel, string? infoRel, List<Finding> sink)
        {
            string sid = id.ToString(CultureInfo.InvariantCulture);
            if (errno != Errno.ENOENT)
                sink.Add(new Finding(QueueIssueKind.ForeignFileType, IssueSeverity.Stuck, messRel,
                    $"{messRel} cannot be examined ({Errno.QmailText(errno)}): every delivery is deferred.", "Quarantine the message."));
            else if (todoRel != null)
                sink.Add(new Finding(QueueIssueKind.TodoWithoutMess, IssueSeverity.Stuck, todoRel,
                    $"{todoRel} has no {messRel}: qmail-send warns 'unable to stat {messRel}' at every todo scan and never cleans it.",
                    "Quarantine the envelope (there is no message to deliver)."));
            else if (infoRel != null)
                sink.Add(new Finding(QueueIssueKind.InfoWithoutMess, IssueSeverity.Stuck, infoRel,
                    $"message {sid} has {infoRel} but no {messRel}: every delivery is deferred ('qmail-spawn unable to open message'), and after queuelifetime the bounce can never be made.",
                    "Quarantine the envelope with a manifest of its recipients."));
        }

        public static readonly QueueIssueKind[] Kinds =
        {
            QueueIssueKind.MessWrongOwner, QueueIssueKind.MessNotReadableByQmailr, QueueIssueKind.MessNoReceivedLine, QueueIssueKind.MessEmpty,
            QueueIssueKind.InfoWithoutMess, QueueIssueKind.TodoWithoutMess, QueueIssueKind.OrphanMess, QueueIssueKind.IdNotInode,
        };

        /// <summary>
        /// The mess gets qmailq's owner and mode back (keeping its group, as qmail-queue does); a
        /// message whose body is missing or unusable goes to the quarantine whole, envelope in the
        /// manifest; an orphan qmail-send would delete goes to the quarantine, a young one is left to
        /// qmail. Renumbering (IdNotInode) is the repairer's own step, as it moves the whole message.
        /// </summary>
        public static void Plan(QueueIssue i, IRepairPlanner p)
        {
            switch (i.Kind)
            {
                case QueueIssueKind.MessWrongOwner:
                case QueueIssueKind.MessNotReadableByQmailr:
                    p.Add(RepairStep.Reset(i, QueueLayout.FileOwner("mess"), keepGroup: true));
                    break;
                case QueueIssueKind.MessEmpty:
                case QueueIssueKind.InfoWithoutMess:
                case QueueIssueKind.TodoWithoutMess:
                    p.QuarantineMessage(i);
                    break;
                case QueueIssueKind.OrphanMess when i.Severity == IssueSeverity.Garbage:
                    p.Add(RepairStep.For(RepairOperation.Quarantine, i));
                    break;
                case QueueIssueKind.OrphanMess:
                case QueueIssueKind.MessNoReceivedLine:
                case QueueIssueKind.IdNotInode:
                    break;
            }
        }
    }
}
