using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Net;
using System.Text;
using System.Threading;
using QmailPS.Posix;
using QmailPS.TcpTo;
using QmailPS.Tests.Support;
using Xunit;

namespace QmailPS.Tests.TcpToTests
{
    /// <summary>
    /// Get-QmailTcpTo and Clear-QmailTcpTo against real lock/tcpto files in temp queues: the golden
    /// file real qmail-tcpto read (tests/golden/tcpto), the struct format of the IPv6 patches,
    /// damaged files, and concurrent holders of the flock.
    /// </summary>
    public sealed class TcpToTests : IClassFixture<TcpToTests.Session>
    {
        public sealed class Session : IDisposable
        {
            public PsSession Ps { get; } = new PsSession();
            public void Dispose() => Ps.Dispose();
        }

        /// <summary>The clock at which qmail-tcpto produced the golden text.</summary>
        private const long GoldenClock = 1795389747;
        private static readonly DateTime GoldenTime = DateTimeOffset.FromUnixTimeSeconds(GoldenClock).UtcDateTime;
        private static string GoldenDir => Path.Combine(Repo.Golden, "tcpto");
        private static byte[] GoldenBin => File.ReadAllBytes(Path.Combine(GoldenDir, "tcpto-crafted.bin"));

        private readonly PsSession _ps;
        public TcpToTests(Session s) { _ps = s.Ps; }

        private static string TcptoPath(TempQueue q) => Path.Combine(q.Root, "lock", "tcpto");

        private static void Install(TempQueue q, byte[] content) => File.WriteAllBytes(TcptoPath(q), content);

        private PsSession.Result Run(string script, TempQueue q, DateTime? t = null) =>
            _ps.Run(script, new Dictionary<string, object?> { ["q"] = q.Root, ["t"] = t ?? GoldenTime });

        /// <summary>Golden text without its '#' comment line, exactly as qmail-tcpto wrote it.</summary>
        private static string GoldenText(string file)
        {
            string all = Encoding.ASCII.GetString(File.ReadAllBytes(Path.Combine(GoldenDir, file)));
            Assert.StartsWith("#", all);
            return all.Substring(all.IndexOf('\n') + 1);
        }

        private static IEnumerable<ErrorRecord> AllErrors(PsSession.Result r) =>
            r.Errors.Concat(r.Thrown is IContainsErrorRecord c ? new[] { c.ErrorRecord } : Array.Empty<ErrorRecord>());

        private static void AssertError(PsSession.Result r, string fqid)
        {
            var ids = AllErrors(r).Select(e => e.FullyQualifiedErrorId).ToList();
            Assert.True(ids.Contains(fqid), $"expected {fqid}, got: {string.Join(" | ", ids)}");
        }

        private static byte[] Classic(byte a, byte b, byte c, byte d, byte count, uint time)
        {
            var r = new byte[16];
            r[0] = a; r[1] = b; r[2] = c; r[3] = d; r[4] = count;
            BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(8), time);
            return r;
        }

        private static byte[] Struct(byte af, byte flag, ulong when, IPAddress address)
        {
            var r = new byte[32];
            r[0] = af; r[1] = flag;
            BinaryPrimitives.WriteUInt64LittleEndian(r.AsSpan(8), when);
            address.GetAddressBytes().CopyTo(r, 16);
            return r;
        }

        private static byte[] FileOf(int size, params (int Offset, byte[] Bytes)[] parts)
        {
            var f = new byte[size];
            foreach (var (o, b) in parts) b.CopyTo(f, o);
            return f;
        }

        // ---- Get-QmailTcpTo on the golden file -------------------------------------------------------------

        [Fact]
        public void Default_output_is_exactly_what_real_qmail_tcpto_printed_and_the_formatter_reproduces_its_bytes()
        {
            using var q = TempQueue.Create();
            Install(q, GoldenBin);
            var r = Run("Get-QmailTcpTo -QueuePath $q -ReferenceTime $t", q).AssertClean();
            List<TcpToEntry> entries = r.Objects<TcpToEntry>();

            string golden = GoldenText("qmail-tcpto-crafted-at-1795389747.txt");
            var expected = golden.TrimEnd('\n').Split('\n').Select(l =>
            {
                string[] w = l.Split(' ');
                return (w[0], int.Parse(w[^1]));
            }).ToList();
            Assert.Equal(expected, entries.Select(e => (e.Address.ToString(), e.TimeoutCount)).ToList());
            // 0, 200 (0xC8) and 128 (0x80) are not printed: a signed char on x86.
            Assert.DoesNotContain(entries, e => e.TimeoutCount == 0 || e.TimeoutCount >= 128);

            // Byte for byte: the formatter, and ToString() of the objects in PowerShell.
            string formatted = string.Concat(entries.Select(e => QmailTcptoText.Line(e.Record, GoldenClock) + "\n"));
            Assert.Equal(golden, formatted);
            var lines = Run("Get-QmailTcpTo -QueuePath $q -ReferenceTime $t | ForEach-Object ToString", q).AssertClean();
            Assert.Equal(golden, string.Concat(lines.Output.Select(o => (string)o.BaseObject + "\n")));

            // The one printed record with garbage in its unused bytes is reported, not hidden.
            Assert.Contains(r.Warnings, w => w.Contains("record 5 (10.0.0.6)", StringComparison.Ordinal));
        }

        [Fact]
        public void Golden_records_carry_qmail_remotes_view_of_them()
        {
            using var q = TempQueue.Create();
            Install(q, GoldenBin);
            var e = Run("Get-QmailTcpTo -QueuePath $q -ReferenceTime $t", q).AssertClean().Objects<TcpToEntry>().ToDictionary(x => x.Address.ToString());

            Assert.All(e.Values, x => Assert.Equal(TcpToRecordFormat.Classic16, x.Format));
            Assert.All(e.Values, x => Assert.Equal(q.Root, x.QueuePath));
            Assert.Equal(new[] { 0, 2, 4, 5, 6, 7, 8 }, e.Values.Select(x => x.Slot).ToArray());

            var one = e["10.0.0.1"]; // count 1: never skipped
            Assert.Equal(TimeSpan.FromSeconds(60), one.Age);
            Assert.Equal(GoldenTime.AddSeconds(-60), one.LastTimeoutUtc);
            Assert.Equal(DateTimeKind.Utc, one.LastTimeoutUtc.Kind);
            Assert.Equal(DateTimeKind.Local, one.LastTimeout.Kind);
            Assert.False(one.IsSkipped);
            Assert.False(one.IsSkippedPossibly);
            Assert.Null(one.SkippedUntilEarliest);

            var ten = e["10.0.0.3"]; // count 10, 3600 s ago: inside even the shortest window
            Assert.True(ten.IsSkipped);
            Assert.True(ten.IsSkippedPossibly);
            Assert.Equal(ten.LastTimeoutUtc.AddSeconds(3840), ten.SkippedUntilEarliestUtc);
            Assert.Equal(ten.LastTimeoutUtc.AddSeconds(5824), ten.SkippedUntilLatestUtc);
            Assert.False(ten.IsCorrupt);

            var future = e["10.0.0.5"]; // 100 s in the future: now - when wraps unsigned, so qmail never skips it
            Assert.Equal(TimeSpan.FromSeconds(-100), future.Age);
            Assert.False(future.IsSkipped);
            Assert.False(future.IsSkippedPossibly);
            Assert.Null(future.SkippedUntilLatest);

            var garbage = e["10.0.0.6"]; // count 2, 120 s ago, unused bytes set
            Assert.True(garbage.IsSkipped);
            Assert.True(garbage.IsCorrupt);

            Assert.Equal(DateTime.UnixEpoch, e["10.0.0.8"].LastTimeoutUtc); // time 0
            Assert.False(e["10.0.0.8"].IsSkipped);

            var max = e["10.0.0.9"]; // 127: positive as a signed char, so qmail-remote skips it, but no qmail writes it
            Assert.True(max.IsSkipped);
            Assert.True(max.IsCorrupt);
            Assert.Equal(TimeSpan.FromSeconds(30), e["0.0.0.0"].Age);
        }

        [Fact]
        public void All_adds_free_slots_and_the_counts_qmail_tcpto_hides()
        {
            using var q = TempQueue.Create();
            Install(q, GoldenBin);
            var all = Run("Get-QmailTcpTo -QueuePath $q -ReferenceTime $t -All", q).AssertClean().Objects<TcpToEntry>();
            Assert.Equal(64, all.Count);
            Assert.Equal(Enumerable.Range(0, 64), all.Select(x => x.Slot));

            var free = all[1];
            Assert.Equal(("10.0.0.2", 0), (free.Address.ToString(), free.TimeoutCount));
            Assert.False(free.IsCorrupt);

            var c200 = all[3];
            Assert.Equal(("10.0.0.4", 200), (c200.Address.ToString(), c200.TimeoutCount)); // the unsigned byte
            Assert.True(c200.IsCorrupt);
            Assert.False(c200.IsSkipped); // -56 as qmail-remote reads it on x86
            Assert.False(c200.IsSkippedPossibly);

            var c128 = all[9];
            Assert.Equal(("10.0.0.10", 128), (c128.Address.ToString(), c128.TimeoutCount));
            Assert.True(c128.IsCorrupt);

            // Slots 10..63 are NUL: free 0.0.0.0 records behind slot 6, the first 0.0.0.0, which qmail-remote would use.
            Assert.All(all.Skip(10), x => Assert.Equal((IPAddress.Any, 0, true), (x.Address, x.TimeoutCount, x.IsShadowed)));
            Assert.False(all[6].IsShadowed);
        }

        [Fact]
        public void Truncated_file_uses_only_whole_records_like_qmail_tcpto()
        {
            using var q = TempQueue.Create();
            Install(q, GoldenBin.Take(40).ToArray());
            var r = Run("Get-QmailTcpTo -QueuePath $q -ReferenceTime $t", q).AssertClean();
            string golden = GoldenText("qmail-tcpto-crafted-truncated40-at-1795389747.txt");
            Assert.Equal(golden, string.Concat(r.Objects<TcpToEntry>().Select(e => QmailTcptoText.Line(e.Record, GoldenClock) + "\n")));
            Assert.Equal(new[] { 0, 1 }, Run("Get-QmailTcpTo -QueuePath $q -ReferenceTime $t -All", q).AssertClean().Objects<TcpToEntry>().Select(e => e.Slot));
        }

        [Fact]
        public void Bytes_past_1024_are_never_read_in_the_classic_format()
        {
            using var q = TempQueue.Create();
            byte[] f = new byte[1024 + 16];
            GoldenBin.CopyTo(f, 0);
            Classic(192, 0, 2, 1, 5, (uint)GoldenClock).CopyTo(f, 1024); // a 65th record qmail never sees
            Install(q, f);
            var all = Run("Get-QmailTcpTo -QueuePath $q -ReferenceTime $t -All", q).AssertClean().Objects<TcpToEntry>();
            Assert.Equal(64, all.Count);
            Assert.DoesNotContain(all, e => e.Address.ToString() == "192.0.2.1");
        }

        [Fact]
        public void Skip_window_bounds_and_shadowed_duplicates_follow_tcpto_c()
        {
            using var q = TempQueue.Create();
            uint now = (uint)GoldenClock;
            Install(q, FileOf(1024,
                (0, Classic(198, 51, 100, 1, 2, now - 3839)),
                (16, Classic(198, 51, 100, 2, 2, now - 3840)),
                (32, Classic(198, 51, 100, 3, 2, now - 5823)),
                (48, Classic(198, 51, 100, 4, 2, now - 5824)),
                (64, Classic(198, 51, 100, 5, 0, now - 10)),   // free slot with the address ...
                (80, Classic(198, 51, 100, 5, 5, now - 10)))); // ... hides this one from qmail-remote
            var e = Run("Get-QmailTcpTo -QueuePath $q -ReferenceTime $t -All", q).AssertClean().Objects<TcpToEntry>();
            Assert.Equal((true, true), (e[0].IsSkipped, e[0].IsSkippedPossibly));
            Assert.Equal((false, true), (e[1].IsSkipped, e[1].IsSkippedPossibly));
            Assert.Equal((false, true), (e[2].IsSkipped, e[2].IsSkippedPossibly));
            Assert.Equal((false, false), (e[3].IsSkipped, e[3].IsSkippedPossibly));
            Assert.False(e[4].IsShadowed);
            Assert.True(e[5].IsShadowed);
            Assert.Equal((false, false), (e[5].IsSkipped, e[5].IsSkippedPossibly));
            Assert.Null(e[5].SkippedUntilEarliest);
        }

        [Fact]
        public void Empty_file_gives_no_output_and_no_error()
        {
            using var q = TempQueue.Create();
            Install(q, Array.Empty<byte>());
            var r = Run("Get-QmailTcpTo -QueuePath $q -All", q).AssertClean();
            Assert.Empty(r.Output);
            Assert.Empty(r.Warnings);
        }

        [Fact]
        public void Missing_file_is_QmailTcpToNotFound_in_qmail_tcptos_words()
        {
            using var q = TempQueue.Create();
            File.Delete(TcptoPath(q));
            var r = Run("Get-QmailTcpTo -QueuePath $q", q);
            AssertError(r, "QmailTcpToNotFound,QmailPS.Commands.GetQmailTcpToCommand");
            ErrorRecord err = AllErrors(r).First();
            Assert.Contains("unable to open tcpto: file does not exist", err.Exception.Message, StringComparison.Ordinal);
            Assert.Equal(TcptoPath(q), err.TargetObject);
            Assert.Empty(r.Output);

            var c = Run("Clear-QmailTcpTo -QueuePath $q", q);
            AssertError(c, "QmailTcpToNotFound,QmailPS.Commands.ClearQmailTcpToCommand");
            Assert.False(File.Exists(TcptoPath(q))); // never created, like qmail-tcpok (no O_CREAT)
        }

        [Fact]
        public void Detection_prefers_the_layout_whose_rules_the_bytes_keep()
        {
            TcpToRecordFormat? Detect(byte[] b) => TcpToRecords.Detect(b, b.Length).Format;
            Assert.Equal(TcpToRecordFormat.Classic16, Detect(GoldenBin));           // one damaged record of ten is tolerated
            Assert.Equal(TcpToRecordFormat.Classic16, Detect(new byte[1024]));      // nothing to tell: classic
            Assert.Equal(TcpToRecordFormat.Classic16, Detect(Array.Empty<byte>()));
            // Struct records with IPv4 addresses only also keep the classic rules; counts decide ...
            Assert.Equal(TcpToRecordFormat.Struct32, Detect(FileOf(1024, (0, Struct(2, 3, (ulong)GoldenClock, V4)))));
            // ... and with no count anywhere, a set address family does.
            Assert.Equal(TcpToRecordFormat.Struct32, Detect(FileOf(1024, (0, Struct(2, 0, (ulong)GoldenClock, V4)))));
            // Classic records with counts are classic even when the struct rules happen to hold for them.
            Assert.Equal(TcpToRecordFormat.Classic16, Detect(FileOf(1024, (32, Classic(192, 0, 2, 1, 2, (uint)GoldenClock)))));
            Assert.Null(Detect(Enumerable.Repeat((byte)0xFF, 1024).ToArray()));
        }

        // ---- the struct format of the IPv6 patches ---------------------------------------------------------

        private static readonly IPAddress V4 = IPAddress.Parse("192.0.2.7");
        private static readonly IPAddress V6 = IPAddress.Parse("2001:db8::25");
        private static readonly IPAddress V6b = IPAddress.Parse("2001:db8:0:1::9");

        private static byte[] StructFile(int size) => FileOf(size,
            (0, Struct(2, 3, (ulong)GoldenClock - 100, V4)),
            (32, Struct(10, 1, (ulong)GoldenClock - 50, V6)),
            (64, Struct(10, 2, (ulong)GoldenClock - 3000, V6b)),
            (96, Struct(2, 0, (ulong)GoldenClock - 7, IPAddress.Parse("192.0.2.8"))));

        [Fact]
        public void Struct_format_with_IPv4_and_IPv6_records_is_detected_and_read()
        {
            using var q = TempQueue.Create();
            Install(q, StructFile(1024)); // sagredo: 1024-byte file = 32 records
            var r = Run("Get-QmailTcpTo -QueuePath $q -ReferenceTime $t -Verbose", q).AssertClean();
            var e = r.Objects<TcpToEntry>();
            Assert.Equal(new[] { V4, V6, V6b }, e.Select(x => x.Address));
            Assert.Equal(new[] { 3, 1, 2 }, e.Select(x => x.TimeoutCount));
            Assert.Equal(new[] { 0, 1, 2 }, e.Select(x => x.Slot));
            Assert.All(e, x => Assert.Equal(TcpToRecordFormat.Struct32, x.Format));
            Assert.All(e, x => Assert.False(x.IsCorrupt));
            Assert.True(e[2].IsSkipped); // count 2, 3000 s ago
            Assert.Equal("192.0.2.7 timed out 100 seconds ago; # recent timeouts: 3", e[0].ToString());
            Assert.Equal("2001:db8::25 timed out 50 seconds ago; # recent timeouts: 1", e[1].ToString());
            Assert.Contains(r.Verbose, v => v.Contains("struct format", StringComparison.Ordinal) && v.Contains("detected", StringComparison.Ordinal));

            Assert.Equal(32, Run("Get-QmailTcpTo -QueuePath $q -All", q).AssertClean().Output.Count);

            // Forcing the other layout reads the same bytes as classic records: nothing qmail-tcpto would print.
            Assert.Empty(Run("Get-QmailTcpTo -QueuePath $q -Format Classic", q).AssertClean().Output);
        }

        [Fact]
        public void Struct_format_reads_up_to_2048_bytes_and_counts_are_unsigned()
        {
            using var q = TempQueue.Create();
            byte[] f = StructFile(2048 + 32);
            Struct(2, 200, (ulong)GoldenClock - 10, IPAddress.Parse("203.0.113.40")).CopyTo(f, 40 * 32); // slot 40, past 1024 bytes
            Struct(2, 4, (ulong)GoldenClock - 10, IPAddress.Parse("203.0.113.99")).CopyTo(f, 2048);      // past 2048: never read
            Install(q, f);
            var e = Run("Get-QmailTcpTo -QueuePath $q -ReferenceTime $t", q).AssertClean().Objects<TcpToEntry>();
            Assert.Equal(new[] { 0, 1, 2, 40 }, e.Select(x => x.Slot));
            var big = e.Last();
            Assert.Equal(200, big.TimeoutCount); // the struct's flag is an unsigned char: sagredo's qmail-tcpto prints it
            Assert.True(big.IsCorrupt);
            Assert.True(big.IsSkipped);
            Assert.Equal(64, Run("Get-QmailTcpTo -QueuePath $q -All", q).AssertClean().Output.Count);
        }

        [Fact]
        public void A_file_in_neither_format_is_a_terminating_QmailTcpToFormatUnknown_unless_a_format_is_forced()
        {
            using var q = TempQueue.Create();
            byte[] junk = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("this is not a tcpto file\n", 41))).Take(1024).ToArray();
            Install(q, junk);
            var r = Run("Get-QmailTcpTo -QueuePath $q; 'after'", q);
            AssertError(r, "QmailTcpToFormatUnknown,QmailPS.Commands.GetQmailTcpToCommand");
            Assert.DoesNotContain(r.Output, o => o.BaseObject is TcpToEntry);
            Assert.Equal(TcptoPath(q), AllErrors(r).First().TargetObject);

            var forced = Run("Get-QmailTcpTo -QueuePath $q -Format Classic -All", q);
            Assert.Empty(AllErrors(forced));
            Assert.Equal(64, forced.Objects<TcpToEntry>().Count);
            Assert.All(forced.Objects<TcpToEntry>(), x => Assert.True(x.IsCorrupt));
        }

        // ---- locking ---------------------------------------------------------------------------------------

        /// <summary>
        /// Another process's view of lock/tcpto: its own open file description with flock(LOCK_EX),
        /// as qmail-remote holds it while it rewrites a record. Writes go through the same descriptor.
        /// </summary>
        private sealed unsafe class HeldLock : IDisposable
        {
            private int _fd;

            public HeldLock(string path)
            {
                byte[] p = Libc.PathBytes(path);
                fixed (byte* pp = p) _fd = Libc.open(pp, LibcFileIo.O_RDWR | Libc.O_CLOEXEC, 0);
                Assert.True(_fd >= 0, "open failed: errno " + Libc.LastErrno);
                Assert.Equal(0, Libc.flock(_fd, Libc.LOCK_EX | Libc.LOCK_NB));
            }

            public void Write(int offset, byte[] data)
            {
                fixed (byte* b = data) Assert.Equal(data.Length, (long)LibcFileIo.pwrite(_fd, b, (UIntPtr)data.Length, offset));
            }

            public byte[] ReadAll(int max = 4096)
            {
                var buf = new byte[max];
                long n;
                fixed (byte* b = buf) n = (long)LibcFileIo.pread(_fd, b, (UIntPtr)max, 0);
                return buf.Take((int)n).ToArray();
            }

            public void Release()
            {
                if (_fd < 0) return;
                Libc.flock(_fd, Libc.LOCK_UN);
                Libc.close(_fd);
                _fd = -1;
            }

            public void Dispose() => Release();
        }

        private PowerShell Start(string command, Action<PowerShell> parameters)
        {
            var ps = PowerShell.Create();
            ps.Runspace = _ps.Runspace;
            ps.AddCommand(command);
            parameters(ps);
            return ps;
        }

        [Fact]
        public void A_lock_held_too_long_is_QmailTcpToLocked_and_nothing_is_read()
        {
            using var q = TempQueue.Create();
            Install(q, GoldenBin);
            using (var held = new HeldLock(TcptoPath(q)))
            {
                var clock = Stopwatch.StartNew();
                var r = Run("Get-QmailTcpTo -QueuePath $q -LockTimeoutSec 1", q);
                clock.Stop();
                AssertError(r, "QmailTcpToLocked,QmailPS.Commands.GetQmailTcpToCommand");
                Assert.Empty(r.Output);
                Assert.InRange(clock.Elapsed.TotalSeconds, 0.9, 10);
                Assert.Equal(ErrorCategory.ResourceBusy, AllErrors(r).First().CategoryInfo.Category);

                var c = Run("Clear-QmailTcpTo -QueuePath $q -LockTimeoutSec 1", q);
                AssertError(c, "QmailTcpToLocked,QmailPS.Commands.ClearQmailTcpToCommand");
                Assert.Equal(GoldenBin, held.ReadAll());
            }
            // The lock is free again: the same call works.
            Assert.Equal(7, Run("Get-QmailTcpTo -QueuePath $q", q).AssertClean().Output.Count);
        }

        [Fact]
        public void Get_waits_for_a_writer_and_never_reads_its_half_written_record()
        {
            using var q = TempQueue.Create();
            Install(q, GoldenBin);
            byte[] fresh = Classic(192, 0, 2, 50, 4, (uint)GoldenClock - 5);
            using var held = new HeldLock(TcptoPath(q));
            held.Write(16, fresh.Take(6).ToArray()); // torn: new address and count, old time

            using PowerShell ps = Start("Get-QmailTcpTo", p => p.AddParameter("QueuePath", q.Root).AddParameter("ReferenceTime", GoldenTime).AddParameter("LockTimeoutSec", 20));
            IAsyncResult ar = ps.BeginInvoke();
            Thread.Sleep(600);
            Assert.False(ar.IsCompleted, "Get-QmailTcpTo returned while another process held the lock");
            held.Write(16, fresh); // the writer finishes its record ...
            held.Release();        // ... and only then lets go
            var output = ps.EndInvoke(ar);
            Assert.False(ps.HadErrors);
            var e = output.Select(o => o.BaseObject).OfType<TcpToEntry>().Single(x => x.Slot == 1);
            Assert.Equal(("192.0.2.50", 4, TimeSpan.FromSeconds(5)), (e.Address.ToString(), e.TimeoutCount, e.Age));
        }

        [Fact]
        public void Clear_waits_for_the_lock_before_it_writes()
        {
            using var q = TempQueue.Create();
            Install(q, GoldenBin);
            using var held = new HeldLock(TcptoPath(q));
            using PowerShell ps = Start("Clear-QmailTcpTo", p => p.AddParameter("QueuePath", q.Root).AddParameter("LockTimeoutSec", 20));
            IAsyncResult ar = ps.BeginInvoke();
            Thread.Sleep(600);
            Assert.False(ar.IsCompleted, "Clear-QmailTcpTo returned while another process held the lock");
            Assert.Equal(GoldenBin, held.ReadAll());
            held.Release();
            ps.EndInvoke(ar);
            Assert.False(ps.HadErrors);
            Assert.Equal(new byte[1024], File.ReadAllBytes(TcptoPath(q)));
        }

        [Fact]
        public void CtrlC_stops_the_wait_for_the_lock_at_once()
        {
            using var q = TempQueue.Create();
            Install(q, GoldenBin);
            using var held = new HeldLock(TcptoPath(q));
            using PowerShell ps = Start("Get-QmailTcpTo", p => p.AddParameter("QueuePath", q.Root).AddParameter("LockTimeoutSec", 600));
            IAsyncResult ar = ps.BeginInvoke();
            Thread.Sleep(400);
            Assert.False(ar.IsCompleted);
            var clock = Stopwatch.StartNew();
            ps.Stop(); // what Ctrl+C does: StopProcessing, which cancels the wait
            Assert.True(ar.AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(5)), "Get-QmailTcpTo did not stop within 5 s");
            Assert.InRange(clock.Elapsed.TotalSeconds, 0, 5);
            Assert.Equal(PSInvocationState.Stopped, ps.InvocationStateInfo.State);
        }

        [Fact]
        public void A_symlinked_tcpto_is_refused_and_its_target_untouched()
        {
            using var q = TempQueue.Create();
            string target = Path.Combine(q.Home, "elsewhere");
            File.WriteAllBytes(target, GoldenBin);
            File.Delete(TcptoPath(q));
            File.CreateSymbolicLink(TcptoPath(q), target);

            var r = Run("Get-QmailTcpTo -QueuePath $q", q);
            AssertError(r, "QmailTcpToNotRegularFile,QmailPS.Commands.GetQmailTcpToCommand");
            Assert.Empty(r.Output);
            var c = Run("Clear-QmailTcpTo -QueuePath $q", q);
            AssertError(c, "QmailTcpToNotRegularFile,QmailPS.Commands.ClearQmailTcpToCommand");
            var a = Run("Clear-QmailTcpTo -QueuePath $q -Address 10.0.0.3", q);
            AssertError(a, "QmailTcpToNotRegularFile,QmailPS.Commands.ClearQmailTcpToCommand");
            Assert.Equal(GoldenBin, File.ReadAllBytes(target));

            // A FIFO (or anything else that is not a regular file) is refused too, without hanging.
            File.Delete(TcptoPath(q));
            GoldenQueue.Run("mkfifo", TcptoPath(q));
            AssertError(Run("Get-QmailTcpTo -QueuePath $q -LockTimeoutSec 1", q), "QmailTcpToNotRegularFile,QmailPS.Commands.GetQmailTcpToCommand");
        }

        // ---- Clear-QmailTcpTo ------------------------------------------------------------------------------

        private static DateTime Age(string path)
        {
            var old = new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Utc);
            File.SetLastWriteTimeUtc(path, old);
            return old;
        }

        [Fact]
        public void WhatIf_changes_nothing_for_all_records_or_piped_ones()
        {
            using var q = TempQueue.Create();
            Install(q, GoldenBin);
            DateTime mtime = Age(TcptoPath(q));

            var all = Run("Clear-QmailTcpTo -QueuePath $q -WhatIf", q).AssertClean();
            Assert.Contains("What if:", all.HostText, StringComparison.Ordinal);
            Assert.Contains("all records", all.HostText, StringComparison.Ordinal);

            var some = Run("Get-QmailTcpTo -QueuePath $q -ReferenceTime $t | Where-Object Address -like '10.0.0.[36]' | Clear-QmailTcpTo -WhatIf -PassThru", q).AssertClean();
            Assert.Empty(some.Output);
            Assert.Contains("What if: Performing the operation \"Clear\" on target \"tcpto record 2 (10.0.0.3, 10 timeouts)\"", some.HostText, StringComparison.Ordinal);
            Assert.Contains("What if: Performing the operation \"Clear\" on target \"tcpto record 5 (10.0.0.6, 2 timeouts)\"", some.HostText, StringComparison.Ordinal);
            Assert.Equal(2, some.HostText.Split("What if:").Length - 1);

            Assert.Equal(GoldenBin, File.ReadAllBytes(TcptoPath(q)));
            Assert.Equal(mtime, File.GetLastWriteTimeUtc(TcptoPath(q)));
        }

        [Fact]
        public void Clear_without_input_writes_1024_NULs_like_qmail_tcpok_and_PassThru_shows_what_was_cleared()
        {
            using var q = TempQueue.Create();
            Install(q, GoldenBin);
            var r = Run("Clear-QmailTcpTo -QueuePath $q -PassThru -Verbose", q).AssertClean();
            Assert.Equal(new byte[1024], File.ReadAllBytes(TcptoPath(q)));
            var cleared = r.Objects<TcpToEntry>();
            Assert.Equal(new[] { 0, 2, 3, 4, 5, 6, 7, 8, 9 }, cleared.Select(e => e.Slot));
            Assert.Equal(new[] { 1, 10, 200, 5, 2, 1, 3, 127, 128 }, cleared.Select(e => e.TimeoutCount));
            Assert.Contains(r.Verbose, v => v.Contains("qmail-rspawn", StringComparison.Ordinal));
            Assert.DoesNotContain(Run("Get-QmailTcpTo -QueuePath $q -All", q).AssertClean().Objects<TcpToEntry>(), e => e.TimeoutCount != 0);
        }

        [Fact]
        public void Clear_all_grows_a_short_file_to_1024_and_keeps_bytes_past_1024()
        {
            using var q = TempQueue.Create();
            Install(q, GoldenBin.Take(40).ToArray());
            Run("Clear-QmailTcpTo -QueuePath $q", q).AssertClean();
            Assert.Equal(new byte[1024], File.ReadAllBytes(TcptoPath(q)));

            byte[] longer = GoldenBin.Concat(Enumerable.Repeat((byte)0xAB, 76)).ToArray();
            Install(q, longer);
            Run("Clear-QmailTcpTo -QueuePath $q", q).AssertClean();
            byte[] after = File.ReadAllBytes(TcptoPath(q));
            Assert.Equal(1100, after.Length);
            Assert.Equal(new byte[1024], after.Take(1024).ToArray());
            Assert.Equal(Enumerable.Repeat((byte)0xAB, 76), after.Skip(1024));
        }

        [Fact]
        public void Clear_piped_entries_zeroes_only_their_count_and_time_in_place()
        {
            using var q = TempQueue.Create();
            Install(q, GoldenBin);
            // No -QueuePath on Clear-QmailTcpTo: it binds from the entries' QueuePath property.
            var r = Run("Get-QmailTcpTo -QueuePath $q -ReferenceTime $t | Where-Object Address -like '10.0.0.[36]' | Clear-QmailTcpTo -PassThru", q).AssertClean();
            Assert.Equal(new[] { ("10.0.0.3", 10), ("10.0.0.6", 2) }, r.Objects<TcpToEntry>().Select(e => (e.Address.ToString(), e.TimeoutCount)));

            byte[] after = File.ReadAllBytes(TcptoPath(q));
            Assert.Equal(1024, after.Length);
            byte[] expected = GoldenBin;
            foreach (int slot in new[] { 2, 5 })
            {
                expected[slot * 16 + 4] = 0;
                for (int i = 8; i < 12; i++) expected[slot * 16 + i] = 0;
            }
            Assert.Equal(expected, after); // every other byte, including 10.0.0.6's unused garbage, unchanged
            Assert.Equal(new byte[] { 0x0a, 0, 0, 6, 0, 0xaa, 0xbb, 0xcc, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef }, after.Skip(80).Take(16));

            var left = Run("Get-QmailTcpTo -QueuePath $q -ReferenceTime $t", q).AssertClean().Objects<TcpToEntry>();
            Assert.Equal(new[] { "10.0.0.1", "10.0.0.5", "0.0.0.0", "10.0.0.8", "10.0.0.9" }, left.Select(e => e.Address.ToString()));
        }

        [Fact]
        public void Clear_by_Address_strings_and_errors_for_addresses_not_in_the_table()
        {
            using var q = TempQueue.Create();
            Install(q, GoldenBin);
            DateTime mtime = Age(TcptoPath(q));
            var r = Run("Clear-QmailTcpTo -QueuePath $q -Address 192.0.2.99, 2001:db8::1", q);
            AssertError(r, "QmailTcpToAddressNotFound,QmailPS.Commands.ClearQmailTcpToCommand");
            Assert.Equal(2, AllErrors(r).Count());
            Assert.Contains(AllErrors(r), e => e.Exception.Message.Contains("IPv4 addresses only", StringComparison.Ordinal));
            Assert.Equal(GoldenBin, File.ReadAllBytes(TcptoPath(q)));
            Assert.Equal(mtime, File.GetLastWriteTimeUtc(TcptoPath(q)));

            // A free slot (count 0) holding the address is already clear: nothing to do, no error.
            Run("Clear-QmailTcpTo -QueuePath $q -Address 10.0.0.2", q).AssertClean();
            Assert.Equal(GoldenBin, File.ReadAllBytes(TcptoPath(q)));

            Run("Clear-QmailTcpTo -QueuePath $q -Address '10.0.0.9'", q).AssertClean();
            Assert.Equal(0, File.ReadAllBytes(TcptoPath(q))[8 * 16 + 4]);
        }

        [Fact]
        public void Empty_pipeline_or_input_without_Address_never_clears_everything()
        {
            using var q = TempQueue.Create();
            Install(q, GoldenBin);
            Run("Get-QmailTcpTo -QueuePath $q | Where-Object Address -like '203.0.113.*' | Clear-QmailTcpTo", q).AssertClean();
            Run("@() | Clear-QmailTcpTo -QueuePath $q", q).AssertClean();
            var r = Run("[pscustomobject]@{ QueuePath = $q } | Clear-QmailTcpTo", q);
            AssertError(r, "QmailTcpToInvalidArgument,QmailPS.Commands.ClearQmailTcpToCommand");
            Assert.Equal(GoldenBin, File.ReadAllBytes(TcptoPath(q)));
        }

        [Fact]
        public void Confirm_asks_once_per_record_and_clears_only_what_was_accepted()
        {
            using var q = TempQueue.Create();
            Install(q, GoldenBin);
            using var ps = new PsSession(ConfirmImpact.High);
            ps.Host.Recorder.Choices.Enqueue(2); // No  for record 2 (10.0.0.3)
            ps.Host.Recorder.Choices.Enqueue(0); // Yes for record 5 (10.0.0.6)
            var r = ps.Run("Clear-QmailTcpTo -QueuePath $q -Address 10.0.0.3, 10.0.0.6 -Confirm -PassThru", q.Root).AssertClean();
            Assert.Equal(2, r.HostText.Split("PROMPT:").Length - 1);
            Assert.Equal("10.0.0.6", r.Objects<TcpToEntry>().Single().Address.ToString());
            byte[] after = File.ReadAllBytes(TcptoPath(q));
            Assert.Equal(10, after[2 * 16 + 4]);
            Assert.Equal(0, after[5 * 16 + 4]);
        }

        [Fact]
        public void Clear_in_the_struct_format_zeroes_flag_and_when_of_the_matching_family_only()
        {
            using var q = TempQueue.Create();
            byte[] f = StructFile(1024);
            Install(q, f);
            var r = Run("Clear-QmailTcpTo -QueuePath $q -Address 2001:db8::25 -PassThru", q).AssertClean();
            Assert.Equal(V6, r.Objects<TcpToEntry>().Single().Address);
            byte[] after = File.ReadAllBytes(TcptoPath(q));
            byte[] expected = (byte[])f.Clone();
            expected[32 + 1] = 0;
            for (int i = 8; i < 16; i++) expected[32 + i] = 0;
            Assert.Equal(expected, after);

            // eQmail's 2048-byte struct file: clearing everything zeroes all 64 records, as its qmail-tcpok does.
            Install(q, StructFile(2048));
            Run("Clear-QmailTcpTo -QueuePath $q", q).AssertClean();
            Assert.Equal(new byte[2048], File.ReadAllBytes(TcptoPath(q)));
        }
    }
}
