using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Sockets;
using System.Text;
using QmailPS.Check;
using QmailPS.Posix;
using QmailPS.Queue;
using QmailPS.Tests.Support;
using Xunit;

namespace QmailPS.Tests.Check
{
    /// <summary>
    /// What goes to the quarantine arrives there whole and as it was, whatever it is and wherever
    /// the quarantine is: names that are not UTF-8, symlinks (never followed), FIFOs, directories,
    /// and a quarantine on another file system, where rename(2) fails with EXDEV.
    /// </summary>
    public sealed class QuarantineTests : IClassFixture<RepairQmailQueueTests.Session>
    {
        private readonly PsSession _ps;
        public QuarantineTests(RepairQmailQueueTests.Session s) { _ps = s.Ps; }

        private static readonly DateTime Old = new DateTime(2026, 3, 1, 12, 0, 0, DateTimeKind.Utc);

        /// <summary>A path from raw bytes, as the module names it (PathName's escape for non-UTF-8 bytes).</summary>
        private static string Raw(string dir, byte[] name) => dir + "/" + PathName.FromBytes(name, name.Length);

        private static FileStatus Lstat(string path)
        {
            Assert.True(TestFs.Raw.TryLstat(path, out FileStatus st, out int errno), $"lstat {PathName.Printable(path)}: errno {errno}");
            return st;
        }

        private static bool Exists(string path) => TestFs.Raw.TryLstat(path, out _, out _);

        private static List<byte[]> RawNames(string dir) => TestFs.List(dir).Select(e => e.RawName ?? Encoding.ASCII.GetBytes(e.Name)).ToList();

        /// <summary>Every regular file under a directory, by names the module can open (.NET's enumeration mangles names that are not UTF-8).</summary>
        private static IEnumerable<string> Files(string dir)
        {
            if (!TestFs.Raw.TryLstat(dir, out FileStatus top, out _) || top.Kind != FileKind.Directory) yield break;
            foreach (DirEntry e in TestFs.List(dir))
            {
                string p = dir + "/" + e.Name;
                FileKind k = Lstat(p).Kind;
                if (k == FileKind.Regular) yield return p;
                else if (k == FileKind.Directory) foreach (string f in Files(p)) yield return f;
            }
        }

        private sealed class ByteArrayEquality : IEqualityComparer<byte[]>
        {
            public bool Equals(byte[]? a, byte[]? b) => a.AsSpan().SequenceEqual(b);
            public int GetHashCode(byte[] a) => a.Length;
        }

        /// <summary>The damage every test here repairs: one of each kind of entry qmail never reads.</summary>
        private sealed class Debris
        {
            public readonly List<(string Path, FileStatus Before, byte[]? Bytes, string? LinkTarget)> Entries = new List<(string, FileStatus, byte[]?, string?)>();
            public string Secret = "";
            public string NonUtf8 = "", Dir = "";
            /// <summary>What qmail delivers: the one message, without the debris.</summary>
            public Dictionary<string, List<string>> View = new Dictionary<string, List<string>>();

            public static Debris Make(TempQueue q, string secretDir)
            {
                var d = new Debris();
                q.AddProcessed("bob@example.test", "alice@remote.test");
                d.View = RepairQmailQueueTests.QmailView(q.Layout);
                // split 23: local/5/77 is in the wrong split directory (77 belongs in local/8), info/7/99
                // and remote/19/88 are where qmail looks, but no message 99 or 88 exists
                Assert.Equal(23, q.Layout.Split);
                string info = q.Layout.Dir("info") + "/7", local = q.Layout.Dir("local") + "/5", remote = q.Layout.Dir("remote") + "/19";

                // a stray file whose name is not UTF-8, with its own mode and an old mtime
                d.NonUtf8 = Raw(q.Layout.Dir("mess") + "/0", new byte[] { 0xff, 0xfe, (byte)'x' });
                TestFs.Raw.WriteNewFile(d.NonUtf8, Encoding.ASCII.GetBytes("stray bytes\n"), Convert.ToUInt32("640", 8));
                TestFs.Raw.SetTimes(d.NonUtf8, UnixTime.ToSeconds(Old), UnixTime.ToSeconds(Old));
                // a symlink in place of a channel file, pointing at a file root must never read or move
                d.Secret = Path.Combine(secretDir, "secret");
                File.WriteAllText(d.Secret, "not mail\n");
                File.CreateSymbolicLink(local + "/77", d.Secret);
                // a FIFO where a remote channel file would be
                TestFs.Raw.Mkfifo(remote + "/88", Mode.Rw_______);
                // a directory where a file should be, with a file inside
                d.Dir = info + "/99";
                Directory.CreateDirectory(d.Dir);
                File.WriteAllText(d.Dir + "/inside", "inside\n");
                TestFs.Raw.SetTimes(d.Dir + "/inside", UnixTime.ToSeconds(Old), UnixTime.ToSeconds(Old));

                foreach (string p in new[] { d.NonUtf8, local + "/77", remote + "/88", d.Dir, d.Dir + "/inside" })
                {
                    FileStatus st = Lstat(p);
                    d.Entries.Add((p, st, st.Kind == FileKind.Regular ? TestFs.Raw.ReadFile(p) : null,
                        st.Kind == FileKind.Symlink ? TestFs.Raw.ReadLink(p) : null));
                }
                return d;
            }

            /// <summary>Each entry is out of the queue and in the quarantine, same kind, bytes, link target, owner, mode and mtime.</summary>
            public void AssertQuarantined(string queueRoot, string quarantine)
            {
                foreach (var (path, before, bytes, link) in Entries)
                {
                    string rel = path.Substring(queueRoot.Length + 1);
                    Assert.False(Exists(path), $"{PathName.Printable(rel)} is still in the queue");
                    string to = quarantine + "/" + rel;
                    FileStatus after = Lstat(to);
                    Assert.Equal(before.Kind, after.Kind);
                    Assert.Equal((before.Uid, before.Gid, before.Permissions), (after.Uid, after.Gid, after.Permissions));
                    Assert.Equal(before.MTimeSeconds, after.MTimeSeconds);
                    if (bytes != null) Assert.Equal(bytes, TestFs.Raw.ReadFile(to));
                    if (link != null) Assert.Equal(link, TestFs.Raw.ReadLink(to));
                }
                Assert.Equal("not mail\n", File.ReadAllText(Secret)); // the link's target was never touched
                string manifest = File.ReadAllText(quarantine + "/manifest.tsv");
                Assert.Contains("/mess/0/\\xff\\xfex\t", manifest);
                Assert.All(manifest.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => Assert.Equal(5, l.Split('\t').Length));
            }
        }

        [Fact]
        public void A_name_that_is_not_UTF8_is_reported_by_a_path_that_names_it_and_repaired_with_its_bytes()
        {
            RepairQmailQueueTests.RootOnly();
            using var q = TempQueue.Create();
            q.AddProcessed("bob@example.test", "alice@remote.test");
            string bad = Raw(q.Layout.Dir("info") + "/0", new byte[] { 0xc3, (byte)'(', 0xff });
            TestFs.Raw.WriteNewFile(bad, Encoding.ASCII.GetBytes("F\0"), Mode.Rw_r__r__);

            var issue = Assert.Single(_ps.Run("Test-QmailQueue -QueuePath $q", q.Root).AssertClean().Objects<QueueIssue>());
            Assert.Equal(QueueIssueKind.NonNumericName, issue.Kind);
            Assert.Equal(bad, issue.Path);

            string quarantine = q.Home + "/quarantine";
            var r = _ps.Run("Test-QmailQueue -QueuePath $q | Repair-QmailQueue -QuarantinePath $z -Confirm:$false",
                new Dictionary<string, object?> { ["q"] = q.Root, ["z"] = quarantine }).AssertClean();
            Assert.Equal(quarantine + "/info/0/" + PathName.FromBytes(new byte[] { 0xc3, (byte)'(', 0xff }, 3), Assert.Single(r.Objects<RepairAction>()).QuarantinedTo);
            Assert.False(Exists(bad));
            // the very bytes of the name, as the kernel sees them
            Assert.Contains(new byte[] { 0xc3, (byte)'(', 0xff }, RawNames(quarantine + "/info/0"), new ByteArrayEquality());
            Assert.Equal(Encoding.ASCII.GetBytes("F\0"), TestFs.Raw.ReadFile(quarantine + "/info/0/" + PathName.FromBytes(new byte[] { 0xc3, (byte)'(', 0xff }, 3)));
            Assert.Contains("/info/0/\\xc3(\\xff\t", File.ReadAllText(quarantine + "/manifest.tsv"));
            Assert.Empty(_ps.Run("Test-QmailQueue -QueuePath $q", q.Root).AssertClean().Output);
        }

        [Fact]
        public void A_name_with_a_line_break_is_one_line_of_WhatIf_and_of_the_manifest()
        {
            RepairQmailQueueTests.RootOnly();
            using var q = TempQueue.Create();
            string odd = q.Layout.Dir("info") + "/0/a\nb\tc\\d";
            File.WriteAllText(odd, "x");
            var w = _ps.Run("Repair-QmailQueue -QueuePath $q -WhatIf", q.Root).AssertClean();
            string line = Assert.Single(w.HostText.Split('\n'), l => l.StartsWith("What if:", StringComparison.Ordinal));
            Assert.Contains("Move info/0/a\\nb\\tc\\\\d to the quarantine", line);
            Assert.Contains($"on target \"{q.Root}/info/0/a\\nb\\tc\\\\d\"", line);
            Assert.True(File.Exists(odd));

            string quarantine = q.Home + "/quarantine";
            var r = _ps.Run("Repair-QmailQueue -QueuePath $q -QuarantinePath $z -Confirm:$false", new Dictionary<string, object?> { ["q"] = q.Root, ["z"] = quarantine }).AssertClean();
            Assert.Equal(quarantine + "/info/0/a\nb\tc\\d", Assert.Single(r.Objects<RepairAction>()).QuarantinedTo);
            Assert.Equal("x", File.ReadAllText(quarantine + "/info/0/a\nb\tc\\d"));
            string[] lines = File.ReadAllText(quarantine + "/manifest.tsv").TrimEnd('\n').Split('\n');
            Assert.Equal(2, lines.Length);
            Assert.Equal(q.Root + "/info/0/a\\nb\\tc\\\\d", lines[1].Split('\t')[2]);
        }

        [Fact]
        public void A_fix_whose_file_is_gone_when_it_runs_reports_no_action()
        {
            RepairQmailQueueTests.RootOnly();
            using var q = TempQueue.Create();
            q.AddProcessed("bob@example.test", "alice@remote.test");
            string stray = q.Layout.Dir("info") + "/3/junk";
            File.WriteAllText(stray, "x");
            var issues = _ps.Run("Test-QmailQueue -QueuePath $q", q.Root).AssertClean();
            File.Delete(stray); // qmail-send (or an admin) took it meanwhile
            var r = _ps.Run("$i | Repair-QmailQueue -Confirm:$false -Verbose", new Dictionary<string, object?> { ["i"] = issues.Output }).AssertClean();
            Assert.Empty(r.Objects<RepairAction>());
            // Piped findings are checked against a fresh inspection: this one is no longer true.
            Assert.Contains(r.Warnings, w => w.StartsWith("Skipped NonNumericName at " + stray) && w.Contains("no longer shows it"));
        }

        /// <summary>A directory on another file system than the system temp dir (tmpfs /dev/shm on Linux).</summary>
        private static string OtherFileSystemHome()
        {
            ulong tmpDev = Lstat(Path.GetTempPath().TrimEnd('/')).Device;
            string? other = new[] { "/dev/shm", "/run/shm", "/run", "/var/tmp" }
                .FirstOrDefault(d => TestFs.Raw.TryLstat(d, out FileStatus st, out _) && st.Kind == FileKind.Directory && st.Device != tmpDev);
            Assert.True(other != null, $"this test needs a writable directory on another file system than {Path.GetTempPath()} (/dev/shm is tmpfs on Linux)");
            string home = Path.Combine(other!, "qmailps-test-" + Guid.NewGuid().ToString("N").Substring(0, 12));
            Directory.CreateDirectory(home);
            return home;
        }

        [Fact]
        public void A_quarantine_on_another_file_system_gets_every_kind_of_entry_whole_and_the_queue_loses_it()
        {
            RepairQmailQueueTests.RootOnly();
            string home = OtherFileSystemHome();
            QueueWriter.CreateQueue(home + "/queue", 23, false);
            using (var q = TempQueue.Open(home)) // disposing it removes home
            {
                string outside = TempQueue.NewHome(); // the quarantine and the secret live on the temp file system
                try
                {
                    Assert.NotEqual(Lstat(home).Device, Lstat(outside).Device);
                    var d = Debris.Make(q, outside);
                    // a socket: no bytes to keep, but it cannot be re-created faithfully either
                    // (kept open: .NET unlinks the socket file when the socket that bound it closes)
                    string sock = q.Layout.Dir("bounce") + "/12345";
                    using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    listener.Bind(new UnixDomainSocketEndPoint(sock));
                    // reported by kind, wherever they are: never renamed to where qmail would read them
                    var kinds = _ps.Run("Test-QmailQueue -QueuePath $q", q.Root).AssertClean().Objects<QueueIssue>().ToDictionary(i => i.Path, i => i.Kind);
                    Assert.Equal(new[] { QueueIssueKind.NonNumericName, QueueIssueKind.Symlink, QueueIssueKind.ForeignFileType, QueueIssueKind.ForeignFileType, QueueIssueKind.ForeignFileType },
                        new[] { d.Entries[0].Path, d.Entries[1].Path, d.Entries[2].Path, d.Dir, sock }.Select(p => kinds[p]));
                    Assert.Equal(5, kinds.Count);

                    string quarantine = outside + "/quarantine";
                    var r = _ps.Run("Repair-QmailQueue -QueuePath $q -QuarantinePath $z -Confirm:$false",
                        new Dictionary<string, object?> { ["q"] = q.Root, ["z"] = quarantine });
                    var err = Assert.Single(r.Errors);
                    Assert.Equal("QmailRepairFailed,QmailPS.Commands.RepairQmailQueueCommand", err.FullyQualifiedErrorId);
                    Assert.Contains("Socket", err.Exception.Message);
                    Assert.Contains("stays in the queue", err.Exception.Message);
                    Assert.Equal(FileKind.Socket, Lstat(sock).Kind);

                    d.AssertQuarantined(q.Root, quarantine);
                    RepairQmailQueueTests.AssertSameView(d.View, RepairQmailQueueTests.QmailView(q.Layout), "after repair");
                    var left = _ps.Run("Test-QmailQueue -QueuePath $q", q.Root).AssertClean().Objects<QueueIssue>();
                    Assert.Equal(sock, Assert.Single(left).Path);
                }
                finally { TempQueue.RemoveTree(outside); }
            }
        }

        /// <summary>rename(2) to the quarantine fails with EXDEV, as it does across file systems.</summary>
        private sealed class CrossDevice : PassThroughPosix
        {
            private readonly string _quarantine;
            public CrossDevice(IFileSystem inner, string quarantine) : base(inner) { _quarantine = quarantine; }
            public override void Rename(string from, string to)
            {
                if (to.StartsWith(_quarantine + "/", StringComparison.Ordinal)) throw Errno.ToException(Errno.EXDEV, "rename", from);
                base.Rename(from, to);
            }
        }

        /// <summary>
        /// The copy across file systems killed before each of its writes, then run again: every entry
        /// is always somewhere (in the queue, or whole in the quarantine), and the rerun converges.
        /// </summary>
        [Fact]
        public void A_copy_to_another_file_system_killed_at_any_write_loses_nothing_and_the_rerun_finishes()
        {
            RepairQmailQueueTests.RootOnly();
            int total;
            using (var q = TempQueue.Create())
            {
                var d = Debris.Make(q, q.Home);
                var counter = new FaultyPosix(new CrossDevice(TestFs.Raw, q.Home + "/quarantine"), int.MaxValue);
                RepairQmailQueueTests.RunRepair(q, counter);
                total = counter.Calls;
                d.AssertQuarantined(q.Root, q.Home + "/quarantine");
            }
            Assert.InRange(total, 20, 500);

            for (int k = 1; k <= total; k++)
            {
                using var q = TempQueue.Create();
                var d = Debris.Make(q, q.Home);
                string quarantine = q.Home + "/quarantine";
                Assert.Throws<InjectedCrash>(() => RepairQmailQueueTests.RunRepair(q, new FaultyPosix(new CrossDevice(TestFs.Raw, quarantine), k)));
                foreach (var (path, before, bytes, _) in d.Entries)
                {
                    string rel = path.Substring(q.Root.Length + 1);
                    bool inQueue = Exists(path), copied = bytes != null && Files(quarantine).Any(f => TestFs.Raw.ReadFile(f).AsSpan().SequenceEqual(bytes));
                    Assert.True(inQueue || copied || bytes == null && Exists(quarantine + "/" + rel), $"crash at write {k}: {PathName.Printable(rel)} is nowhere");
                }
                string log = RepairQmailQueueTests.RunRepair(q, new CrossDevice(TestFs.Raw, quarantine));
                foreach (var (path, _, _, _) in d.Entries) Assert.False(Exists(path), $"crash at write {k}, then a rerun: {PathName.Printable(path)} is still in the queue; {log}");
                Assert.Empty(new QueueInspector(q.Layout, SendLock.Probe(q.Layout)).Inspect());
                RepairQmailQueueTests.AssertSameView(d.View, RepairQmailQueueTests.QmailView(q.Layout), $"crash at write {k}, then a rerun");
            }
        }

        [Theory]
        [InlineData(".")]             // the queue itself: every "move" renamed a file to <name>.1 beside it, for ever
        [InlineData("quarantine")]    // inside the queue: a non-message name there, which the next run moved into itself (EINVAL)
        [InlineData("mess/5")]        // a split directory: debris and manifest.tsv among the messages
        [InlineData("via-link/mess")] // a path outside the queue that leads into it through a symbolic link
        [InlineData("qfile")]         // an existing file: refused before anything, not once per fix
        public void A_quarantine_in_the_queue_or_on_a_file_is_refused_before_anything_changes(string where)
        {
            RepairQmailQueueTests.RootOnly();
            var (q, remote, _, _) = TestQmailQueueTests.Healthy();
            using (q)
            {
                File.WriteAllText(q.Layout.SplitDir("mess", 5) + "/junk", "x");
                File.WriteAllBytes(q.PathOf("remote", remote), new byte[0]);
                File.CreateSymbolicLink(q.Home + "/via-link", q.Root);
                File.WriteAllText(q.Home + "/qfile", "x");
                string quarantine = where == "." ? q.Root : where is "qfile" or "via-link/mess" ? q.Home + "/" + where : q.Root + "/" + where;
                var snap = QueueSnapshot.Take(q.Root);
                foreach (string whatIf in new[] { " -WhatIf", "" })
                {
                    var r = _ps.Run($"Repair-QmailQueue -QueuePath $q -QuarantinePath '{quarantine}'{whatIf}", q.Root);
                    Assert.Equal("QmailBadQuarantinePath,QmailPS.Commands.RepairQmailQueueCommand", Assert.Single(r.Errors).FullyQualifiedErrorId);
                    Assert.Empty(r.Objects<RepairAction>());
                    QueueSnapshot.AssertSame(snap, QueueSnapshot.Take(q.Root));
                }
                Assert.Equal("x", File.ReadAllText(q.Home + "/qfile"));
            }
        }
    }
}
