using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using QmailPS.Processes;

namespace QmailPS.Tests.Processes
{
    /// <summary>
    /// Real processes that look like qmail's to /proc, for the process cmdlets.
    ///
    /// The cmdlets identify qmail's programs by /proc/PID/exe, so each fake's executable file must
    /// itself be called qmail-remote, qmail-smtpd, …: the fakes are copies of /usr/bin/perl under
    /// those names (perl is in every Debian/Ubuntu base image as perl-base; no compiler needed).
    /// Perl takes its first non-option argument as the script file, so the script is written into
    /// the fake's working directory under the name of that argument: "qmail-remote HOST SENDER RCPT"
    /// runs the file HOST with @ARGV = (SENDER, RCPT), and argv is exactly qmail-rspawn's.
    /// "qmail-local -- USER HOME …" works the same way with the file USER ("--" ends perl's options).
    /// Each script writes "ready" once its handlers, connection and children are in place.
    /// </summary>
    public sealed class FakeQmail : IDisposable
    {
        private static readonly ProcTable Proc = new ProcTable();
        private readonly List<(int Pid, ulong Start)> _all = new List<(int, ulong)>();
        private readonly List<Process> _processes = new List<Process>();
        private int _n;

        public FakeQmail()
        {
            Dir = Path.Combine(Path.GetTempPath(), "qmailps-proc-" + Guid.NewGuid().ToString("N").Substring(0, 10));
            Directory.CreateDirectory(Path.Combine(Dir, "bin"));
            foreach (string name in new[] { "qmail-remote", "qmail-smtpd", "qmail-local", "qmail-send" })
            {
                string target = Bin(name);
                File.Copy("/usr/bin/perl", target);
                File.SetUnixFileMode(target, (UnixFileMode)Convert.ToInt32("755", 8));
            }
        }

        public string Dir { get; }
        public string Bin(string name) => Path.Combine(Dir, "bin", name);

        public enum OnTerm { Default, Trap, Ignore }

        /// <summary>The perl program of a fake.</summary>
        public static string Script(OnTerm term = OnTerm.Default, int connectPort = 0, string? childShell = null, string? lockFile = null)
        {
            var s = new List<string>
            {
                "use strict; use Socket;",
                "open(STDERR, '>>', 'stderr.txt'); open(STDOUT, '>>', 'stdout.txt');",
            };
            if (term == OnTerm.Trap) s.Add("$SIG{TERM} = sub { open(my $m, '>', 'term.marker'); print $m \"TERM\\n\"; close $m; exit 0; };");
            if (term == OnTerm.Ignore) s.Add("$SIG{TERM} = 'IGNORE';");
            if (connectPort != 0)
            {
                s.Add("socket(my $sock, AF_INET, SOCK_STREAM, 0) or die \"socket: $!\";");
                s.Add($"connect($sock, pack_sockaddr_in({connectPort}, inet_aton('127.0.0.1'))) or die \"connect: $!\";");
            }
            if (lockFile != null)
            {
                s.Add($"open(my $lk, '>>', q{{{lockFile}}}) or die \"open: $!\"; flock($lk, 2) or die \"flock: $!\";");
            }
            if (childShell != null)
            {
                s.Add("my $kid = fork(); die \"fork: $!\" unless defined $kid;");
                s.Add($"if ($kid == 0) {{ $SIG{{TERM}} = 'DEFAULT'; exec('/bin/sh', '-c', q{{{childShell}}}) or die \"exec: $!\"; }}");
                s.Add("for (1..200) { last if -e 'sleep.pid'; select(undef, undef, undef, 0.05); }");
            }
            s.Add("open(my $r, '>', 'ready.tmp') or die; print $r \"$$\\n\"; close $r; rename('ready.tmp', 'ready');");
            s.Add("while (1) { sleep 1000; }");
            return string.Join("\n", s) + "\n";
        }

        /// <summary>A child shell that starts a sleep and waits; with ignoreTerm both ignore SIGTERM.</summary>
        public static string ChildShell(bool ignoreTerm) =>
            (ignoreTerm ? "trap '' TERM; " : "") + "echo $$ > sh.pid; sleep 1000 & echo $! > sleep.tmp; mv sleep.tmp sleep.pid; wait";

        public sealed class Fake
        {
            internal Fake(int pid, ulong start, string workDir) { Pid = pid; StartTicks = start; WorkDir = workDir; }
            public int Pid { get; }
            public ulong StartTicks { get; }
            public string WorkDir { get; }
            public bool SawTerm => File.Exists(Path.Combine(WorkDir, "term.marker")) && File.ReadAllText(Path.Combine(WorkDir, "term.marker")) == "TERM\n";
            public bool Alive => IsAlive(Pid, StartTicks);
            public int ReadPid(string file) => int.Parse(File.ReadAllText(Path.Combine(WorkDir, file)).Trim());
        }

        /// <summary>Starts bin/PROGRAM with the arguments; the script goes into the file named by scriptArgument.</summary>
        public Fake Start(string program, IReadOnlyList<string> args, string scriptArgument, string script, IDictionary<string, string>? env = null)
        {
            string work = Path.Combine(Dir, "w" + Interlocked.Increment(ref _n));
            Directory.CreateDirectory(work);
            File.WriteAllText(Path.Combine(work, scriptArgument), script);
            var psi = new ProcessStartInfo(Bin(program)) { WorkingDirectory = work, UseShellExecute = false };
            foreach (string a in args) psi.ArgumentList.Add(a);
            psi.Environment.Remove("TCPREMOTEIP");
            if (env != null) foreach (var kv in env) psi.Environment[kv.Key] = kv.Value;
            Process p = Process.Start(psi)!;
            _processes.Add(p);
            Fake f = Track(p.Id, work);
            WaitFor(() => File.Exists(Path.Combine(work, "ready")) || p.HasExited, $"{program} in {work} to get ready");
            if (p.HasExited)
                throw new InvalidOperationException($"fake {program} exited: {ReadOrEmpty(Path.Combine(work, "stderr.txt"))}");
            foreach (string pidFile in new[] { "sh.pid", "sleep.pid" })
                if (File.Exists(Path.Combine(work, pidFile))) Track(f.ReadPid(pidFile), work);
            return f;
        }

        /// <summary>A process whose argv[0] (and maybe comm) says qmail-remote but whose executable is /usr/bin/sleep.</summary>
        public Fake StartImpostor(bool viaSymlink)
        {
            string work = Path.Combine(Dir, "w" + Interlocked.Increment(ref _n));
            Directory.CreateDirectory(work);
            ProcessStartInfo psi;
            if (viaSymlink)
            {
                // comm comes from the executed path's name, exe from the file it resolves to.
                string link = Path.Combine(work, "qmail-remote");
                File.CreateSymbolicLink(link, "/usr/bin/sleep");
                psi = new ProcessStartInfo(link) { WorkingDirectory = work, UseShellExecute = false };
                psi.ArgumentList.Add("300");
            }
            else
            {
                psi = new ProcessStartInfo("/bin/bash") { WorkingDirectory = work, UseShellExecute = false };
                psi.ArgumentList.Add("-c");
                psi.ArgumentList.Add("exec -a qmail-remote sleep 300");
            }
            Process p = Process.Start(psi)!;
            _processes.Add(p);
            WaitFor(() => Proc.ReadCommandLine(p.Id).FirstOrDefault() is string a0 && a0.EndsWith("qmail-remote", StringComparison.Ordinal)
                          && Proc.ReadExecutable(p.Id, out _) == "/usr/bin/sleep", "the impostor to exec sleep");
            return Track(p.Id, work);
        }

        private Fake Track(int pid, string work)
        {
            ProcStat st = Proc.ReadStat(pid) ?? throw new InvalidOperationException($"process {pid} vanished at once");
            lock (_all) _all.Add((pid, st.StartTicks));
            return new Fake(pid, st.StartTicks, work);
        }

        public static bool IsAlive(int pid, ulong startTicks)
        {
            ProcStat? st = Proc.ReadStat(pid);
            return st.HasValue && st.Value.StartTicks == startTicks && !st.Value.HasExited;
        }

        public static bool IsAlive(int pid) => Proc.ReadStat(pid) is ProcStat st && !st.HasExited;

        public static void WaitFor(Func<bool> condition, string what, int timeoutMs = 15000)
        {
            var sw = Stopwatch.StartNew();
            while (!condition())
            {
                if (sw.ElapsedMilliseconds > timeoutMs) throw new TimeoutException("timed out waiting for " + what);
                Thread.Sleep(20);
            }
        }

        private static string ReadOrEmpty(string path) => File.Exists(path) ? File.ReadAllText(path) : "";

        /// <summary>Kills every process this fixture started (and their recorded children), checking each one's start time first.</summary>
        public void KillAll()
        {
            List<(int Pid, ulong Start)> all;
            lock (_all) { all = _all.ToList(); _all.Clear(); }
            foreach (var (pid, start) in all)
                if (IsAlive(pid, start)) QmailPS.Tests.Support.TestFs.Raw.Kill(pid, 9);
            foreach (Process p in _processes)
            {
                try { p.WaitForExit(5000); } catch (InvalidOperationException) { }
                p.Dispose();
            }
            _processes.Clear();
        }

        public void Dispose()
        {
            KillAll();
            try { Directory.Delete(Dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
