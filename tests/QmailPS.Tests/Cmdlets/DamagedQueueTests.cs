using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Text;
using QmailPS.Posix;
using QmailPS.Queue;
using QmailPS.Tests.Support;
using Xunit;

namespace QmailPS.Tests.Cmdlets
{
    /// <summary>
    /// Bad input of every kind: each damage of queue-format.md §3.2 that a reader can see, garbage
    /// bytes in every file kind, symlinks, FIFOs, missing directories, paths that are not queues.
    /// The reader must never crash, hang, skip silently or change a byte.
    /// </summary>
    public sealed class DamagedQueueTests : IClassFixture<DamagedQueueTests.Session>
    {
        public sealed class Session : IDisposable
        {
            public PsSession Ps { get; } = new PsSession();
            public void Dispose() => Ps.Dispose();
        }

        private readonly PsSession _ps;
        public DamagedQueueTests(Session s) { _ps = s.Ps; }

        private static readonly RecipientSpec[] TwoRemote = { new RecipientSpec("a@remote.test", RecipientChannel.Remote), new RecipientSpec("b@remote.test", RecipientChannel.Remote) };

        /// <summary>Builds a queue with one healthy and one damaged message, runs the reader, checks nothing changed.</summary>
        private (QueueMessage Damaged, PsSession.Result Result, List<QueueMessage> All) Read(Action<TempQueue, ulong> damage, IReadOnlyList<RecipientSpec>? recipients = null, bool unprocessed = false)
        {
            using var q = TempQueue.Create();
            ulong healthy = q.AddProcessed("ok@example.test", "fine@remote.test");
            ulong id = unprocessed ? q.AddUnprocessed("bob@example.test", "a@remote.test", "b@remote.test")
                                   : q.AddProcessed("bob@example.test", recipients ?? TwoRemote);
            damage(q, id);
            var before = QueueSnapshot.Take(q.Root);
            var r = _ps.Run("Get-QmailQueueMessage -QueuePath $q", q.Root);
            QueueSnapshot.AssertSame(before, QueueSnapshot.Take(q.Root));
            Assert.False(r.HadErrors, string.Join("; ", r.Errors.Select(e => e.FullyQualifiedErrorId + " " + e.Exception.Message)));
            var all = r.Objects<QueueMessage>();
            Assert.Contains(all, m => m.Id == healthy && m.State == QueueMessageState.Queued);
            var damaged = all.Single(m => m.Id == id);
            return (damaged, r, all);
        }

        private static void AssertDamaged(QueueMessage m, PsSession.Result r, string expectedFragment)
        {
            Assert.Equal(QueueMessageState.Damaged, m.State);
            Assert.Contains(expectedFragment, m.Damage);
            Assert.Contains(r.Warnings, w => w.Contains(m.Id.ToString()) && w.Contains(expectedFragment));
        }

        [Fact]
        public void Missing_mess_is_damaged_and_qread_text_says_what_qmail_qread_says()
        {
            using var q = TempQueue.Create();
            ulong id = q.AddProcessed("bob@example.test", "h6@refuse.test");
            File.Delete(q.PathOf("mess", id));
            var r = _ps.Run("Get-QmailQueueMessage -QueuePath $q -WarningAction SilentlyContinue | ConvertTo-QmailQread", q.Root).AssertClean();
            Assert.Equal($"warning: trouble with #{id}: file does not exist", (string)r.Output.Single().BaseObject);
            var (m, rr, _) = Read((qq, i) => File.Delete(qq.PathOf("mess", i)));
            AssertDamaged(m, rr, "no mess/");
            Assert.Equal(-1, m.Size);
        }

        [Fact]
        public void Qread_text_lists_a_message_in_todo_and_info_from_its_info_as_qmail_qread_does()
        {
            // qmail-send died while preprocessing, or todo/ came back from a backup: todo/ID and
            // info/N/ID both exist. qmail-qread walks info/ only, so it lists the message from info
            // and its channel files (real notqmail 1.09 qmail-qread, checked by hand).
            using var q = TempQueue.Create();
            ulong id = q.AddUnprocessed("dave@example.test", "a@remote.test", "b@remote.test");
            var birth = new DateTime(2026, 3, 5, 10, 0, 1, DateTimeKind.Utc);
            q.Writer.WriteEnvelope(id, "dave@example.test", new[]
            {
                new RecipientSpec("a@remote.test", RecipientChannel.Remote, delivered: true),
                new RecipientSpec("b@remote.test", RecipientChannel.Remote),
            }, birth, null, null);
            long size = new FileInfo(q.PathOf("mess", id)).Length;
            var expected = new[] { $"5 Mar 2026 10:00:01 GMT  #{id}  {size}  <dave@example.test> ", "  done\tremote\ta@remote.test", "\tremote\tb@remote.test" };

            var r = _ps.Run("Get-QmailQueueMessage -QueuePath $q | ConvertTo-QmailQread", q.Root).AssertClean();
            Assert.Equal(expected, r.Output.Select(o => (string)o.BaseObject).ToArray());
            r = _ps.Run($"Get-QmailQueueMessage -QueuePath $q -Id {id} | ConvertTo-QmailQread", q.Root).AssertClean();
            Assert.Equal(expected, r.Output.Select(o => (string)o.BaseObject).ToArray());
            // The listing itself still shows what qmail-send will do: preprocess it again from todo.
            var m = _ps.Run("Get-QmailQueueMessage -QueuePath $q", q.Root).AssertClean().Objects<QueueMessage>().Single();
            Assert.Equal(QueueMessageState.Unprocessed, m.State);
        }

        [Fact]
        public void Mess_with_a_foreign_owner_is_damaged_like_qmail_spawn_says()
        {
            RootOnly();
            var (m, r, _) = Read((q, id) => TestFs.Raw.Lchown(q.PathOf("mess", id), 0, 0));
            AssertDamaged(m, r, "not qmailq");
        }

        [Theory]
        [InlineData("", "is empty")]
        [InlineData("Tjunk@x\0", "does not start with an F")]
        [InlineData("Fbob@example.test", "no NUL")]
        public void Bad_info_is_damaged_and_sender_unknown(string content, string fragment)
        {
            var (m, r, _) = Read((q, id) => Overwrite(q.PathOf("info", id), content));
            AssertDamaged(m, r, fragment);
            Assert.False(m.IsBounce); // an unknown sender is not the empty sender
        }

        [Fact]
        public void Zero_byte_channel_file_is_damaged_because_qmail_would_drop_it()
        {
            var (m, r, _) = Read((q, id) => Overwrite(q.PathOf("remote", id), ""));
            AssertDamaged(m, r, "is empty");
            Assert.Empty(m.Recipients);
        }

        [Fact]
        public void Truncated_last_channel_record_is_damaged_and_complete_records_are_kept()
        {
            var (m, r, _) = Read((q, id) => Overwrite(q.PathOf("remote", id), "Ta@remote.test\0Tb@rem"));
            AssertDamaged(m, r, "pending recipient 'b@rem', has no NUL");
            Assert.Equal(new[] { "a@remote.test" }, m.Recipients.Select(x => x.Address));
        }

        [Fact]
        public void Unknown_channel_record_type_is_damaged()
        {
            var (m, r, _) = Read((q, id) => Overwrite(q.PathOf("remote", id), "Xbogus@example.test\0Ta@remote.test\0"));
            AssertDamaged(m, r, "unknown record 'X' at byte");
            Assert.Equal(new[] { "a@remote.test" }, m.Recipients.Select(x => x.Address));
        }

        [Theory]
        [InlineData("", "is empty")]
        [InlineData("u0\0p1\0Ta@remote.test\0", "no F (sender) record")]
        [InlineData("u0\0p1\0Fbob@example.test\0Ta@remote.test\0Tb@rem", "pending recipient 'b@rem', has no NUL")]
        [InlineData("u0\0p1\0Fbob@example.test\0Xoops\0Ta@remote.test\0", "unknown record 'X' at byte")]
        public void Bad_todo_is_damaged(string content, string fragment)
        {
            var (m, r, _) = Read((q, id) => Overwrite(q.PathOf("todo", id), content), unprocessed: true);
            AssertDamaged(m, r, fragment);
        }

        [Fact]
        public void Todo_without_mess_is_damaged()
        {
            var (m, r, _) = Read((q, id) => File.Delete(q.PathOf("mess", id)), unprocessed: true);
            AssertDamaged(m, r, "no mess/");
        }

        [Fact]
        public void Info_in_the_wrong_split_directory_is_listed_as_damaged_not_skipped()
        {
            var (m, r, _) = Read((q, id) =>
            {
                int wrong = (q.Layout.SplitOf(id) + 1) % 23;
                File.Move(q.PathOf("info", id), q.Layout.SplitDir("info", wrong) + "/" + id);
            });
            AssertDamaged(m, r, "wrong split directory");
            Assert.Equal("bob@example.test", m.Sender);
        }

        [Fact]
        public void Id_finds_a_message_whose_info_is_in_the_wrong_split_directory_as_the_scan_lists_it()
        {
            // Every message of a queue moved between conf-split values is like this one.
            using var q = TempQueue.Create();
            ulong id = q.AddProcessed("bob@example.test", TwoRemote);
            File.Move(q.PathOf("info", id), q.Layout.SplitDir("info", (q.Layout.SplitOf(id) + 1) % 23) + "/" + id);
            var scanned = _ps.Run("Get-QmailQueueMessage -QueuePath $q -WarningAction SilentlyContinue", q.Root).AssertClean().Objects<QueueMessage>().Single(m => m.Id == id);
            var byId = _ps.Run($"Get-QmailQueueMessage -QueuePath $q -Id {id} -WarningAction SilentlyContinue", q.Root).AssertClean().Objects<QueueMessage>().Single();
            Assert.Equal(QueueMessageState.Damaged, byId.State);
            Assert.Equal((scanned.Sender, scanned.Damage, scanned.Recipients.Count, scanned.QueuedAt), (byId.Sender, byId.Damage, byId.Recipients.Count, byId.QueuedAt));
            Assert.Contains("wrong split directory", byId.Damage);
            var missing = _ps.Run($"Get-QmailQueueMessage -QueuePath $q -Id {id + 1}", q.Root);
            Assert.Equal("QmailMessageNotFound,QmailPS.Commands.GetQmailQueueMessageCommand", Assert.Single(missing.Errors).FullyQualifiedErrorId);
        }

        [Fact]
        public void Alias_name_beside_the_canonical_one_warns_of_double_delivery_and_lists_the_message_once()
        {
            using var q = TempQueue.Create();
            ulong id = q.AddProcessed("bob@example.test", "dave@example.net");
            File.Copy(q.PathOf("info", id), q.Layout.SplitDir("info", q.Layout.SplitOf(id)) + "/0" + id);
            var r = _ps.Run("Get-QmailQueueMessage -QueuePath $q", q.Root).AssertClean();
            Assert.Single(r.Objects<QueueMessage>());
            Assert.Contains(r.Warnings, w => w.Contains("/0" + id) && w.Contains("twice"));
        }

        [Fact]
        public void Symlinked_info_is_not_followed()
        {
            using var outside = new TempFile("Fsecret@elsewhere.test\0");
            var (m, r, _) = Read((q, id) => { File.Delete(q.PathOf("info", id)); File.CreateSymbolicLink(q.PathOf("info", id), outside.Path); });
            AssertDamaged(m, r, "symbolic link");
            Assert.DoesNotContain("secret", m.Sender);
        }

        [Fact]
        public void A_split_directory_linked_elsewhere_is_never_entered_its_messages_are_damaged()
        {
            using var q = TempQueue.Create();
            var ids = new List<ulong>();
            while (ids.Count < 40 || !ids.Any(id => q.Layout.SplitOf(id) == 5)) // until the linked directory holds some
                ids.Add(q.AddProcessed("bob@example.test", "r" + ids.Count + "@remote.test"));
            string dir = q.Layout.SplitDir("mess", 5), elsewhere = q.Home + "/mess-5-on-another-disk";
            Directory.Move(dir, elsewhere);
            File.CreateSymbolicLink(dir, elsewhere);
            // A symlink in the queue could point anywhere; as root QmailPS never reads through one.
            var msgs = _ps.Run("Get-QmailQueueMessage -QueuePath $q", q.Root).Objects<QueueMessage>();
            Assert.Equal(ids.OrderBy(x => x), msgs.Select(m => m.Id).OrderBy(x => x));
            Assert.Contains(msgs, m => q.Layout.SplitOf(m.Id) == 5); // the linked directory really held some
            Assert.All(msgs, m => Assert.Equal(q.Layout.SplitOf(m.Id) == 5 ? QueueMessageState.Damaged : QueueMessageState.Queued, m.State));
            Assert.All(msgs.Where(m => q.Layout.SplitOf(m.Id) == 5), m => Assert.Contains("symbolic link", m.Damage));
        }

        [Fact]
        public void Fifo_in_place_of_a_channel_file_does_not_hang_the_reader()
        {
            var (m, r, _) = Read((q, id) => { File.Delete(q.PathOf("remote", id)); TestFs.Raw.Mkfifo(q.PathOf("remote", id), Mode.Rw_______); });
            AssertDamaged(m, r, "not a regular file");
        }

        /// <summary>A channel file of over 2 GiB (a runaway write; here sparse) stopped the whole listing
        /// with an arithmetic overflow. Past 256 MiB a file is no envelope: reported, never read.</summary>
        [Fact]
        public void A_channel_file_of_gigabytes_is_damaged_and_not_read()
        {
            static void Huge(TempQueue q, ulong id) { using var f = new FileStream(q.PathOf("remote", id), FileMode.Open); f.SetLength((1L << 31) + 1); }
            var (m, r, _) = Read(Huge);
            AssertDamaged(m, r, "remote/");
            AssertDamaged(m, r, "over 256 MiB");

            using var q = TempQueue.Create();
            ulong id = q.AddProcessed("bob@example.test", TwoRemote);
            Huge(q, id);
            var issue = Assert.Single(_ps.Run("Test-QmailQueue -QueuePath $q", q.Root).AssertClean().Objects<QueueIssue>());
            Assert.Equal(q.PathOf("remote", id), issue.Path);
            Assert.Contains("over 256 MiB", issue.Description);
        }

        /// <summary>
        /// A channel file bigger than one read window (1 MiB) is judged a window at a time: the
        /// same findings as a small one, the recipient before the damage kept, a record cut across
        /// windows seen whole, and memory not in proportion to the file.
        /// </summary>
        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public void A_channel_file_bigger_than_a_window_is_judged_as_a_small_one(bool cutRecord)
        {
            static void Big(TempQueue q, ulong id, bool cut)
            {
                using var f = new FileStream(q.PathOf("remote", id), FileMode.Truncate);
                byte[] head = Encoding.ASCII.GetBytes("Ta@remote.test\0");
                f.Write(head, 0, head.Length);
                if (cut)
                {
                    // One record with no NUL, 3 MiB long: a cut recipient qmail silently ignores.
                    var b = new byte[3 << 20];
                    b.AsSpan().Fill((byte)'x');
                    b[0] = (byte)'T';
                    f.Write(b, 0, b.Length);
                }
                else f.SetLength(3 << 20); // sparse: three million empty records
            }
            var (m, r, _) = Read((q, id) => Big(q, id, cutRecord));
            AssertDamaged(m, r, cutRecord ? "pending recipient 'xxx" : "unknown record (an empty one) at byte 15");
            Assert.Equal(new[] { "a@remote.test" }, m.Recipients.Select(x => x.Address));

            using var q = TempQueue.Create();
            ulong id = q.AddProcessed("bob@example.test", TwoRemote);
            Big(q, id, cutRecord);
            var issue = Assert.Single(_ps.Run("Test-QmailQueue -QueuePath $q", q.Root).AssertClean().Objects<QueueIssue>());
            Assert.Equal(cutRecord ? QueueIssueKind.ChannelTruncated : QueueIssueKind.ChannelUnknownRecord, issue.Kind);
            Assert.Equal(cutRecord ? IssueSeverity.Danger : IssueSeverity.Stuck, issue.Severity);
            if (cutRecord) Assert.Contains($"(first 4096 of {3 << 20} bytes)", issue.Description);
        }

        [Fact]
        public void Directory_in_place_of_a_channel_file_is_damaged()
        {
            var (m, r, _) = Read((q, id) => { File.Delete(q.PathOf("remote", id)); Directory.CreateDirectory(q.PathOf("remote", id)); });
            AssertDamaged(m, r, "not a regular file");
        }

        [Fact]
        public void Missing_info_split_directory_is_an_error_for_that_directory_and_the_rest_is_listed()
        {
            using var q = TempQueue.Create();
            ulong a = q.AddProcessed("bob@example.test", "x@remote.test");
            ulong b;
            do { b = q.AddProcessed("bob@example.test", "y@remote.test"); } while (q.Layout.SplitOf(b) == q.Layout.SplitOf(a));
            int gone = q.Layout.SplitOf(a);
            Directory.Delete(q.Layout.SplitDir("info", gone), true);
            var r = _ps.Run("Get-QmailQueueMessage -QueuePath $q", q.Root);
            Assert.Contains(r.Objects<QueueMessage>(), m => m.Id == b);
            var e = Assert.Single(r.Errors);
            Assert.Equal("QmailQueueDirectoryUnreadable,QmailPS.Commands.GetQmailQueueMessageCommand", e.FullyQualifiedErrorId);
            Assert.Equal(q.Layout.SplitDir("info", gone), e.TargetObject);
        }

        [Fact]
        public void Non_numeric_names_are_ignored_as_qmail_does_and_verbose_says_so()
        {
            using var q = TempQueue.Create();
            q.AddProcessed("bob@example.test", "x@remote.test");
            File.WriteAllText(q.Layout.SplitDir("info", 5) + "/notanumber", "junk");
            File.WriteAllText(q.Layout.Dir("todo") + "/12abc", "junk");
            var r = _ps.Run("Get-QmailQueueMessage -QueuePath $q -Verbose", q.Root).AssertClean();
            Assert.Single(r.Objects<QueueMessage>());
            Assert.Contains(r.Verbose, v => v.Contains("notanumber"));
            Assert.Contains(r.Verbose, v => v.Contains("12abc"));
        }

        [Fact]
        public void Garbage_bytes_in_every_file_kind_never_crash_or_hang_and_every_message_is_reported()
        {
            var rnd = new Random(20261123);
            string[] kinds = { "mess", "info", "local", "remote", "bounce", "todo", "intd" };
            for (int round = 0; round < 6; round++)
            {
                using var q = TempQueue.Create();
                var ids = new List<ulong>();
                for (int i = 0; i < 6; i++)
                    ids.Add(q.AddProcessed("s" + i + "@example.test", new[] { new RecipientSpec("l@example.test", RecipientChannel.Local), new RecipientSpec("r@remote.test", RecipientChannel.Remote) }));
                for (int i = 0; i < 4; i++) ids.Add(q.AddUnprocessed("u" + i + "@example.test", "x@remote.test"));
                foreach (ulong id in ids)
                {
                    string kind = kinds[rnd.Next(kinds.Length)];
                    var junk = new byte[rnd.Next(0, 300)];
                    rnd.NextBytes(junk);
                    File.WriteAllBytes(q.PathOf(kind, id), junk);
                }
                var before = QueueSnapshot.Take(q.Root);
                var r = _ps.Run("Get-QmailQueueMessage -QueuePath $q -IncludeHeader | ConvertTo-QmailQread", q.Root);
                Assert.Null(r.Thrown);
                Assert.False(r.HadErrors, string.Join("; ", r.Errors.Select(e => e.Exception.ToString())));
                var listed = _ps.Run("Get-QmailQueueMessage -QueuePath $q -WarningAction SilentlyContinue", q.Root).AssertClean().Objects<QueueMessage>();
                Assert.Equal(ids.OrderBy(x => x), listed.Select(m => m.Id).OrderBy(x => x)); // none skipped
                QueueSnapshot.AssertSame(before, QueueSnapshot.Take(q.Root));
            }
        }

        [Fact]
        public void Empty_queue_lists_nothing_and_summarizes_zeroes()
        {
            using var q = TempQueue.Create();
            Assert.Empty(_ps.Run("Get-QmailQueueMessage -QueuePath $q", q.Root).AssertClean().Output);
            var s = _ps.Run("Get-QmailQueueSummary -QueuePath $q", q.Root).AssertClean().Objects<QueueSummary>().Single();
            Assert.Equal(0, s.MessagesInQueue);
            Assert.Equal(0, s.NotYetPreprocessed);
            Assert.Null(s.OldestQueuedAt);
        }

        [Fact]
        public void Big_todo_layout_is_detected_and_read()
        {
            using var q = TempQueue.Create(bigTodo: true);
            ulong u = q.AddUnprocessed("bob@example.test", "x@remote.test");
            Assert.True(File.Exists(q.Layout.Root + "/todo/" + q.Layout.SplitOf(u) + "/" + u));
            ulong p = q.AddProcessed("carol@example.test", "y@remote.test");
            var r = _ps.Run("Get-QmailQueueMessage -QueuePath $q -Verbose", q.Root).AssertClean();
            Assert.Contains(r.Verbose, v => v.Contains("big-todo"));
            var msgs = r.Objects<QueueMessage>().ToDictionary(m => m.Id);
            Assert.Equal(QueueMessageState.Unprocessed, msgs[u].State);
            Assert.Equal(QueueMessageState.Queued, msgs[p].State);
            var s = _ps.Run("Get-QmailQueueSummary -QueuePath $q", q.Root).AssertClean().Objects<QueueSummary>().Single();
            Assert.Equal(1, s.NotYetPreprocessed);
            Assert.Equal(2, s.MessagesInQueue);
        }

        [Fact]
        public void Other_split_is_detected_from_the_directories_and_can_be_forced()
        {
            using var q = TempQueue.Create(split: 7);
            ulong id = q.AddProcessed("bob@example.test", "x@remote.test");
            Assert.True(File.Exists($"{q.Root}/info/{id % 7}/{id}"));
            Assert.Equal(id, _ps.Run("Get-QmailQueueMessage -QueuePath $q", q.Root).AssertClean().Objects<QueueMessage>().Single().Id);
            // Forced to 23 (binaries built with another conf-split): messages sit in the wrong directory for qmail.
            var r = _ps.Run("Get-QmailQueueMessage -QueuePath $q -Split 23 -WarningAction SilentlyContinue", q.Root);
            if (id % 23 != id % 7) Assert.Equal(QueueMessageState.Damaged, r.Objects<QueueMessage>().Single().State);
            Assert.Contains(r.Errors, e => e.FullyQualifiedErrorId.StartsWith("QmailQueueDirectoryUnreadable"));
        }

        [Theory]
        [InlineData("/nonexistent/qmail/queue", "it does not exist")]
        [InlineData("/etc/passwd", "not a directory")]
        [InlineData("/etc", "no mess/")]
        public void Path_that_is_not_a_queue_is_one_terminating_error(string path, string reason)
        {
            var r = _ps.Run("Get-QmailQueueMessage -QueuePath $q; 'after'", path);
            var e = Assert.Single(r.Errors);
            Assert.Equal("QmailNotAQueue,QmailPS.Commands.GetQmailQueueMessageCommand", e.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.InvalidArgument, e.CategoryInfo.Category);
            Assert.Contains(reason, e.Exception.Message);
            Assert.Equal("after", r.Output.Single().BaseObject); // terminating for the command, not the script

            var s = _ps.Run("Get-QmailQueueSummary -QueuePath $q", path);
            Assert.Equal("QmailNotAQueue,QmailPS.Commands.GetQmailQueueSummaryCommand", Assert.Single(s.Errors).FullyQualifiedErrorId);
        }

        [Fact]
        public void Qstat_counts_like_notqmail_find()
        {
            using var q = TempQueue.Create();
            q.AddProcessed("bob@example.test", "x@remote.test");
            q.AddUnprocessed("bob@example.test", "x@remote.test");
            File.WriteAllText(q.Layout.SplitDir("mess", 5) + "/junk", "x");          // counted (find -type f)
            File.WriteAllText(q.Layout.SplitDir("mess", 5) + "/.hidden", "x");       // counted (find descends)
            File.WriteAllText(q.Layout.Dir("mess") + "/.top", "x");                  // not: the glob mess/* skips it
            File.CreateSymbolicLink(q.Layout.SplitDir("mess", 6) + "/link", "/etc/passwd"); // not: not -type f
            File.WriteAllText(q.Layout.SplitDir("mess", 7) + "/two\nlines", "x");    // wc -l counts it twice
            var s = _ps.Run("Get-QmailQueueSummary -QueuePath $q", q.Root).AssertClean().Objects<QueueSummary>().Single();
            Assert.Equal(2 + 2 + 2, s.MessagesInQueue);
            Assert.Equal(1, s.NotYetPreprocessed);
            Assert.Equal(2, s.Messages);
            Assert.Equal(1, s.Unprocessed);
        }

        [Fact]
        public void Summary_view_prints_the_two_qstat_lines_first()
        {
            using var q = TempQueue.Create();
            q.AddProcessed("bob@example.test", "x@remote.test");
            var r = _ps.Run("Get-QmailQueueSummary -QueuePath $q | Out-Host", q.Root).AssertClean();
            string[] lines = r.HostText.Split('\n').Where(l => l.Trim().Length > 0).ToArray();
            Assert.Equal("messages in queue: 1", lines[0].Trim());
            Assert.Equal("messages in queue but not yet preprocessed: 0", lines[1].Trim());
        }

        private static void Overwrite(string path, string content)
        {
            // Keep owner and mode: only the bytes are damaged.
            using var fs = new FileStream(path, FileMode.Truncate, FileAccess.Write);
            byte[] b = Encoding.Latin1.GetBytes(content);
            fs.Write(b, 0, b.Length);
        }

        private static void RootOnly()
        {
            Assert.True(TestFs.Raw.EffectiveUserId == 0, "This test changes owners and must run as root (CI runs as root).");
            Assert.True(TestFs.Raw.LookupUser(QmailUsers.Qmailq) != null, "The qmail users must exist (.ci/run creates them).");
        }

        private sealed class TempFile : IDisposable
        {
            public TempFile(string content) { Path = System.IO.Path.GetTempFileName(); File.WriteAllText(Path, content); }
            public string Path { get; }
            public void Dispose() => File.Delete(Path);
        }
    }
}
