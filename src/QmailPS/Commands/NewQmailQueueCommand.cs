using System;
using System.IO;
using System.Management.Automation;
using QmailPS.Posix;
using QmailPS.Queue;

namespace QmailPS.Commands
{
    /// <summary>Creates an empty queue exactly as qmail's installer does (hier.c): directories, split, owners, modes, lock files.</summary>
    [Cmdlet(VerbsCommon.New, "QmailQueue", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(QueueSummary))]
    public sealed class NewQmailQueueCommand : QmailCmdletBase
    {
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("QueuePath")]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; } = "";

        /// <summary>conf-split of the qmail binaries that will use the queue.</summary>
        [Parameter]
        [ValidateRange(1, 100000)]
        public int Split { get; set; } = QueueLayout.DefaultSplit;

        /// <summary>Split todo/ and intd/ too, for qmail built with the big-todo patch.</summary>
        [Parameter]
        public SwitchParameter BigTodo { get; set; }

        protected override void ProcessRecord()
        {
            string root = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path, out ProviderInfo provider, out _);
            if (provider.Name != "FileSystem") { WriteError(QmailErrors.NotFileSystem(Path)); return; }

            IFileSystem posix = Fs;
            QueueOwnership owners = QueueOwnership.FromSystem(posix);
            if (posix.EffectiveUserId == 0)
            {
                var missing = new System.Collections.Generic.List<string>();
                if (owners.Qmailq is null) missing.Add("user qmailq");
                if (owners.Qmails is null) missing.Add("user qmails");
                if (owners.Qmailr is null) missing.Add("user qmailr");
                if (owners.QmailGid is null) missing.Add("group qmail");
                if (missing.Count > 0) { WriteError(QmailErrors.UsersMissing(string.Join(", ", missing))); return; }
            }
            else
            {
                WriteWarning("Not running as root: the queue keeps your owner. qmail needs qmailq/qmails/qmailr owners; create real queues as root.");
            }

            string shape = $"split {Split}{(BigTodo ? ", big-todo" : "")}";
            if (!ShouldProcess(root, $"Create an empty qmail queue ({shape})")) return;
            QueueLayout layout;
            try
            {
                ReportParents(posix, root);
                WriteVerbose($"Creating {root} as qmail's installer does: {string.Join(", ", QueueLayout.TopDirectories)}; {shape}; lock/sendmutex, lock/tcpto (1024 NULs), lock/trigger (FIFO).");
                layout = QueueWriter.CreateQueue(posix, root, Split, BigTodo.IsPresent, owners);
            }
            catch (QueueExistsException e) { WriteError(QmailErrors.QueueExists(e.QueuePath, e.Reason)); return; }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                WriteError(QmailErrors.WriteFailed("Creating the queue", root, e));
                return;
            }
            WriteObject(new QueueSummary(layout.Root) { Split = layout.Split, BigTodo = layout.BigTodo });
        }

        /// <summary>
        /// Missing parents of the queue (/new/dir for /new/dir/queue) are made by the seam as it
        /// makes the new root (mode 0755, as hier.c makes the qmail home; the creator's owner, root
        /// as root); -Verbose names them.
        /// </summary>
        private void ReportParents(IFileSystem posix, string root)
        {
            string full = System.IO.Path.GetFullPath(root).TrimEnd('/');
            for (string? dir = System.IO.Path.GetDirectoryName(full); !string.IsNullOrEmpty(dir) && dir != "/"; dir = System.IO.Path.GetDirectoryName(dir))
            {
                if (posix.TryLstat(dir!, out _, out _)) break;
                WriteVerbose($"Creating the missing parent {dir} (0755{(posix.EffectiveUserId == 0 ? ", root:root" : "")}).");
            }
        }
    }
}
