using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using QmailPS.Check;
using QmailPS.Posix;
using QmailPS.Queue;
using QmailPS.Tests.Support;
using Xunit;

namespace QmailPS.Tests.Check
{
    /// <summary>
    /// Repair-QmailQueue -TodoLayout: converting todo/ and intd/ between the vanilla and the big-todo
    /// layout (queue-format.md §8.1) on real queues, with messages not yet preprocessed in both.
    /// </summary>
    public sealed class TodoLayoutTests : IClassFixture<RepairQmailQueueTests.Session>
    {
        private readonly PsSession _ps;
        public TodoLayoutTests(RepairQmailQueueTests.Session s) { _ps = s.Ps; }

        private static string Name(bool bigTodo) => bigTodo ? "BigTodo" : "Vanilla";

        /// <summary>The healthy queue of TestQmailQueueTests in one layout, with more unprocessed
        /// messages and the intd file of an injection that died before its todo link.</summary>
        private static (TempQueue Q, ulong[] Unprocessed, ulong Orphan) Queue(bool bigTodo)
        {
            var (q, _, _, unprocessed) = TestQmailQueueTests.Healthy(bigTodo);
            var ids = new List<ulong> { unprocessed };
            for (int i = 0; i < 4; i++) ids.Add(q.AddUnprocessed($"s{i}@example.test", $"r{i}@remote.test", $"l{i}@example.test"));
            ulong orphan = q.AddUnprocessed("dead@example.test", "x@remote.test");
            File.Delete(q.PathOf("todo", orphan)); // mess + intd: qmail-queue killed before its link (young: transient)
            return (q, ids.ToArray(), orphan);
        }

        private List<QueueIssue> Test(string root, string args = "") =>
            _ps.Run($"Test-QmailQueue -QueuePath $q {args}", root).AssertClean().Objects<QueueIssue>().Where(i => i.Severity != IssueSeverity.Transient).ToList();

        private static List<string> NumericDirs(string dir) =>
            Directory.GetDirectories(dir).Select(Path.GetFileName).Where(n => n!.All(char.IsDigit)).Select(n => n!).OrderBy(n => int.Parse(n)).ToList();

        [Theory]
        [InlineData(true)]
        [InlineData(false)]
        public void Conversion_moves_every_todo_and_intd_file_and_keeps_every_message(bool toBig)
        {
            RepairQmailQueueTests.RootOnly();
            var (q, unprocessed, orphan) = Queue(!toBig);
            using (q)
            {
                var before = RepairQmailQueueTests.QmailView(q.Layout);
                Assert.Empty(Test(q.Root));

                // Checked against the other layout, every todo and intd file is a finding.
                var against = Test(q.Root, "-TodoLayout " + Name(toBig));
                foreach (ulong id in unprocessed)
                    Assert.Contains(against, i => i.Kind == QueueIssueKind.BigTodoMismatch && i.Id == id && i.Path == q.PathOf("todo", id));
                Assert.DoesNotContain(against, i => i.Kind is QueueIssueKind.OrphanMess or QueueIssueKind.TodoWithoutMess or QueueIssueKind.IntdWithoutMess);

                // -WhatIf: the plan, nothing moved.
                var snap = QueueSnapshot.Take(q.Root);
                var w = _ps.Run($"Repair-QmailQueue -QueuePath $q -TodoLayout {Name(toBig)} -WhatIf", q.Root).AssertClean();
                QueueSnapshot.AssertSame(snap, QueueSnapshot.Take(q.Root));
                var moves = w.HostText.Split('\n').Where(l => l.StartsWith("What if:") && l.Contains("Move todo/")).ToList();
                Assert.Equal(unprocessed.Length, moves.Count);
                Assert.Equal(unprocessed.Length + 1, w.HostText.Split('\n').Count(l => l.StartsWith("What if:") && l.Contains("Move intd/")));
                Assert.Equal(toBig ? 2 * 23 : 2 * 23, w.HostText.Split('\n').Count(l => l.StartsWith("What if:") && (l.Contains("Create todo/") || l.Contains("Create intd/") || l.Contains("Remove todo/") || l.Contains("Remove intd/"))));

                var r = _ps.Run($"Repair-QmailQueue -QueuePath $q -TodoLayout {Name(toBig)}", q.Root).AssertClean();
                Assert.All(r.Objects<RepairAction>(), a => Assert.Equal(QueueIssueKind.BigTodoMismatch, a.Kind));
                var layout = QueueLayout.Detect(q.Root);
                Assert.Equal(toBig, layout.BigTodo);
                Assert.Empty(Test(q.Root));
                RepairQmailQueueTests.AssertSameView(before, RepairQmailQueueTests.QmailView(layout), "after the conversion");
                foreach (ulong id in unprocessed)
                {
                    Assert.True(TestFs.Raw.TryLstat(layout.PathOf("todo", id), out FileStatus t, out _));
                    Assert.True(TestFs.Raw.TryLstat(layout.PathOf("intd", id), out FileStatus i, out _));
                    Assert.Equal((t.Inode, 2u), (i.Inode, t.Links)); // still one inode, two names
                }
                Assert.True(File.Exists(layout.PathOf("intd", orphan)));

                var qmailq = TestFs.Raw.LookupUser("qmailq")!.Value.Uid;
                var qmailGid = TestFs.Raw.LookupGroup("qmail")!.Value;
                foreach (var (d, mode) in new[] { ("todo", Mode.Rwxr_x___), ("intd", Mode.Rwx______) })
                {
                    Assert.Equal(toBig ? Enumerable.Range(0, 23).Select(n => n.ToString()).ToList() : new List<string>(), NumericDirs(q.Layout.Dir(d)));
                    if (!toBig) Assert.DoesNotContain(Directory.GetFileSystemEntries(q.Layout.Dir(d)), e => Directory.Exists(e));
                    for (int n = 0; toBig && n < 23; n++)
                    {
                        Assert.True(TestFs.Raw.TryLstat(layout.SplitDir(d, n), out FileStatus st, out _));
                        Assert.Equal((qmailq, qmailGid, mode), (st.Uid, st.Gid, st.Permissions));
                    }
                }
                // idempotent, and the other cmdlets see the converted queue
                Assert.Empty(_ps.Run($"Repair-QmailQueue -QueuePath $q -TodoLayout {Name(toBig)}", q.Root).AssertClean().Output);
                Assert.Equal(unprocessed.OrderBy(x => x), _ps.Run("Get-QmailQueueMessage -QueuePath $q", q.Root).AssertClean().Objects<QueueMessage>()
                    .Where(m => m.State == QueueMessageState.Unprocessed).Select(m => m.Id).OrderBy(x => x));
            }
        }

        [Fact]
        public void Without_TodoLayout_the_mismatch_is_reported_once_and_nothing_moves()
        {
            RepairQmailQueueTests.RootOnly();
            var (q, unprocessed, _) = Queue(false);
            using (q)
            {
                // a big-todo qmail-queue wrote one message, into todo/N and intd/N
                var big = new QueueLayout(q.Root, 23, true);
                ulong id = unprocessed[1];
                foreach (string d in new[] { "todo", "intd" })
                {
                    Directory.CreateDirectory(big.SplitDir(d, big.SplitOf(id)));
                    File.Move(q.PathOf(d, id), big.PathOf(d, id));
                }
                var findings = Test(q.Root);
                Assert.Contains(findings, i => i.Kind == QueueIssueKind.BigTodoMismatch && i.Id == id && i.Path == big.PathOf("todo", id) && i.Severity == IssueSeverity.Stuck);
                Assert.Contains(findings, i => i.Kind == QueueIssueKind.BigTodoMismatch && i.Id is null && i.Path == big.SplitDir("todo", big.SplitOf(id)));
                Assert.DoesNotContain(findings, i => i.Kind != QueueIssueKind.BigTodoMismatch);
                var listed = _ps.Run("Get-QmailQueueMessage -QueuePath $q", q.Root).AssertClean().Objects<QueueMessage>();
                Assert.Equal(QueueMessageState.Damaged, Assert.Single(listed, m => m.Id == id).State);

                var snap = QueueSnapshot.Take(q.Root);
                var r = _ps.Run("Repair-QmailQueue -QueuePath $q", q.Root).AssertClean();
                QueueSnapshot.AssertSame(snap, QueueSnapshot.Take(q.Root));
                Assert.Empty(r.Output);
                string warning = Assert.Single(r.Warnings);
                Assert.Contains("Not repaired: BigTodoMismatch", warning);
                Assert.Contains("-TodoLayout Vanilla or -TodoLayout BigTodo", warning);

                _ps.Run("Repair-QmailQueue -QueuePath $q -TodoLayout Vanilla", q.Root).AssertClean();
                Assert.Empty(Test(q.Root));
                Assert.True(File.Exists(q.PathOf("todo", id)) && File.Exists(q.PathOf("intd", id)));
            }
        }

        [Fact]
        public void Remove_takes_todo_and_intd_from_the_other_layouts_place_too()
        {
            RepairQmailQueueTests.RootOnly();
            var (q, unprocessed, _) = Queue(false);
            using (q)
            {
                // a big-todo qmail-queue wrote one message (todo/N/ID, intd/N/ID) into this vanilla queue
                var big = new QueueLayout(q.Root, 23, true);
                ulong id = unprocessed[2];
                foreach (string d in new[] { "todo", "intd" })
                {
                    Directory.CreateDirectory(big.SplitDir(d, big.SplitOf(id)));
                    File.Move(q.PathOf(d, id), big.PathOf(d, id));
                }
                _ps.Run($"Remove-QmailQueueMessage -QueuePath $q -Id {id} -Confirm:$false", q.Root).AssertClean();
                foreach (string d in new[] { "todo", "intd", "mess" })
                {
                    Assert.False(File.Exists(q.PathOf(d, id)), d);
                    Assert.False(File.Exists(big.PathOf(d, id)), d + " (other layout's place)");
                }
                Assert.True(Directory.Exists(big.SplitDir("todo", big.SplitOf(id)))); // big-todo's directory itself stays
                Assert.DoesNotContain(_ps.Run("Get-QmailQueueMessage -QueuePath $q", q.Root).AssertClean().Objects<QueueMessage>(), m => m.Id == id);
                Assert.Equal(unprocessed.Length - 1, _ps.Run("Get-QmailQueueMessage -QueuePath $q -State Unprocessed", q.Root).AssertClean().Objects<QueueMessage>().Count);
            }
        }

        [Fact]
        public void Without_TodoLayout_a_queue_that_looks_half_converted_gets_no_more_big_todo_directories()
        {
            RepairQmailQueueTests.RootOnly();
            var (q, unprocessed, _) = Queue(false);
            using (q)
            {
                // a conversion to big-todo killed after 12 of its 23 todo directories: it now looks big-todo
                var big = new QueueLayout(q.Root, 23, true);
                for (int n = 0; n < 12; n++) TestFs.Raw.Mkdir(big.SplitDir("todo", n), Mode.Rwxr_x___);
                foreach (string dir in Enumerable.Range(0, 12).Select(n => big.SplitDir("todo", n)))
                    TestFs.Raw.Lchown(dir, TestFs.Raw.LookupUser("qmailq")!.Value.Uid, TestFs.Raw.LookupGroup("qmail")!.Value);
                Assert.True(QueueLayout.Detect(q.Root).BigTodo);
                var listed = _ps.Run("Get-QmailQueueMessage -QueuePath $q -ErrorAction SilentlyContinue", q.Root).Objects<QueueMessage>();
                foreach (ulong id in unprocessed) Assert.Single(listed, m => m.Id == id);

                var snap = QueueSnapshot.Take(q.Root);
                var r = _ps.Run("Repair-QmailQueue -QueuePath $q", q.Root).AssertClean();
                QueueSnapshot.AssertSame(snap, QueueSnapshot.Take(q.Root));
                Assert.Contains(r.Warnings, w => w.Contains("Not repaired: BigTodoMismatch") && w.Contains("-TodoLayout"));
                Assert.Contains(r.Warnings, w => w.Contains("Not repaired: DirectoryMissing") && w.Contains(big.SplitDir("todo", 12)) && w.Contains("between the vanilla and the big-todo layout"));

                _ps.Run("Repair-QmailQueue -QueuePath $q -TodoLayout Vanilla", q.Root).AssertClean();
                Assert.Empty(Test(q.Root));
                Assert.False(QueueLayout.Detect(q.Root).BigTodo);
                foreach (ulong id in unprocessed) Assert.True(File.Exists(q.PathOf("todo", id)));
            }
        }

        [Fact]
        public void A_second_name_in_the_other_place_is_unlinked_when_it_is_the_same_file_and_quarantined_when_not()
        {
            RepairQmailQueueTests.RootOnly();
            var (q, unprocessed, _) = Queue(false);
            using (q)
            {
                var before = RepairQmailQueueTests.QmailView(q.Layout);
                var big = new QueueLayout(q.Root, 23, true);
                ulong same = unprocessed[1], other = unprocessed[2];
                Directory.CreateDirectory(big.SplitDir("todo", big.SplitOf(same)));
                Directory.CreateDirectory(big.SplitDir("todo", big.SplitOf(other)));
                TestFs.Raw.Link(q.PathOf("todo", same), big.PathOf("todo", same));        // a hard link
                File.WriteAllText(big.PathOf("todo", other), "u0\0p1\0Fold@example.test\0Tolder@remote.test\0"); // another envelope

                var findings = Test(q.Root);
                Assert.Contains(findings, i => i.Kind == QueueIssueKind.BigTodoMismatch && i.Path == big.PathOf("todo", same) && i.Description.Contains("hard link"));
                Assert.Contains(findings, i => i.Kind == QueueIssueKind.BigTodoMismatch && i.Path == big.PathOf("todo", other) && i.Description.Contains("two different"));
                // listed once each, from the name vanilla qmail reads
                var listed = _ps.Run("Get-QmailQueueMessage -QueuePath $q -WarningAction SilentlyContinue", q.Root).AssertClean().Objects<QueueMessage>();
                Assert.Equal(QueueMessageState.Unprocessed, Assert.Single(listed, m => m.Id == same).State);
                Assert.Equal("s1@example.test", Assert.Single(listed, m => m.Id == other).Sender);

                string quarantine = q.Home + "/quarantine";
                var r = _ps.Run($"Repair-QmailQueue -QueuePath $q -TodoLayout Vanilla -QuarantinePath '{quarantine}'", q.Root).AssertClean();
                Assert.Empty(Test(q.Root));
                RepairQmailQueueTests.AssertSameView(before, RepairQmailQueueTests.QmailView(QueueLayout.Detect(q.Root)), "after the conversion");
                Assert.Empty(NumericDirs(q.Layout.Dir("todo")));
                Assert.True(TestFs.Raw.TryLstat(q.PathOf("todo", same), out FileStatus st, out _));
                Assert.Equal(2u, st.Links); // todo and intd again, the extra name gone
                string manifest = File.ReadAllText(quarantine + "/manifest.tsv");
                Assert.Contains(big.PathOf("todo", other), manifest);
                Assert.DoesNotContain(big.PathOf("todo", same), manifest);
                Assert.Equal("u0\0p1\0Fold@example.test\0Tolder@remote.test\0", File.ReadAllText(quarantine + "/todo/" + big.SplitOf(other) + "/" + other));
                Assert.Single(r.Objects<RepairAction>(), a => a.QuarantinedTo != null);
            }
        }

        [Theory]
        [InlineData(true)]
        [InlineData(false)]
        public void A_message_named_like_a_directory_of_the_other_layout_refuses_the_conversion(bool toBig)
        {
            RepairQmailQueueTests.RootOnly();
            var (q, unprocessed, _) = Queue(!toBig);
            using (q)
            {
                // Message 5 (inode numbers that small exist on tiny file systems): todo/5 in a vanilla
                // queue is big-todo's directory todo/5; todo/5/5 in a big-todo queue needs the name todo/5.
                var target = new QueueLayout(q.Root, 23, toBig);
                string envelope = toBig ? q.Layout.Dir("todo") + "/5" : q.Layout.SplitDir("todo", 5) + "/5";
                File.Copy(q.PathOf("todo", unprocessed[0]), envelope);
                var snap = QueueSnapshot.Take(q.Root);
                var r = _ps.Run($"Repair-QmailQueue -QueuePath $q -TodoLayout {Name(toBig)} -WhatIf", q.Root);
                Assert.Equal("QmailTodoLayoutConflict,QmailPS.Commands.RepairQmailQueueCommand", Assert.Single(r.Errors).FullyQualifiedErrorId);
                Assert.Contains("todo/5", r.Errors[0].Exception.Message);
                Assert.DoesNotContain("Move todo/", r.HostText);
                QueueSnapshot.AssertSame(snap, QueueSnapshot.Take(q.Root));

                r = _ps.Run($"Repair-QmailQueue -QueuePath $q -TodoLayout {Name(toBig)}", q.Root);
                Assert.Equal("QmailTodoLayoutConflict,QmailPS.Commands.RepairQmailQueueCommand", Assert.Single(r.Errors).FullyQualifiedErrorId);
                Assert.DoesNotContain(r.Objects<RepairAction>(), a => a.Kind == QueueIssueKind.BigTodoMismatch);
                foreach (ulong id in unprocessed) Assert.True(File.Exists(q.PathOf("todo", id)), $"message {id} moved");
                Assert.Equal(toBig ? new List<string>() : Enumerable.Range(0, 23).Select(n => n.ToString()).ToList(), NumericDirs(q.Layout.Dir("todo")));
            }
        }

        /// <summary>
        /// A conversion killed at each write in turn (mkdir, chown, rename, fsync, rmdir): the queue in
        /// between, read with whatever layout it looks like, shows every message exactly once and no
        /// message lost; a rerun with the same -TodoLayout finishes the job.
        /// </summary>
        [Theory]
        [InlineData(true)]
        [InlineData(false)]
        public void Conversion_killed_at_every_write_step_lists_every_message_once_and_a_rerun_converges(bool toBig)
        {
            RepairQmailQueueTests.RootOnly();
            int total;
            using (var q0 = Queue(!toBig).Q)
            {
                var counter = new FaultyPosix(TestFs.Raw, int.MaxValue);
                RepairQmailQueueTests.RunRepair(q0, counter, bigTodo: toBig);
                total = counter.Calls;
            }
            Assert.True(total > 50, $"only {total} write steps?");
            for (int failAt = 1; failAt <= total + 1; failAt++)
            {
                var (q, _, _) = Queue(!toBig);
                using (q)
                {
                    var view = RepairQmailQueueTests.QmailView(q.Layout);
                    var ids = new QueueScanner(q.Layout).Scan().Where(e => e.Message != null).Select(e => e.Message!.Id).OrderBy(x => x).ToList();
                    var faulty = new FaultyPosix(TestFs.Raw, failAt);
                    bool crashed = RepairQmailQueueTests.Crashes(() => RepairQmailQueueTests.RunRepair(q, faulty, bigTodo: toBig));
                    string where = $"killed at write {failAt}/{total} ({faulty.LastCall})";
                    Assert.True(failAt <= total == crashed, where);

                    // Whatever layout the queue looks like now: every message once, none lost.
                    var get = _ps.Run("Get-QmailQueueMessage -QueuePath $q -WarningAction SilentlyContinue", q.Root);
                    Assert.Null(get.Thrown);
                    // A todo/N not made yet (or removed already) while the queue looks big-todo is reported, as qmail-send would stall on it.
                    Assert.All(get.Errors, e => Assert.True(e.FullyQualifiedErrorId.StartsWith("QmailQueueDirectoryUnreadable,", StringComparison.Ordinal)
                        && System.Text.RegularExpressions.Regex.IsMatch(e.Exception.Message, @"^unable to read todo/\d+: file does not exist"), $"{where}: {e.Exception.Message}"));
                    var listed = get.Objects<QueueMessage>().Select(m => m.Id).OrderBy(x => x).ToList();
                    Assert.True(ids.SequenceEqual(listed), $"{where}: Get-QmailQueueMessage lists {string.Join(",", listed)}, expected {string.Join(",", ids)}");
                    var layout = QueueLayout.Detect(q.Root);
                    var findings = new QueueInspector(layout, SendLock.Probe(layout)).Inspect().Where(i => i.Severity != IssueSeverity.Transient).ToList();
                    Assert.All(findings, i => Assert.True(i.Kind is QueueIssueKind.BigTodoMismatch or QueueIssueKind.DirectoryMissing or QueueIssueKind.DirectoryWrongOwner,
                        $"{where}: {i.Kind} {i.Path}: {i.Description}"));

                    string did = RepairQmailQueueTests.RunRepair(q, TestFs.Raw, bigTodo: toBig);
                    layout = QueueLayout.Detect(q.Root);
                    Assert.Equal(toBig, layout.BigTodo);
                    var left = new QueueInspector(layout, SendLock.Probe(layout)).Inspect().Where(i => i.Severity != IssueSeverity.Transient).ToList();
                    Assert.True(left.Count == 0, $"{where}, rerun left: {string.Join(" | ", left)}; {did}");
                    RepairQmailQueueTests.AssertSameView(view, RepairQmailQueueTests.QmailView(layout), $"rerun after a kill at write {failAt} ({faulty.LastCall})");
                    Assert.False(Directory.Exists(q.Home + "/quarantine"), $"{where}: something was quarantined");
                }
            }
        }
    }
}
