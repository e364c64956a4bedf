using System;
using System.Globalization;
using System.IO;
using System.Runtime.CompilerServices;

namespace QmailPS.Host
{
    /// <summary>qmailps without arguments: a sample queue and a few commands on it.</summary>
    internal static class Tour
    {
        // Not inlined into Main: QmailPS types are touched only after Import-Module has loaded the
        // module (and registered its Mono.Posix resolver).
        [MethodImpl(MethodImplOptions.NoInlining)]
        public static int Run(HostSession session)
        {
            SampleQueue sample;
            try { sample = SampleQueue.Create(DateTime.UtcNow); }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                Console.Error.WriteLine("qmailps: cannot build the sample queue: " + e.Message);
                return Program.ExitFailed;
            }
            session.UseQueue(sample.QueuePath);

            string id = sample.ShowcaseId.ToString(CultureInfo.InvariantCulture);
            Console.Out.WriteLine($"A sample qmail queue: {sample.Messages} messages in {sample.QueuePath} (control/me: example.test).");
            Console.Out.WriteLine("Each command below gets -QueuePath from $PSDefaultParameterValues['*-Qmail*:QueuePath'].");

            string[] steps =
            {
                // qmail-qstat's two lines, then what a postmaster asks next
                "Get-QmailQueueSummary",
                // a recipient failed permanently; qmail-send is about to bounce these
                "Get-QmailQueueMessage -State Bouncing",
                // bounces still undelivered after qmail's 7-day queuelifetime
                "Get-QmailQueueMessage -Sender '' | Where-Object QueuedAt -lt ([DateTime]::Now.AddDays(-7))",
                // mail stuck for a dead domain
                "@(Get-QmailQueueMessage -Recipient '*@unreachable.example').Count",
                // just queued, not yet preprocessed (qmail-qread does not show these)
                "Get-QmailQueueMessage -State Unprocessed -Sender 'root@*' -IncludeHeader | ForEach-Object { '{0}  {1}' -f $_.Id, $_.Subject }",
                // one message: who got it, who is still waiting
                $"(Get-QmailQueueMessage -Id {id}).Recipients",
                // the same as qmail-qread prints it
                $"Get-QmailQueueMessage -Id {id} | ConvertTo-QmailQread",
            };
            bool ok = true;
            foreach (string step in steps)
            {
                Console.Out.WriteLine();
                Console.Out.WriteLine("PS> " + step);
                ok &= session.Run(step);
                if (session.Cancelled) return Program.ExitCancelled;
            }

            Console.Out.WriteLine();
            Console.Out.WriteLine($"The sample queue stays in {sample.Home}; try more commands on it:");
            Console.Out.WriteLine($"  {Invocation()} -QueuePath {sample.QueuePath} -Command 'Get-QmailQueueMessage -OlderThan 7.00:00:00'");
            Console.Out.WriteLine($"Remove it with: rm -rf {sample.Home}");
            return ok ? Program.ExitOk : Program.ExitFailed;
        }

        /// <summary>A command line the user can paste to run this host again.</summary>
        private static string Invocation()
        {
            string command = Path.Combine(AppContext.BaseDirectory, "qmailps");
            if (File.Exists(command)) return command;
            string? process = Environment.ProcessPath;
            if (process is null || Path.GetFileNameWithoutExtension(process) == "dotnet") return "dotnet " + typeof(Tour).Assembly.Location;
            return process;
        }
    }
}
