using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Threading;

namespace QmailPS.Benchmarks
{
    /// <summary>
    /// `scale N [--queue PATH] [--cmdlets get,test,summary,metric] [--stops MS,MS,...]`: for each cmdlet, in a
    /// fresh process (so that its peak RSS is its own): the whole pipeline once (wall time, VmHWM), then
    /// Ctrl+C latency: the same pipeline started again and stopped after each delay, timed from the stop
    /// request (PowerShell.BeginStop, what a host's Ctrl+C handler calls) to the pipeline's end.
    /// Goals (issue 14 item 4): peak RSS &lt; 150 MB and a stop in &lt; 1 s at 1,000,000 messages.
    /// </summary>
    public static class Scale
    {
        public static readonly Dictionary<string, string> Scripts = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["get"] = "$c = 0; Get-QmailQueueMessage -QueuePath $q | ForEach-Object { $c++ }; $c",
            // What the quick mode's (a) times: every message kept (not for a million: that is memory by design).
            ["get-kept"] = "@(Get-QmailQueueMessage -QueuePath $q).Count",
            ["test"] = "$c = 0; Test-QmailQueue -QueuePath $q | ForEach-Object { $c++ }; $c",
            ["summary"] = "$s = Get-QmailQueueSummary -QueuePath $q; $s.MessagesInQueue",
            ["metric"] = "$t = Export-QmailMetric -QueuePath $q; $t.Length",
        };

        public static int Run(int n, string? queuePath, string cmdlets, string stops)
        {
            string queue = queuePath != null ? Path.GetFullPath(queuePath) : QueueGenerator.Ensure(n);
            Console.WriteLine($"# scale: {queue}; cmdlets {cmdlets}; stop requests after {stops} ms; each cmdlet in a fresh process");
            Console.WriteLine($"# machine: {Os.Machine()}");
            Console.WriteLine($"# {Os.ModuleInfo()}");
            var table = new List<string>();
            foreach (string c in cmdlets.Split(','))
            {
                var psi = Self.Start("scale-once");
                psi.ArgumentList.Add(c);
                psi.ArgumentList.Add(queue);
                psi.ArgumentList.Add(stops);
                psi.RedirectStandardOutput = true;
                using var p = Process.Start(psi)!;
                string? line;
                string result = "";
                while ((line = p.StandardOutput.ReadLine()) != null)
                {
                    Console.WriteLine($"[{c}] {line}");
                    if (line.StartsWith("RESULT ", StringComparison.Ordinal)) result = line.Substring(7);
                }
                p.WaitForExit();
                table.Add($"{c,-8} {result}{(p.ExitCode != 0 ? $" (exit {p.ExitCode})" : "")}");
            }
            Console.WriteLine();
            Console.WriteLine("cmdlet   wall s | peak RSS MiB (after import) | objects | stop latency ms at each delay (* = had already ended)");
            foreach (string t in table) Console.WriteLine(t);
            Console.WriteLine("goals: peak RSS < 150 MB (143.05 MiB); stop < 1000 ms");
            return 0;
        }

        /// <summary>In a fresh process: one full run, then one stopped run per delay.</summary>
        public static int Once(string cmdlet, string queue, string stops)
        {
            string script = Scripts[cmdlet];
            using Runspace rs = Workloads.OpenRunspaceWithModule();
            long hwmImport = Os.StatusKiB("VmHWM");
            rs.SessionStateProxy.SetVariable("q", queue);
            var sw = Stopwatch.StartNew();
            object? count;
            // QMAILPS_GC_SAMPLE=1: what the managed heap holds when RSS peaks (sampled every 20 ms).
            using var sampling = new CancellationTokenSource();
            string peak = "";
            Thread? sampler = null;
            if (Environment.GetEnvironmentVariable("QMAILPS_GC_SAMPLE") == "1")
            {
                sampler = new Thread(() =>
                {
                    long best = 0;
                    while (!sampling.IsCancellationRequested)
                    {
                        long rss = Os.StatusKiB("VmRSS");
                        if (rss > best)
                        {
                            best = rss;
                            var info = GC.GetGCMemoryInfo();
                            string gens = string.Join(" ", Enumerable.Range(0, info.GenerationInfo.Length).Select(g => $"g{g} {info.GenerationInfo[g].SizeAfterBytes / 1048576.0:F1}"));
                            peak = string.Create(CultureInfo.InvariantCulture,
                                $"peak sample: RSS {rss / 1024.0:F1} MiB; GC total {GC.GetTotalMemory(false) / 1048576.0:F1} MiB, committed {info.TotalCommittedBytes / 1048576.0:F1} MiB, after last GC: {gens}; GCs {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}; allocated {GC.GetTotalAllocatedBytes() / 1048576.0:F0} MiB");
                        }
                        Thread.Sleep(20);
                    }
                }) { IsBackground = true };
                sampler.Start();
            }
            using var ticks = Environment.GetEnvironmentVariable("QMAILPS_ALLOC_TICKS") == "1" ? new AllocTicks() : null;
            using (var ps = PowerShell.Create())
            {
                ps.Runspace = rs;
                ps.AddScript(script);
                var r = ps.Invoke();
                count = r.Count > 0 ? r[0]?.BaseObject : null;
                if (ps.HadErrors) Console.WriteLine("errors: " + string.Join(" | ", ps.Streams.Error.Take(3)));
            }
            double wall = sw.Elapsed.TotalSeconds;
            sampling.Cancel();
            sampler?.Join();
            if (peak.Length > 0) Console.WriteLine(peak);
            ticks?.Print();
            long hwm = Os.StatusKiB("VmHWM");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"full run: {wall:F2} s, result {count}; VmHWM {hwm / 1024.0:F1} MiB (after import {hwmImport / 1024.0:F1} MiB)"));
            var lat = new List<string>();
            foreach (string d in stops.Split(','))
            {
                int delay = int.Parse(d, CultureInfo.InvariantCulture);
                using var ps = PowerShell.Create();
                ps.Runspace = rs;
                ps.AddScript(script);
                var output = new PSDataCollection<PSObject>();
                IAsyncResult ar = ps.BeginInvoke<PSObject, PSObject>(null, output);
                Thread.Sleep(delay);
                bool ended = ar.IsCompleted;
                var stop = Stopwatch.StartNew();
                IAsyncResult sr = ps.BeginStop(null, null);
                ar.AsyncWaitHandle.WaitOne();
                double ms = stop.Elapsed.TotalMilliseconds;
                try { ps.EndStop(sr); } catch (Exception e) { Console.WriteLine("EndStop: " + e.GetType().Name); }
                string state = ps.InvocationStateInfo.State.ToString();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"stop after {delay} ms: pipeline ended {ms:F1} ms after the request, state {state}{(ended ? " (it had already ended)" : "")}"));
                lat.Add(string.Create(CultureInfo.InvariantCulture, $"{ms:F0}{(ended ? "*" : "")}"));
            }
            long hwmEnd = Os.StatusKiB("VmHWM");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"VmHWM at the end {hwmEnd / 1024.0:F1} MiB"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT {wall,6:F2} | {hwm / 1024.0,6:F1} ({hwmImport / 1024.0:F1}) | {count} | {string.Join(" ", lat)}"));
            return 0;
        }
    }

    /// <summary>GC allocation ticks (one per ~100 KB allocated) by heap and type: what allocates.</summary>
    internal sealed class AllocTicks : System.Diagnostics.Tracing.EventListener
    {
        private readonly Dictionary<string, long> _counts = new Dictionary<string, long>();
        protected override void OnEventSourceCreated(System.Diagnostics.Tracing.EventSource source)
        {
            if (source.Name == "Microsoft-Windows-DotNETRuntime")
                EnableEvents(source, System.Diagnostics.Tracing.EventLevel.Verbose, (System.Diagnostics.Tracing.EventKeywords)0x1);
        }
        protected override void OnEventWritten(System.Diagnostics.Tracing.EventWrittenEventArgs e)
        {
            if (e.EventName == null || !e.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.Payload == null) return;
            int ki = e.PayloadNames!.IndexOf("AllocationKind"), ti = e.PayloadNames.IndexOf("TypeName");
            string key = (ki >= 0 && Convert.ToInt32(e.Payload[ki]) == 1 ? "LOH " : "SOH ") + (ti >= 0 ? e.Payload[ti] as string : "?");
            lock (_counts) _counts[key] = _counts.TryGetValue(key, out long c) ? c + 1 : 1;
        }
        public void Print()
        {
            lock (_counts)
                foreach (var kv in _counts.OrderByDescending(k => k.Value).Take(25)) Console.WriteLine($"ticks {kv.Value,6} {kv.Key}");
        }
    }

    internal static class Self
    {
        /// <summary>This benchmark binary again, with <paramref name="arg"/> first.</summary>
        public static ProcessStartInfo Start(string arg)
        {
            string exe = Environment.ProcessPath!;
            var psi = new ProcessStartInfo(exe) { UseShellExecute = false };
            if (Path.GetFileNameWithoutExtension(exe) == "dotnet") psi.ArgumentList.Add(typeof(Program).Assembly.Location);
            psi.ArgumentList.Add(arg);
            return psi;
        }
    }
}
