using System;
using System.Management.Automation;
using QmailPS.Posix;

namespace QmailPS.Commands
{
    /// <summary>The errors of Export-QmailMetric, and the refusal of objects from another host.</summary>
    internal static partial class QmailErrors
    {
        public static ErrorRecord MetricWriteFailed(string path, Exception e) => new ErrorRecord(
            e, "QmailMetricWriteFailed", e is PosixIOException p ? FromErrno(p.Errno) : ErrorCategory.WriteError, path)
        {
            ErrorDetails = new ErrorDetails($"Writing the metrics to '{path}' failed: {e.Message}. The previous file, if any, is unchanged.")
            { RecommendedAction = "Give -Path a file in an existing directory you can write, such as node_exporter's --collector.textfile.directory." },
        };

        public static ErrorRecord MetricPathIsDirectory(string path) => new ErrorRecord(
            new ArgumentException($"'{path}' is a directory; -Path names the file to write (for example {path.TrimEnd('/')}/qmail.prom)."),
            "QmailMetricPathIsDirectory", ErrorCategory.InvalidArgument, path);

        public static ErrorRecord ObjectFromAnotherHost(object target, string typeName, string computer, string local, string cmdlet) => new ErrorRecord(
            new InvalidOperationException($"This {typeName} ({target}) came from '{computer}', not from this host ({local}); {cmdlet} acts only on the local queue and processes, so it refuses it. Nothing was changed."),
            "QmailObjectFromAnotherHost", ErrorCategory.InvalidArgument, target)
        {
            ErrorDetails = new ErrorDetails($"Refused an object from '{computer}': {cmdlet} would act on this host ({local}) with another host's ids.")
            { RecommendedAction = $"Run the whole pipeline on that host: Invoke-Command -HostName {computer} {{ Get-QmailQueueMessage ... | {cmdlet} }}" },
        };

        public static ErrorRecord ObjectOriginUnknown(object target, string typeName, string cmdlet) => new ErrorRecord(
            new InvalidOperationException($"This is a deserialized {typeName} ({target}) with no PSComputerName: which host it came from is unknown, so {cmdlet} refuses it. Nothing was changed."),
            "QmailObjectOriginUnknown", ErrorCategory.InvalidArgument, target)
        {
            ErrorDetails = new ErrorDetails($"Refused a deserialized {typeName}: its host is unknown, and {cmdlet} acts only on this host.")
            { RecommendedAction = $"Read the objects afresh on the host itself and pipe them there: Invoke-Command -HostName mx1 {{ Get-QmailQueueMessage ... | {cmdlet} }}" },
        };

        public static ErrorRecord InputNotQmail(object target, string cmdlet) => new ErrorRecord(
            new ArgumentException($"The piped {target} has no QueuePath property, so {cmdlet} cannot tell which queue it is about."),
            "QmailInputNotBound", ErrorCategory.InvalidArgument, target);
    }
}
