using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using QmailPS.Posix;
using QmailPS.Queue;
using QmailPS.Tests.Support;
using Xunit;

namespace QmailPS.Tests.Check
{
    /// <summary>Test-QmailQueue against real queues: one damage of queue-format.md §3.2 at a time.</summary>
    public sealed class TestQmailQueueTests : IClassFixture<TestQmailQueueTests.Session>
    {
        public sealed class Session : IDisposable
        {
            public PsSession Ps { get; } = new PsSession();
            public void Dispose() => Ps.Dispose();
        }

        private readonly PsSession _ps;
        public TestQmailQueueTests(Session s) { _ps = s.Ps; }

        private List<QueueIssue> Test(TempQueue q, string args = "") =>
            _ps.Run($"Test-QmailQueue -QueuePath $q {args}", q.Root).AssertClean().Objects<QueueIssue>();

        /// <summary>A queue with a message in every healthy state the module writes.</summary>
        internal static (TempQueue Q, ulong Remote, ulong Mixed, ulong Unprocessed) Healthy(bool bigTodo = false, int split = 23)
        {
            var q = TempQueue.Create(split, bigTodo);
            // One subject each: tests tell messages apart by body and sender, and a damage may change the sender.
            ulong remote = q.AddProcessed("bob@example.test", new[] { new RecipientSpec("a@remote.test", RecipientChannel.Remote), new RecipientSpec("b@remote.test", RecipientChannel.Remote) }, subject: "remote");
            ulong mixed = q.AddProcessed("carol@example.test", new[]
            {
                new RecipientSpec("alice@example.test", RecipientChannel.Local, delivered: true),
                new RecipientSpec("defer@example.test", RecipientChannel.Local),
                new RecipientSpec("x@remote.test", RecipientChannel.Remote),
                new RecipientSpec("gone@reject.test", RecipientChannel.Remote, delivered: true),
            }, subject: "mixed");
            q.Writer.AppendBounce(mixed, "gone@reject.test", "550 no such user");
            q.AddProcessed("", new[] { new RecipientSpec("postmaster@remote.test", RecipientChannel.Remote) }, subject: "bounce");
            q.AddProcessed("#@[]", new[] { new RecipientSpec("postmaster@example.test", RecipientChannel.Local) }, subject: "double bounce");
            ulong unprocessed = q.AddUnprocessed("dave@example.test", "alice@example.test", "e@remote.test");
            return (q, remote, mixed, unprocessed);
        }

        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public void Queues_the_module_writes_have_no_findings(bool bigTodo)
        {
            RootOnly();
            var (q, _, _, _) = Healthy(bigTodo);
            using (q)
            {
                Assert.Empty(Test(q));
                Assert.True((bool)_ps.Run("Test-QmailQueue -QueuePath $q -Quiet", q.Root).AssertClean().Output.Single().BaseObject);
                // and a message Add-QmailQueueMessage queues is healthy too
                _ps.Run("Add-QmailQueueMessage -QueuePath $q -Sender a@example.test -Recipient b@remote.test -Content 'Subject: x','','y'", q.Root).AssertClean();
                Assert.Empty(Test(q));
            }
        }

        [Fact]
        public void Golden_queue_has_exactly_one_finding_per_message_its_id_is_not_its_inode()
        {
            RootOnly();
            using var q = GoldenQueue.Restore();
            var issues = Test(q);
            var ids = File.ReadAllText(Path.Combine(GoldenQueue.Dir, "qmail-qread.txt")).Split('\n')
                .Where(l => l.Contains(" #")).Select(l => ulong.Parse(l.Split('#')[1].Split(' ')[0])).OrderBy(x => x).ToList();
            Assert.Equal(10, ids.Count);
            Assert.All(issues, i => Assert.Equal((QueueIssueKind.IdNotInode, IssueSeverity.Danger), (i.Kind, i.Severity)));
            Assert.Equal(ids, issues.Select(i => i.Id!.Value).OrderBy(x => x));
            Assert.False((bool)_ps.Run("Test-QmailQueue -QueuePath $q -Quiet", q.Root).AssertClean().Output.Single().BaseObject);
        }

        public static IEnumerable<object[]> Damages() => new (string Name, QueueIssueKind Kind, IssueSeverity Severity)[]
        {
            ("info split dir missing", QueueIssueKind.DirectoryMissing, IssueSeverity.Stuck),
            ("bounce dir wrong owner", QueueIssueKind.DirectoryWrongOwner, IssueSeverity.Stuck),
            ("extra split dir", QueueIssueKind.SplitDirectoryExtra, IssueSeverity.Garbage),
            ("big-todo dir in vanilla todo", QueueIssueKind.BigTodoMismatch, IssueSeverity.Stuck),
            ("sendmutex missing", QueueIssueKind.LockFileMissing, IssueSeverity.Stuck),
            ("trigger missing", QueueIssueKind.LockFileMissing, IssueSeverity.Degraded),
            ("trigger regular file", QueueIssueKind.LockFileWrongType, IssueSeverity.Degraded),
            ("trigger symlink", QueueIssueKind.Symlink, IssueSeverity.Degraded),
            ("remote split dir symlink", QueueIssueKind.Symlink, IssueSeverity.Degraded),
            ("tcpto short", QueueIssueKind.TcpToWrongSize, IssueSeverity.Degraded),
            ("mess wrong owner", QueueIssueKind.MessWrongOwner, IssueSeverity.Stuck),
            ("mess 0600", QueueIssueKind.MessNotReadableByQmailr, IssueSeverity.Stuck),
            ("mess symlink", QueueIssueKind.Symlink, IssueSeverity.Stuck),
            ("mess missing", QueueIssueKind.InfoWithoutMess, IssueSeverity.Stuck),
            ("info missing", QueueIssueKind.ChannelWithoutInfo, IssueSeverity.Danger),
            ("info empty", QueueIssueKind.InfoBad, IssueSeverity.Stuck),
            ("info trailing bytes", QueueIssueKind.InfoTrailingBytes, IssueSeverity.Cosmetic),
            ("info in future", QueueIssueKind.InfoInFuture, IssueSeverity.Degraded),
            ("info unreadable by qmails", QueueIssueKind.FileWrongOwner, IssueSeverity.Stuck),
            ("info in wrong split", QueueIssueKind.WrongSplitDirectory, IssueSeverity.Stuck),
            ("info alias", QueueIssueKind.NonCanonicalName, IssueSeverity.Danger),
            ("info only under a leading zero", QueueIssueKind.NonCanonicalName, IssueSeverity.Stuck),
            ("local only under a leading zero", QueueIssueKind.NonCanonicalName, IssueSeverity.Stuck),
            ("remote in wrong split", QueueIssueKind.WrongSplitDirectory, IssueSeverity.Stuck),
            ("todo only under a leading zero", QueueIssueKind.NonCanonicalName, IssueSeverity.Stuck),
            ("remote empty", QueueIssueKind.ChannelEmpty, IssueSeverity.Danger),
            ("remote truncated", QueueIssueKind.ChannelTruncated, IssueSeverity.Danger),
            ("remote unknown record", QueueIssueKind.ChannelUnknownRecord, IssueSeverity.Stuck),
            ("remote not writable by qmails", QueueIssueKind.FileWrongOwner, IssueSeverity.Danger),
            ("remote all done", QueueIssueKind.ChannelAllDone, IssueSeverity.Transient),
            ("stray bounce", QueueIssueKind.StrayFile, IssueSeverity.Garbage),
            ("stale bounce on todo", QueueIssueKind.StaleBounce, IssueSeverity.Danger),
            ("old orphan mess", QueueIssueKind.OrphanMess, IssueSeverity.Garbage),
            ("young orphan mess", QueueIssueKind.OrphanMess, IssueSeverity.Transient),
            ("intd without mess", QueueIssueKind.IntdWithoutMess, IssueSeverity.Garbage),
            ("todo without mess", QueueIssueKind.TodoWithoutMess, IssueSeverity.Stuck),
            ("todo empty", QueueIssueKind.TodoEmpty, IssueSeverity.Stuck),
            ("todo without F", QueueIssueKind.TodoWithoutSender, IssueSeverity.Stuck),
            ("todo unknown record", QueueIssueKind.TodoUnknownRecord, IssueSeverity.Stuck),
            ("todo truncated", QueueIssueKind.TodoTruncated, IssueSeverity.Danger),
            ("todo unreadable by qmails", QueueIssueKind.TodoUnreadable, IssueSeverity.Stuck),
            ("todo and info", QueueIssueKind.TodoWithInfo, IssueSeverity.Transient),
            ("non-numeric name", QueueIssueKind.NonNumericName, IssueSeverity.Garbage),
            ("old pid file", QueueIssueKind.StalePidFile, IssueSeverity.Garbage),
        }.Select(d => new object[] { d.Name, d.Kind, d.Severity });

        [Theory]
        [MemberData(nameof(Damages))]
        public void Each_damage_is_reported_with_its_kind_and_severity_and_nothing_is_changed(string damage, QueueIssueKind kind, IssueSeverity severity)
        {
            RootOnly();
            var (q, remote, mixed, unprocessed) = Healthy();
            using (q)
            {
                string expectedPath = Apply(q, damage, remote, mixed, unprocessed);
                var before = QueueSnapshot.Take(q.Root);
                var issues = Test(q);
                QueueSnapshot.AssertSame(before, QueueSnapshot.Take(q.Root)); // read-only
                var hit = issues.Where(i => i.Kind == kind).ToList();
                Assert.True(hit.Count > 0, $"{damage}: no {kind}; found: {string.Join(" | ", issues)}");
                Assert.All(hit, i => Assert.Equal(severity, i.Severity));
                Assert.Contains(hit, i => i.Path == expectedPath);
                Assert.All(issues, i => Assert.False(string.IsNullOrWhiteSpace(i.Description) || string.IsNullOrWhiteSpace(i.Fix)));
            }
        }

        /// <summary>
        /// One rule set: for every damage, a message Get-QmailQueueMessage lists is Damaged exactly
        /// when Test-QmailQueue has a finding on it that fails it (Danger or Stuck, other than an id
        /// that is not its inode), and its Damage says what that finding says, word for word.
        /// </summary>
        [Theory]
        [MemberData(nameof(Damages))]
        public void Get_and_Test_judge_each_damaged_message_alike(string damage, QueueIssueKind kind, IssueSeverity severity)
        {
            RootOnly();
            _ = kind; _ = severity;
            var (q, remote, mixed, unprocessed) = Healthy();
            using (q)
            {
                Apply(q, damage, remote, mixed, unprocessed);
                var issues = Test(q);
                // A damaged directory is also an error of Get (it cannot read it): the messages it lists are compared.
                var messages = _ps.Run("Get-QmailQueueMessage -QueuePath $q -WarningAction SilentlyContinue -ErrorAction SilentlyContinue", q.Root).Objects<QueueMessage>();
                Assert.NotEmpty(messages);
                bool Fails(QueueIssue i) => (i.Severity == IssueSeverity.Danger || i.Severity == IssueSeverity.Stuck)
                                            && i.Kind != QueueIssueKind.IdNotInode && i.Kind != QueueIssueKind.TodoWithInfo && i.Kind != QueueIssueKind.SharedInode;
                // Names qmail does not read are judged where the name is; the message is listed from its canonical name.
                bool Naming(QueueIssue i) => i.Kind is QueueIssueKind.NonCanonicalName or QueueIssueKind.WrongSplitDirectory or QueueIssueKind.BigTodoMismatch;
                foreach (QueueMessage m in messages)
                {
                    // A message qmail cannot see under its name is judged by the name (what follows from it, too).
                    bool named = issues.Any(i => i.Id == m.Id && Naming(i));
                    var failing = named ? new List<QueueIssue>() : issues.Where(i => i.Id == m.Id && Fails(i)).ToList();
                    foreach (QueueIssue i in failing)
                        Assert.True(m.Damage != null && m.Damage.Contains(i.Description), $"{damage}: message {m.Id} is {m.State} ({m.Damage}) but Test says {i}");
                    if (m.State == QueueMessageState.Damaged)
                        Assert.True(failing.Count > 0 || named || issues.Any(i => i.Id is null && i.Severity != IssueSeverity.Cosmetic),
                            $"{damage}: message {m.Id} is Damaged ({m.Damage}) but Test has nothing that fails it: {string.Join(" | ", issues)}");
                }
            }
        }

        /// <summary>Applies one damage; returns the path the finding must name.</summary>
        internal static string Apply(TempQueue q, string damage, ulong remote, ulong mixed, ulong unprocessed)
        {
            var L = q.Layout;
            IFileSystem p = TestFs.Raw;
            string P(string dir, ulong id) => L.PathOf(dir, id);
            void Write(string path, string content) { using var fs = new FileStream(path, FileMode.Truncate); var b = Encoding.Latin1.GetBytes(content); fs.Write(b, 0, b.Length); }
            // A mess "deleted" by a damage is moved out of the queue instead: its inode stays taken, so a
            // message a later damage makes cannot get its number and bring a foreign body to the old envelope.
            void RemoveMess(ulong id) { Directory.CreateDirectory(q.Home + "/removed-by-damage"); File.Move(P("mess", id), q.Home + "/removed-by-damage/" + id); }
            string Rename(string path, string zeros) { string to = Path.GetDirectoryName(path) + "/" + zeros + Path.GetFileName(path); File.Move(path, to); return to; }
            ulong Orphan() { ulong id = q.AddUnprocessed("o@example.test", "x@remote.test"); File.Delete(P("todo", id)); File.Delete(P("intd", id)); return id; }
            switch (damage)
            {
                case "info split dir missing":
                {
                    // An empty one: with a message's info in it, the damage would also depend on inode luck.
                    string dir = Enumerable.Range(0, L.Split).Reverse().Select(n => L.SplitDir("info", n)).First(d => !Directory.EnumerateFileSystemEntries(d).Any());
                    Directory.Delete(dir); return dir;
                }
                case "bounce dir wrong owner": p.Lchown(L.Dir("bounce"), 0, 0); return L.Dir("bounce");
                case "extra split dir": Directory.CreateDirectory(L.SplitDir("mess", 23)); return L.SplitDir("mess", 23);
                case "big-todo dir in vanilla todo": Directory.CreateDirectory(L.Dir("todo") + "/0"); return L.Dir("todo") + "/0";
                case "sendmutex missing": File.Delete(L.Dir("lock") + "/sendmutex"); return L.Dir("lock") + "/sendmutex";
                case "trigger missing": File.Delete(L.Dir("lock") + "/trigger"); return L.Dir("lock") + "/trigger";
                case "trigger regular file": File.Delete(L.Dir("lock") + "/trigger"); p.WriteNewFile(L.Dir("lock") + "/trigger", new byte[0], Mode.Rw__w__w_); p.Lchown(L.Dir("lock") + "/trigger", p.LookupUser("qmails")!.Value.Uid, p.LookupGroup("qmail")!.Value); return L.Dir("lock") + "/trigger";
                case "trigger symlink": File.Delete(L.Dir("lock") + "/trigger"); File.CreateSymbolicLink(L.Dir("lock") + "/trigger", "/dev/null"); return L.Dir("lock") + "/trigger";
                case "remote split dir symlink":
                {
                    string dir = L.SplitDir("remote", 11), real = q.Home + "/remote-11-elsewhere";
                    Directory.Move(dir, real); File.CreateSymbolicLink(dir, real); return dir;
                }
                case "tcpto short": Write(L.Dir("lock") + "/tcpto", "short"); return L.Dir("lock") + "/tcpto";
                case "mess wrong owner": p.Lchown(P("mess", remote), 0, 0); return P("mess", remote);
                case "mess 0600": p.ChmodNoFollow(P("mess", remote), Mode.Rw_______); return P("mess", remote);
                case "mess symlink": File.Move(P("mess", remote), P("mess", remote) + ".real"); File.CreateSymbolicLink(P("mess", remote), P("mess", remote) + ".real"); return P("mess", remote);
                case "mess missing": RemoveMess(remote); return P("info", remote);
                case "info missing": File.Delete(P("info", remote)); return P("mess", remote);
                case "info empty": Write(P("info", remote), ""); return P("info", remote);
                case "info trailing bytes": Write(P("info", remote), "Fbob@example.test\0Tjunk@garbage.test\0"); return P("info", remote);
                case "info in future": File.SetLastWriteTimeUtc(P("info", remote), DateTime.UtcNow.AddDays(2)); return P("info", remote);
                case "info unreadable by qmails": p.Lchown(P("info", remote), 0, 0); return P("info", remote);
                case "info in wrong split":
                    string wrong = L.SplitDir("info", (L.SplitOf(remote) + 1) % L.Split) + "/" + remote;
                    File.Move(P("info", remote), wrong); return wrong;
                case "info alias":
                    string alias = L.SplitDir("info", L.SplitOf(remote)) + "/0" + remote;
                    File.Copy(P("info", remote), alias); return alias;
                case "info only under a leading zero": return Rename(P("info", remote), "0");
                case "local only under a leading zero": return Rename(P("local", mixed), "00");
                case "remote in wrong split":
                    string elsewhere = L.SplitDir("remote", (L.SplitOf(mixed) + 1) % L.Split) + "/" + mixed;
                    File.Move(P("remote", mixed), elsewhere); return elsewhere;
                case "todo only under a leading zero": return Rename(P("todo", unprocessed), "0");
                case "remote empty": Write(P("remote", remote), ""); return P("remote", remote);
                case "remote truncated": Write(P("remote", remote), "Ta@remote.test\0Tb@rem"); return P("remote", remote);
                case "remote unknown record": Write(P("remote", remote), "Xa@remote.test\0Tb@remote.test\0"); return P("remote", remote);
                case "remote duplicate": Write(P("remote", remote), "Ta@remote.test\0Ta@remote.test\0"); return P("remote", remote);
                case "remote not writable by qmails": p.Lchown(P("remote", remote), 0, 0); p.ChmodNoFollow(P("remote", remote), Mode.Rw_r__r__); return P("remote", remote);
                case "remote all done": Write(P("remote", remote), "Da@remote.test\0Db@remote.test\0"); return P("remote", remote);
                case "stray bounce": q.Writer.AppendBounce(999, "x@y", "550"); return P("bounce", 999);
                case "stale bounce on todo": q.Writer.AppendBounce(unprocessed, "x@y", "550 old"); return P("bounce", unprocessed);
                case "old orphan mess": { ulong id = Orphan(); long t = UnixTime.Now - 40 * 3600; p.SetTimes(P("mess", id), t, t); return P("mess", id); }
                case "young orphan mess": { ulong id = Orphan(); return P("mess", id); }
                case "intd without mess": { ulong id = q.AddUnprocessed("o@example.test", "x@remote.test"); File.Delete(P("todo", id)); RemoveMess(id); return P("intd", id); }
                case "todo without mess": RemoveMess(unprocessed); return P("todo", unprocessed);
                case "todo empty": Write(P("todo", unprocessed), ""); return P("todo", unprocessed);
                case "todo without F": Write(P("todo", unprocessed), "u0\0p1\0Ta@remote.test\0"); return P("todo", unprocessed);
                case "todo unknown record": Write(P("todo", unprocessed), "u0\0p1\0Fa@b\0Xx\0Ta@remote.test\0"); return P("todo", unprocessed);
                case "todo truncated": Write(P("todo", unprocessed), "u0\0p1\0Fa@b\0Ta@remote.test\0Tb@rem"); return P("todo", unprocessed);
                case "todo unreadable by qmails": p.Lchown(P("todo", unprocessed), 0, 0, P("intd", unprocessed)); p.ChmodNoFollow(P("todo", unprocessed), Mode.Rw_______, P("intd", unprocessed)); return P("todo", unprocessed);
                case "todo and info": q.Writer.WriteEnvelope(unprocessed, "dave@example.test", new[] { new RecipientSpec("e@remote.test", RecipientChannel.Remote) }, DateTime.UtcNow, null, null); return P("todo", unprocessed);
                case "non-numeric name": File.WriteAllText(L.SplitDir("mess", 5) + "/junk", "x"); return L.SplitDir("mess", 5) + "/junk";
                case "old pid file": { string pid = L.Dir("pid") + "/123.456.1"; File.WriteAllText(pid, ""); long t = UnixTime.Now - 40 * 3600; p.SetTimes(pid, t, t); return pid; }
            }
            throw new ArgumentException(damage);
        }

        [Fact]
        public void A_todo_beside_channel_files_with_done_recipients_is_a_danger_they_are_delivered_again()
        {
            // todo/ restored from a backup after the message was partly delivered: qmail-send's pqadd
            // skips a message that has a todo file, and todo_do rewrites local/remote from todo with
            // every recipient pending again, so alice gets the message a second time.
            RootOnly();
            var (q, _, _, unprocessed) = Healthy();
            using (q)
            {
                q.Writer.WriteEnvelope(unprocessed, "dave@example.test", new[]
                {
                    new RecipientSpec("alice@example.test", RecipientChannel.Local, delivered: true),
                    new RecipientSpec("e@remote.test", RecipientChannel.Remote),
                }, DateTime.UtcNow.AddHours(-1), null, null);
                var hit = Test(q).Single(i => i.Kind == QueueIssueKind.TodoWithInfo);
                Assert.Equal(IssueSeverity.Danger, hit.Severity);
                Assert.Equal(q.PathOf("todo", unprocessed), hit.Path);
                Assert.Contains("again", hit.Description);
            }
        }

        [Fact]
        public void Repair_quarantines_a_stale_todo_only_when_it_holds_the_envelope_info_holds()
        {
            RootOnly();
            var (q, _, _, same) = Healthy();
            using (q)
            {
                var done = new RecipientSpec("alice@example.test", RecipientChannel.Local, delivered: true);
                q.Writer.WriteEnvelope(same, "dave@example.test", new[] { done, new RecipientSpec("e@remote.test", RecipientChannel.Remote) }, DateTime.UtcNow.AddHours(-1), null, null);
                // the todo of this one names a recipient the channel files do not: not ours to choose
                ulong other = q.AddUnprocessed("dave@example.test", "alice@example.test", "zed@remote.test");
                q.Writer.WriteEnvelope(other, "dave@example.test", new[] { done }, DateTime.UtcNow.AddHours(-1), null, null);

                var r = _ps.Run("Repair-QmailQueue -QueuePath $q -Confirm:$false", q.Root);
                Assert.False(r.HadErrors);
                Assert.Equal(new[] { (QueueIssueKind.TodoWithInfo, (ulong?)same) }, r.Objects<RepairAction>().Select(a => (a.Kind, a.Id)));
                Assert.False(File.Exists(q.PathOf("todo", same)));
                Assert.True(File.Exists(q.PathOf("todo", other)));
                Assert.Contains(r.Warnings, w => w.StartsWith("Not repaired: TodoWithInfo") && w.Contains(q.PathOf("todo", other)) && w.Contains("the recipients differ"));

                var m = _ps.Run($"Get-QmailQueueMessage -QueuePath $q -Id {same}", q.Root).AssertClean().Objects<QueueMessage>().Single();
                Assert.Equal(QueueMessageState.Queued, m.State);
                Assert.Equal(new[] { "alice@example.test:True", "e@remote.test:False" }, m.Recipients.Select(x => x.Address + ":" + x.Delivered));
                var left = Test(q);
                Assert.Equal(new[] { q.PathOf("todo", other) }, left.Where(i => i.Kind != QueueIssueKind.ChannelAllDone).Select(i => i.Path));
            }
        }

        [Fact]
        public void A_junk_name_is_said_to_be_counted_by_qmail_qstat_only_when_its_find_pipeline_counts_it()
        {
            // notqmail's qmail-qstat: find queue/mess/* -type f | wc -l, find queue/todo -type f | wc -l.
            // So a FIFO is not counted, a regular file directly in mess/ is (the glob matches it), and
            // a dot-name directly in mess/ is not (the glob skips it).
            RootOnly();
            var (q, _, _, _) = Healthy();
            using (q)
            {
                TestFs.Raw.Mkfifo(q.Layout.Dir("todo") + "/fifo", Mode.Rw_r__r__);
                File.WriteAllText(q.Layout.Dir("mess") + "/junk", "x");
                File.WriteAllText(q.Layout.Dir("mess") + "/.junk", "x");
                File.WriteAllText(q.Layout.Dir("todo") + "/a\nb", "x");
                var summary = _ps.Run("Get-QmailQueueSummary -QueuePath $q", q.Root).AssertClean().Objects<QueueSummary>().Single();
                var issues = Test(q);
                string Desc(string rel) => issues.Single(i => i.Path == q.Root + "/" + rel).Description;
                Assert.DoesNotContain("qmail-qstat counts", Desc("todo/fifo"));
                Assert.Contains("qmail-qstat counts it", Desc("mess/junk"));
                Assert.DoesNotContain("qmail-qstat counts", Desc("mess/.junk"));
                // One line, whatever bytes the name holds (escaped as Repair-QmailQueue does).
                Assert.Equal("todo/a\\nb is not a message number: qmail ignores it, but qmail-qstat counts it.", Desc("todo/a\nb"));
                var verbose = _ps.Run("Get-QmailQueueMessage -QueuePath $q -Verbose", q.Root).AssertClean().Verbose;
                Assert.Contains("todo/a\\nb is not a message name (qmail ignores it)", verbose);
                // The figures those texts explain: 4 processed + 1 unprocessed + mess/junk; todo: 1 + the newline name's two lines.
                Assert.Equal(6, summary.MessagesInQueue);
                Assert.Equal(3, summary.NotYetPreprocessed);
            }
        }

        [Fact]
        public void While_qmail_send_runs_in_flight_states_are_transient_and_it_says_so()
        {
            RootOnly();
            var (q, _, _, _) = Healthy();
            using (q)
            {
                ulong id = q.AddUnprocessed("o@example.test", "x@remote.test");
                File.Delete(q.PathOf("todo", id)); File.Delete(q.PathOf("intd", id)); // an injection writing its body
                File.WriteAllText(q.Layout.Dir("pid") + "/999.1.1", "");
                using var hold = SendLock.TryHold(q.Layout);
                var issues = Test(q);
                Assert.Contains(issues, i => i.Kind == QueueIssueKind.QmailSendRunning);
                Assert.All(issues, i => Assert.Equal(IssueSeverity.Transient, i.Severity));
                Assert.True((bool)_ps.Run("Test-QmailQueue -QueuePath $q -Quiet", q.Root).AssertClean().Output.Single().BaseObject);
            }
        }

        [Fact]
        public void Severity_filter_and_table_view()
        {
            RootOnly();
            var (q, remote, _, _) = Healthy();
            using (q)
            {
                File.WriteAllText(q.Layout.SplitDir("mess", 5) + "/junk", "x");
                File.Delete(q.PathOf("info", remote));
                Assert.Equal(new[] { QueueIssueKind.ChannelWithoutInfo }, Test(q, "-Severity Danger").Select(i => i.Kind));
                var r = _ps.Run("Test-QmailQueue -QueuePath $q | Out-Host", q.Root).AssertClean();
                Assert.Contains("ChannelWithoutInfo", r.HostText);
                Assert.Contains("Severity", r.HostText);
            }
        }

        private static void RootOnly()
        {
            Assert.True(TestFs.Raw.EffectiveUserId == 0, "Test-QmailQueue checks qmail's owners; these tests run as root (CI runs as root).");
            Assert.True(TestFs.Raw.LookupUser(QmailUsers.Qmailq) != null, "The qmail users must exist (.ci/run creates them).");
        }
    }
}
