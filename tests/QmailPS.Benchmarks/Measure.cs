using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Reflection;
using System.Runtime.InteropServices;
using QmailPS.Queue;

namespace QmailPS.Benchmarks
{
    /// <summary>The things measured, shared by the BenchmarkDotNet classes and the quick/memory modes.</summary>
    public static class Workloads
    {
        /// <summary>A runspace with out/QmailPS/QmailPS.psd1 imported, as a user's Import-Module would.</summary>
        public static Runspace OpenRunspaceWithModule()
        {
            var iss = InitialSessionState.CreateDefault2();
            iss.Variables.Add(new SessionStateVariableEntry("PSModuleAutoloadingPreference", "None", ""));
            iss.Variables.Add(new SessionStateVariableEntry("ProgressPreference", "SilentlyContinue", ""));
            Runspace rs = RunspaceFactory.CreateRunspace(iss);
            rs.Open();
            Import(rs);
            return rs;
        }

        public static void Import(Runspace rs)
        {
            using var ps = PowerShell.Create();
            ps.Runspace = rs;
            ps.AddCommand("Import-Module").AddParameter("Name", Repo.Manifest).AddParameter("ErrorAction", "Stop");
            ps.Invoke();
        }

        /// <summary>(a) `@(Get-QmailQueueMessage -QueuePath $q).Count` in an open runspace.</summary>
        public static int Cmdlet(Runspace rs, string queue, string script = "@(Get-QmailQueueMessage -QueuePath $q).Count")
        {
            using var ps = PowerShell.Create();
            ps.Runspace = rs;
            rs.SessionStateProxy.SetVariable("q", queue);
            ps.AddScript(script);
            var result = ps.Invoke();
            if (ps.HadErrors)
                throw new InvalidOperationException("Get-QmailQueueMessage reported errors: " +
                    string.Join(" | ", ps.Streams.Error.Take(3).Select(e => e.ToString())));
            if (ps.Streams.Warning.Count > 0)
                Console.Error.WriteLine($"[cmdlet] {ps.Streams.Warning.Count} warning(s), first: {ps.Streams.Warning[0].Message}");
            return result.Count == 1 && result[0].BaseObject is int n ? n : result.Count;
        }

        /// <summary>(b) the raw scan: every event of QueueScanner.Scan, counting messages.</summary>
        public static int Scanner(string queue)
        {
            var scanner = new QueueScanner(QueueLayout.Detect(queue));
            int count = 0;
            foreach (ScanEvent e in scanner.Scan()) if (e.Kind == ScanEventKind.Message) count++;
            return count;
        }

        /// <summary>(c) perl qread-baseline.pl QUEUE &gt; /dev/null.</summary>
        public static void Perl(string queue) => Child($"exec perl {Sh(Repo.PerlBaseline)} {Sh(queue)} > /dev/null");

        /// <summary>Real qmail-qread (its queue is compiled in: &lt;conf-qmail&gt;/queue), output to /dev/null.</summary>
        public static void Qread(string binary) => Child($"exec {Sh(binary)} > /dev/null");

        public static void Child(string shellCommand)
        {
            var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(shellCommand);
            using var p = Process.Start(psi)!;
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InvalidOperationException($"'{shellCommand}' exited {p.ExitCode}");
        }

        public static string Sh(string s) => "'" + s.Replace("'", "'\\''") + "'";
    }

    /// <summary>getrusage and /proc/self/status.</summary>
    public static class Os
    {
        [StructLayout(LayoutKind.Sequential)]
        private struct RUsage
        {
            public long UtimeSec, UtimeUsec, StimeSec, StimeUsec;
            public long MaxRss, IxRss, IdRss, IsRss, MinFlt, MajFlt, NSwap, InBlock, OuBlock, MsgSnd, MsgRcv, NSignals, NVCsw, NIvCsw;
        }

        [DllImport("libc", SetLastError = true)]
        private static extern int getrusage(int who, out RUsage usage);

        public const int Self = 0, Children = -1;

        /// <summary>(user seconds, system seconds, max RSS of the process or of the largest reaped child, KiB).</summary>
        public static (double User, double Sys, long MaxRssKiB) Usage(int who)
        {
            if (getrusage(who, out RUsage u) != 0) return (0, 0, 0);
            return (u.UtimeSec + u.UtimeUsec / 1e6, u.StimeSec + u.StimeUsec / 1e6, u.MaxRss);
        }

        public static long StatusKiB(string field)
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith(field + ":", StringComparison.Ordinal))
                    return long.Parse(line.Substring(field.Length + 1).Trim().Split(' ')[0]);
            return -1;
        }

        /// <summary>Resets VmHWM to the current RSS (Linux 4.0+: echo 5 &gt; /proc/self/clear_refs).</summary>
        public static bool ResetPeak()
        {
            try { File.WriteAllText("/proc/self/clear_refs", "5"); return true; }
            catch (IOException) { return false; }
            catch (UnauthorizedAccessException) { return false; }
        }

        public static string Machine()
        {
            string cpu = "?";
            try { cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?"; } catch (IOException) { }
            string kernel = "?";
            try { kernel = File.ReadAllText("/proc/sys/kernel/osrelease").Trim(); } catch (IOException) { }
            return $"{Environment.ProcessorCount} CPU ({cpu}), Linux {kernel}, .NET {Environment.Version}, GC server={System.Runtime.GCSettings.IsServerGC}";
        }

        /// <summary>Which QmailPS.dll the process uses, and whether it was compiled optimized (Release).</summary>
        public static string ModuleInfo()
        {
            Assembly a = typeof(QueueScanner).Assembly;
            var dbg = a.GetCustomAttribute<DebuggableAttribute>();
            bool optimized = dbg is null || !dbg.IsJITOptimizerDisabled;
            return $"QmailPS.dll {a.Location} (written {File.GetLastWriteTime(a.Location):yyyy-MM-dd HH:mm:ss}, {(optimized ? "optimized/Release" : "NOT optimized/Debug")})";
        }
    }

    public static class Stats
    {
        public static double Median(IEnumerable<double> xs)
        {
            var s = xs.OrderBy(x => x).ToArray();
            if (s.Length == 0) return double.NaN;
            return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
        }
    }
}
