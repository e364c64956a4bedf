using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using QmailPS.Posix;
using QmailPS.Processes;

namespace QmailPS.Commands
{
    /// <summary>
    /// Stops hung qmail deliveries and SMTP sessions: SIGTERM, then SIGKILL after -Timeout, only to
    /// qmail's own executables, never to a reused pid, and (for qmail-local) to the whole process tree.
    /// </summary>
    [Cmdlet(VerbsLifecycle.Stop, "QmailZombie", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High,
        DefaultParameterSetName = NameSet)]
    [OutputType(typeof(StoppedProcess))]
    public sealed class StopQmailZombieCommand : QmailCmdletBase, IDisposable
    {
        private const string NameSet = "Name";
        private const string InputObjectSet = "InputObject";
        private const string ProcessIdSet = "ProcessId";

        /// <summary>Processes from Get-QmailProcess; their listed start time guards against pid reuse.</summary>
        [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = InputObjectSet)]
        public QmailProcess[] InputObject { get; set; } = new QmailProcess[0];

        /// <summary>Bare pids: the process that has the pid when the command reads it.</summary>
        [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ProcessIdSet)]
        [Alias("Id")]
        public int[] ProcessId { get; set; } = new int[0];

        /// <summary>A piped object's PSComputerName (Invoke-Command and Start-Job add it): one from another host is refused. Bound from the pipeline only.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true, DontShow = true, ParameterSetName = InputObjectSet)]
        [Parameter(ValueFromPipelineByPropertyName = true, DontShow = true, ParameterSetName = ProcessIdSet)]
        [Alias("PSComputerName")]
        public string? OriginComputerName { get; set; }

        /// <summary>A piped object's type names: a deserialized QmailPS object of unknown origin is refused. Bound from the pipeline only.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true, DontShow = true, ParameterSetName = InputObjectSet)]
        [Parameter(ValueFromPipelineByPropertyName = true, DontShow = true, ParameterSetName = ProcessIdSet)]
        [Alias("PSTypeNames")]
        public string[]? OriginTypeNames { get; set; }

        /// <summary>Which programs: in the Name set, what to look for (default qmail-remote, qmail-smtpd); otherwise a filter on the input.</summary>
        [Parameter]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(QmailProgramNameCompleter))]
        public string[]? Name { get; set; }

        [Parameter]
        [AgeTransformation]
        public TimeSpan OlderThan { get; set; } = TimeSpan.FromHours(1);

        /// <summary>Seconds between SIGTERM and SIGKILL.</summary>
        [Parameter]
        [ValidateRange(0, 86400)]
        public int Timeout { get; set; } = 10;

        [Parameter]
        public SwitchParameter Force { get; set; }

        private sealed class Job
        {
            public Job(QmailProcess p, StoppedProcess result) { Process = p; Result = result; }
            public QmailProcess Process { get; }
            public StoppedProcess Result { get; }
            public List<TrackedProcess> Members { get; } = new List<TrackedProcess>();
            public bool Tree => Process.Name == QmailProgramNames.Local;
            public bool Done { get; set; }
        }

        private QmailProcessReader _reader = null!;
        private ProcessStopper _stopper = null!;
        private WildcardPattern[]? _names;
        private readonly List<Job> _jobs = new List<Job>();
        private readonly HashSet<(int, ulong)> _seen = new HashSet<(int, ulong)>();

        protected override void BeginProcessing()
        {
            var table = new ProcTable();
            _reader = new QmailProcessReader(table, Fs.UserName);
            _stopper = new ProcessStopper(table, Fs);
            if (Name != null) _names = GetQmailProcessCommand.NamePatterns(Name, this);
            // Without -Name, the Name set looks for the default names and the other sets take any
            // qmail program. (The parameter set is only known in ProcessRecord: pipeline input picks it.)
            if (OlderThan < TimeSpan.Zero)
                ThrowTerminatingError(new ErrorRecord(new ArgumentException("-OlderThan must not be negative."),
                    "QmailInvalidAge", ErrorCategory.InvalidArgument, OlderThan));
        }

        protected override void ProcessRecord()
        {
            if (HostOrigin.Refuse(this, OriginComputerName, OriginTypeNames, ProcessId.Length == 1 ? (object)ProcessId[0] : ProcessId)) return;
            switch (ParameterSetName)
            {
                case InputObjectSet:
                    foreach (QmailProcess p in InputObject)
                    {
                        if (Stopping) return;
                        if (p != null) Consider(p);
                    }
                    break;
                case ProcessIdSet:
                    foreach (int pid in ProcessId)
                    {
                        if (Stopping) return;
                        QmailProcess? p = _reader.Read(pid, out bool notQmail, out string? comm);
                        if (p is null)
                        {
                            WriteError(notQmail ? QmailErrors.ProcessNotQmail(pid, $"it is '{comm}'") : QmailErrors.ProcessNotFound(pid));
                            continue;
                        }
                        Consider(p);
                    }
                    break;
                default:
                    WildcardPattern[] names = _names ??= GetQmailProcessCommand.NamePatterns(QmailProgramNames.Zombies, this);
                    List<QmailProcess> found;
                    try { found = _reader.Scan(n => names.Any(w => w.IsMatch(n)), CancelToken).ToList(); }
                    catch (OperationCanceledException) when (Stopping) { return; }
                    WriteVerbose($"{found.Count} process(es) named {string.Join(", ", Name ?? QmailProgramNames.Zombies)} found in /proc.");
                    foreach (QmailProcess p in found)
                    {
                        if (Stopping) return;
                        Consider(p);
                    }
                    break;
            }
        }

        private void Consider(QmailProcess p)
        {
            if (!_seen.Add((p.ProcessId, p.StartTicks))) return;
            if (_names != null && !_names.Any(w => w.IsMatch(p.Name)))
            {
                WriteVerbose($"{Describe(p)}: not one of the names asked for; left alone.");
                return;
            }
            if (p.Age < OlderThan)
            {
                WriteVerbose($"{Describe(p)}: younger than {FormatAge(OlderThan)}; left alone.");
                return;
            }
            if (QmailProgramNames.IsSupervisor(p.Name) && !(Force && NamedLiterally(p.Name)))
            {
                Refuse(p, QmailErrors.ProcessRefused(p, Force), "stops all delivery: needs -Name " + p.Name + " -Force");
                return;
            }
            switch (_stopper.Check(p.ProcessId, p.StartTicks))
            {
                case Identity.Gone:
                    Gone(p);
                    return;
                case Identity.Reused:
                    ProcStat? now = _reader.Table.ReadStat(p.ProcessId);
                    Refuse(p, QmailErrors.ProcessReused(p, now.HasValue ? _reader.Table.StartTimeUtc(now.Value.StartTicks) : (DateTime?)null),
                        "pid reused by a process with another start time");
                    return;
            }
            if (!_stopper.IsQmailExecutable(p.ProcessId, p.Name, out string detail))
            {
                Refuse(p, QmailErrors.ProcessNotQmailExecutable(p, detail), $"not qmail's {p.Name} ({detail})");
                return;
            }

            string action = Timeout > 0 ? $"Stop (SIGTERM, then SIGKILL after {Timeout} s)" : "Stop (SIGTERM, then SIGKILL at once)";
            if (!ShouldProcess(Describe(p), action)) return;
            WriteVerbose(Consequences(p));
            if (p.Name == QmailProgramNames.Queue)
                WriteWarning($"qmail-queue {p.ProcessId} is an injection in progress: its partly written mess file stays behind as an orphan (qmail-send removes it later). Stopping the qmail-smtpd or program that runs it is cleaner.");

            var result = new StoppedProcess(p, StopOutcome.Terminated, "");
            var job = new Job(p, result);
            TrackedProcess? root = _stopper.Track(p.ProcessId, p.StartTicks, p.ParentId, 0, out Identity identity);
            if (root is null)
            {
                if (identity == Identity.Reused)
                    Refuse(p, QmailErrors.ProcessReused(p, null), "pid reused by a process with another start time");
                else Gone(p);
                return;
            }
            job.Members.Add(root);
            if (job.Tree)
            {
                job.Members.AddRange(_stopper.NewDescendants(job.Members));
                if (job.Members.Count > 1)
                    WriteVerbose($"qmail-local {p.ProcessId}: stopping its whole process tree ({string.Join(", ", job.Members.Skip(1).Select(m => m.ProcessId))}), children first.");
            }
            _jobs.Add(job);
            SignalAll(job, ProcNative.SIGTERM, "SIGTERM");
            if (result.Outcome == StopOutcome.Failed) job.Done = true; // EPERM: SIGKILL would fail the same way
            else if (root.Ended && job.Members.Count == 1 && !result.Signals.Contains("SIGTERM"))
            {
                job.Done = true;
                result.Outcome = StopOutcome.AlreadyGone;
                result.Reason = "had exited before it was signalled";
            }
        }

        protected override void EndProcessing()
        {
            try
            {
                List<Job> live = _jobs.Where(j => !j.Done).ToList();
                if (live.Count > 0)
                {
                    WriteVerbose($"Waiting up to {Timeout} s for {live.Count} process(es) to end after SIGTERM.");
                    try { _stopper.WaitForEnd(live.SelectMany(j => j.Members), TimeSpan.FromSeconds(Timeout), CancelToken); }
                    catch (OperationCanceledException) { return; } // Ctrl+C: no SIGKILL

                    var killed = new List<Job>();
                    foreach (Job job in live)
                    {
                        if (Stopping) return;
                        if (job.Tree) job.Members.AddRange(_stopper.NewDescendants(job.Members));
                        if (job.Members.All(m => _stopper.HasEnded(m)))
                        {
                            job.Done = true;
                            if (job.Result.Outcome != StopOutcome.Failed) job.Result.Reason = "ended after SIGTERM";
                            continue;
                        }
                        WriteVerbose($"{Describe(job.Process)}: still there after {Timeout} s; sending SIGKILL.");
                        SignalAll(job, ProcNative.SIGKILL, "SIGKILL");
                        killed.Add(job);
                    }
                    if (killed.Count > 0)
                    {
                        try { _stopper.WaitForEnd(killed.SelectMany(j => j.Members), TimeSpan.FromSeconds(3), CancelToken); }
                        catch (OperationCanceledException) { return; }
                        foreach (Job job in killed)
                        {
                            job.Done = true;
                            List<TrackedProcess> left = job.Members.Where(m => !_stopper.HasEnded(m)).ToList();
                            foreach (TrackedProcess m in left) WriteError(QmailErrors.ProcessNotStopped(job.Process, m.ProcessId));
                            if (job.Result.Outcome == StopOutcome.Failed) continue;
                            if (left.Count > 0)
                            {
                                job.Result.Outcome = StopOutcome.Failed;
                                job.Result.Reason = "still there after SIGKILL";
                            }
                            else
                            {
                                job.Result.Outcome = StopOutcome.Killed;
                                job.Result.Reason = job.Members.Any(m => m.GotKill && m.Depth == 0)
                                    ? $"ignored SIGTERM for {Timeout} s; killed"
                                    : $"{job.Process.Name} ended after SIGTERM; descendants killed after {Timeout} s";
                            }
                        }
                    }
                }
                foreach (Job job in _jobs)
                {
                    job.Result.Descendants = job.Members.Where(m => m.Depth > 0).Select(m => m.ProcessId).ToArray();
                    WriteObject(job.Result);
                }
            }
            finally { CloseAll(); }
        }

        void IDisposable.Dispose()
        {
            CloseAll();
            Dispose();
        }

        private void CloseAll()
        {
            foreach (Job job in _jobs)
                foreach (TrackedProcess m in job.Members) m.Dispose();
        }

        /// <summary>Signals every live member, deepest first (children before their parents), the qmail process last.</summary>
        private void SignalAll(Job job, int signal, string signalName)
        {
            bool any = false;
            foreach (TrackedProcess m in job.Members.OrderByDescending(m => m.Depth).ToList())
            {
                if (m.Ended) continue;
                SignalResult r = _stopper.Signal(m, signal);
                if (r.Sent)
                {
                    any = true;
                    WriteDebug($"{signalName} sent to {m.ProcessId}{(_stopper.UsesPidFd ? " (pidfd)" : " (kill)")}.");
                }
                else if (r.Errno != 0)
                {
                    WriteError(QmailErrors.SignalFailed(job.Process, m.ProcessId, signalName, r.Errno));
                    if (m.Depth == 0)
                    {
                        job.Result.Outcome = StopOutcome.Failed;
                        job.Result.Reason = $"{signalName} failed: {Errno.QmailText(r.Errno)}";
                    }
                }
            }
            if (any) job.Result.Signals = job.Result.Signals.Length == 0 ? signalName : job.Result.Signals + ", " + signalName;
        }

        private bool NamedLiterally(string name) =>
            Name != null && Name.Any(n => !WildcardPattern.ContainsWildcardCharacters(n) && string.Equals(n, name, StringComparison.OrdinalIgnoreCase));

        private void Refuse(QmailProcess p, ErrorRecord error, string reason)
        {
            WriteError(error);
            WriteObject(new StoppedProcess(p, StopOutcome.Refused, reason));
        }

        private void Gone(QmailProcess p)
        {
            WriteVerbose($"{Describe(p)}: has already exited.");
            WriteObject(new StoppedProcess(p, StopOutcome.AlreadyGone, "had exited before it was signalled"));
        }

        /// <summary>"qmail-remote 4711 (age 02:10:00, peer 192.0.2.25:25, host mx.example.com, to bob@example.com)".</summary>
        internal static string Describe(QmailProcess p)
        {
            var parts = new List<string> { "age " + FormatAge(p.Age) };
            if (p.PeerAddress != null && p.Name != QmailProgramNames.Smtpd) parts.Add("peer " + p.PeerAddress);
            if (p.ClientAddress != null) parts.Add("client " + p.ClientAddress);
            if (p.Host != null) parts.Add("host " + p.Host);
            if (p.Recipients.Length == 1) parts.Add("to " + p.Recipients[0]);
            else if (p.Recipients.Length > 1) parts.Add($"to {p.Recipients[0]} (+{p.Recipients.Length - 1})");
            if (p.Name != QmailProgramNames.Remote && p.Name != QmailProgramNames.Smtpd && p.User.Length > 0) parts.Add("user " + p.User);
            return $"{p.Name} {p.ProcessId} ({string.Join(", ", parts)})";
        }

        internal static string FormatAge(TimeSpan age)
        {
            if (age < TimeSpan.Zero) age = TimeSpan.Zero;
            string hms = age.ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture);
            return age.Days > 0 ? age.Days.ToString(CultureInfo.InvariantCulture) + "d " + hms : hms;
        }

        private static string Consequences(QmailProcess p) => p.Name switch
        {
            QmailProgramNames.Remote =>
                $"Stopping {Describe(p)}. qmail-send logs it as a deferral ('qmail-remote crashed') and retries the recipients on its normal " +
                "schedule (or bounces them if the message is past queuelifetime). If the remote host had already accepted the message, " +
                "the retry delivers it a second time (a duplicate).",
            QmailProgramNames.Local =>
                $"Stopping {Describe(p)} and its process tree: qmail-send logs a deferral ('qmail-local crashed') and retries. " +
                "A program delivery (|command) interrupted halfway may have done part of its work.",
            QmailProgramNames.Smtpd =>
                $"Stopping {Describe(p)}: the client sees the connection drop and must retry; a qmail-queue it started sees EOF and " +
                "removes its partial message.",
            _ => $"Stopping {Describe(p)}.",
        };
    }
}
