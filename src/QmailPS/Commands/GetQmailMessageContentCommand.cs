using System;
using System.IO;
using System.Management.Automation;
using System.Text;
using Microsoft.Win32.SafeHandles;
using QmailPS.Posix;
using QmailPS.Queue;

namespace QmailPS.Commands
{
    /// <summary>
    /// The text of a queued message (mess/N/ID, including qmail-queue's Received line): line by line,
    /// streaming; or one string (-Raw); or the header fields as objects (-HeaderOnly).
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "QmailMessageContent", DefaultParameterSetName = LinesSet)]
    [OutputType(typeof(string), ParameterSetName = new[] { LinesSet, RawSet })]
    [OutputType(typeof(MessageHeader), ParameterSetName = new[] { HeaderSet })]
    public sealed class GetQmailMessageContentCommand : QmailCmdletBase
    {
        private const string LinesSet = "Lines", RawSet = "Raw", HeaderSet = "HeaderOnly";
        private const int HeaderLimit = 1024 * 1024;
        // The longest .NET string (0x3FFFFFDF chars); UTF-8 never decodes to more chars than bytes.
        private const long LargestRaw = 0x3FFFFFDF;

        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("MessageId")]
        [ArgumentCompleter(typeof(QueueIdCompleter))]
        public ulong[] Id { get; set; } = new ulong[0];

        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(QueuePathCompleter))]
        public string? QueuePath { get; set; }

        [Parameter(Mandatory = true, ParameterSetName = RawSet)]
        public SwitchParameter Raw { get; set; }

        [Parameter(Mandatory = true, ParameterSetName = HeaderSet)]
        public SwitchParameter HeaderOnly { get; set; }

        protected override void ProcessRecord()
        {
            QueueLayout layout = ResolveQueue(QueuePath);
            foreach (ulong id in Id)
            {
                if (Stopping) return;
                string path = layout.PathOf("mess", id);
                FileStream? stream = OpenMess(path, out int errno);
                if (stream is null)
                {
                    if (errno == Errno.ENOENT) WriteError(QmailErrors.MessageNotFound(id, layout.Root));
                    else WriteError(new ErrorRecord(new IOException($"Cannot read {path}: {(errno == DirectoryHandle.NotRegular ? "not a regular file" : errno == Errno.ELOOP ? "it is a symbolic link" : Errno.QmailText(errno))}"),
                        "QmailMessageUnreadable", QmailErrors.FromErrno(errno), id));
                    continue;
                }
                using (stream)
                {
                    if (Raw && stream.Length > LargestRaw)
                    {
                        WriteError(new ErrorRecord(new IOException($"Message {id} is {stream.Length} bytes: more than one .NET string can hold, so -Raw cannot return it. Read it line by line (without -Raw), or copy {path}."),
                            "QmailMessageTooLarge", ErrorCategory.LimitsExceeded, id));
                        continue;
                    }
                    Emit(stream, id, layout.Root);
                }
            }
        }

        private void Emit(FileStream stream, ulong id, string queuePath)
        {
            if (HeaderOnly)
            {
                var buffer = new byte[Math.Min(HeaderLimit, Math.Max(1, (int)Math.Min(stream.Length, HeaderLimit)))];
                int len = 0, n;
                while (len < buffer.Length && (n = stream.Read(buffer, len, buffer.Length - len)) > 0) len += n;
                foreach (MessageHeader h in MessageHeaders.Parse(buffer, len))
                {
                    h.Id = id;
                    h.QueuePath = queuePath;
                    WriteObject(h);
                }
                return;
            }
            // Mail is bytes: UTF-8 where valid, the rest shown as U+FFFD.
            using var reader = new StreamReader(stream, new UTF8Encoding(false, false), false, 64 * 1024);
            if (Raw) { WriteObject(reader.ReadToEnd()); return; }
            string? line;
            while ((line = reader.ReadLine()) != null)
            {
                if (Stopping) return;
                WriteObject(line);
            }
        }

        /// <summary>The mess file through the seam: no symlinked mess/N on the way, O_NOFOLLOW, atime kept, a regular file.</summary>
        private FileStream? OpenMess(string path, out int errno)
        {
            int fd = Fs.OpenExisting(path, write: false, out errno, noAtime: true);
            if (fd < 0) return null;
            var handle = new SafeFileHandle((IntPtr)fd, ownsHandle: true);
            if (!Fs.TryFstat(fd, out FileStatus st, out errno) || st.Kind != FileKind.Regular)
            {
                handle.Dispose();
                if (errno == 0) errno = DirectoryHandle.NotRegular;
                return null;
            }
            errno = 0;
            return new FileStream(handle, FileAccess.Read, 64 * 1024);
        }
    }
}
