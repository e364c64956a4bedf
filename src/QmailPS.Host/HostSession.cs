using System;
using System.Collections.ObjectModel;
using System.IO;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace QmailPS.Host
{
    /// <summary>A runspace on the console host with QmailPS imported, running command lines like pwsh -Command.</summary>
    internal sealed class HostSession : IDisposable
    {
        private readonly ConsoleHost _host = new ConsoleHost();
        private readonly Runspace _runspace;
        private readonly object _gate = new object();
        private PowerShell? _current;
        private volatile bool _cancelled;

        public HostSession(string manifest)
        {
            var iss = InitialSessionState.CreateDefault2();
            iss.Commands.Add(new SessionStateCmdletEntry(ErrorWatchCommand.Name, typeof(ErrorWatchCommand), null));
            _runspace = RunspaceFactory.CreateRunspace(_host, iss);
            _runspace.Open();
            if (Console.IsOutputRedirected || Console.IsErrorRedirected)
                Invoke(ps => ps.AddScript("$PSStyle.OutputRendering = 'PlainText'"));
            Console.CancelKeyPress += OnCancelKeyPress;
            Invoke(ps => ps.AddCommand("Import-Module").AddParameter("Name", manifest).AddParameter("ErrorAction", "Stop"));
        }

        /// <summary>True once Ctrl+C stopped a command.</summary>
        public bool Cancelled => _cancelled;

        /// <summary>The code of an <c>exit N</c> the last command ran, if any.</summary>
        public int? ExitRequested => _host.ShouldExit;

        /// <summary>
        /// Makes every QmailPS cmdlet use <paramref name="queuePath"/>: $QueuePath, the default
        /// -QueuePath of *-Qmail* commands, and QMAIL_HOME when the path is a home's queue/.
        /// </summary>
        public void UseQueue(string queuePath)
        {
            string full = Path.GetFullPath(queuePath).TrimEnd('/');
            if (full.Length == 0) full = "/";
            if (Path.GetFileName(full) == "queue")
                Environment.SetEnvironmentVariable("QMAIL_HOME", Path.GetDirectoryName(full));
            Invoke(ps => ps.AddScript("param($p) $global:QueuePath = $p; $global:PSDefaultParameterValues['*-Qmail*:QueuePath'] = $p").AddArgument(full));
        }

        /// <summary>
        /// Runs a command line as pwsh -Command does: its output and errors through Out-Default
        /// (the module's format views, errors in $ErrorView). Returns true when it wrote no error.
        /// </summary>
        public bool Run(string script)
        {
            using var ps = PowerShell.Create();
            ps.Runspace = _runspace;
            ps.AddScript(script);
            ps.Commands.Commands[0].MergeMyResults(PipelineResultTypes.Error, PipelineResultTypes.Output);
            // Merged errors no longer reach ps.Streams.Error (nor always HadErrors): note them on their way to Out-Default.
            ps.AddCommand(ErrorWatchCommand.Name);
            ps.AddCommand("Out-Default");
            ErrorWatchCommand.Reset();
            lock (_gate) _current = ps;
            bool failed = false;
            try
            {
                ps.Invoke();
            }
            catch (PipelineStoppedException) when (_cancelled)
            {
                return false;
            }
            catch (RuntimeException e)
            {
                ReportException(e);
                failed = true;
            }
            finally
            {
                lock (_gate) _current = null;
            }
            if (_cancelled) return false;
            // Not ps.HadErrors: it is also set by an error a try/catch handled, which pwsh does not fail on.
            return !(failed || ps.Streams.Error.Count > 0 || ErrorWatchCommand.Seen);
        }

        /// <summary>A script-terminating error (throw, -ErrorAction Stop): formatted by $ErrorView, to stderr.</summary>
        private void ReportException(RuntimeException e)
        {
            ErrorRecord record = e.ErrorRecord;
            string text;
            try
            {
                using var ps = PowerShell.Create();
                ps.Runspace = _runspace;
                ps.AddCommand("Out-String");
                Collection<PSObject> r = ps.Invoke(new object[] { record });
                text = r.Count > 0 ? r[0].ToString().Trim('\r', '\n') : "";
            }
            catch (RuntimeException) { text = ""; }
            if (text.Length == 0)
            {
                string? command = record.InvocationInfo?.MyCommand?.Name;
                string message = record.ErrorDetails?.Message ?? record.Exception.Message;
                text = string.IsNullOrEmpty(command) ? record.Exception.GetType().Name + ": " + message : command + ": " + message;
            }
            _host.UI.WriteErrorLine(text);
        }

        private void Invoke(Action<PowerShell> build)
        {
            using var ps = PowerShell.Create();
            ps.Runspace = _runspace;
            build(ps);
            ps.Invoke();
            if (ps.Streams.Error.Count > 0) throw new RuntimeException(ps.Streams.Error[0].ToString(), ps.Streams.Error[0].Exception);
        }

        private void OnCancelKeyPress(object? sender, ConsoleCancelEventArgs e)
        {
            _cancelled = true;
            PowerShell? ps;
            lock (_gate) ps = _current;
            if (ps is null) return; // between commands: let the runtime end the process (exit 130)
            e.Cancel = true; // stop the command, not the process: Run returns and Main exits 130
            try { ps.BeginStop(null, null); } catch (ObjectDisposedException) { }
        }

        public void Dispose()
        {
            Console.CancelKeyPress -= OnCancelKeyPress;
            _runspace.Dispose();
        }
    }

    /// <summary>Passes the pipeline on unchanged, noting whether an error record went by.</summary>
    [Cmdlet("Watch", "QmailpsError")]
    public sealed class ErrorWatchCommand : Cmdlet
    {
        public const string Name = "Watch-QmailpsError";
        private static int s_seen;

        public static bool Seen => System.Threading.Volatile.Read(ref s_seen) != 0;
        public static void Reset() => System.Threading.Volatile.Write(ref s_seen, 0);

        [Parameter(ValueFromPipeline = true)]
        public PSObject? InputObject { get; set; }

        protected override void ProcessRecord()
        {
            if (InputObject is null) return;
            if (InputObject.BaseObject is ErrorRecord) System.Threading.Volatile.Write(ref s_seen, 1);
            WriteObject(InputObject);
        }
    }
}
