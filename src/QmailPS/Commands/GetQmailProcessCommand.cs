using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using QmailPS.Posix;
using QmailPS.Processes;
using QmailPS.Queue;

namespace QmailPS.Commands
{
    /// <summary>
    /// Lists qmail's running processes from /proc: qmail-send and its helpers, deliveries
    /// (qmail-remote, qmail-local), SMTP sessions (qmail-smtpd) and injections (qmail-queue),
    /// with what each works on.
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "QmailProcess", DefaultParameterSetName = NameSet)]
    [OutputType(typeof(QmailProcess))]
    public sealed class GetQmailProcessCommand : QmailCmdletBase
    {
        private const string NameSet = "Name";
        private const string IdSet = "Id";

        [Parameter(Position = 0, ParameterSetName = NameSet)]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(QmailProgramNameCompleter))]
        public string[]? Name { get; set; }

        [Parameter(Mandatory = true, ParameterSetName = IdSet, ValueFromPipelineByPropertyName = true)]
        [Alias("ProcessId")]
        public int[] Id { get; set; } = new int[0];

        /// <summary>The queue whose lock/sendmutex tells which process is the running qmail-send (IsQmailSend).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(QueuePathCompleter))]
        public string? QueuePath { get; set; }

        private QmailProcessReader _reader = null!;
        private int? _sendMutexHolder;

        protected override void BeginProcessing()
        {
            _reader = new QmailProcessReader(new ProcTable(), Fs.UserName);
            _sendMutexHolder = FindSendMutexHolder();
        }

        protected override void ProcessRecord()
        {
            if (ParameterSetName == IdSet)
            {
                foreach (int pid in Id)
                {
                    if (Stopping) return;
                    QmailProcess? p = _reader.Read(pid, out bool notQmail, out string? comm);
                    if (p is null)
                    {
                        WriteError(notQmail ? QmailErrors.ProcessNotQmail(pid, $"it is '{comm}'") : QmailErrors.ProcessNotFound(pid));
                        continue;
                    }
                    Emit(p);
                }
                return;
            }

            WildcardPattern[] patterns = NamePatterns(Name ?? QmailProgramNames.All, this);
            int count = 0;
            try
            {
                foreach (QmailProcess p in _reader.Scan(n => patterns.Any(w => w.IsMatch(n)), CancelToken))
                {
                    Emit(p);
                    count++;
                }
            }
            catch (OperationCanceledException) when (Stopping) { return; }
            WriteVerbose($"{count} qmail process(es) found in /proc.");
        }

        private void Emit(QmailProcess p)
        {
            if (_sendMutexHolder == p.ProcessId) p.IsQmailSend = true;
            WriteObject(p);
        }

        /// <summary>Wildcard patterns for -Name; a literal name that is no qmail program is an error (it can never match).</summary>
        internal static WildcardPattern[] NamePatterns(string[] names, Cmdlet cmdlet)
        {
            var result = new List<WildcardPattern>();
            foreach (string n in names)
            {
                if (!WildcardPattern.ContainsWildcardCharacters(n) && !QmailProgramNames.IsQmailName(n))
                {
                    cmdlet.WriteError(QmailErrors.ProgramNameUnknown(n, QmailProgramNames.All));
                    continue;
                }
                result.Add(WildcardPattern.Get(n, WildcardOptions.IgnoreCase));
            }
            return result.ToArray();
        }

        /// <summary>
        /// Who holds lock/sendmutex of the queue (-QueuePath, else the default queue when there is one):
        /// /proc/locks names the pid (queue-format.md §7).
        /// </summary>
        private int? FindSendMutexHolder()
        {
            string? root;
            if (QueuePath != null) root = ResolveQueue(QueuePath).Root;
            else
            {
                root = QueueLayout.FindDefaultRoot(Environment.GetEnvironmentVariable);
                if (root is null || !Directory.Exists(root))
                {
                    WriteVerbose("No qmail queue found (QMAIL_HOME, /var/qmail/queue, …): IsQmailSend stays false. Use -QueuePath.");
                    return null;
                }
            }
            string mutex = root + "/lock/sendmutex";
            if (!FileIdentity(mutex, out uint major, out uint minor, out ulong inode, out int errno))
            {
                WriteVerbose($"Cannot stat {mutex} ({Errno.QmailText(errno)}): IsQmailSend stays false.");
                return null;
            }
            int? holder = _reader.Table.LockHolder(major, minor, inode);
            WriteVerbose(holder.HasValue
                ? $"/proc/locks: process {holder} holds the lock on {mutex} (the running qmail-send)."
                : $"/proc/locks: nobody holds a lock on {mutex}; qmail-send is not running on {root}.");
            return holder;
        }

        private bool FileIdentity(string path, out uint major, out uint minor, out ulong inode, out int errno)
        {
            major = minor = 0; inode = 0;
            if (!Fs.TryLstat(path, out Posix.FileStatus st, out errno)) return false;
            major = (uint)(st.Device >> 32); minor = (uint)st.Device; inode = st.Inode;
            return true;
        }
    }

    /// <summary>Completes -Name with the qmail program names.</summary>
    public sealed class QmailProgramNameCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            string word = (wordToComplete ?? "").Trim('\'', '"');
            var pattern = WildcardPattern.Get(word + "*", WildcardOptions.IgnoreCase);
            foreach (string n in QmailProgramNames.All)
                if (pattern.IsMatch(n)) yield return new CompletionResult(n, n, CompletionResultType.ParameterValue, n);
        }
    }
}
