using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using QmailPS.Posix;
using QmailPS.Queue;
using QmailPS.Tests.Support;
using Xunit;

namespace QmailPS.Tests.Host
{
    /// <summary>
    /// The qmailps console host (src/QmailPS.Host) run as a real process, the way a user without
    /// pwsh runs it: dotnet QmailPS.Host.dll -Command '...' [-QueuePath dir].
    /// </summary>
    public sealed class HostTests
    {
        private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

        /// <summary>Debug or Release, as this test assembly was built (bin/&lt;Configuration&gt;/net10.0/).</summary>
        private static string Configuration => new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent!.Name;

        private static string HostDll
        {
            get
            {
                string dll = Path.Combine(Repo.Root, "src", "QmailPS.Host", "bin", Configuration, "net10.0", "QmailPS.Host.dll");
                Assert.True(File.Exists(dll), $"The host is not built at {dll} (the test project's ProjectReference builds it).");
                return dll;
            }
        }

        /// <summary>The dotnet muxer running these tests (an absolute path, so runuser's PATH does not matter).</summary>
        private static string Dotnet
        {
            get
            {
                string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
                if (!string.IsNullOrEmpty(host) && File.Exists(host)) return host;
                string? process = Environment.ProcessPath;
                if (process != null && Path.GetFileNameWithoutExtension(process) == "dotnet") return process;
                foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
                {
                    string candidate = Path.Combine(dir, "dotnet");
                    if (dir.Length > 0 && File.Exists(candidate)) return Path.GetFullPath(candidate);
                }
                throw new Xunit.Sdk.XunitException("Cannot find the dotnet muxer (DOTNET_HOST_PATH, the test process, PATH).");
            }
        }

        private sealed record HostRun(int ExitCode, string Stdout, string Stderr)
        {
            public string All => Stdout + Stderr;
            public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
        }

        private static HostRun Run(string file, IEnumerable<string> args, IDictionary<string, string>? env = null)
        {
            var psi = new ProcessStartInfo(file)
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string a in args) psi.ArgumentList.Add(a);
            psi.Environment.Remove("QMAILPS_MODULE");
            psi.Environment.Remove("QMAIL_HOME");
            if (env != null) foreach (var kv in env) psi.Environment[kv.Key] = kv.Value;
            using var p = Process.Start(psi)!;
            p.StandardInput.Close(); // a confirm prompt gets end of input, never a hang
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit((int)Timeout.TotalMilliseconds))
            {
                try { p.Kill(true); } catch (InvalidOperationException) { }
                throw new Xunit.Sdk.XunitException($"{file} {string.Join(" ", psi.ArgumentList)} did not finish in {Timeout}.");
            }
            p.WaitForExit();
            return new HostRun(p.ExitCode, stdout.Result, stderr.Result);
        }

        private static HostRun RunHost(params string[] args) => Run(Dotnet, new[] { HostDll }.Concat(args));

        [Fact]
        public void Without_arguments_it_builds_a_sample_queue_and_tours_it()
        {
            HostRun r = RunHost();
            Match kept = Regex.Match(r.Stdout, @"The sample queue stays in (\S+);");
            try
            {
                Assert.True(r.ExitCode == 0, r.ToString());
                Assert.Contains("PS> Get-QmailQueueSummary", r.Stdout);
                Assert.Matches(@"(?m)^messages in queue: \d+$", r.Stdout);
                Assert.Matches(@"(?m)^messages in queue but not yet preprocessed: \d+$", r.Stdout);
                // a table through the module's format view: header with Id ... State, then its dashes
                Assert.Matches(@"(?m)^\s+Id\s+QueuedAt\s+.*\bState\s*$", r.Stdout);
                Assert.Matches(@"(?m)^\s+--\s+--------\s+", r.Stdout);
                Assert.Contains("Bouncing", r.Stdout);
                Assert.Matches(@"(?m)^\s+done\tremote\t", r.Stdout); // ConvertTo-QmailQread of the partly delivered message
                Assert.DoesNotContain("\u001b[", r.Stdout, StringComparison.Ordinal); // redirected: $PSStyle.OutputRendering PlainText
                Assert.True(kept.Success, "The tour does not say where the sample queue is:\n" + r);
                string queue = Path.Combine(kept.Groups[1].Value, "queue");
                Assert.True(Directory.Exists(Path.Combine(queue, "mess")), $"The sample queue {queue} was not kept.");
                Assert.True(r.Stdout.Split('\n').Length < 100, "The tour should stay short:\n" + r.Stdout);
                // The demo queue is what qmail leaves after a clean stop: Test-QmailQueue finds nothing at all.
                HostRun t = RunHost("-Command", $"Test-QmailQueue -QueuePath '{queue}' | ForEach-Object {{ 'finding: ' + $_.Kind + ' ' + $_.Path }}");
                Assert.True(t.ExitCode == 0, t.ToString());
                Assert.DoesNotContain("finding:", t.Stdout);
            }
            finally
            {
                if (kept.Success && kept.Groups[1].Value.Contains("qmailps-sample-", StringComparison.Ordinal))
                {
                    try { Directory.Delete(kept.Groups[1].Value, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
                }
            }
        }

        [Fact]
        public void A_path_that_is_not_a_queue_is_reported_like_pwsh_and_exits_1()
        {
            string missing = Path.Combine(Path.GetTempPath(), "qmailps-nonexistent-" + Guid.NewGuid().ToString("N"));
            HostRun r = RunHost("-Command", "Get-QmailQueueMessage", "-QueuePath", missing);
            Assert.True(r.ExitCode == 1, r.ToString());
            // ConciseView, as pwsh prints it: "<Command>: <message>", on stderr
            Assert.Contains($"Get-QmailQueueMessage: '{missing}' is not a qmail queue: it does not exist.", r.Stderr);
            Assert.Equal("", r.Stdout.Trim());
        }

        [Fact]
        public void A_command_on_a_real_queue_prints_its_messages_and_exits_0()
        {
            using TempQueue q = TempQueue.Create();
            ulong id = q.AddProcessed("alice@example.test", "bob@remote.example");
            HostRun r = RunHost("-QueuePath", q.Root, "-Command",
                "Get-QmailQueueMessage; \"QueuePath=$QueuePath\"; \"QMAIL_HOME=$env:QMAIL_HOME\"; Get-QmailQueueMessage -Id " + id + " | ConvertTo-QmailQread");
            Assert.True(r.ExitCode == 0, r.ToString());
            Assert.Matches($@"(?m)^\s*{id} .*alice@example\.test\s+bob@remote\.example\s+Queued\s*$", r.Stdout);
            Assert.Contains("QueuePath=" + q.Root + "\n", r.Stdout);
            Assert.Contains("QMAIL_HOME=" + q.Home + "\n", r.Stdout);
            Assert.Contains($"#{id}", r.Stdout);
            Assert.Contains("\tremote\tbob@remote.example", r.Stdout);
            Assert.Equal("", r.Stderr.Trim());
        }

        /// <summary>
        /// A low descriptor limit (a container, a service with LimitNOFILE) slows the batched reads
        /// down to plain calls; it never costs a message or marks one damaged. 2,000 messages: more
        /// files than the limit, so the batches must ration their descriptors.
        /// </summary>
        [Fact]
        public void Under_a_low_descriptor_limit_every_message_is_still_listed_and_judged()
        {
            using TempQueue q = TempQueue.Create();
            for (int i = 0; i < 2000; i++)
                q.AddProcessed($"s{i}@example.test", new[] { new RecipientSpec($"l{i}@example.test", RecipientChannel.Local), new RecipientSpec($"r{i}@remote.test", RecipientChannel.Remote) });
            string cmd = "$m = @(Get-QmailQueueMessage); \"listed=$($m.Count) damaged=$(@($m | Where-Object State -eq Damaged).Count) findings=$(@(Test-QmailQueue).Count)\"";
            HostRun r = Run("/bin/bash", new[] { "-c", "ulimit -n 300 && exec \"$0\" \"$@\"", Dotnet, HostDll, "-QueuePath", q.Root, "-Command", cmd });
            Assert.True(r.ExitCode == 0, r.ToString());
            Assert.Contains("listed=2000 damaged=0 findings=0", r.Stdout);
        }

        [Fact]
        public void A_non_terminating_error_exits_1_and_WhatIf_text_reaches_stdout()
        {
            using TempQueue q = TempQueue.Create();
            ulong id = q.AddProcessed("alice@example.test", "bob@remote.example");
            const string function = "function Remove-Thing { [CmdletBinding(SupportsShouldProcess)] param($Id) if ($PSCmdlet.ShouldProcess(\"message $Id\", 'Remove')) { 'removed' } }";
            HostRun r = RunHost("-QueuePath", q.Root, "-Command",
                function + "; Remove-Thing -Id " + id + " -WhatIf; Get-QmailQueueMessage -Id 1," + id);
            Assert.True(r.ExitCode == 1, r.ToString());
            Assert.Contains($"What if: Performing the operation \"Remove\" on target \"message {id}\".", r.Stdout);
            Assert.DoesNotContain("removed", r.Stdout);
            Assert.Contains("Get-QmailQueueMessage: No message 1 in the queue", r.Stderr);
            Assert.Matches($@"(?m)^\s*{id} ", r.Stdout); // the error did not stop the rest of the pipeline
        }

        /// <summary>
        /// qmaild (group nofiles) cannot read a queue whose root is 0750 qmailq:qmail: the host,
        /// running as qmaild, starts, imports the module, and reports access denied with exit 1.
        /// </summary>
        [Fact]
        public void A_user_who_cannot_read_the_queue_gets_access_denied_and_exit_1()
        {
            IFileSystem posix = TestFs.Raw;
            Assert.True(posix.EffectiveUserId == 0,
                "This test runs the host as qmaild through runuser, which needs root: run the tests as root (as .ci/run does).");
            var qmaild = posix.LookupUser(QmailUsers.Qmaild);
            Assert.True(qmaild.HasValue, "User qmaild does not exist: create qmail's users as .ci/run does.");
            Assert.True(File.Exists("/usr/sbin/runuser") || File.Exists("/sbin/runuser") || File.Exists("/usr/bin/runuser"),
                "runuser is missing: install util-linux.");

            using TempQueue q = TempQueue.Create();
            q.AddProcessed("alice@example.test", "bob@remote.example");
            Assert.True(posix.TryLstat(q.Root, out FileStatus root, out _), "lstat " + q.Root);
            Assert.True(root.Uid == posix.LookupUser(QmailUsers.Qmailq)!.Value.Uid && (root.Permissions & 0x7) == 0 && root.Gid != qmaild.Value.Gid,
                $"The queue root should be 0750 qmailq:qmail, unreadable by qmaild; it is {Convert.ToString(root.Permissions, 8)} {root.Uid}:{root.Gid}.");

            string home = Directory.CreateTempSubdirectory("qmailps-qmaild-").FullName;
            try
            {
                posix.Lchown(home, qmaild.Value.Uid, qmaild.Value.Gid);
                string dotnet = Dotnet;
                string hostDll = HostDll;
                string hostDir = Path.GetDirectoryName(hostDll)!;
                // Everything qmaild must read, checked as qmaild: a failure here is a setup problem
                // (e.g. /work or a parent not world-readable), not the access-denied this test is about.
                var needed = new List<string>
                {
                    hostDll, Path.Combine(hostDir, "QmailPS.Host.deps.json"), Path.Combine(hostDir, "QmailPS.Host.runtimeconfig.json"),
                    Path.Combine(hostDir, "System.Management.Automation.dll"),
                    Repo.Manifest, Path.Combine(Repo.ModuleDir, "QmailPS.dll"),
                };
                if (!File.Exists(needed[3])) needed[3] = Directory.EnumerateFiles(hostDir, "System.Management.Automation.dll", SearchOption.AllDirectories).First();
                needed.AddRange(Directory.EnumerateFiles(Path.Combine(Repo.ModuleDir, "runtimes"), "*", SearchOption.AllDirectories));
                foreach (string file in needed)
                {
                    HostRun check = Run("runuser", new[] { "-u", QmailUsers.Qmaild, "--", "test", "-r", file });
                    Assert.True(check.ExitCode == 0,
                        $"qmaild cannot read {file}; the host cannot run as qmaild. Make the repository and its parents world-readable " +
                        "(chmod o+rx on each directory, o+r on the files) or put the checkout somewhere qmaild can read.");
                }
                HostRun x = Run("runuser", new[] { "-u", QmailUsers.Qmaild, "--", "test", "-x", dotnet });
                Assert.True(x.ExitCode == 0, $"qmaild cannot execute {dotnet}.");

                HostRun r = Run("runuser", new[]
                {
                    "-u", QmailUsers.Qmaild, "--", "env", "-i",
                    "PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + home, "DOTNET_CLI_HOME=" + home, "TMPDIR=" + home,
                    "DOTNET_CLI_TELEMETRY_OPTOUT=1", "DOTNET_NOLOGO=1", "POWERSHELL_TELEMETRY_OPTOUT=1",
                    dotnet, hostDll, "-QueuePath", q.Root, "-Command", "\"user=$([Environment]::UserName)\"; Get-QmailQueueMessage",
                });
                Assert.True(r.ExitCode == 1, r.ToString());
                Assert.Contains("user=" + QmailUsers.Qmaild, r.Stdout); // really ran, as qmaild
                Assert.True(r.All.Contains("QmailQueueAccessDenied", StringComparison.Ordinal) ||
                            r.All.Contains("Reading the qmail queue needs root", StringComparison.Ordinal), r.ToString());
                Assert.Contains($"Get-QmailQueueMessage: Cannot read '{q.Root}'", r.Stderr);
            }
            finally
            {
                try { Directory.Delete(home, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
        }
    }
}
