using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Runtime.InteropServices;
using System.Text;
using QmailPS.Check;
using QmailPS.Check.Repair;
using QmailPS.Posix;
using QmailPS.Queue;
using QmailPS.Tests.Support;
using Xunit;

namespace QmailPS.Tests.Check
{
    /// <summary>
    /// The queue's contents are untrusted input to a tool running as root: whoever can write a queue
    /// directory (qmailq, qmails, a restored backup, a careless ln) plants hard links and symlinks to
    /// files outside it. For every file kind and every directory of the queue, and for the
    /// quarantine, a plant is made to an outside victim; then every cmdlet that writes (and
    /// Get-QmailMessageContent) runs; each victim keeps its bytes, owner, mode and mtime, and
    /// Test-QmailQueue reports each plant.
    /// </summary>
    public sealed class AttackTests : IDisposable
    {
        private readonly PsSession _ps = new PsSession();

        public void Dispose() => _ps.Dispose();

        [DllImport("libc", SetLastError = true)]
        private static extern int link(string oldpath, string newpath);

        private static void HardLink(string existing, string name)
        {
            if (link(existing, name) != 0) throw new IOException($"link {existing} {name}: errno {Marshal.GetLastWin32Error()}");
        }

        /// <summary>Everything the attacker must not change: the tree of victims, snapshotted (bytes, owner, mode, mtime, inode).</summary>
        private static SortedDictionary<string, string> Victims(string dir)
        {
            // The link count is not the victim's own: dropping the queue's name of a shared inode is
            // the one thing allowed (its ctime changes with it); bytes, owner, mode and mtime are not.
            var snap = QueueSnapshot.Take(dir);
            foreach (string k in snap.Keys.ToList())
            {
                string[] f = snap[k].Split(' ');
                if (f.Length >= 7) { f[5] = "-"; snap[k] = string.Join(" ", f); }
            }
            return snap;
        }

        /// <summary>A root-only file outside the queue, with an old mtime, holding <paramref name="content"/>.</summary>
        private static string Victim(string dir, string name, byte[] content)
        {
            Directory.CreateDirectory(dir);
            string path = Path.Combine(dir, name);
            File.WriteAllBytes(path, content);
            TestFs.Raw.Lchown(path, 0, 0);
            TestFs.Raw.ChmodNoFollow(path, Mode.Rw_______);
            long old = UnixTime.Now - 86400 * 400;
            TestFs.Raw.SetTimes(path, old, old);
            return path;
        }

        /// <summary>Every command a postmaster runs that writes, run against the planted queue; none may crash.</summary>
        private void RunEverything(TempQueue q, ulong remote, ulong mixed, ulong unprocessed)
        {
            var vars = new Dictionary<string, object?> { ["q"] = q.Root, ["ids"] = new[] { remote, mixed, unprocessed }, ["qq"] = q.Home + "/quarantine" };
            var scripts = new List<string>
            {
                "Test-QmailQueue -QueuePath $q | Out-Null",
                "Get-QmailQueueMessage -QueuePath $q | Out-Null",
                "$ids | ForEach-Object { Get-QmailMessageContent -QueuePath $q -Id $_ -Raw } | Out-Null",
                "Get-QmailMessageContent -QueuePath $q -Id $ids -HeaderOnly | Out-Null",
                "Set-QmailMessageAge -QueuePath $q -Id $ids -RetryNow -Confirm:$false",
                "Set-QmailMessageAge -QueuePath $q -Id $ids -QueuedAt ([datetime]::Now.AddHours(-5)) -Confirm:$false",
                "Clear-QmailTcpTo -QueuePath $q -Confirm:$false",
                "Clear-QmailTcpTo -QueuePath $q -Address 10.0.0.3 -Confirm:$false",
                "Add-QmailQueueMessage -QueuePath $q -Sender a@example.test -Recipient b@remote.test -Content 'Subject: x','','y' -Confirm:$false | Out-Null",
            };
            foreach (string s in scripts) AssertNoCrash(_ps.Run(s, vars), s);
            // Remove in both modes: marking every recipient done while qmail-send holds lock/sendmutex, then unlinking.
            using (SendLock.TryHold(q.Layout))
                AssertNoCrash(_ps.Run("Remove-QmailQueueMessage -QueuePath $q -Id $ids -Force -Confirm:$false", vars), "Remove -Force (live)");
            AssertNoCrash(_ps.Run("Repair-QmailQueue -QueuePath $q -QuarantinePath $qq -Confirm:$false", vars), "Repair");
            AssertNoCrash(_ps.Run("Repair-QmailQueue -QueuePath $q -QuarantinePath $qq -Confirm:$false", vars), "Repair again");
            AssertNoCrash(_ps.Run("Remove-QmailQueueMessage -QueuePath $q -Id $ids -Confirm:$false", vars), "Remove");
        }

        /// <summary>Refusals are ErrorRecords with the module's stable ids; anything else is a crash.</summary>
        private static void AssertNoCrash(PsSession.Result r, string what)
        {
            Assert.True(r.Thrown is null || (r.Thrown is RuntimeException re && re.ErrorRecord.FullyQualifiedErrorId.StartsWith("Qmail", StringComparison.Ordinal)),
                $"{what}: threw {r.Thrown}");
            Assert.All(r.Errors, e => Assert.True(e.FullyQualifiedErrorId.StartsWith("Qmail", StringComparison.Ordinal), $"{what}: {e.FullyQualifiedErrorId}: {e.Exception}"));
        }

        public static IEnumerable<object[]> FileKinds() => new[]
        {
            "mess", "info", "local", "remote", "todo", "intd", "bounce", "lock/tcpto", "lock/sendmutex", "lock/trigger", "pid",
        }.Select(k => new object[] { k });

        [Theory]
        [MemberData(nameof(FileKinds))]
        public void A_queue_file_hard_linked_to_an_outside_file_is_reported_and_the_outside_file_never_changes(string kind)
        {
            RepairQmailQueueTests.RootOnly();
            var (q, remote, mixed, unprocessed) = TestQmailQueueTests.Healthy();
            using (q)
            {
                string outside = q.Home + "/outside";
                string planted = kind switch
                {
                    "lock/tcpto" or "lock/sendmutex" or "lock/trigger" => q.Layout.Dir("lock") + kind.Substring(4),
                    "pid" => q.Layout.Dir("pid") + "/4242.1700000000.1",
                    "todo" or "intd" => q.PathOf(kind, unprocessed),
                    _ => q.PathOf(kind, mixed),
                };
                byte[] content = kind == "lock/trigger" ? Encoding.ASCII.GetBytes("not a fifo\n")
                    : File.Exists(planted) ? TestFs.Raw.ReadFile(planted) : Encoding.ASCII.GetBytes("pid file\n");
                string victim = Victim(outside, "victim", content);
                if (TestFs.Raw.TryLstat(planted, out _, out _)) File.Delete(planted);
                HardLink(victim, planted);
                var before = Victims(outside);

                var found = _ps.Run("Test-QmailQueue -QueuePath $q", q.Root).Objects<QueueIssue>();
                Assert.Contains(found, i => i.Kind == QueueIssueKind.SharedInode && i.Path == planted && i.Severity == IssueSeverity.Danger);
                RunEverything(q, remote, mixed, unprocessed);
                QueueSnapshot.AssertSame(before, Victims(outside));
                // the planted name never stays in the queue after a repair: it went to the quarantine (renamed, never written)
                Assert.True(TestFs.Raw.TryLstat(victim, out FileStatus v, out _));
                Assert.False(TestFs.Raw.TryLstat(planted, out FileStatus now, out _) && now.Inode == v.Inode, $"{planted} still shares the victim's inode");
            }
        }

        /// <summary>
        /// A restored queue (ids that are not their mess inodes) where one file of message B is planted
        /// as a hard link to an outside file: B goes to the quarantine as it is and is never
        /// renumbered (a renumbering links the outside inode once more, and -WhatIf showed only that
        /// for a Danger finding). It goes first, so message Y, whose mess inode is B's number, moves
        /// there in the same run.
        /// </summary>
        [Theory]
        [InlineData("mess")]
        [InlineData("info")]
        [InlineData("local")]
        [InlineData("remote")]
        [InlineData("bounce")]
        [InlineData("todo")]
        [InlineData("intd")]
        public void A_misnumbered_message_with_a_file_hard_linked_outside_goes_to_the_quarantine_first_and_is_never_renumbered(string kind)
        {
            RepairQmailQueueTests.RootOnly();
            using var q = TempQueue.Create();
            ulong y = q.AddProcessed("y@example.test", "first@remote.test");
            ulong b = kind is "todo" or "intd" ? q.AddUnprocessed("b@example.test", "second@remote.test")
                : q.AddProcessed("b@example.test", new[] { new RecipientSpec("second@example.test", RecipientChannel.Local), new RecipientSpec("third@remote.test", RecipientChannel.Remote, delivered: true), new RecipientSpec("fourth@remote.test", RecipientChannel.Remote) });
            if (kind == "bounce") q.Writer.AppendBounce(b, "third@remote.test", "550 no such user");
            ulong n = q.CopyMessToNewInode(y); // Y must move to N
            foreach (string k in new[] { "mess", "info", "local", "remote", "bounce", "todo", "intd" })
                if (File.Exists(q.PathOf(k, b))) File.Move(q.PathOf(k, b), q.PathOf(k, n)); // B now sits at N,
            string outside = q.Home + "/outside", planted = q.PathOf(kind, n);
            string victim = Victim(outside, "victim", TestFs.Raw.ReadFile(planted));
            File.Delete(planted);
            HardLink(victim, planted); // one of its files shared with a file outside the queue
            var before = Victims(outside);

            var (_, log, did) = RepairQmailQueueTests.RunSession(q, TestFs.Raw);
            Assert.Equal(0, log.Failures);
            Assert.DoesNotContain(log.Steps, s => s.Operation == RepairOperation.Renumber && s.From == n);
            int quarantined = log.Steps.FindIndex(s => s.Operation == RepairOperation.QuarantineMessage && s.Id == n);
            int moved = log.Steps.FindIndex(s => s.Operation == RepairOperation.Renumber && s.From == y && s.To == n);
            Assert.True(quarantined >= 0 && moved > quarantined, did);
            QueueSnapshot.AssertSame(before, Victims(outside));
            Assert.True(TestFs.Raw.TryLstat(q.PathOf("mess", n), out FileStatus m, out _) && m.Inode == n && m.Links == 1, did);
            Assert.Contains("first@remote.test", File.ReadAllText(q.PathOf("remote", n)));
            Assert.False(File.Exists(q.PathOf("local", n)) || File.Exists(q.PathOf("bounce", n)) || File.Exists(q.PathOf("todo", n)), did);
            var left = new QueueInspector(q.Layout, SendLock.Probe(q.Layout)).Inspect().ToList();
            Assert.True(left.Count == 0, $"left: {string.Join(" | ", left)}; {did}");
        }

        public static IEnumerable<object[]> Directories() => new[]
        {
            "mess/N", "info/N", "local/N", "remote/N", "todo", "intd", "bounce", "lock", "pid", "info", "mess",
        }.Select(k => new object[] { k });

        [Theory]
        [MemberData(nameof(Directories))]
        public void A_queue_directory_that_is_a_symlink_is_reported_and_never_entered(string dir)
        {
            RepairQmailQueueTests.RootOnly();
            var (q, remote, mixed, unprocessed) = TestQmailQueueTests.Healthy();
            using (q)
            {
                string rel = dir.Replace("N", q.Layout.SplitOf(mixed).ToString(System.Globalization.CultureInfo.InvariantCulture));
                string path = q.Root + "/" + rel, outside = q.Home + "/outside";
                // The target is a directory full of root's files, named like the queue's (the real
                // files moved there, plus a bait named after each message).
                Directory.CreateDirectory(Path.GetDirectoryName(outside + "/x")!);
                Directory.Move(path, outside + "/target");
                foreach (ulong id in new[] { remote, mixed, unprocessed })
                    if (!File.Exists(outside + "/target/" + id) && !Directory.Exists(outside + "/target/" + id))
                        Victim(outside + "/target", id.ToString(System.Globalization.CultureInfo.InvariantCulture), Encoding.ASCII.GetBytes("Froot@victim\0"));
                Victim(outside + "/target", "tcpto", new byte[1024]);
                File.CreateSymbolicLink(path, outside + "/target");
                var before = Victims(outside);

                var found = _ps.Run("Test-QmailQueue -QueuePath $q", q.Root).Objects<QueueIssue>();
                Assert.Contains(found, i => i.Kind == QueueIssueKind.Symlink && i.Path == path && i.Description.Contains(outside + "/target"));
                RunEverything(q, remote, mixed, unprocessed);
                QueueSnapshot.AssertSame(before, Victims(outside));
                // Repair took the link itself out and made a real directory in its place.
                Assert.True(TestFs.Raw.TryLstat(path, out FileStatus st, out _) && st.Kind == FileKind.Directory);
            }
        }

        [Fact]
        public void A_symlink_in_the_path_of_a_queue_file_swapped_in_between_plan_and_step_is_never_written_through()
        {
            RepairQmailQueueTests.RootOnly();
            var (q, _, mixed, _) = TestQmailQueueTests.Healthy();
            using (q)
            {
                // A remote file cut inside its last record: the plan appends the NUL qmail would have written.
                string remote = q.PathOf("remote", mixed), split = Path.GetDirectoryName(remote)!;
                File.AppendAllText(remote, "Tcut@remote.te");
                string outside = q.Home + "/outside";
                var issues = new QueueInspector(q.Layout, SendLock.Probe(q.Layout)).Inspect().ToList();
                Assert.Contains(issues, i => i.Kind == QueueIssueKind.ChannelTruncated && i.Path == remote);
                var swap = new SwappingPosix(TestFs.Raw, () =>
                {
                    // the attacker's move, right before the first write of the repair
                    Directory.Move(split, outside);
                    File.CreateSymbolicLink(split, outside);
                });
                var before = (Func<SortedDictionary<string, string>>)(() => Victims(outside));
                var repairer = new QueueRepairer(q.Layout, swap, q.Home + "/quarantine");
                var plan = repairer.Plan(issues);
                Assert.NotEmpty(plan);
                SortedDictionary<string, string>? snap = null;
                swap.After = () => snap = before();
                foreach (RepairStep p in plan)
                {
                    try { repairer.Apply(p); }
                    catch (IOException) { } // refused: a symlink on the way
                }
                Assert.True(swap.Swapped);
                Assert.NotNull(snap);
                QueueSnapshot.AssertSame(snap!, Victims(outside));
            }
        }

        [Fact]
        public void A_file_swapped_for_a_hard_link_between_plan_and_step_is_never_written()
        {
            RepairQmailQueueTests.RootOnly();
            var (q, _, mixed, _) = TestQmailQueueTests.Healthy();
            using (q)
            {
                string remote = q.PathOf("remote", mixed);
                File.AppendAllText(remote, "Tcut@remote.te");
                string victim = Victim(q.Home + "/outside", "victim", TestFs.Raw.ReadFile(remote));
                var issues = new QueueInspector(q.Layout, SendLock.Probe(q.Layout)).Inspect().ToList();
                var swap = new SwappingPosix(TestFs.Raw, () => { File.Delete(remote); HardLink(victim, remote); });
                var repairer = new QueueRepairer(q.Layout, swap, q.Home + "/quarantine");
                SortedDictionary<string, string>? snap = null;
                swap.After = () => snap = Victims(q.Home + "/outside");
                foreach (RepairStep p in repairer.Plan(issues))
                {
                    try { repairer.Apply(p); }
                    catch (IOException) { }
                }
                Assert.True(swap.Swapped);
                QueueSnapshot.AssertSame(snap!, Victims(q.Home + "/outside"));
            }
        }

        [Fact]
        public void A_step_whose_file_changed_after_the_plan_is_skipped_with_a_warning()
        {
            RepairQmailQueueTests.RootOnly();
            var (q, _, mixed, _) = TestQmailQueueTests.Healthy();
            using (q)
            {
                string remote = q.PathOf("remote", mixed);
                File.AppendAllText(remote, "Tcut@remote.te");
                var issues = new QueueInspector(q.Layout, SendLock.Probe(q.Layout)).Inspect().ToList();
                var repairer = new QueueRepairer(q.Layout, TestFs.Raw, q.Home + "/quarantine");
                var plan = repairer.Plan(issues).Where(p => p.Path == remote).ToList();
                Assert.NotEmpty(plan);
                // Somebody else rewrites the file between the plan and the step.
                File.WriteAllBytes(remote, Encoding.ASCII.GetBytes("Tother@remote.test\0Tcut@re"));
                var snap = QueueSnapshot.Take(q.Root);
                foreach (RepairStep p in plan) Assert.Same(RepairStep.NothingLeft, repairer.Apply(p));
                QueueSnapshot.AssertSame(snap, QueueSnapshot.Take(q.Root));
                Assert.Contains(repairer.Warnings, w => w.Contains(remote) && w.Contains("changed after it was inspected"));
            }
        }

        [Fact]
        public void The_fault_injector_cuts_a_write_of_lock_tcpto_like_any_other()
        {
            RepairQmailQueueTests.RootOnly();
            using var q = TempQueue.Create();
            string path = q.Layout.Dir("lock") + "/tcpto";
            byte[] before = TestFs.Raw.ReadFile(path);
            var faulty = new FaultyPosix(TestFs.Raw, 1);
            using (var f = QmailPS.TcpTo.TcpToFile.Open(faulty, path, requireWrite: true))
            {
                f.Lock(TimeSpan.FromSeconds(2), default);
                Assert.Throws<InjectedCrash>(() => f.WriteAt(0, new byte[1024]));
            }
            Assert.Equal("pwrite " + path, faulty.LastCall);
            Assert.Equal(before, TestFs.Raw.ReadFile(path));
        }

        [Fact]
        public void A_stale_finding_piped_to_repair_is_inspected_again_and_not_acted_on()
        {
            RepairQmailQueueTests.RootOnly();
            var (q, remote, _, _) = TestQmailQueueTests.Healthy();
            using (q)
            {
                string path = q.PathOf("remote", remote);
                byte[] real = TestFs.Raw.ReadFile(path);
                File.WriteAllBytes(path, Array.Empty<byte>());
                var stale = _ps.Run("Test-QmailQueue -QueuePath $q", q.Root).Objects<QueueIssue>().Where(i => i.Kind == QueueIssueKind.ChannelEmpty).ToList();
                Assert.Single(stale);
                File.WriteAllBytes(path, real); // holds its recipients again
                var snap = QueueSnapshot.Take(q.Root);
                var r = _ps.Run("$stale | Repair-QmailQueue -QuarantinePath $qq -Confirm:$false", new Dictionary<string, object?> { ["stale"] = stale.ToArray(), ["qq"] = q.Home + "/quarantine" });
                Assert.Empty(r.Objects<RepairAction>());
                Assert.Contains(r.Warnings, w => w.Contains("no longer shows it"));
                QueueSnapshot.AssertSame(snap, QueueSnapshot.Take(q.Root));
                Assert.False(Directory.Exists(q.Home + "/quarantine"));
            }
        }

        [Theory]
        [InlineData("/x")]
        [InlineData("/etc/passwd")]
        [InlineData("QUEUE/../outside/victim")]
        [InlineData("")]
        public void A_forged_finding_whose_path_is_not_in_its_queue_is_refused_with_its_own_error_and_nothing_moves(string path)
        {
            RepairQmailQueueTests.RootOnly();
            var (q, _, _, _) = TestQmailQueueTests.Healthy();
            using (q)
            {
                string victim = Victim(q.Home + "/outside", "victim", Encoding.ASCII.GetBytes("secret"));
                var before = Victims(q.Home + "/outside");
                var snap = QueueSnapshot.Take(q.Root);
                var forged = new QueueIssue(QueueIssueKind.StrayFile, IssueSeverity.Garbage, 1, path.Replace("QUEUE", q.Root), "forged", "Move it", q.Root);
                var r = _ps.Run("$f | Repair-QmailQueue -QuarantinePath $qq -Confirm:$false", new Dictionary<string, object?> { ["f"] = forged, ["qq"] = q.Home + "/quarantine" });
                Assert.Null(r.Thrown);
                Assert.Contains(r.Errors, e => e.FullyQualifiedErrorId.StartsWith("QmailIssueOutsideQueue", StringComparison.Ordinal) && e.CategoryInfo.Category == ErrorCategory.InvalidArgument && ReferenceEquals(e.TargetObject, forged));
                QueueSnapshot.AssertSame(before, Victims(q.Home + "/outside"));
                QueueSnapshot.AssertSame(snap, QueueSnapshot.Take(q.Root));
                Assert.True(File.Exists(victim));
            }
        }

        [Theory]
        [InlineData("owned by another user")]
        [InlineData("group writable")]
        [InlineData("a symlink")]
        [InlineData("reached through a symlink")]
        [InlineData("holds symlinks named like the queue")]
        public void An_existing_quarantine_that_others_could_have_prepared_is_refused_and_nothing_is_written(string how)
        {
            RepairQmailQueueTests.RootOnly();
            var (q, _, mixed, _) = TestQmailQueueTests.Healthy();
            using (q)
            {
                File.AppendAllText(q.PathOf("remote", mixed), "Tcut@remote.te"); // something to repair
                string outside = q.Home + "/outside";
                string victim = Victim(outside + "/victims", "victim", Encoding.ASCII.GetBytes("secret"));
                string quarantine = q.Home + "/quarantine";
                Directory.CreateDirectory(quarantine);
                File.SetUnixFileMode(quarantine, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                foreach (string d in new[] { "mess", "remote", "info", "local" }) File.CreateSymbolicLink(quarantine + "/" + d, outside + "/victims");
                File.CreateSymbolicLink(quarantine + "/manifest.tsv", victim);
                string given = quarantine;
                switch (how)
                {
                    case "owned by another user": TestFs.Raw.Lchown(quarantine, TestFs.Raw.LookupUser("qmailq")!.Value.Uid, 0); break;
                    case "group writable": File.SetUnixFileMode(quarantine, (UnixFileMode)Convert.ToInt32("770", 8)); break;
                    case "a symlink": given = q.Home + "/qlink"; File.CreateSymbolicLink(given, quarantine); break;
                    case "reached through a symlink": File.CreateSymbolicLink(q.Home + "/via", q.Home); given = q.Home + "/via/quarantine"; break;
                    case "holds symlinks named like the queue": break; // root's own 0700 directory: used, but never written through
                }
                var before = Victims(outside);
                var snap = QueueSnapshot.Take(q.Root);
                var r = _ps.Run("Repair-QmailQueue -QueuePath $q -QuarantinePath $qq -Confirm:$false", new Dictionary<string, object?> { ["q"] = q.Root, ["qq"] = given });
                AssertNoCrash(r, how);
                QueueSnapshot.AssertSame(before, Victims(outside));
                if (how != "holds symlinks named like the queue")
                {
                    Assert.True(r.Thrown != null || r.Errors.Count > 0, how);
                    QueueSnapshot.AssertSame(snap, QueueSnapshot.Take(q.Root));
                }
            }
        }

        [Theory]
        [InlineData(true)]
        [InlineData(false)]
        public void New_queue_at_a_symlink_is_refused_with_or_without_a_trailing_slash(bool slash)
        {
            RepairQmailQueueTests.RootOnly();
            string home = TempQueue.NewHome();
            try
            {
                Directory.CreateDirectory(home + "/target");
                File.CreateSymbolicLink(home + "/link", home + "/target");
                var before = Victims(home + "/target");
                var r = _ps.Run("New-QmailQueue -Path $q -Confirm:$false", home + "/link" + (slash ? "/" : ""));
                Assert.Contains(r.Errors, e => e.FullyQualifiedErrorId.StartsWith("QmailQueueExists", StringComparison.Ordinal) && e.Exception.Message.Contains("symbolic link"));
                Assert.Empty(Directory.GetFileSystemEntries(home + "/target"));
                QueueSnapshot.AssertSame(before, Victims(home + "/target"));
            }
            finally { TempQueue.RemoveTree(home); }
        }

        [Theory]
        [InlineData(true)]
        [InlineData(false)]
        public void The_seam_refuses_every_path_through_a_symlink_on_both_resolvers(bool openat2)
        {
            string home = TempQueue.NewHome();
            try
            {
                Directory.CreateDirectory(home + "/q/sub");
                Directory.CreateDirectory(home + "/outside");
                string victim = Victim(home + "/outside", "v", Encoding.ASCII.GetBytes("secret"));
                File.CreateSymbolicLink(home + "/q/link", home + "/outside");
                using var fs = new LinuxFileSystem(useOpenat2: openat2);
                fs.Trust(home + "/q");
                var before = Victims(home + "/outside");
                string via = home + "/q/link/v";
                Assert.ThrowsAny<IOException>(() => fs.Append(via, new byte[] { 0 }));
                Assert.ThrowsAny<IOException>(() => fs.WriteByteAt(via, 0, (byte)'D'));
                Assert.ThrowsAny<IOException>(() => fs.Lchown(via, 1, 1));
                Assert.ThrowsAny<IOException>(() => fs.ChmodNoFollow(via, Mode.Rw_r__r__));
                Assert.ThrowsAny<IOException>(() => fs.SetTimes(via, 1, 1));
                Assert.ThrowsAny<IOException>(() => fs.Unlink(via));
                Assert.ThrowsAny<IOException>(() => fs.Rename(via, home + "/q/sub/v"));
                Assert.ThrowsAny<IOException>(() => fs.WriteNewFile(home + "/q/link/new", new byte[1], Mode.Rw_______));
                Assert.ThrowsAny<IOException>(() => fs.Mkdir(home + "/q/link/d", Mode.Rwx______));
                Assert.ThrowsAny<IOException>(() => fs.Mkfifo(home + "/q/link/f", Mode.Rw_______));
                Assert.ThrowsAny<IOException>(() => fs.ReadFile(via));
                Assert.Null(fs.TryOpenDirectory(home + "/q/link", out int errno));
                Assert.Equal(Errno.ELOOP, errno);
                // outside every anchor: refused before any call is made
                Assert.Throws<OutsideQueueException>(() => fs.Append(victim, new byte[] { 0 }));
                Assert.Throws<OutsideQueueException>(() => fs.Unlink(home + "/q/sub/../../outside/v"));
                // a hard link of the victim inside the queue: renamed, never written
                HardLink(victim, home + "/q/sub/hard");
                Assert.Throws<SharedInodeException>(() => fs.Append(home + "/q/sub/hard", new byte[] { 0 }));
                Assert.Throws<SharedInodeException>(() => fs.ChmodNoFollow(home + "/q/sub/hard", Mode.Rw_r__r__));
                Assert.Throws<SharedInodeException>(() => fs.Lchown(home + "/q/sub/hard", 1, 1));
                Assert.Throws<SharedInodeException>(() => fs.SetTimes(home + "/q/sub/hard", 1, 1));
                Assert.Throws<SharedInodeException>(() => fs.WriteByteAt(home + "/q/sub/hard", 0, 0));
                File.Delete(home + "/q/sub/hard");
                QueueSnapshot.AssertSame(before, Victims(home + "/outside"));
            }
            finally { TempQueue.RemoveTree(home); }
        }

        /// <summary>A seam double that lets an attacker act once, right before the first change.</summary>
        private sealed class SwappingPosix : PassThroughPosix
        {
            private readonly Action _swap;
            public SwappingPosix(IFileSystem inner, Action swap) : base(inner) { _swap = swap; }
            public bool Swapped { get; private set; }
            public Action? After { get; set; }

            private void Maybe()
            {
                if (Swapped) return;
                Swapped = true;
                _swap();
                After?.Invoke();
            }

            public override void Append(string path, byte[] bytes, string? pairedWith = null) { Maybe(); base.Append(path, bytes, pairedWith); }
            public override void WriteByteAt(string path, long offset, byte value, string? pairedWith = null) { Maybe(); base.WriteByteAt(path, offset, value, pairedWith); }
            public override void Lchown(string path, uint uid, uint gid, string? pairedWith = null) { Maybe(); base.Lchown(path, uid, gid, pairedWith); }
            public override void ChmodNoFollow(string path, uint mode, string? pairedWith = null) { Maybe(); base.ChmodNoFollow(path, mode, pairedWith); }
            public override void Rename(string from, string to) { Maybe(); base.Rename(from, to); }
            public override void WriteNewFile(string path, byte[] content, uint mode, bool fsync = true) { if (!path.Contains("/quarantine")) Maybe(); base.WriteNewFile(path, content, mode, fsync); }
            public override void Mkdir(string path, uint mode) { if (!path.Contains("/quarantine")) Maybe(); base.Mkdir(path, mode); }
        }
    }
}
