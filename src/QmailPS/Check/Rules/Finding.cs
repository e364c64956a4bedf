using System;
using System.Collections.Generic;
using QmailPS.Posix;
using QmailPS.Queue;

namespace QmailPS.Check.Rules
{
    /// <summary>
    /// What one rule says about one file of a message, before it becomes a QueueIssue
    /// (Test-QmailQueue, Repair-QmailQueue) or a Damage line and State Damaged
    /// (Get-QmailQueueMessage): the same words and the same judgement everywhere.
    /// </summary>
    internal readonly struct Finding
    {
        public Finding(QueueIssueKind kind, IssueSeverity severity, string rel, string description, string fix)
        {
            Kind = kind; Severity = severity; Rel = rel; Description = description; Fix = fix;
        }

        public QueueIssueKind Kind { get; }
        public IssueSeverity Severity { get; }
        /// <summary>The file, relative to the queue root.</summary>
        public string Rel { get; }
        public string Description { get; }
        public string Fix { get; }

        /// <summary>
        /// Whether qmail-send fails this message now (stuck, or a recipient lost or delivered
        /// wrongly): Get-QmailQueueMessage lists it as Damaged. An id that is not its inode
        /// (Danger, but only for a later injection) and Transient, Degraded, Garbage or Cosmetic
        /// findings leave the message as qmail delivers it.
        /// </summary>
        public bool MakesDamaged =>
            (Severity == IssueSeverity.Danger || Severity == IssueSeverity.Stuck)
            && Kind != QueueIssueKind.IdNotInode && Kind != QueueIssueKind.TodoWithInfo && Kind != QueueIssueKind.SharedInode;
    }

    /// <summary>Who qmail's files belong to and when "now" is: what every rule judges against.</summary>
    internal sealed class RuleContext
    {
        public RuleContext(IFileSystem fs, DateTime? now = null)
        {
            Fs = fs;
            Qmailq = fs.LookupUser(QmailUsers.Qmailq)?.Uid;
            Qmails = fs.LookupUser(QmailUsers.Qmails)?.Uid;
            Qmailr = fs.LookupUser(QmailUsers.Qmailr)?.Uid;
            QmailGid = fs.LookupGroup(QmailUsers.QmailGroup);
            Now = UnixTime.ToSeconds(now ?? DateTime.UtcNow);
        }

        public IFileSystem Fs { get; }
        public uint? Qmailq { get; }
        public uint? Qmails { get; }
        public uint? Qmailr { get; }
        public uint? QmailGid { get; }
        /// <summary>Unix seconds.</summary>
        public long Now { get; }

        public string UserName(uint? uid) => uid is null ? "?" : Fs.UserName(uid.Value) ?? "uid " + uid;

        public static string Octal(uint mode) => "0" + Convert.ToString(mode, 8);

        public static bool CanAccess(FileStatus st, uint uid, uint? gid, uint want)
        {
            uint bits = st.Uid == uid ? (st.Permissions >> 6) : gid.HasValue && st.Gid == gid.Value ? (st.Permissions >> 3) : st.Permissions;
            return (bits & want) == want;
        }

        public static string FileError(int errno) => errno switch
        {
            DirectoryHandle.NotRegular => "not a regular file",
            Errno.ELOOP => "a symbolic link",
            _ => Errno.QmailText(errno),
        };
    }

    /// <summary>The outcome of reading one file: its records (null when it could not be read), or errno.</summary>
    internal readonly struct FileRead
    {
        public FileRead(RecordScan? records, FileStatus st, int errno) { Records = records; Status = st; Errno = errno; }
        public RecordScan? Records { get; }
        public FileStatus Status { get; }
        public int Errno { get; }
        public bool Ok => Records != null;
    }
}
