using System;
using System.Management.Automation;
using QmailPS.Posix;

namespace QmailPS.Commands
{
    /// <summary>The errors of Get-QmailProcess and Stop-QmailZombie. The pid is the TargetObject.</summary>
    internal static partial class QmailErrors
    {
        public static ErrorRecord ProcessNotFound(int pid) => new ErrorRecord(
            new ItemNotFoundException($"There is no process {pid}."),
            "QmailProcessNotFound", ErrorCategory.ObjectNotFound, pid);

        public static ErrorRecord ProgramNameUnknown(string name, string[] known) => new ErrorRecord(
            new ArgumentException($"'{name}' is not the name of a qmail program ({string.Join(", ", known)})."),
            "QmailProcessNameUnknown", ErrorCategory.InvalidArgument, name);

        public static ErrorRecord ProcessNotQmail(int pid, string what) => new ErrorRecord(
            new ArgumentException($"Process {pid} is not a qmail program ({what})."),
            "QmailProcessNotQmail", ErrorCategory.InvalidArgument, pid);

        public static ErrorRecord ProcessNotQmailExecutable(QmailProcess p, string detail) => new ErrorRecord(
            new InvalidOperationException($"Refusing to signal process {p.ProcessId}: it calls itself {p.Name}, but its {detail} is not qmail's {p.Name}."),
            "QmailProcessNotQmail", ErrorCategory.SecurityError, p.ProcessId)
        {
            ErrorDetails = new ErrorDetails($"Process {p.ProcessId} is not qmail's {p.Name} ({detail}); it was not signalled.")
            { RecommendedAction = "Stop it with Stop-Process if you are sure; Stop-QmailZombie only signals qmail's own executables." },
        };

        public static ErrorRecord ProcessReused(QmailProcess p, DateTime? nowStarted) => new ErrorRecord(
            new InvalidOperationException($"Refusing to signal process {p.ProcessId}: the {p.Name} listed as started {p.StartTimeUtc:u} has ended, and the pid now belongs to a process started {(nowStarted.HasValue ? nowStarted.Value.ToString("u") : "later")}."),
            "QmailProcessReused", ErrorCategory.InvalidOperation, p.ProcessId)
        {
            ErrorDetails = new ErrorDetails($"Pid {p.ProcessId} was reused; the process listed is gone and the new one was not signalled.")
            { RecommendedAction = "List the processes again (Get-QmailProcess) and retry." },
        };

        public static ErrorRecord ProcessRefused(QmailProcess p, bool force) => new ErrorRecord(
            new InvalidOperationException($"Refusing to stop {p.Name} {p.ProcessId}: killing it stops all delivery (qmail-send exits, or has to be restarted). " +
                (force ? $"Name it literally, -Name {p.Name}, together with -Force." : $"Use -Name {p.Name} -Force if that is really meant; to stop qmail use its supervisor (svc -d, systemctl stop).")),
            "QmailProcessRefused", ErrorCategory.InvalidOperation, p.ProcessId);

        public static ErrorRecord SignalFailed(QmailProcess p, int pid, string signal, int errno) => new ErrorRecord(
            new PosixIOException($"Cannot send {signal} to process {pid}{(pid == p.ProcessId ? "" : $" (a descendant of {p.Name} {p.ProcessId})")}: {Errno.QmailText(errno)} (errno {errno}).", errno),
            "QmailSignalFailed", FromErrno(errno), pid);

        public static ErrorRecord ProcessNotStopped(QmailProcess p, int pid) => new ErrorRecord(
            new TimeoutException($"Process {pid}{(pid == p.ProcessId ? "" : $" (a descendant of {p.Name} {p.ProcessId})")} is still there after SIGKILL; it is probably stuck in the kernel (state D, e.g. on a hung NFS mount)."),
            "QmailProcessNotStopped", ErrorCategory.OperationTimeout, pid);
    }
}
