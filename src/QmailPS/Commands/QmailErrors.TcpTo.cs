using System;
using System.IO;
using System.Management.Automation;
using System.Net;
using QmailPS.TcpTo;

namespace QmailPS.Commands
{
    /// <summary>Errors of Get-QmailTcpTo and Clear-QmailTcpTo (lock/tcpto).</summary>
    internal static partial class QmailErrors
    {
        private const string RunAsQmailr = "Run as root (sudo pwsh) or as qmailr, like qmail-tcpto and qmail-tcpok.";

        /// <summary>Maps a failure to open, lock, read or write lock/tcpto to its ErrorRecord.</summary>
        public static ErrorRecord TcpTo(TcpToException e, TimeSpan lockTimeout) => e.Kind switch
        {
            TcpToFailure.NotFound => new ErrorRecord(new FileNotFoundException(e.Message, e.Path, e), "QmailTcpToNotFound", ErrorCategory.ObjectNotFound, e.Path)
            {
                ErrorDetails = new ErrorDetails(e.Message)
                {
                    RecommendedAction = "qmail's installer creates queue/lock/tcpto (1024 NUL bytes, qmailr:qmail 0644); qmail-tcpto fails the same way without it.",
                },
            },
            TcpToFailure.NotRegular => new ErrorRecord(e, "QmailTcpToNotRegularFile", ErrorCategory.InvalidType, e.Path),
            TcpToFailure.AccessDenied => new ErrorRecord(new UnauthorizedAccessException(e.Message, e), "QmailTcpToAccessDenied", ErrorCategory.PermissionDenied, e.Path)
            {
                ErrorDetails = new ErrorDetails(e.Message) { RecommendedAction = RunAsQmailr },
            },
            TcpToFailure.Locked => new ErrorRecord(new TimeoutException(e.Message, e), "QmailTcpToLocked", ErrorCategory.ResourceBusy, e.Path)
            {
                ErrorDetails = new ErrorDetails(e.Message)
                {
                    RecommendedAction = $"qmail-remote, qmail-tcpto and qmail-tcpok hold this lock for milliseconds. Find the holder in /proc/locks " +
                                        $"(a FLOCK line with the inode of {e.Path}), or retry with a longer -LockTimeoutSec (now {lockTimeout.TotalSeconds:0.###}).",
                },
            },
            _ => new ErrorRecord(e, "QmailTcpToIOError", FromErrno(e.ErrorNumber), e.Path),
        };

        public static ErrorRecord TcpToFormatUnknown(string path, string reason) => new ErrorRecord(
            new InvalidDataException($"{path} is in neither tcpto layout: {reason}."),
            "QmailTcpToFormatUnknown", ErrorCategory.InvalidData, path)
        {
            ErrorDetails = new ErrorDetails($"{path} is in neither tcpto layout (classic 16-byte records of qmail/netqmail/notqmail, or the 32-byte struct of the IPv6 patches): {reason}.")
            {
                RecommendedAction = "Read it anyway with -Format Classic or -Format Struct, or empty it with Clear-QmailTcpTo (what qmail-tcpok does).",
            },
        };

        public static ErrorRecord TcpToAddressNotFound(IPAddress address, string path, TcpToRecordFormat format)
        {
            string why = format == TcpToRecordFormat.Classic16 && address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork
                ? " (the classic format holds IPv4 addresses only)"
                : "";
            return new ErrorRecord(new ItemNotFoundException($"No record for {address} in {path}{why}; qmail-remote does not skip it."),
                "QmailTcpToAddressNotFound", ErrorCategory.ObjectNotFound, address);
        }

        public static ErrorRecord TcpToInvalidArgument(string message, object target) => new ErrorRecord(
            new ArgumentException(message), "QmailTcpToInvalidArgument", ErrorCategory.InvalidArgument, target);
    }
}
