using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace QmailPS.Benchmarks
{
    /// <summary>
    /// Issue 14 item 1: Repair-QmailQueue of a queue copied with `cp -a` (every message's id is no
    /// longer its mess inode, so every message is renumbered) at most 0.5x the `cp -a` itself, on
    /// the same disk in the same run. Each round: sync; time `cp -a` of the generated queue to a
    /// fresh directory (never right after deleting files: see Run); sync (timed apart: the copy's writeback, which the repair would otherwise
    /// pay for in its first directory fsync); time Repair-QmailQueue on that copy in a runspace with
    /// the module loaded; then, untimed, check the copy: Test-QmailQueue finds nothing and every
    /// message is still listed.
    /// </summary>
    public static class RepairCopy
    {
        public static int Run(int n, int runs, bool keep)
        {
            string source = QueueGenerator.Ensure(n);
            string work = Path.Combine(QueueGenerator.BaseDir, "repair-copy");
            Console.WriteLine($"# repair-copy: cp -a of {source} ({n} messages), then Repair-QmailQueue of the copy; {runs} runs, interleaved");
            Console.WriteLine($"# machine: {Os.Machine()}");
            Console.WriteLine($"# {Os.ModuleInfo()}");
            using Runspace rs = Program.ModuleRunspace(Repo.Manifest);
            // ext4 without a journal (this machine's disk) does not reuse an inode freed in the last
            // 60 s (300 s while its inode table block is dirty): after an rm -rf of a copy, every file
            // cp -a creates scans past those inodes first (recently_deleted, seen in perf), and one
            // cp -a took 36-180 s instead of 17 s. So nothing is deleted between rounds: each copy
            // stays until the end, and leftovers of an earlier run are removed, synced and waited out.
            if (Directory.Exists(work))
            {
                Sh("rm", "-rf", work);
                Sh("sync");
                Console.WriteLine("# removed an earlier run's copies; waiting 65 s so that cp -a does not meet inodes freed just now");
                System.Threading.Thread.Sleep(TimeSpan.FromSeconds(65));
            }
            var cp = new List<double>(); var sync = new List<double>(); var repair = new List<double>();
            for (int i = 1; i <= runs; i++)
            {
                string round = Path.Combine(work, "round" + i.ToString(CultureInfo.InvariantCulture));
                Directory.CreateDirectory(round);
                Sh("sync");
                string copy = Path.Combine(round, "queue");
                var sw = Stopwatch.StartNew();
                Sh("cp", "-a", source, copy);
                double a = sw.Elapsed.TotalSeconds;
                sw.Restart();
                Sh("sync");
                double s = sw.Elapsed.TotalSeconds;

                sw.Restart();
                string did;
                using (var ps = PowerShell.Create())
                {
                    ps.Runspace = rs;
                    ps.AddScript("param($q, $z) @(Repair-QmailQueue -QueuePath $q -QuarantinePath $z -Confirm:$false).Count")
                        .AddArgument(copy).AddArgument(Path.Combine(round, "quarantine"));
                    var r = ps.Invoke();
                    did = r.Count > 0 ? r[0].ToString() : "?";
                    if (ps.HadErrors) throw new InvalidOperationException("Repair-QmailQueue reported errors: " + string.Join(" | ", ps.Streams.Error.Take(3)));
                    if (ps.Streams.Warning.Count > 0) Console.Error.WriteLine($"[repair] {ps.Streams.Warning.Count} warning(s), first: {ps.Streams.Warning[0].Message}");
                }
                double b = sw.Elapsed.TotalSeconds;
                cp.Add(a); sync.Add(s); repair.Add(b);

                // Untimed: the repaired copy is clean and still holds every message.
                using (var ps = PowerShell.Create())
                {
                    ps.Runspace = rs;
                    ps.AddScript("param($q) \"$(@(Test-QmailQueue -QueuePath $q | Where-Object Severity -ne 'Transient').Count) $(@(Get-QmailQueueMessage -QueuePath $q).Count)\"").AddArgument(copy);
                    string check = ps.Invoke()[0].ToString();
                    if (check != "0 " + n.ToString(CultureInfo.InvariantCulture))
                        throw new InvalidOperationException($"after the repair: '{check}' (findings, messages), expected '0 {n}'");
                }
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"run {i}: cp -a {a:F2} s (then sync {s:F2} s), Repair-QmailQueue {b:F2} s ({did} actions), ratio {b / a:F2}"));
            }
            if (!keep) Sh("rm", "-rf", work);
            double x = Stats.Median(cp), y = Stats.Median(repair), z = Stats.Median(sync);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"medians of {runs}: cp -a {x:F2} s [min {cp.Min():F2}, max {cp.Max():F2}], sync after it {z:F2} s, Repair-QmailQueue {y:F2} s [min {repair.Min():F2}, max {repair.Max():F2}], " +
                $"ratio {y / x:F2} (vs cp -a + sync {y / (x + z):F2})   goal: at most 0.5"));
            return 0;
        }

        private static void Sh(string file, params string[] args)
        {
            var psi = new ProcessStartInfo(file) { UseShellExecute = false };
            foreach (string a in args) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(" ", args)} exited {p.ExitCode}");
        }
    }
}
