using System;
using System.Collections.Generic;
using System.IO;
using System.Management.Automation;
using System.Text;
using QmailPS.Posix;
using QmailPS.Queue;

namespace QmailPS.Commands
{
    /// <summary>
    /// Queues a message exactly as qmail-queue does (pid file, inode id, mess, intd, link to todo,
    /// trigger), so a running qmail-send preprocesses and delivers it. Injecting is what qmail-queue
    /// does all day, so this works while qmail-send runs.
    /// </summary>
    [Cmdlet(VerbsCommon.Add, "QmailQueueMessage", SupportsShouldProcess = true, DefaultParameterSetName = ContentSet)]
    [OutputType(typeof(QueueMessage))]
    public sealed class AddQmailQueueMessageCommand : QmailCmdletBase
    {
        private const string ContentSet = "Content", PathSet = "Path";

        /// <summary>The message (header, empty line, body); lines from the pipeline are joined with LF.</summary>
        [Parameter(Mandatory = true, ParameterSetName = ContentSet, ValueFromPipeline = true)]
        [AllowEmptyString]
        public string[] Content { get; set; } = new string[0];

        [Parameter(Mandatory = true, ParameterSetName = PathSet)]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; } = "";

        /// <summary>Envelope sender; '' or '&lt;&gt;' for a bounce.</summary>
        [Parameter(Mandatory = true)]
        [AllowEmptyString]
        [NullSender]
        public string Sender { get; set; } = "";

        [Parameter(Mandatory = true)]
        [AllowEmptyCollection]
        public string[] Recipient { get; set; } = new string[0];

        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(QueuePathCompleter))]
        public string? QueuePath { get; set; }

        private readonly List<string> _lines = new List<string>();

        protected override void ProcessRecord()
        {
            if (ParameterSetName == ContentSet) _lines.AddRange(Content);
        }

        protected override void EndProcessing()
        {
            if (!Valid("sender", Sender)) return;
            if (Recipient.Length == 0)
            {
                WriteError(new ErrorRecord(new ArgumentException("At least one recipient is needed: qmail-queue would accept none, but the message would only sit in the queue."),
                    "QmailNoRecipient", ErrorCategory.InvalidArgument, Recipient));
                return;
            }
            foreach (string r in Recipient) if (!Valid("recipient", r)) return;

            byte[] message;
            if (ParameterSetName == PathSet)
            {
                string file = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path, out _, out _);
                // Not File.ReadAllBytes: it blocks for ever on a FIFO that has no writer.
                try { message = UserFile.ReadRegular(file); }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
                {
                    ErrorCategory category = e is NotRegularFileException ? ErrorCategory.InvalidArgument
                        : e is PosixIOException p ? QmailErrors.FromErrno(p.Errno)
                        : e is FileNotFoundException || e is DirectoryNotFoundException ? ErrorCategory.ObjectNotFound
                        : ErrorCategory.ReadError;
                    WriteError(new ErrorRecord(e, "QmailMessageFileUnreadable", category, file));
                    return;
                }
            }
            else
            {
                string text = string.Join("\n", _lines);
                if (text.Length > 0 && !text.EndsWith("\n", StringComparison.Ordinal)) text += "\n";
                message = Encoding.UTF8.GetBytes(text);
            }

            QueueLayout layout = ResolveQueue(QueuePath);
            string target = $"{layout.Root} (from <{Sender}> to {string.Join(", ", Recipient)}, {message.Length} bytes)";
            if (!ShouldProcess(target, "Queue a message")) return;
            try
            {
                var writer = new QueueWriter(layout);
                uint uid = Fs.EffectiveUserId;
                // qmail-queue is setuid qmailq but not setgid: mess, intd and todo keep the caller's group.
                ulong id = writer.Inject(message, Sender, Recipient, callerUid: uid, callerGid: Fs.EffectiveGroupId);
                WriteVerbose($"Queued message {id}: mess/{layout.SplitOf(id)}/{id}, intd/{id} linked to todo/{id}; trigger pulled.");
                ScanEvent? e = new QueueScanner(layout).Read(id);
                if (e?.Message != null) WriteObject(e.Message);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                WriteError(QmailErrors.WriteFailed("Queueing the message", layout.Root, e));
            }
        }

        private bool Valid(string which, string address)
        {
            byte[] b = QueueRecords.EncodeAddress(address);
            string? problem = QueueRecords.CheckAddress(b);
            if (problem is null && (address.IndexOf('\n') >= 0 || address.IndexOf('\r') >= 0)) problem = "contains a line break";
            if (problem is null) return true;
            WriteError(QmailErrors.BadAddress(which, address, problem));
            return false;
        }
    }
}
