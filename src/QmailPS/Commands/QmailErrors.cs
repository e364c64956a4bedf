using System;
using System.IO;
using System.Management.Automation;
using QmailPS.Posix;
using QmailPS.Queue;

namespace QmailPS.Commands
{
    /// <summary>Every ErrorRecord the module writes, with its stable ErrorId, in one place.</summary>
    internal static partial class QmailErrors
    {
        public static ErrorCategory FromErrno(int errno) => errno switch
        {
            Errno.EPERM or Errno.EACCES => ErrorCategory.PermissionDenied,
            Errno.ENOENT or Errno.ENOTDIR => ErrorCategory.ObjectNotFound,
            Errno.EAGAIN or Errno.EMFILE or Errno.ENFILE => ErrorCategory.ResourceBusy,
            Errno.EINVAL => ErrorCategory.InvalidArgument,
            Errno.ENOSPC => ErrorCategory.WriteError,
            _ => ErrorCategory.ReadError,
        };

        public static ErrorRecord QueueNotFound(string candidates) => new ErrorRecord(
            new DirectoryNotFoundException($"No qmail queue found: QMAIL_HOME is not set and none of {candidates} exists. Use -QueuePath."),
            "QmailQueueNotFound", ErrorCategory.ObjectNotFound, candidates);

        public static ErrorRecord NotFileSystem(string path) => new ErrorRecord(
            new ArgumentException($"'{path}' is not a file-system path; a qmail queue is a directory."),
            "QmailPathNotFileSystem", ErrorCategory.InvalidArgument, path);

        public static ErrorRecord NotAQueue(NotAQueueException e) => new ErrorRecord(e, "QmailNotAQueue", ErrorCategory.InvalidArgument, e.QueuePath)
        {
            ErrorDetails = new ErrorDetails(e.Message)
            {
                RecommendedAction = e.Suggestion != null
                    ? $"Did you mean -QueuePath {e.Suggestion}? -QueuePath is the queue directory itself, not the qmail home."
                    : "Give -QueuePath the queue directory itself, e.g. /var/qmail/queue.",
            },
        };

        public static ErrorRecord AccessDenied(QueueAccessException e) => new ErrorRecord(e, "QmailQueueAccessDenied", FromErrno(e.ErrorNumber), e.QueuePath)
        {
            ErrorDetails = new ErrorDetails(e.Message) { RecommendedAction = "Run as root (sudo pwsh), or as qmails with group qmail, like qmail-qread." },
        };

        public static ErrorRecord DirectoryUnreadable(string path, int errno, string text) => new ErrorRecord(
            new IOException(text), "QmailQueueDirectoryUnreadable", FromErrno(errno), path);

        public static ErrorRecord MessageNotFound(ulong id, string root) => new ErrorRecord(
            new ItemNotFoundException($"No message {id} in the queue '{root}' (neither todo/{id} nor info/…/{id} exists)."),
            "QmailMessageNotFound", ErrorCategory.ObjectNotFound, id);

        public static ErrorRecord QmailSendRunning(string root, SendMutexState state, string action) => new ErrorRecord(
            new System.InvalidOperationException($"qmail-send is running on '{root}' ({state.Method}). Stop it first (svc -d, systemctl stop qmail), or use -Force for {action} on the live queue."),
            "QmailSendRunning", ErrorCategory.ResourceBusy, root)
        {
            ErrorDetails = new ErrorDetails($"qmail-send is running on '{root}' (pid {state.ProcessId?.ToString() ?? "unknown"}); refusing to change the queue under it.")
            { RecommendedAction = "Stop qmail-send, or add -Force to use the live-safe method." },
        };

        public static ErrorRecord QueueExists(string path, string? reason = null) => new ErrorRecord(
            new IOException($"'{path}' already exists and {reason ?? "is not an empty directory"}; New-QmailQueue never touches an existing queue (Repair-QmailQueue fixes one) and never builds one through a symbolic link."),
            "QmailQueueExists", ErrorCategory.ResourceExists, path);

        public static ErrorRecord UsersMissing(string what) => new ErrorRecord(
            new System.InvalidOperationException($"The qmail accounts are missing: {what}. Create them as qmail's INSTALL.ids says before creating or writing a queue."),
            "QmailUsersMissing", ErrorCategory.ObjectNotFound, what);

        public static ErrorRecord BadAddress(string which, string address, string problem) => new ErrorRecord(
            new System.ArgumentException($"The {which} '{Visible(address)}' {problem}."),
            "QmailBadAddress", ErrorCategory.InvalidArgument, address);

        public static ErrorRecord BadQuarantinePath(string path, string why) => new ErrorRecord(
            new System.ArgumentException($"The quarantine '{path}' cannot be used: {why}. Give -QuarantinePath a directory outside the queue, on the same file system."),
            "QmailBadQuarantinePath", ErrorCategory.InvalidArgument, path);

        public static ErrorRecord WriteFailed(string what, object target, System.Exception e) => new ErrorRecord(
            e, "QmailWriteFailed", e is PosixIOException p ? FromErrno(p.Errno) : ErrorCategory.WriteError, target)
        {
            ErrorDetails = new ErrorDetails($"{what} failed: {e.Message}"),
        };

        private static string Visible(string s) => s.Replace("\0", "\\0").Replace("\n", "\\n").Replace("\r", "\\r");
    }
}
