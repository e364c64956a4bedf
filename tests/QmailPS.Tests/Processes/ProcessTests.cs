using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Net;
using System.Net.Sockets;
using System.Text;
using QmailPS.Processes;
using QmailPS.Tests.Support;
using Xunit;

namespace QmailPS.Tests.Processes
{
    /// <summary>Get-QmailProcess and Stop-QmailZombie against real processes (FakeQmail), as root.</summary>
    public sealed class ProcessTests : IClassFixture<ProcessTests.Fixture>, IDisposable
    {
        public sealed class Fixture : IDisposable
        {
            public PsSession Ps { get; } = new PsSession();
            public TcpListener Listener { get; }
            private readonly List<TcpClient> _accepted = new List<TcpClient>();

            public Fixture()
            {
                Listener = new TcpListener(IPAddress.Loopback, 0);
                Listener.Start();
                AcceptLoop();
            }

            public int Port => ((IPEndPoint)Listener.LocalEndpoint).Port;

            /// <summary>Remote ends (the fakes' side) of every accepted connection.</summary>
            public List<IPEndPoint> Clients { get { lock (_accepted) return _accepted.Select(c => (IPEndPoint)c.Client.RemoteEndPoint!).ToList(); } }

            private async void AcceptLoop()
            {
                try
                {
                    while (true)
                    {
                        TcpClient c = await Listener.AcceptTcpClientAsync();
                        lock (_accepted) _accepted.Add(c);
                    }
                }
                catch (ObjectDisposedException) { }
                catch (SocketException) { }
                catch (InvalidOperationException) { }
            }

            public void Dispose()
            {
                Listener.Stop();
                lock (_accepted) foreach (TcpClient c in _accepted) c.Dispose();
                Ps.Dispose();
            }
        }

        private const string Cmd = "QmailPS.Commands.StopQmailZombieCommand";
        private readonly Fixture _f;
        private readonly FakeQmail _fake = new FakeQmail();

        public ProcessTests(Fixture f) { _f = f; }

        public void Dispose() => _fake.Dispose();

        private FakeQmail.Fake Remote(FakeQmail.OnTerm term = FakeQmail.OnTerm.Default, string host = "mx.example.test", params string[] rcpts) =>
            _fake.Start("qmail-remote", new[] { host, "bob@example.org" }.Concat(rcpts.Length > 0 ? rcpts : new[] { "alice@remote.test" }).ToList(),
                host, FakeQmail.Script(term, connectPort: _f.Port));

        private FakeQmail.Fake Smtpd(string? tcpRemoteIp = null) =>
            _fake.Start("qmail-smtpd", new[] { "smtpd.pl" }, "smtpd.pl", FakeQmail.Script(connectPort: _f.Port),
                tcpRemoteIp is null ? null : new Dictionary<string, string> { ["TCPREMOTEIP"] = tcpRemoteIp });

        private FakeQmail.Fake Local(string? childShell = null) =>
            _fake.Start("qmail-local", new[] { "--", "alice", "/home/alice", "alice-list", "-", "list", "example.test", "bob@example.org", "./Maildir/" },
                "alice", FakeQmail.Script(childShell: childShell));

        private PsSession.Result Run(string script, params (string Name, object? Value)[] vars) =>
            _f.Ps.Run(script, vars.ToDictionary(v => v.Name, v => v.Value));

        private static string Pids(params FakeQmail.Fake[] fakes) => string.Join(",", fakes.Select(x => x.Pid));

        // ---- Get-QmailProcess ----------------------------------------------------------------

        [Fact]
        public void Remote_delivery_shows_argv_peer_owner_executable_and_start_time()
        {
            var r = Remote(FakeQmail.OnTerm.Default, "mx.example.test", "alice@remote.test", "carol@remote.test");
            var p = Run($"Get-QmailProcess -Id {r.Pid}").AssertClean().Objects<QmailProcess>().Single();

            Assert.Equal("qmail-remote", p.Name);
            Assert.Equal(r.Pid, p.ProcessId);
            Assert.Equal(Environment.ProcessId, p.ParentId);
            Assert.Equal(new[] { _fake.Bin("qmail-remote"), "mx.example.test", "bob@example.org", "alice@remote.test", "carol@remote.test" }, p.CommandLine);
            Assert.Equal("mx.example.test", p.Host);
            Assert.Equal("bob@example.org", p.Sender);
            Assert.Equal(new[] { "alice@remote.test", "carol@remote.test" }, p.Recipients);
            Assert.Equal("alice@remote.test", p.Recipient);
            Assert.Equal(new IPEndPoint(IPAddress.Loopback, _f.Port), p.PeerAddress);
            // The very connection the listener accepted. The fixture's listener is shared by the class, so
            // earlier tests' connections are there already: wait for this one (accept may lag the connect).
            Assert.NotNull(p.LocalAddress);
            FakeQmail.WaitFor(() => _f.Clients.Contains(p.LocalAddress!), "the connection from " + p.LocalAddress + " to be accepted");
            Assert.Equal(_fake.Bin("qmail-remote"), p.ExecutablePath);
            Assert.Equal("root", p.User);
            Assert.Equal(0u, p.UserId);
            Assert.False(p.IsQmailSend);

            // StartTime: from stat field 22 + btime, computed here independently, and as .NET sees it.
            string stat = File.ReadAllText($"/proc/{r.Pid}/stat");
            ulong ticks = ulong.Parse(stat.Substring(stat.LastIndexOf(')') + 2).Split(' ')[19]);
            long btime = long.Parse(File.ReadAllLines("/proc/stat").Single(l => l.StartsWith("btime ")).Substring(6));
            Assert.Equal(DateTime.UnixEpoch.AddSeconds(btime).AddTicks((long)ticks * TimeSpan.TicksPerSecond / 100), p.StartTimeUtc);
            Assert.Equal(DateTimeKind.Utc, p.StartTimeUtc.Kind);
            Assert.Equal(DateTimeKind.Local, p.StartTime.Kind);
            using (var dotnet = Process.GetProcessById(r.Pid))
                Assert.InRange((p.StartTimeUtc - dotnet.StartTime.ToUniversalTime()).Duration(), TimeSpan.Zero, TimeSpan.FromSeconds(1.5));
            Assert.InRange(p.Age, TimeSpan.Zero, TimeSpan.FromMinutes(1));
        }

        [Fact]
        public void Name_selects_with_wildcards_and_unknown_literal_names_are_errors()
        {
            var r = Remote();
            var s = Smtpd();
            List<int> remotes = Run("Get-QmailProcess -Name qmail-remote").AssertClean().Objects<QmailProcess>().Select(p => p.ProcessId).ToList();
            Assert.Contains(r.Pid, remotes);
            Assert.DoesNotContain(s.Pid, remotes);
            List<int> all = Run("Get-QmailProcess").AssertClean().Objects<QmailProcess>().Select(p => p.ProcessId).ToList();
            Assert.Contains(r.Pid, all);
            Assert.Contains(s.Pid, all);
            Assert.DoesNotContain(Environment.ProcessId, all);
            List<int> smtp = Run("Get-QmailProcess 'QMAIL-SM*'").AssertClean().Objects<QmailProcess>().Select(p => p.ProcessId).ToList();
            Assert.Equal(new[] { s.Pid }, smtp);

            var bad = Run("Get-QmailProcess -Name sendmail");
            Assert.Equal("QmailProcessNameUnknown,QmailPS.Commands.GetQmailProcessCommand", Assert.Single(bad.Errors).FullyQualifiedErrorId);
        }

        [Fact]
        public void Smtpd_client_comes_from_TCPREMOTEIP_else_from_its_socket()
        {
            var withEnv = Smtpd("192.0.2.7");
            var without = Smtpd();
            var ps = Run($"Get-QmailProcess -Id {withEnv.Pid},{without.Pid}").AssertClean().Objects<QmailProcess>();
            Assert.Equal(IPAddress.Parse("192.0.2.7"), ps[0].ClientAddress);
            Assert.Equal(new IPEndPoint(IPAddress.Loopback, _f.Port), ps[0].PeerAddress);
            Assert.Equal(IPAddress.Loopback, ps[1].ClientAddress);
            Assert.Equal(new[] { "qmail-smtpd", "qmail-smtpd" }, ps.Select(p => p.Name));
            Assert.Null(ps[1].Host);
        }

        [Fact]
        public void Local_delivery_shows_user_home_recipient_and_sender_from_argv()
        {
            var l = Local();
            var p = Run($"Get-QmailProcess -Id {l.Pid}").AssertClean().Objects<QmailProcess>().Single();
            Assert.Equal("qmail-local", p.Name);
            Assert.Equal("alice", p.DeliveryUser);
            Assert.Equal("/home/alice", p.HomeDirectory);
            Assert.Equal("alice-list@example.test", p.Recipient);
            Assert.Equal("bob@example.org", p.Sender);
            Assert.Null(p.PeerAddress);
        }

        [Fact]
        public void Id_errors_name_the_pid_and_the_pipeline_goes_on()
        {
            var r = Remote();
            var res = Run($"Get-QmailProcess -Id 2147483647,{Environment.ProcessId},{r.Pid}");
            Assert.Equal(r.Pid, res.Objects<QmailProcess>().Single().ProcessId);
            Assert.Equal(new[] { "QmailProcessNotFound,QmailPS.Commands.GetQmailProcessCommand", "QmailProcessNotQmail,QmailPS.Commands.GetQmailProcessCommand" },
                res.Errors.Select(e => e.FullyQualifiedErrorId));
            Assert.Equal(new object[] { int.MaxValue, Environment.ProcessId }, res.Errors.Select(e => e.TargetObject));
            Assert.Equal(ErrorCategory.ObjectNotFound, res.Errors[0].CategoryInfo.Category);

            // objects re-bind by property name: QmailProcess.ProcessId (alias), and Id as Get-Process emits it
            var again = Run($"Get-QmailProcess -Id {r.Pid} | Get-QmailProcess; [pscustomobject]@{{ Id = {r.Pid} }} | Get-QmailProcess").AssertClean().Objects<QmailProcess>();
            Assert.Equal(new[] { r.Pid, r.Pid }, again.Select(p => p.ProcessId));
        }

        [Fact]
        public void IsQmailSend_marks_the_holder_of_the_queues_sendmutex_flock()
        {
            using var q = TempQueue.Create();
            var send = _fake.Start("qmail-send", new[] { "send.pl" }, "send.pl", FakeQmail.Script(lockFile: q.Root + "/lock/sendmutex"));
            var other = _fake.Start("qmail-send", new[] { "other.pl" }, "other.pl", FakeQmail.Script());
            var ps = Run($"Get-QmailProcess -Id {send.Pid},{other.Pid} -QueuePath $q", ("q", q.Root)).AssertClean().Objects<QmailProcess>();
            Assert.True(ps[0].IsQmailSend);
            Assert.False(ps[1].IsQmailSend);
            var byName = Run("Get-QmailProcess -Name qmail-send -QueuePath $q", ("q", q.Root)).AssertClean().Objects<QmailProcess>();
            Assert.Equal(new[] { send.Pid }, byName.Where(p => p.IsQmailSend).Select(p => p.ProcessId));
        }

        [Fact]
        public void Table_view_shows_peer_and_first_recipient()
        {
            var r = Remote(FakeQmail.OnTerm.Default, "mx.example.test", "alice@remote.test", "carol@remote.test");
            string text = Run($"Get-QmailProcess -Id {r.Pid} | Out-Host").AssertClean().HostText;
            Assert.Contains("ProcessId", text);
            Assert.Contains("Recipient", text);
            Assert.Matches($@"\b{r.Pid} qmail-remote\s+root\s+00:00:\d\d mx\.example\.test 127\.0\.0\.1:{_f.Port}\s+alice@remote\.test \(\+1\)", text);
        }

        // ---- Stop-QmailZombie ----------------------------------------------------------------

        [Fact]
        public void WhatIf_stops_nothing_and_names_pid_name_age_and_peer()
        {
            var r = Remote();
            var s = Smtpd("192.0.2.9");
            var l = Local();
            var res = Run("Stop-QmailZombie -OlderThan 0 -WhatIf").AssertClean();
            Assert.Empty(res.Output);
            Assert.True(r.Alive && s.Alive && l.Alive);
            Assert.Contains($"What if: Performing the operation \"Stop (SIGTERM, then SIGKILL after 10 s)\" on target \"qmail-remote {r.Pid} (age 00:00:", res.HostText);
            Assert.Contains($"peer 127.0.0.1:{_f.Port}, host mx.example.test, to alice@remote.test)", res.HostText);
            Assert.Contains($"qmail-smtpd {s.Pid} (age 00:00:", res.HostText);
            Assert.Contains("client 192.0.2.9", res.HostText);
            Assert.DoesNotContain($"qmail-local {l.Pid}", res.HostText); // not a default name
        }

        [Fact]
        public void Confirm_answered_No_stops_nothing()
        {
            var r = Remote();
            _f.Ps.Host.Recorder.Choices.Enqueue(2); // [Y] Yes [A] Yes to All [N] No …
            var res = Run($"Get-QmailProcess -Id {r.Pid} | Stop-QmailZombie -OlderThan 0 -Confirm").AssertClean();
            Assert.Empty(res.Output);
            Assert.Contains($"qmail-remote {r.Pid}", res.HostText);
            Assert.True(r.Alive);
        }

        [Fact]
        public void OlderThan_leaves_younger_processes_alone()
        {
            var old = Remote();
            System.Threading.Thread.Sleep(3000);
            var young = Remote();
            var res = Run($"Get-QmailProcess -Id {Pids(old, young)} | Stop-QmailZombie -OlderThan 00:00:02 -Timeout 5 -Confirm:$false -Verbose").AssertClean();
            var stopped = res.Objects<StoppedProcess>().Single();
            Assert.Equal(old.Pid, stopped.ProcessId);
            Assert.Equal(StopOutcome.Terminated, stopped.Outcome);
            Assert.False(old.Alive);
            Assert.True(young.Alive);
            Assert.Contains(res.Verbose, v => v.StartsWith($"qmail-remote {young.Pid} (") && v.EndsWith("younger than 00:00:02; left alone."));

            var res2 = Run($"Get-QmailProcess -Id {young.Pid} | Stop-QmailZombie -Confirm:$false").AssertClean(); // default: 1 hour
            Assert.Empty(res2.Output);
            Assert.True(young.Alive);
        }

        [Fact]
        public void SIGTERM_first_and_SIGKILL_only_for_what_ignores_it_after_Timeout()
        {
            var trapper = Remote(FakeQmail.OnTerm.Trap);
            var ignorer = Remote(FakeQmail.OnTerm.Ignore);
            var sw = Stopwatch.StartNew();
            var res = Run($"Get-QmailProcess -Id {Pids(trapper, ignorer)} | Stop-QmailZombie -OlderThan 0 -Timeout 1 -Confirm:$false -Verbose").AssertClean();
            sw.Stop();
            var byPid = res.Objects<StoppedProcess>().ToDictionary(x => x.ProcessId);
            Assert.Equal(StopOutcome.Terminated, byPid[trapper.Pid].Outcome);
            Assert.Equal("SIGTERM", byPid[trapper.Pid].Signals);
            Assert.True(trapper.SawTerm, "the trapping fake did not record a SIGTERM");
            Assert.Equal(StopOutcome.Killed, byPid[ignorer.Pid].Outcome);
            Assert.Equal("SIGTERM, SIGKILL", byPid[ignorer.Pid].Signals);
            Assert.False(trapper.Alive);
            Assert.False(ignorer.Alive);
            Assert.InRange(sw.Elapsed, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(8));
            // -Verbose says what killing a qmail-remote means
            Assert.Contains(res.Verbose, v => v.Contains($"qmail-remote {trapper.Pid}") && v.Contains("deferral") && v.Contains("duplicate"));
        }

        [Fact]
        public void Only_the_named_programs_die()
        {
            var r = Remote();
            var s = Smtpd();
            var l = Local();
            var res = Run($"Get-QmailProcess -Id {Pids(r, s, l)} | Stop-QmailZombie -Name qmail-smtpd -OlderThan 0 -Timeout 5 -Confirm:$false").AssertClean();
            Assert.Equal(new[] { s.Pid }, res.Objects<StoppedProcess>().Select(x => x.ProcessId));
            Assert.False(s.Alive);
            Assert.True(r.Alive);
            Assert.True(l.Alive);
        }

        [Fact]
        public void A_reused_pid_is_refused_and_the_process_holding_it_lives()
        {
            var r = Remote();
            var listed = Run($"Get-QmailProcess -Id {r.Pid}").AssertClean().Objects<QmailProcess>().Single();
            // The object as Get-QmailProcess would have listed an earlier process with this pid, started 5 s before.
            var earlier = new QmailProcess(r.Pid, "qmail-remote", listed.StartTicks - 500, listed.StartTime.AddSeconds(-5))
            {
                Host = listed.Host, Sender = listed.Sender, Recipients = listed.Recipients, PeerAddress = listed.PeerAddress,
            };
            var res = Run("$p | Stop-QmailZombie -OlderThan 0 -Timeout 1 -Confirm:$false", ("p", earlier));
            var e = Assert.Single(res.Errors);
            Assert.Equal("QmailProcessReused," + Cmd, e.FullyQualifiedErrorId);
            Assert.Equal(r.Pid, e.TargetObject);
            var refused = res.Objects<StoppedProcess>().Single();
            Assert.Equal(StopOutcome.Refused, refused.Outcome);
            Assert.Equal("", refused.Signals);
            System.Threading.Thread.Sleep(300);
            Assert.True(r.Alive);
            Assert.False(r.SawTerm);

            // the object as listed (right start time) is stopped
            var ok = Run("$p | Stop-QmailZombie -OlderThan 0 -Timeout 5 -Confirm:$false", ("p", listed)).AssertClean();
            Assert.Equal(StopOutcome.Terminated, ok.Objects<StoppedProcess>().Single().Outcome);
            Assert.False(r.Alive);
        }

        [Fact]
        public void A_process_that_only_calls_itself_qmail_remote_is_not_signalled()
        {
            var execA = _fake.StartImpostor(viaSymlink: false);   // argv[0] qmail-remote, comm sleep
            var link = _fake.StartImpostor(viaSymlink: true);     // argv[0] and comm qmail-remote, exe /usr/bin/sleep
            var listed = Run($"Get-QmailProcess -Id {Pids(execA, link)}").AssertClean().Objects<QmailProcess>();
            Assert.All(listed, p => Assert.Equal("qmail-remote", p.Name));
            Assert.All(listed, p => Assert.Equal("/usr/bin/sleep", p.ExecutablePath));
            Assert.Equal("qmail-remote", File.ReadAllText($"/proc/{link.Pid}/comm").Trim());

            var res = Run($"Get-QmailProcess -Id {Pids(execA, link)} | Stop-QmailZombie -OlderThan 0 -Timeout 1 -Confirm:$false");
            Assert.Equal(2, res.Errors.Count);
            Assert.All(res.Errors, e => Assert.Equal("QmailProcessNotQmail," + Cmd, e.FullyQualifiedErrorId));
            Assert.All(res.Objects<StoppedProcess>(), x => Assert.Equal(StopOutcome.Refused, x.Outcome));
            Assert.Contains("/usr/bin/sleep", res.Errors[0].Exception.Message);
            System.Threading.Thread.Sleep(300);
            Assert.True(execA.Alive);
            Assert.True(link.Alive);
        }

        [Fact]
        public void Qmail_send_is_refused_unless_named_literally_with_Force()
        {
            var send = _fake.Start("qmail-send", new[] { "send.pl" }, "send.pl", FakeQmail.Script());
            foreach (string args in new[] { "", "-Force", "-Name qmail-send", "-Name 'qmail-se*' -Force" })
            {
                var res = Run($"Get-QmailProcess -Id {send.Pid} | Stop-QmailZombie -OlderThan 0 -Timeout 1 -Confirm:$false {args}");
                Assert.Equal("QmailProcessRefused," + Cmd, Assert.Single(res.Errors).FullyQualifiedErrorId);
                Assert.Equal(StopOutcome.Refused, res.Objects<StoppedProcess>().Single().Outcome);
                Assert.True(send.Alive, "refused with " + args);
            }
            var ok = Run($"Get-QmailProcess -Id {send.Pid} | Stop-QmailZombie -Name qmail-send -Force -OlderThan 0 -Timeout 5 -Confirm:$false").AssertClean();
            Assert.Equal(StopOutcome.Terminated, ok.Objects<StoppedProcess>().Single().Outcome);
            Assert.False(send.Alive);
        }

        [Fact]
        public void Qmail_local_is_stopped_with_its_whole_process_tree()
        {
            // qmail-local -> sh -> sleep, where sh and sleep ignore SIGTERM (like a |program delivery that hangs)
            var l = Local(FakeQmail.ChildShell(ignoreTerm: true));
            int sh = l.ReadPid("sh.pid"), sleep = l.ReadPid("sleep.pid");
            Assert.Equal(l.Pid, new ProcTable().ReadStat(sh)!.Value.ParentId);
            Assert.Equal(sh, new ProcTable().ReadStat(sleep)!.Value.ParentId);

            var res = Run($"Stop-QmailZombie -ProcessId {l.Pid} -OlderThan 0 -Timeout 1 -Confirm:$false").AssertClean();
            var x = res.Objects<StoppedProcess>().Single();
            Assert.Equal(StopOutcome.Killed, x.Outcome);
            Assert.Equal(new[] { sh, sleep }.OrderBy(p => p), x.Descendants.OrderBy(p => p));
            Assert.Equal("SIGTERM, SIGKILL", x.Signals);
            Assert.Contains("descendants killed", x.Reason);
            Assert.False(FakeQmail.IsAlive(l.Pid));
            Assert.False(FakeQmail.IsAlive(sh));
            Assert.False(FakeQmail.IsAlive(sleep));
        }

        [Fact]
        public void Qmail_local_tree_that_obeys_SIGTERM_is_terminated()
        {
            var l = Local(FakeQmail.ChildShell(ignoreTerm: false));
            int sh = l.ReadPid("sh.pid"), sleep = l.ReadPid("sleep.pid");
            var x = Run($"[pscustomobject]@{{ Id = {l.Pid} }} | Stop-QmailZombie -OlderThan 0 -Timeout 5 -Confirm:$false").AssertClean()
                .Objects<StoppedProcess>().Single();
            Assert.Equal(StopOutcome.Terminated, x.Outcome);
            Assert.Equal("SIGTERM", x.Signals);
            Assert.Equal(2, x.Descendants.Length);
            Assert.False(FakeQmail.IsAlive(sh));
            Assert.False(FakeQmail.IsAlive(sleep));
        }

        [Fact]
        public void ProcessId_errors_for_a_missing_pid_and_a_non_qmail_process()
        {
            var res = Run($"Stop-QmailZombie -ProcessId 2147483647,{Environment.ProcessId} -OlderThan 0 -Confirm:$false");
            Assert.Equal(new[] { "QmailProcessNotFound," + Cmd, "QmailProcessNotQmail," + Cmd }, res.Errors.Select(e => e.FullyQualifiedErrorId));
            Assert.Empty(res.Output);
        }

        [Fact]
        public void CtrlC_during_the_wait_sends_no_SIGKILL()
        {
            var ignorer = Remote(FakeQmail.OnTerm.Ignore);
            using var ps = PowerShell.Create();
            ps.Runspace = _f.Ps.Runspace;
            ps.AddScript($"Get-QmailProcess -Id {ignorer.Pid} | Stop-QmailZombie -OlderThan 0 -Timeout 60 -Confirm:$false");
            var sw = Stopwatch.StartNew();
            IAsyncResult h = ps.BeginInvoke();
            System.Threading.Thread.Sleep(1000);
            ps.Stop();
            Assert.True(h.AsyncWaitHandle.WaitOne(5000));
            Assert.InRange(sw.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(6));
            Assert.Equal(PSInvocationState.Stopped, ps.InvocationStateInfo.State);
            System.Threading.Thread.Sleep(300);
            Assert.True(ignorer.Alive);
        }

        [Fact]
        public void Stopped_view_shows_outcome_and_reason()
        {
            var r = Remote();
            string text = Run($"Get-QmailProcess -Id {r.Pid} | Stop-QmailZombie -OlderThan 0 -Timeout 5 -Confirm:$false | Out-Host").AssertClean().HostText;
            Assert.Matches($@"\b{r.Pid} qmail-remote\s+Terminated\s+00:00:\d\d mx\.example\.test 127\.0\.0\.1:{_f.Port}\s+ended after SIGTERM", text);
        }
    }

    /// <summary>Parsers and the stopper's identity checks, without PowerShell.</summary>
    public sealed class ProcTableTests
    {
        [Fact]
        public void Stat_fields_are_counted_from_the_last_parenthesis()
        {
            string line = "4711 (qmail) (x y)) S 42 4711 4711 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 12345 67 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
            ProcStat st = ProcTable.ParseStat(line)!.Value;
            Assert.Equal(4711, st.ProcessId);
            Assert.Equal("qmail) (x y)", st.Comm);
            Assert.Equal('S', st.State);
            Assert.Equal(42, st.ParentId);
            Assert.Equal(987654UL, st.StartTicks);
            Assert.Null(ProcTable.ParseStat("garbage"));
        }

        [Fact]
        public void Tcp_addresses_are_32_bit_words_in_host_order()
        {
            Assert.True(BitConverter.IsLittleEndian, "the expected strings below are what a little-endian kernel prints");
            Assert.Equal(new IPEndPoint(IPAddress.Parse("127.0.0.1"), 25), SocketTable.ParseEndpoint("0100007F:0019"));
            Assert.Equal(new IPEndPoint(IPAddress.Parse("192.0.2.25"), 40000), SocketTable.ParseEndpoint("190200C0:9C40"));
            Assert.Equal(new IPEndPoint(IPAddress.Parse("::1"), 587), SocketTable.ParseEndpoint("00000000000000000000000001000000:024B"));
            Assert.Equal(new IPEndPoint(IPAddress.Parse("2001:db8::25"), 25), SocketTable.ParseEndpoint("B80D0120000000000000000025000000:0019"));
            Assert.Equal(new IPEndPoint(IPAddress.Parse("192.0.2.25"), 25), SocketTable.ParseEndpoint("0000000000000000FFFF0000190200C0:0019"));
            Assert.Null(SocketTable.ParseEndpoint("zz:0019"));

            var t = new SocketTable();
            t.AddAll("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
                     "   0: 00000000:0019 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0000000000000000 100 0 0 10 0\n" +
                     "   1: 0100007F:D431 190200C0:0019 01 00000000:00000000 00:00000000 00000000   991        0 222 1 0000000000000000 20 4 30 10 -1\n");
            Assert.Null(t.Connection(new ulong[] { 111 }));
            TcpSocket c = t.Connection(new ulong[] { 111, 222 })!;
            Assert.Equal(new IPEndPoint(IPAddress.Parse("192.0.2.25"), 25), c.Remote);
            Assert.Equal(54321, c.Local.Port);
        }

        [Fact]
        public void Proc_locks_lines_name_holders_not_waiters()
        {
            Assert.True(ProcTable.TryParseLockLine("1: FLOCK  ADVISORY  WRITE 11083 fe:00:11657315 0 EOF", out int pid, out uint maj, out uint min, out ulong ino));
            Assert.Equal((11083, 0xfeu, 0u, 11657315UL), (pid, maj, min, ino));
            Assert.False(ProcTable.TryParseLockLine("1: -> FLOCK  ADVISORY  WRITE 2222 fe:00:11657315 0 EOF", out _, out _, out _, out _));
            Assert.False(ProcTable.TryParseLockLine("2: FLOCK  ADVISORY  READ 11083 fe:00:11657315 0 EOF", out _, out _, out _, out _));
            Assert.True(ProcTable.TryParseLockLine("3: POSIX  ADVISORY  WRITE 77 08:01:42 0 EOF", out pid, out _, out _, out _));
            Assert.Equal(77, pid);
        }

        [Fact]
        public void Local_argv_with_options_before_the_double_dash()
        {
            var p = new QmailProcess(1, "qmail-local", 1, DateTime.UtcNow);
            QmailProcessReader.ParseLocalArgs(p, new[] { "bin/qmail-local", "-n", "--", "bob", "/home/bob", "bob-x", "-", "x", "example.test", "", "./Mailbox" });
            Assert.Equal("bob", p.DeliveryUser);
            Assert.Equal("bob-x@example.test", p.Recipient);
            Assert.Equal("", p.Sender);
            var q = new QmailProcess(1, "qmail-local", 1, DateTime.UtcNow);
            QmailProcessReader.ParseLocalArgs(q, new[] { "bin/qmail-local", "--", "bob" });
            Assert.Null(q.Recipient);
            Assert.Equal("qmail-remote", QmailProgramNames.ExecutableBaseName("/var/qmail/bin/qmail-remote (deleted)"));
            Assert.Equal("qmail-local", QmailProgramNames.NameOf("perl", new[] { "bin/qmail-local" }));
            Assert.Null(QmailProgramNames.NameOf("perl", new[] { "/usr/bin/perl", "qmail-local" }));
        }

        [Theory]
        [InlineData(true)]
        [InlineData(false)]
        public void Stopper_signals_by_pidfd_or_kill_and_never_a_different_start_time(bool pidfd)
        {
            var table = new ProcTable();
            using var sleep = Process.Start(new ProcessStartInfo("/usr/bin/sleep", "300") { UseShellExecute = false })!;
            try
            {
                ProcStat st = table.ReadStat(sleep.Id)!.Value;
                var stopper = new ProcessStopper(table, QmailPS.Tests.Support.TestFs.Raw, usePidFd: pidfd);
                Assert.Equal(Identity.Reused, stopper.Check(sleep.Id, st.StartTicks + 1));
                Assert.Null(stopper.Track(sleep.Id, st.StartTicks + 1, 0, 0, out Identity id));
                Assert.Equal(Identity.Reused, id);
                Assert.True(FakeQmail.IsAlive(sleep.Id, st.StartTicks));

                using TrackedProcess t = stopper.Track(sleep.Id, st.StartTicks, st.ParentId, 0, out id)!;
                Assert.Equal(Identity.Same, id);
                Assert.Equal(pidfd, stopper.UsesPidFd);
                Assert.Equal(pidfd, t.PidFd >= 0);
                Assert.True(stopper.Signal(t, 15).Sent);
                Assert.True(stopper.WaitForEnd(new[] { t }, TimeSpan.FromSeconds(5), default));
                Assert.True(sleep.WaitForExit(5000));
                SignalResult again = stopper.Signal(t, 9);
                Assert.True(again.Gone);
                Assert.False(again.Sent);
            }
            finally
            {
                if (!sleep.HasExited) sleep.Kill();
            }
        }

        [Fact]
        public void Age_formatting()
        {
            Assert.Equal("00:00:05", QmailPS.Commands.StopQmailZombieCommand.FormatAge(TimeSpan.FromSeconds(5)));
            Assert.Equal("2d 03:04:05", QmailPS.Commands.StopQmailZombieCommand.FormatAge(new TimeSpan(2, 3, 4, 5)));
        }
    }
}
