using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Text;
using System.Threading;
using QmailPS.Posix;
using QmailPS.Queue;
using QmailPS.Tests.Support;
using Xunit;

namespace QmailPS.Tests.Cmdlets
{
    public sealed class MessageOperationTests : IClassFixture<MessageOperationTests.Session>
    {
        public sealed class Session : IDisposable
        {
            public PsSession Ps { get; } = new PsSession();
            public void Dispose() => Ps.Dispose();
        }

        private readonly PsSession _ps;
        public MessageOperationTests(Session s) { _ps = s.Ps; }

        private static Dictionary<string, object?> V(params (string, object?)[] vars) => vars.ToDictionary(v => v.Item1, v => v.Item2);

        private static List<string> FilesNamed(string root, ulong id) =>
            Directory.EnumerateFileSystemEntries(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
                .Where(p => Path.GetFileName(p) == id.ToString()).ToList();

        // ---------------------------------------------------------------- New-QmailQueue

        [Fact]
        public void New_QmailQueue_builds_the_tree_qmails_installer_builds()
        {
            RootOnly();
            string home = TempQueue.NewHome();
            try
            {
                string root = Path.Combine(home, "queue");
                var r = _ps.Run("New-QmailQueue -Path $q", root).AssertClean();
                Assert.Equal(root, r.Objects<QueueSummary>().Single().QueuePath);

                // tests/golden/processed/find.txt: "<qmail-home>/queue/<path> <owner> <group> <mode> <size>" from real notqmail
                var golden = File.ReadAllLines(Path.Combine(GoldenQueue.Dir, "find.txt"))
                    .Select(l => l.Split(' ')).Select(f => (Path: f[0].Replace("<qmail-home>/queue", ""), Owner: f[1], Group: f[2], Mode: f[3], Size: f[4]))
                    .Where(e => !IsMessageFile(e.Path)).ToList();
                var ours = Walk(root).Where(e => !IsMessageFile(e.Path)).ToList();
                Assert.Equal(golden.Select(e => e.Path).OrderBy(p => p, StringComparer.Ordinal), ours.Select(e => e.Path).OrderBy(p => p, StringComparer.Ordinal));
                foreach (var g in golden)
                {
                    var o = ours.Single(x => x.Path == g.Path);
                    Assert.True((g.Owner, g.Group, g.Mode) == (o.Owner, o.Group, o.Mode), $"{g.Path}: golden {g.Owner}:{g.Group} {g.Mode}, ours {o.Owner}:{o.Group} {o.Mode}");
                    if (g.Path.StartsWith("/lock/")) Assert.Equal(g.Size, o.Size);
                }
                Assert.True(TestFs.Raw.TryLstat(root + "/lock/trigger", out var t, out _) && t.Kind == FileKind.Fifo);
                Assert.Equal(new byte[1024], File.ReadAllBytes(root + "/lock/tcpto"));

                var again = _ps.Run("New-QmailQueue -Path $q", root);
                Assert.Equal("QmailQueueExists,QmailPS.Commands.NewQmailQueueCommand", Assert.Single(again.Errors).FullyQualifiedErrorId);
            }
            finally { Directory.Delete(home, true); }
        }

        private static bool IsMessageFile(string path)
        {
            string[] parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
            return (parts.Length == 3 && parts[0] is "mess" or "info" or "local" or "remote") || (parts.Length == 2 && parts[0] is "bounce" or "todo" or "intd" or "pid");
        }

        private static IEnumerable<(string Path, string Owner, string Group, string Mode, string Size)> Walk(string root)
        {
            foreach (string p in Directory.EnumerateFileSystemEntries(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }).Prepend(root))
            {
                TestFs.Raw.TryLstat(p, out FileStatus st, out _);
                yield return (p.Substring(root.Length), TestFs.Raw.UserName(st.Uid)!, TestFs.Raw.GroupName(st.Gid)!, Convert.ToString(st.Permissions, 8), st.Size.ToString());
            }
        }

        [Fact]
        public void New_QmailQueue_WhatIf_creates_nothing_and_big_todo_splits_todo_and_intd()
        {
            string home = TempQueue.NewHome();
            try
            {
                string root = Path.Combine(home, "queue");
                var w = _ps.Run("New-QmailQueue -Path $q -WhatIf", root).AssertClean();
                Assert.False(Directory.Exists(root));
                Assert.Contains("What if:", w.HostText);
                _ps.Run("New-QmailQueue -Path $q -BigTodo -Split 5", root).AssertClean();
                Assert.True(Directory.Exists(root + "/todo/4") && Directory.Exists(root + "/intd/4") && !Directory.Exists(root + "/mess/5"));
                Assert.True(QueueLayout.Detect(root).BigTodo);
                Assert.Equal(5, QueueLayout.Detect(root).Split);
            }
            finally { Directory.Delete(home, true); }
        }

        // ---------------------------------------------------------------- Add-QmailQueueMessage

        [Fact]
        public void Add_QmailQueueMessage_writes_what_qmail_queue_writes()
        {
            RootOnly();
            using var q = TempQueue.Create();
            var r = _ps.Run("'From: a@example.test','Subject: hi','','body' | Add-QmailQueueMessage -QueuePath $q -Sender bob@example.test -Recipient alice@example.test,carol@remote.test", q.Root).AssertClean();
            var m = r.Objects<QueueMessage>().Single();
            Assert.Equal(QueueMessageState.Unprocessed, m.State);
            ulong id = m.Id;

            Assert.True(TestFs.Raw.TryLstat(q.PathOf("mess", id), out FileStatus mess, out _));
            Assert.Equal(id, mess.Inode); // the id is the mess inode
            Assert.True(TestFs.Raw.TryLstat(q.PathOf("todo", id), out FileStatus todo, out _));
            TestFs.Raw.TryLstat(q.PathOf("intd", id), out FileStatus intd, out _);
            Assert.Equal(intd.Inode, todo.Inode);
            Assert.Equal(2u, todo.Links);
            uint qmailq = TestFs.Raw.LookupUser("qmailq")!.Value.Uid;
            Assert.Equal((qmailq, Mode.Rw_r__r__), (todo.Uid, todo.Permissions));
            Assert.Equal((qmailq, Mode.Rw_r__r__), (mess.Uid, mess.Permissions));
            // setuid qmailq, not setgid: the caller's group stays (here root's, 0), never group qmail
            Assert.Equal((TestFs.Raw.EffectiveGroupId, TestFs.Raw.EffectiveGroupId), (mess.Gid, todo.Gid));
            Assert.NotEqual(TestFs.Raw.LookupGroup("qmail"), mess.Gid);

            string envelope = File.ReadAllText(q.PathOf("todo", id), Encoding.Latin1);
            Assert.Matches("^u0\0p[0-9]+\0Fbob@example.test\0Talice@example.test\0Tcarol@remote.test\0$", envelope);
            string text = File.ReadAllText(q.PathOf("mess", id));
            Assert.Matches(@"^Received: \(qmail [0-9]+ invoked by uid 0\); [1-9][0-9]? [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} -0000\nFrom: a@example.test\nSubject: hi\n\nbody\n$", text);
            Assert.Empty(Directory.GetFiles(q.Layout.Dir("pid")));
        }

        [Theory]
        [InlineData("-Sender \"a`nb@x\" -Recipient c@x", "QmailBadAddress")]
        [InlineData("-Sender a@x -Recipient \"c`0@x\"", "QmailBadAddress")]
        [InlineData("-Sender a@x -Recipient @()", "QmailNoRecipient")]
        public void Add_QmailQueueMessage_rejects_bad_envelopes_and_writes_nothing(string args, string errorId)
        {
            using var q = TempQueue.Create();
            var before = QueueSnapshot.Take(q.Root);
            var r = _ps.Run($"Add-QmailQueueMessage -QueuePath $q -Content 'x' {args}", q.Root);
            Assert.StartsWith(errorId + ",", Assert.Single(r.Errors).FullyQualifiedErrorId);
            QueueSnapshot.AssertSame(before, QueueSnapshot.Take(q.Root));
        }

        [Theory]
        [InlineData("fifo")]
        [InlineData("dir")]
        public void Add_QmailQueueMessage_Path_that_is_not_a_regular_file_is_an_error_and_never_blocks(string kind)
        {
            // A FIFO with no writer used to block File.ReadAllBytes (and the cmdlet) for ever.
            using var q = TempQueue.Create();
            string file = Path.Combine(q.Home, "message");
            if (kind == "fifo") TestFs.Raw.Mkfifo(file, Mode.Rw_______); else Directory.CreateDirectory(file);
            var before = QueueSnapshot.Take(q.Root);
            var r = _ps.Run("Add-QmailQueueMessage -QueuePath $q -Path $f -Sender a@x -Recipient b@x", V(("q", q.Root), ("f", file)));
            var e = Assert.Single(r.Errors);
            Assert.Equal("QmailMessageFileUnreadable,QmailPS.Commands.AddQmailQueueMessageCommand", e.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.InvalidArgument, e.CategoryInfo.Category);
            Assert.Equal(file, e.TargetObject);
            Assert.Contains(kind == "fifo" ? "FIFO" : "directory", e.Exception.Message);
            QueueSnapshot.AssertSame(before, QueueSnapshot.Take(q.Root));
        }

        [Fact]
        public void Add_QmailQueueMessage_Path_through_a_symlink_to_a_regular_file_is_queued_byte_for_byte()
        {
            using var q = TempQueue.Create();
            string file = Path.Combine(q.Home, "message.eml"), link = Path.Combine(q.Home, "link.eml");
            File.WriteAllBytes(file, Encoding.Latin1.GetBytes("Subject: \xe9\r\n\r\nbody\r\n"));
            File.CreateSymbolicLink(link, file);
            var m = _ps.Run("Add-QmailQueueMessage -QueuePath $q -Path $f -Sender a@x -Recipient b@x", V(("q", q.Root), ("f", link))).AssertClean().Objects<QueueMessage>().Single();
            byte[] mess = File.ReadAllBytes(q.PathOf("mess", m.Id));
            Assert.EndsWith("Subject: \xe9\r\n\r\nbody\r\n", Encoding.Latin1.GetString(mess));
        }

        // ---------------------------------------------------------------- Remove-QmailQueueMessage

        [Fact]
        public void Removing_null_sender_bounces_from_the_golden_queue_removes_exactly_them()
        {
            using var q = GoldenQueue.Restore();
            var before = _ps.Run("Get-QmailQueueMessage -QueuePath $q", q.Root).AssertClean().Objects<QueueMessage>().Select(m => m.Id).ToList();
            var r = _ps.Run("Get-QmailQueueMessage -QueuePath $q | Where-Object Sender -eq '' | Remove-QmailQueueMessage -PassThru", q.Root).AssertClean();
            var removed = r.Objects<QueueMessage>();
            Assert.Equal(new ulong[] { 836821 }, removed.Select(m => m.Id));
            Assert.Empty(FilesNamed(q.Root, 836821));
            var after = _ps.Run("Get-QmailQueueMessage -QueuePath $q", q.Root).AssertClean().Objects<QueueMessage>().Select(m => m.Id).ToList();
            Assert.Equal(before.Where(id => id != 836821).OrderBy(x => x), after.OrderBy(x => x));
        }

        [Fact]
        public void Remove_leaves_no_file_of_the_message_anywhere_and_WhatIf_changes_nothing()
        {
            using var q = TempQueue.Create();
            ulong id = q.AddProcessed("bob@example.test", new[] { new RecipientSpec("a@example.test", RecipientChannel.Local), new RecipientSpec("b@remote.test", RecipientChannel.Remote) });
            q.Writer.AppendBounce(id, "c@remote.test", "550 no");
            ulong other = q.AddUnprocessed("x@example.test", "y@remote.test");
            var snap = QueueSnapshot.Take(q.Root);
            var w = _ps.Run($"Remove-QmailQueueMessage -QueuePath $q -Id {id},{other} -WhatIf", q.Root).AssertClean();
            QueueSnapshot.AssertSame(snap, QueueSnapshot.Take(q.Root));
            Assert.Contains($"What if: Performing the operation \"Remove every file of the message\" on target \"message {id} from <bob@example.test>", w.HostText);

            _ps.Run($"Remove-QmailQueueMessage -QueuePath $q -Id {id},{other}", q.Root).AssertClean();
            Assert.Empty(FilesNamed(q.Root, id));
            Assert.Empty(FilesNamed(q.Root, other));
        }

        [Fact]
        public void Remove_asks_for_confirmation_by_default_and_No_keeps_the_message()
        {
            using var q = TempQueue.Create();
            ulong id = q.AddProcessed("bob@example.test", "b@remote.test");
            using var ps = new PsSession(ConfirmImpact.High);
            ps.Host.Recorder.Choices.Enqueue(2); // "No"
            var r = ps.Run($"Remove-QmailQueueMessage -QueuePath $q -Id {id}", q.Root).AssertClean();
            Assert.Contains("PROMPT:", r.HostText);
            Assert.True(File.Exists(q.PathOf("mess", id)));
        }

        [Fact]
        public void Unknown_ids_are_one_error_each_and_the_pipeline_goes_on()
        {
            using var q = TempQueue.Create();
            ulong id = q.AddProcessed("bob@example.test", "b@remote.test");
            var r = _ps.Run($"Remove-QmailQueueMessage -QueuePath $q -Id 7,{id},8", q.Root);
            Assert.Equal(new object[] { 7UL, 8UL }, r.Errors.Select(e => e.TargetObject));
            Assert.All(r.Errors, e => Assert.Equal("QmailMessageNotFound,QmailPS.Commands.RemoveQmailQueueMessageCommand", e.FullyQualifiedErrorId));
            Assert.Empty(FilesNamed(q.Root, id));
        }

        [Fact]
        public void While_qmail_send_holds_sendmutex_remove_refuses_and_with_Force_marks_recipients_done()
        {
            using var q = TempQueue.Create();
            ulong id = q.AddProcessed("bob@example.test", new[] { new RecipientSpec("a@remote.test", RecipientChannel.Remote, delivered: true), new RecipientSpec("b@remote.test", RecipientChannel.Remote) });
            q.Writer.AppendBounce(id, "a@remote.test", "550 no");
            using var hold = SendLock.TryHold(q.Layout); // this process plays qmail-send: flock(LOCK_EX) on lock/sendmutex
            Assert.NotNull(hold);
            var snap = QueueSnapshot.Take(q.Root);
            var r = _ps.Run($"Remove-QmailQueueMessage -QueuePath $q -Id {id}", q.Root);
            var e = Assert.Single(r.Errors);
            Assert.Equal("QmailSendRunning,QmailPS.Commands.RemoveQmailQueueMessageCommand", e.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.ResourceBusy, e.CategoryInfo.Category);
            QueueSnapshot.AssertSame(snap, QueueSnapshot.Take(q.Root));

            long size = new FileInfo(q.PathOf("remote", id)).Length;
            _ps.Run($"Remove-QmailQueueMessage -QueuePath $q -Id {id} -Force -WarningAction SilentlyContinue", q.Root).AssertClean();
            Assert.Equal("Da@remote.test\0Db@remote.test\0", File.ReadAllText(q.PathOf("remote", id)));
            Assert.Equal(size, new FileInfo(q.PathOf("remote", id)).Length); // same offsets: qmail-send's markdone stays right
            Assert.False(File.Exists(q.PathOf("bounce", id)));
            Assert.True(File.Exists(q.PathOf("info", id))); // qmail-send finishes it itself
        }

        [Fact]
        public void Live_remove_also_marks_records_qmail_send_would_stop_at_so_the_message_can_finish()
        {
            // qmail-send's pass over a channel file stops at a record of unknown type or an empty
            // record ("warning: unknown record type") and never reaches the end: marking only the T
            // records left such a message in the queue for ever, reported as removed.
            using var q = TempQueue.Create();
            ulong id = q.AddProcessed("bob@example.test", "a@remote.test");
            File.WriteAllBytes(q.PathOf("remote", id), Encoding.ASCII.GetBytes("Ta@remote.test\0Xjunk\0\0Tb@remote.test\0Dc@remote.test\0"));
            using var hold = SendLock.TryHold(q.Layout);
            Assert.NotNull(hold);
            _ps.Run($"Remove-QmailQueueMessage -QueuePath $q -Id {id} -Force -WarningAction SilentlyContinue", q.Root).AssertClean();
            byte[] after = File.ReadAllBytes(q.PathOf("remote", id));
            Assert.Equal("Da@remote.test\0Djunk\0DDb@remote.test\0Dc@remote.test\0", Encoding.ASCII.GetString(after));
            // what qmail-send's pass sees now: only done records up to the end of the file
            Assert.All(QueueRecords.Parse(after, after.Length, "TD").Records, r => Assert.Equal((byte)'D', r.Type));
        }

        [Fact]
        public void Live_remove_that_fails_on_one_channel_file_marks_nothing()
        {
            // local/ was marked done before remote/ (a symlink) was refused: the error said "failed"
            // while a recipient had already been dropped.
            using var q = TempQueue.Create();
            ulong id = q.AddProcessed("bob@example.test", new[] { new RecipientSpec("a@example.test", RecipientChannel.Local), new RecipientSpec("b@remote.test", RecipientChannel.Remote) });
            q.Writer.AppendBounce(id, "c@remote.test", "550 no");
            string outside = Path.Combine(q.Home, "outside-remote");
            File.Move(q.PathOf("remote", id), outside);
            File.CreateSymbolicLink(q.PathOf("remote", id), outside);
            using var hold = SendLock.TryHold(q.Layout);
            Assert.NotNull(hold);
            var snap = QueueSnapshot.Take(q.Root);
            byte[] outsideBefore = File.ReadAllBytes(outside);
            var r = _ps.Run($"Remove-QmailQueueMessage -QueuePath $q -Id {id} -Force -WarningAction SilentlyContinue", q.Root);
            var e = Assert.Single(r.Errors);
            Assert.Equal("QmailWriteFailed,QmailPS.Commands.RemoveQmailQueueMessageCommand", e.FullyQualifiedErrorId);
            Assert.Equal(id, e.TargetObject);
            QueueSnapshot.AssertSame(snap, QueueSnapshot.Take(q.Root));
            Assert.Equal(outsideBefore, File.ReadAllBytes(outside));
        }

        // ---------------------------------------------------------------- Set-QmailMessageAge

        [Fact]
        public void Expire_uses_control_queuelifetime_and_WhatIf_changes_nothing()
        {
            using var q = TempQueue.Create();
            ulong id = q.AddProcessed("bob@example.test", "b@remote.test");
            var snap = QueueSnapshot.Take(q.Root);
            _ps.Run($"Set-QmailMessageAge -QueuePath $q -Id {id} -Expire -WhatIf", q.Root).AssertClean();
            QueueSnapshot.AssertSame(snap, QueueSnapshot.Take(q.Root));

            var r = _ps.Run($"Set-QmailMessageAge -QueuePath $q -Id {id} -Expire -Verbose", q.Root).AssertClean();
            AssertNear(DateTime.UtcNow.AddSeconds(-604801), File.GetLastWriteTimeUtc(q.PathOf("info", id)));
            Assert.Contains(r.Verbose, v => v.Contains("next delivery attempt"));

            File.WriteAllText(Path.Combine(q.Home, "control", "queuelifetime"), "3600\n");
            _ps.Run($"Get-QmailQueueMessage -QueuePath $q -Id {id} | Set-QmailMessageAge -Expire", q.Root).AssertClean();
            AssertNear(DateTime.UtcNow.AddSeconds(-3601), File.GetLastWriteTimeUtc(q.PathOf("info", id)));
        }

        [Fact]
        public void Rejuvenate_QueuedAt_and_RetryNow_set_the_mtimes_qmail_send_reads()
        {
            using var q = TempQueue.Create();
            ulong id = q.AddProcessed("bob@example.test", new[] { new RecipientSpec("a@example.test", RecipientChannel.Local), new RecipientSpec("b@remote.test", RecipientChannel.Remote) },
                birth: DateTime.UtcNow.AddDays(-3));
            _ps.Run($"Set-QmailMessageAge -QueuePath $q -Id {id} -Rejuvenate", q.Root).AssertClean();
            AssertNear(DateTime.UtcNow, File.GetLastWriteTimeUtc(q.PathOf("info", id)));
            var when = new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);
            _ps.Run($"Set-QmailMessageAge -QueuePath $q -Id {id} -QueuedAt $w", V(("q", q.Root), ("w", when))).AssertClean();
            Assert.Equal(when, File.GetLastWriteTimeUtc(q.PathOf("info", id)));
            File.SetLastWriteTimeUtc(q.PathOf("remote", id), DateTime.UtcNow.AddHours(5));
            var m = _ps.Run($"Set-QmailMessageAge -QueuePath $q -Id {id} -RetryNow -PassThru", q.Root).AssertClean().Objects<QueueMessage>().Single();
            AssertNear(DateTime.UtcNow, File.GetLastWriteTimeUtc(q.PathOf("remote", id)));
            AssertNear(DateTime.UtcNow, File.GetLastWriteTimeUtc(q.PathOf("local", id)));
            AssertNear(DateTime.UtcNow, m.NextAttemptUtc!.Value);
        }

        [Theory]
        [InlineData("dir")]
        [InlineData("fifo")]                // a FIFO: once File.ReadAllLines blocked for ever on it
        [InlineData("99999999999999999\n")] // once an ArgumentOutOfRangeException out of the cmdlet
        [InlineData("4294967296\n")]        // qmail-send's int would hold 0: every message dying at once
        public void Expire_with_an_unusable_queuelifetime_is_an_error_per_message_and_changes_nothing(string content)
        {
            using var q = TempQueue.Create();
            ulong a = q.AddProcessed("bob@example.test", "a@remote.test"), b = q.AddProcessed("bob@example.test", "b@remote.test");
            string lt = Path.Combine(q.Home, "control", "queuelifetime");
            if (content == "dir") Directory.CreateDirectory(lt);
            else if (content == "fifo") TestFs.Raw.Mkfifo(lt, Mode.Rw_r__r__);
            else File.WriteAllText(lt, content);
            var snap = QueueSnapshot.Take(q.Root);
            var r = _ps.Run($"{a},{b} | Set-QmailMessageAge -QueuePath $q -Expire", q.Root);
            Assert.Equal(new object[] { a, b }, r.Errors.Select(e => e.TargetObject));
            Assert.All(r.Errors, e => Assert.Equal("QmailControlUnreadable,QmailPS.Commands.SetQmailMessageAgeCommand", e.FullyQualifiedErrorId));
            QueueSnapshot.AssertSame(snap, QueueSnapshot.Take(q.Root));
        }

        [Fact]
        public void QueuedAt_the_file_system_cannot_store_is_an_error_and_changes_nothing()
        {
            // ext4 keeps mtimes from 1901-12-13 to 2446-05-10: utimensat clamps anything outside
            // without an error, so year 1 used to become 1901 and year 9999 became 2446 (a birth
            // qmail-send would not retry before centuries), reported as success.
            using var q = TempQueue.Create();
            ulong id = q.AddProcessed("bob@example.test", "b@remote.test");
            foreach (DateTime when in new[] { DateTime.MinValue, DateTime.MaxValue })
            {
                var snap = QueueSnapshot.Take(q.Root);
                var r = _ps.Run($"Set-QmailMessageAge -QueuePath $q -Id {id} -QueuedAt $w", V(("q", q.Root), ("w", DateTime.SpecifyKind(when, DateTimeKind.Utc))));
                if (r.Errors.Count == 0)
                {
                    // A file system with 64-bit times (btrfs, tmpfs) stores it as asked.
                    Assert.True(TestFs.Raw.TryLstat(q.PathOf("info", id), out FileStatus st, out _));
                    Assert.Equal(UnixTime.ToSeconds(DateTime.SpecifyKind(when, DateTimeKind.Utc)), st.MTimeSeconds);
                    continue;
                }
                var e = Assert.Single(r.Errors);
                Assert.Equal("QmailTimeOutOfRange,QmailPS.Commands.SetQmailMessageAgeCommand", e.FullyQualifiedErrorId);
                Assert.Equal(ErrorCategory.InvalidArgument, e.CategoryInfo.Category);
                Assert.Equal(id, e.TargetObject);
                QueueSnapshot.AssertSame(snap, QueueSnapshot.Take(q.Root));
            }
        }

        [Fact]
        public void A_time_the_file_system_clamps_is_put_back_and_reported()
        {
            // The same check without depending on the file system the tests run on.
            using var q = TempQueue.Create();
            ulong id = q.AddProcessed("bob@example.test", "b@remote.test");
            var snap = QueueSnapshot.Take(q.Root);
            var editor = new MessageEditor(q.Layout, new ClampingTimesPosix(TestFs.Raw, -100, 2000000000));
            var e = Assert.Throws<TimeNotStorableException>(() => editor.SetBirth(id, new DateTime(2100, 1, 1, 0, 0, 0, DateTimeKind.Utc)));
            Assert.Contains("2100-01-01", e.Message);
            QueueSnapshot.AssertSame(snap, QueueSnapshot.Take(q.Root));
            Assert.Throws<TimeNotStorableException>(() => editor.SetNextAttempt(id, new DateTime(1960, 1, 1, 0, 0, 0, DateTimeKind.Utc)));
            QueueSnapshot.AssertSame(snap, QueueSnapshot.Take(q.Root));
            editor.SetBirth(id, new DateTime(2030, 1, 1, 0, 0, 0, DateTimeKind.Utc)); // in range: set as asked
            Assert.Equal(new DateTime(2030, 1, 1, 0, 0, 0, DateTimeKind.Utc), File.GetLastWriteTimeUtc(q.PathOf("info", id)));
        }

        /// <summary>utimensat as a file system with a limited time range does it: out-of-range times are clamped silently.</summary>
        private sealed class ClampingTimesPosix : QmailPS.Tests.Check.PassThroughPosix
        {
            private readonly long _min, _max;
            public ClampingTimesPosix(IFileSystem inner, long min, long max) : base(inner) { _min = min; _max = max; }
            public override void SetTimes(string path, long atimeSeconds, long mtimeSeconds, string? pairedWith = null) =>
                base.SetTimes(path, Math.Clamp(atimeSeconds, _min, _max), Math.Clamp(mtimeSeconds, _min, _max), pairedWith);
        }

        [Fact]
        public void Set_age_that_fails_on_a_channel_file_changes_no_time()
        {
            // -QueuedAt with -RetryNow set the birth, then stopped at a remote/ that is a symlink.
            using var q = TempQueue.Create();
            ulong id = q.AddProcessed("bob@example.test", "b@remote.test");
            string outside = Path.Combine(q.Home, "outside-remote");
            File.Move(q.PathOf("remote", id), outside);
            File.CreateSymbolicLink(q.PathOf("remote", id), outside);
            var snap = QueueSnapshot.Take(q.Root);
            DateTime outsideTime = File.GetLastWriteTimeUtc(outside);
            var r = _ps.Run($"Set-QmailMessageAge -QueuePath $q -Id {id} -Rejuvenate -RetryNow", q.Root);
            var e = Assert.Single(r.Errors);
            Assert.Equal("QmailWriteFailed,QmailPS.Commands.SetQmailMessageAgeCommand", e.FullyQualifiedErrorId);
            QueueSnapshot.AssertSame(snap, QueueSnapshot.Take(q.Root));
            Assert.Equal(outsideTime, File.GetLastWriteTimeUtc(outside));
        }

        [Fact]
        public void Set_age_on_an_unprocessed_message_is_an_error()
        {
            using var q = TempQueue.Create();
            ulong id = q.AddUnprocessed("bob@example.test", "b@remote.test");
            var r = _ps.Run($"Set-QmailMessageAge -QueuePath $q -Id {id} -Expire", q.Root);
            Assert.Equal("QmailMessageUnprocessed,QmailPS.Commands.SetQmailMessageAgeCommand", Assert.Single(r.Errors).FullyQualifiedErrorId);
        }

        private static void AssertNear(DateTime expected, DateTime actual) =>
            Assert.True(Math.Abs((expected - actual).TotalSeconds) < 5, $"expected about {expected:o}, got {actual:o}");

        // ---------------------------------------------------------------- Start-QmailRedelivery

        [Fact]
        public void Redelivery_errors_when_qmail_send_is_not_running_or_not_identified()
        {
            using var q = TempQueue.Create();
            var r = _ps.Run("Start-QmailRedelivery -QueuePath $q", q.Root);
            Assert.Equal("QmailSendNotRunning,QmailPS.Commands.StartQmailRedeliveryCommand", Assert.Single(r.Errors).FullyQualifiedErrorId);
            using var hold = SendLock.TryHold(q.Layout); // held, but by a process that is not qmail-send
            var r2 = _ps.Run("Start-QmailRedelivery -QueuePath $q", q.Root);
            Assert.Equal("QmailSendNotIdentified,QmailPS.Commands.StartQmailRedeliveryCommand", Assert.Single(r2.Errors).FullyQualifiedErrorId);
        }

        [Fact]
        public void Redelivery_sends_SIGALRM_to_the_process_holding_sendmutex()
        {
            using var q = TempQueue.Create();
            string dir = Path.Combine(q.Home, "bin");
            Directory.CreateDirectory(dir);
            string fake = Path.Combine(dir, "qmail-send"); // comm is the executable's name
            File.Copy("/usr/bin/perl", fake);
            File.SetUnixFileMode(fake, (UnixFileMode)Convert.ToInt32("755", 8));
            string marker = Path.Combine(q.Home, "alrm");
            string script = "use Fcntl qw(:flock); open(my $f, '<', $ARGV[0]) or die; flock($f, LOCK_EX) or die; " +
                            "$SIG{ALRM} = sub { open(my $o, '>', $ARGV[1]); print $o \"ALRM\\n\"; close $o; exit 0 }; " +
                            "open(my $r, '>', $ARGV[1] . '.ready'); close $r; sleep 1 while 1;";
            var psi = new ProcessStartInfo(fake) { ArgumentList = { "-e", script, SendLock.PathOf(q.Layout), marker } };
            using var p = Process.Start(psi)!;
            try
            {
                for (int i = 0; i < 100 && !File.Exists(marker + ".ready"); i++) Thread.Sleep(50);
                Assert.True(File.Exists(marker + ".ready"), "the fake qmail-send did not start");
                var w = _ps.Run("Start-QmailRedelivery -QueuePath $q -WhatIf", q.Root).AssertClean();
                Assert.Contains($"qmail-send (pid {p.Id})", w.HostText);
                Thread.Sleep(300);
                Assert.False(File.Exists(marker));
                _ps.Run("Start-QmailRedelivery -QueuePath $q", q.Root).AssertClean();
                Assert.True(p.WaitForExit(5000), "qmail-send got no SIGALRM");
                Assert.Equal("ALRM\n", File.ReadAllText(marker));
            }
            finally { if (!p.HasExited) p.Kill(); }
        }

        // ---------------------------------------------------------------- Get-QmailMessageContent

        [Fact]
        public void Content_as_lines_raw_text_or_header_objects()
        {
            using var q = TempQueue.Create();
            ulong id = q.AddProcessed("bob@example.test", new[] { new RecipientSpec("b@remote.test", RecipientChannel.Remote) }, subject: "=?UTF-8?Q?K=C3=B6ln?=");
            string file = File.ReadAllText(q.PathOf("mess", id));
            var lines = _ps.Run($"Get-QmailMessageContent -QueuePath $q -Id {id}", q.Root).AssertClean().Output.Select(o => (string)o.BaseObject).ToList();
            Assert.StartsWith("Received: (qmail ", lines[0]);
            Assert.Equal(file.TrimEnd('\n').Split('\n'), lines);
            var raw = _ps.Run($"Get-QmailQueueMessage -QueuePath $q -Id {id} | Get-QmailMessageContent -Raw", q.Root).AssertClean();
            Assert.Equal(file, (string)raw.Output.Single().BaseObject);
            var headers = _ps.Run($"Get-QmailMessageContent -QueuePath $q -Id {id} -HeaderOnly", q.Root).AssertClean().Objects<MessageHeader>();
            Assert.Equal("Köln", headers.Single(h => h.Name == "Subject").Value);
            Assert.Equal("Received", headers[0].Name); // qmail's own line is kept
            var missing = _ps.Run("Get-QmailMessageContent -QueuePath $q -Id 5", q.Root);
            Assert.Equal("QmailMessageNotFound,QmailPS.Commands.GetQmailMessageContentCommand", Assert.Single(missing.Errors).FullyQualifiedErrorId);
        }

        [Fact]
        public void Raw_refuses_a_message_larger_than_a_string_and_lines_still_stream()
        {
            using var q = TempQueue.Create();
            ulong small = q.AddProcessed("bob@example.test", "b@remote.test");
            ulong big = q.AddProcessed("bob@example.test", "c@remote.test");
            // sparse: 1.2 GiB of NULs after the headers, as a message without line breaks would be
            using (var f = new FileStream(q.PathOf("mess", big), FileMode.Open)) f.SetLength(0x48000000);
            var r = _ps.Run($"Get-QmailMessageContent -QueuePath $q -Id {big},{small} -Raw", q.Root);
            var e = Assert.Single(r.Errors);
            Assert.Equal("QmailMessageTooLarge,QmailPS.Commands.GetQmailMessageContentCommand", e.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.LimitsExceeded, e.CategoryInfo.Category);
            Assert.Equal(big, e.TargetObject);
            Assert.Equal(File.ReadAllText(q.PathOf("mess", small)), (string)Assert.Single(r.Output).BaseObject); // the next one is still read
            var head = _ps.Run($"Get-QmailMessageContent -QueuePath $q -Id {big} | ForEach-Object {{ $_; if ($_ -eq '') {{ break }} }}", q.Root);
            Assert.StartsWith("Received: (qmail ", (string)head.Output[0].BaseObject);
        }

        private static void RootOnly()
        {
            Assert.True(TestFs.Raw.EffectiveUserId == 0, "This test checks qmail's owners and must run as root (CI runs as root).");
            Assert.True(TestFs.Raw.LookupUser(QmailUsers.Qmailq) != null, "The qmail users must exist (.ci/run creates them).");
        }
    }
}
