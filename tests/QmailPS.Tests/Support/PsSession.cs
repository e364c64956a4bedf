using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Text.RegularExpressions;

namespace QmailPS.Tests.Support
{
    /// <summary>
    /// A runspace with the built module imported by its manifest (out/QmailPS/QmailPS.psd1), as a
    /// user's Import-Module would, with a recording host. One per test class (import costs ~0.5 s).
    /// </summary>
    public sealed class PsSession : IDisposable
    {
        public RecordingHost Host { get; } = new RecordingHost();
        public Runspace Runspace { get; }
        public Collection<WarningRecord> ImportWarnings { get; }

        public PsSession() : this(ConfirmImpact.None) { }

        public PsSession(ConfirmImpact confirmPreference)
        {
            var iss = InitialSessionState.CreateDefault2();
            iss.Variables.Add(new SessionStateVariableEntry("ConfirmPreference", confirmPreference, ""));
            iss.Variables.Add(new SessionStateVariableEntry("PSModuleAutoloadingPreference", "None", ""));
            Runspace = RunspaceFactory.CreateRunspace(Host, iss);
            Runspace.Open();
            using var ps = PowerShell.Create();
            ps.Runspace = Runspace;
            ps.AddCommand("Import-Module").AddParameter("Name", Repo.Manifest).AddParameter("ErrorAction", "Stop");
            ps.Invoke();
            ImportWarnings = new Collection<WarningRecord>(ps.Streams.Warning.ToList());
        }

        /// <summary>Runs a script; parameters become variables ($q for the queue path, …).</summary>
        public Result Run(string script, IDictionary<string, object?>? variables = null)
        {
            using var ps = PowerShell.Create();
            ps.Runspace = Runspace;
            if (variables != null)
                foreach (var kv in variables) Runspace.SessionStateProxy.SetVariable(kv.Key, kv.Value);
            ps.AddScript(script);
            Host.Recorder.Clear();
            Collection<PSObject> output;
            Exception? thrown = null;
            try { output = ps.Invoke(); }
            catch (RuntimeException e) { thrown = e; output = new Collection<PSObject>(); }
            return new Result(output, ps.Streams.Error.ToList(), ps.Streams.Warning.Select(w => w.Message).ToList(),
                ps.Streams.Verbose.Select(v => v.Message).ToList(), ps.Streams.Progress.ToList(), ps.HadErrors, thrown, Host.Recorder.Text);
        }

        public Result Run(string script, string queuePath) => Run(script, new Dictionary<string, object?> { ["q"] = queuePath });

        public void Dispose() => Runspace.Dispose();

        public sealed class Result
        {
            public Result(Collection<PSObject> output, List<ErrorRecord> errors, List<string> warnings, List<string> verbose,
                List<ProgressRecord> progress, bool hadErrors, Exception? thrown, string hostText)
            {
                Output = output; Errors = errors; Warnings = warnings; Verbose = verbose; Progress = progress;
                HadErrors = hadErrors; Thrown = thrown; HostText = Regex.Replace(hostText, @"\x1b\[[0-9;]*m", "");
            }

            public Collection<PSObject> Output { get; }
            public List<ErrorRecord> Errors { get; }
            public List<string> Warnings { get; }
            public List<string> Verbose { get; }
            public List<ProgressRecord> Progress { get; }
            public bool HadErrors { get; }
            public Exception? Thrown { get; }
            /// <summary>What reached the host (Out-Host output, What if: lines), ANSI stripped.</summary>
            public string HostText { get; }

            public List<T> Objects<T>() => Output.Select(o => o.BaseObject).OfType<T>().ToList();

            public Result AssertClean()
            {
                if (HadErrors || Thrown != null)
                    throw new Xunit.Sdk.XunitException("PowerShell reported errors: " + Thrown?.Message + " | " +
                        string.Join(" | ", Errors.Select(e => e.FullyQualifiedErrorId + ": " + e.Exception.Message)));
                return this;
            }
        }
    }
}
