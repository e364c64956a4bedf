using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using QmailPS.Check;
using QmailPS.Check.Repair;
using QmailPS.Posix;
using QmailPS.Queue;
using QmailPS.Tests.Support;
using Xunit;

namespace QmailPS.Tests.Check
{
    public sealed class RepairQmailQueueTests : IClassFixture<RepairQmailQueueTests.Session>
    {
        public sealed class Session : IDisposable
        {
            public PsSession Ps { get; } = new PsSession();
            public void Dispose() => Ps.Dispose();
        }

        private readonly PsSession _ps;
        public RepairQmailQueueTests(Session s) { _ps = s.Ps; }

        /// <summary>
        /// What qmail would deliver, keyed by message content: every message qmail-send can see, with
        /// its sender, recipients (address, channel, done) and state. Ids are left out on purpose:
        /// renumbering changes them and nothing else.
        /// </summary>
        internal static Dictionary<string, List<string>> QmailView(QueueLayout layout) => QmailView(layout, null);

        internal static Dictionary<string, List<string>> QmailView(QueueLayout layout, Dictionary<string, ulong>? ids) =>
            QmailMessages(layout, ids).ToDictionary(kv => kv.Key, kv => kv.Value.Select(Describe).ToList());

        /// <summary>The messages behind QmailView, same keys: body hash and sender.</summary>
        internal static Dictionary<string, List<QueueMessage>> QmailMessages(QueueLayout layout, Dictionary<string, ulong>? ids = null)
        {
            var view = new Dictionary<string, List<QueueMessage>>();
            foreach (ScanEvent e in new QueueScanner(layout).Scan())
            {
                if (e.Message is not QueueMessage m) continue;
                // Listed from a name qmail reaches only through the canonical one (a leading zero,
                // another split) while the canonical one is missing: qmail-send's pqadd (and its todo
                // scan) stats info/N/ID (todo/ID) and ignores the id, so qmail never sees it.
                if (m.State == QueueMessageState.Damaged && m.QreadTrouble == "file does not exist" && !File.Exists(layout.PathOf("info", m.Id)) && !File.Exists(layout.PathOf("todo", m.Id))) continue;
                // Mid-move (a killed re-split), mess may not be at its place yet: qmail defers such a
                // message, it does not lose it; key it by its envelope then.
                string path = layout.PathOf("mess", m.Id);
                string body = File.Exists(path) ? Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))) : "mess-not-in-place:" + m.Id;
                string key = body + " <" + m.Sender + ">"; // fixtures reuse bodies
                if (!view.TryGetValue(key, out var list)) view[key] = list = new List<QueueMessage>();
                list.Add(m);
                if (ids != null) ids[key] = m.Id;
            }
            return view;
        }

        internal static string Describe(QueueMessage m)
        {
            string state = m.State == QueueMessageState.Unprocessed ? "todo" : "queued";
            return $"{state} <{m.Sender}> {string.Join(",", m.Recipients.Select(r => $"{r.Channel}:{r.Address}:{(r.Delivered ? "D" : "T")}"))} born {(m.State == QueueMessageState.Unprocessed ? "-" : m.QueuedAtUtc.ToString("o"))}" +
                   $" bounce={m.HasBounce}";
        }

        internal static void AssertSameView(Dictionary<string, List<string>> expected, Dictionary<string, List<string>> actual, string when)
        {
            foreach (var kv in actual) Assert.True(kv.Value.Count == 1, $"{when}: a message is visible {kv.Value.Count} times: {string.Join(" | ", kv.Value)}");
            Assert.True(expected.Keys.OrderBy(k => k).SequenceEqual(actual.Keys.OrderBy(k => k)), $"{when}: messages differ: expected {string.Join(" | ", expected.Values.SelectMany(v => v))}; actual {string.Join(" | ", actual.Values.SelectMany(v => v))}");
            foreach (var kv in expected) Assert.True(kv.Value.SequenceEqual(actual[kv.Key]), $"{when}: {string.Join(" | ", kv.Value)} became {string.Join(" | ", actual[kv.Key])}");
        }

        private List<QueueIssue> Test(string root) => _ps.Run("Test-QmailQueue -QueuePath $q", root).AssertClean().Objects<QueueIssue>();

        [Fact]
        public void Golden_queue_is_renumbered_and_then_clean_with_every_message_recipient_and_state_kept()
        {
            RootOnly();
            using var q = GoldenQueue.Restore();
            var before = QmailView(q.Layout);
            Assert.Equal(10, before.Count);
            var snap = QueueSnapshot.Take(q.Root);
            var w = _ps.Run("Repair-QmailQueue -QueuePath $q -WhatIf", q.Root).AssertClean();
            QueueSnapshot.AssertSame(snap, QueueSnapshot.Take(q.Root)); // not one byte, owner, mode or mtime
            Assert.Equal(10, w.HostText.Split('\n').Count(l => l.StartsWith("What if:") && l.Contains("Renumber message")));

            var r = _ps.Run("Repair-QmailQueue -QueuePath $q", q.Root).AssertClean();
            var actions = r.Objects<RepairAction>();
            Assert.Equal(10, actions.Count);
            Assert.All(actions, a => Assert.Equal(QueueIssueKind.IdNotInode, a.Kind));
            Assert.Empty(Test(q.Root));
            AssertSameView(before, QmailView(q.Layout), "after repair");
            Assert.Empty(_ps.Run("Repair-QmailQueue -QueuePath $q", q.Root).AssertClean().Output); // idempotent
        }

        [Fact]
        public void Refuses_while_qmail_send_holds_sendmutex()
        {
            using var q = GoldenQueue.Restore();
            using var hold = SendLock.TryHold(q.Layout);
            var snap = QueueSnapshot.Take(q.Root);
            var r = _ps.Run("Repair-QmailQueue -QueuePath $q", q.Root);
            Assert.Equal("QmailSendRunning,QmailPS.Commands.RepairQmailQueueCommand", Assert.Single(r.Errors).FullyQualifiedErrorId);
            QueueSnapshot.AssertSame(snap, QueueSnapshot.Take(q.Root));
        }

        public static IEnumerable<object[]> Repairable() => TestQmailQueueTests.Damages()
            .Where(d => (IssueSeverity)d[2] != IssueSeverity.Transient && (string)d[0] is not ("big-todo dir in vanilla todo" or "remote split dir symlink"));

        [Fact]
        public void A_symlinked_split_directory_is_quarantined_as_a_link_and_what_it_points_to_is_never_touched()
        {
            RootOnly();
            var (q, remote, mixed, unprocessed) = TestQmailQueueTests.Healthy();
            using (q)
            {
                for (int i = 0; i < 30 || !Directory.EnumerateFiles(q.Layout.SplitDir("remote", 11)).Any(); i++)
                    q.AddProcessed("more@example.test", "r" + i + "@remote.test"); // until some land in remote/11
                string dir = TestQmailQueueTests.Apply(q, "remote split dir symlink", remote, mixed, unprocessed);
                string real = q.Home + "/remote-11-elsewhere";
                Assert.NotEmpty(Directory.GetFiles(real));
                var outside = QueueSnapshot.Take(real);
                var test = _ps.Run("Test-QmailQueue -QueuePath $q", q.Root).AssertClean().Objects<QueueIssue>();
                Assert.Contains(test, i => i.Kind == QueueIssueKind.Symlink && i.Path == dir && i.Description.Contains(real));
                var r = _ps.Run("Repair-QmailQueue -QueuePath $q -QuarantinePath $qq -Confirm:$false", new Dictionary<string, object?> { ["q"] = q.Root, ["qq"] = q.Home + "/quarantine" });
                Assert.Contains(r.Objects<RepairAction>(), a => a.Kind == QueueIssueKind.Symlink && a.Path == dir);
                // the link itself went to the quarantine, a real directory took its place, and nothing behind the link changed
                Assert.True(TestFs.Raw.TryLstat(dir, out var st, out _) && st.Kind == FileKind.Directory);
                Assert.True(TestFs.Raw.TryLstat(q.Home + "/quarantine/remote/11", out var moved, out _) && moved.Kind == FileKind.Symlink);
                QueueSnapshot.AssertSame(outside, QueueSnapshot.Take(real));
            }
        }

        [Theory]
        [MemberData(nameof(Repairable))]
        public void Each_damage_is_repaired_and_what_cannot_be_delivered_is_quarantined_not_lost(string damage, QueueIssueKind kind, IssueSeverity severity)
        {
            RootOnly();
            _ = severity;
            var (q, remote, mixed, unprocessed) = TestQmailQueueTests.Healthy();
            using (q)
            {
                string quarantine = q.Home + "/quarantine";
                var ids = new Dictionary<string, ulong>();
                var healthy = QmailView(q.Layout, ids);
                TestQmailQueueTests.Apply(q, damage, remote, mixed, unprocessed);
                var snap = QueueSnapshot.Take(q.Root);
                _ps.Run("Repair-QmailQueue -QueuePath $q -WhatIf", q.Root).AssertClean();
                QueueSnapshot.AssertSame(snap, QueueSnapshot.Take(q.Root));

                var r = _ps.Run($"Repair-QmailQueue -QueuePath $q -QuarantinePath '{quarantine}'", q.Root).AssertClean();
                Assert.Contains(r.Objects<RepairAction>(), a => a.Kind == kind);
                var left = Test(q.Root).Where(i => i.Severity != IssueSeverity.Transient).ToList();
                Assert.True(left.Count == 0, $"{damage}: still {string.Join(" | ", left)}");

                // every message qmail saw before the damage is still delivered the same way, or it is in the quarantine
                var after = QmailView(q.Layout);
                string manifest = File.Exists(quarantine + "/manifest.tsv") ? File.ReadAllText(quarantine + "/manifest.tsv") : "";
                foreach (var kv in healthy)
                {
                    if (after.TryGetValue(kv.Key, out var now))
                    {
                        Assert.Single(now);
                        // A message with the null sender that lost its info is recovered under the same key, born anew from its mess.
                        bool recoveredInPlace = damage is "info missing" or "info split dir missing" && now[0] == AsRecovered(kv.Value[0], "", MessMtime(q.Layout, ids[kv.Key]));
                        if (now[0] != kv.Value[0]) Assert.True(IsExpectedChange(damage, kv.Value[0], now[0]) || recoveredInPlace, $"{damage}: {kv.Value[0]} became {now[0]}");
                    }
                    else if (RecoveredAs(after, kv.Key, "") is string recovered)
                    {
                        // info lost: the message is back with the null sender, born when its mess was written
                        Assert.True(damage is "info missing" or "info split dir missing", $"{damage}: {kv.Value[0]} became {recovered}");
                        Assert.Equal(AsRecovered(kv.Value[0], "", MessMtime(q.Layout, ids[kv.Key])), recovered);
                    }
                    else Assert.True(manifest.Length > 0, $"{damage}: a message vanished without a quarantine entry: {kv.Value[0]}");
                }
                if (damage == "info missing") // recovered, not quarantined: every recipient is still delivered
                    Assert.Contains(r.Objects<RepairAction>(), a => a.Kind == QueueIssueKind.ChannelWithoutInfo && a.Id == remote && a.QuarantinedTo is null && a.Action.StartsWith("Recover message", StringComparison.Ordinal));
            }
        }

        /// <summary>The body part of a <see cref="QmailView"/> key (body hash, then " &lt;sender&gt;").</summary>
        internal static string BodyOf(string key) => key.Substring(0, key.IndexOf(" <", StringComparison.Ordinal));

        /// <summary>The message with the same body under <paramref name="sender"/>, if it is visible exactly once.</summary>
        internal static string? RecoveredAs(Dictionary<string, List<string>> view, string key, string sender) =>
            view.TryGetValue(BodyOf(key) + " <" + sender + ">", out var list) && list.Count == 1 ? list[0] : null;

        /// <summary>
        /// How a message looks once recovered without its info (ChannelWithoutInfo): the same state,
        /// recipients, done marks and bounce flag, the recovery sender, born when its mess was written.
        /// </summary>
        internal static string AsRecovered(string before, string sender, DateTime messMtimeUtc)
        {
            var m = System.Text.RegularExpressions.Regex.Match(before, @"^(\S+) <.*?> (.*) born \S+ (bounce=\S+)$");
            Assert.True(m.Success, before);
            var born = new DateTime(messMtimeUtc.Ticks - messMtimeUtc.Ticks % TimeSpan.TicksPerSecond, DateTimeKind.Utc);
            return $"{m.Groups[1].Value} <{sender}> {m.Groups[2].Value} born {born:o} {m.Groups[3].Value}";
        }

        internal static DateTime MessMtime(QueueLayout layout, ulong id)
        {
            Assert.True(TestFs.Raw.TryLstat(layout.PathOf("mess", id), out FileStatus st, out _), $"no mess for {id}");
            return UnixTime.ToUtc(st.MTimeSeconds);
        }

        // ---------------------------------------------------------------- recovering a message without info

        [Fact]
        public void A_message_without_info_is_recovered_with_the_RecoverySender_and_its_birth_from_mess()
        {
            RootOnly();
            var (q, remote, mixed, _) = TestQmailQueueTests.Healthy();
            using (q)
            {
                var ids = new Dictionary<string, ulong>();
                var healthy = QmailView(q.Layout, ids);
                string remoteKey = ids.Single(kv => kv.Value == remote).Key, mixedKey = ids.Single(kv => kv.Value == mixed).Key;
                File.Delete(q.PathOf("info", remote));
                File.Delete(q.PathOf("info", mixed)); // with a done local, a done remote and a bounce text
                // a mess from the future: the birth is now, never later
                long future = UnixTime.Now + 86400;
                TestFs.Raw.SetTimes(q.PathOf("mess", mixed), future, future);

                var snap = QueueSnapshot.Take(q.Root);
                var w = _ps.Run("Repair-QmailQueue -QueuePath $q -RecoverySender 'postmaster@example.test' -WhatIf", q.Root).AssertClean();
                QueueSnapshot.AssertSame(snap, QueueSnapshot.Take(q.Root));
                Assert.Equal(2, w.HostText.Split('\n').Count(l => l.StartsWith("What if:") && l.Contains("Recover message") && l.Contains("<postmaster@example.test> (from -RecoverySender)")));

                long before = UnixTime.Now;
                var r = _ps.Run($"Repair-QmailQueue -QueuePath $q -RecoverySender 'postmaster@example.test' -QuarantinePath '{q.Home}/quarantine'", q.Root).AssertClean();
                Assert.Equal(new ulong?[] { remote, mixed }.OrderBy(x => x), r.Objects<RepairAction>().Select(a => a.Id).OrderBy(x => x));
                Assert.All(r.Objects<RepairAction>(), a => Assert.Equal(QueueIssueKind.ChannelWithoutInfo, a.Kind));
                Assert.False(Directory.Exists(q.Home + "/quarantine"), "nothing was quarantined");
                Assert.Empty(Test(q.Root));

                var after = QmailView(q.Layout);
                Assert.Equal(AsRecovered(healthy[remoteKey][0], "postmaster@example.test", MessMtime(q.Layout, remote)), RecoveredAs(after, remoteKey, "postmaster@example.test"));
                string mixedNow = RecoveredAs(after, mixedKey, "postmaster@example.test")!;
                Assert.NotNull(mixedNow);
                Assert.Contains("Local:alice@example.test:D,Local:defer@example.test:T,Remote:x@remote.test:T,Remote:gone@reject.test:D", mixedNow);
                Assert.Contains("bounce=True", mixedNow); // its bounce text stays with it
                foreach (ulong id in new[] { remote, mixed })
                {
                    string info = q.PathOf("info", id);
                    Assert.Equal("Fpostmaster@example.test\0", File.ReadAllText(info));
                    Assert.True(TestFs.Raw.TryLstat(info, out FileStatus st, out _));
                    Assert.Equal((TestFs.Raw.LookupUser("qmails")!.Value.Uid, TestFs.Raw.LookupGroup("qmail")!.Value, Mode.Rw_______), (st.Uid, st.Gid, st.Permissions));
                    if (id == mixed) Assert.InRange(st.MTimeSeconds, before, UnixTime.Now); // mess in the future: born now
                    else Assert.Equal(UnixTime.ToSeconds(MessMtime(q.Layout, id)), st.MTimeSeconds);
                }
                Assert.Empty(Directory.GetFiles(q.Layout.Dir("info"), ".*", SearchOption.AllDirectories)); // no temporary file left
                foreach (var kv in healthy.Where(kv => kv.Key != remoteKey && kv.Key != mixedKey)) Assert.Equal(kv.Value, after[kv.Key]);
            }
        }

        [Theory]
        [InlineData("Ta@remote.test\0Tb@rem", true)]    // cut off: recovered; the cut recipient is left out as qmail does (nothing proves 'b@rem' whole)
        [InlineData("Xa@remote.test\0Tb@remote.test\0", true)] // unknown record: recovered, the record dropped
        [InlineData("Da@remote.test\0Db@remote.test\0", false)] // nothing left to deliver: quarantined
        public void A_message_without_info_and_damaged_recipients_is_recovered_only_when_something_is_deliverable(string remoteBytes, bool recovered)
        {
            RootOnly();
            var (q, remote, _, _) = TestQmailQueueTests.Healthy();
            using (q)
            {
                File.Delete(q.PathOf("info", remote));
                File.WriteAllBytes(q.PathOf("remote", remote), System.Text.Encoding.Latin1.GetBytes(remoteBytes));
                string quarantine = q.Home + "/quarantine";
                var r = _ps.Run($"Repair-QmailQueue -QueuePath $q -QuarantinePath '{quarantine}'", q.Root).AssertClean();
                Assert.DoesNotContain(Test(q.Root), i => i.Severity != IssueSeverity.Transient);
                var m = new QueueScanner(q.Layout).Read(remote)?.Message;
                if (recovered)
                {
                    Assert.NotNull(m);
                    Assert.Equal("", m!.Sender);
                    Assert.Equal(remoteBytes.StartsWith("T") ? new[] { "a@remote.test:T" } : new[] { "b@remote.test:T" },
                        m.Recipients.Select(x => x.Address + ":" + (x.Delivered ? "D" : "T")));
                }
                else
                {
                    Assert.Null(m);
                    Assert.False(File.Exists(q.PathOf("mess", remote)));
                    string manifest = File.ReadAllText(quarantine + "/manifest.tsv");
                    Assert.Contains("done:remote:a@remote.test, done:remote:b@remote.test", manifest);
                    Assert.Contains(r.Objects<RepairAction>(), a => a.Action.StartsWith("Move every file of message " + remote, StringComparison.Ordinal));
                }
            }
        }

        [Fact]
        public void A_bounce_without_info_comes_back_as_a_bounce_born_when_it_was_queued()
        {
            RootOnly();
            var (q, _, _, _) = TestQmailQueueTests.Healthy();
            using (q)
            {
                var ids = new Dictionary<string, ulong>();
                var healthy = QmailView(q.Layout, ids);
                var (key, id) = ids.Single(kv => kv.Key.EndsWith(" <>", StringComparison.Ordinal));
                File.Delete(q.PathOf("info", id));
                _ps.Run("Repair-QmailQueue -QueuePath $q", q.Root).AssertClean();
                Assert.Empty(Test(q.Root));
                var after = QmailView(q.Layout);
                Assert.Equal(AsRecovered(healthy[key][0], "", MessMtime(q.Layout, id)), Assert.Single(after[key]));
                Assert.Equal("F\0", File.ReadAllText(q.PathOf("info", id)));
            }
        }

        [Fact]
        public void RecoverySender_is_checked_like_a_sender_qmail_queue_accepts()
        {
            RootOnly();
            var (q, remote, _, _) = TestQmailQueueTests.Healthy();
            using (q)
            {
                File.Delete(q.PathOf("info", remote));
                var snap = QueueSnapshot.Take(q.Root);
                foreach (string bad in new[] { "a\nb@example.test", new string('x', 1003), "a\0b" })
                {
                    var r = _ps.Run("Repair-QmailQueue -QueuePath $q -RecoverySender $s -Confirm:$false", new Dictionary<string, object?> { ["q"] = q.Root, ["s"] = bad });
                    Assert.Equal("QmailBadAddress,QmailPS.Commands.RepairQmailQueueCommand", Assert.Single(r.Errors).FullyQualifiedErrorId);
                    QueueSnapshot.AssertSame(snap, QueueSnapshot.Take(q.Root));
                }
                _ps.Run("Repair-QmailQueue -QueuePath $q -RecoverySender $s", new Dictionary<string, object?> { ["q"] = q.Root, ["s"] = new string('x', 1002) }).AssertClean();
                Assert.Equal("F" + new string('x', 1002) + "\0", File.ReadAllText(q.PathOf("info", remote)));
            }
        }

        /// <summary>
        /// A renumbering killed after its identity switch leaves the old number with mess and channel
        /// files (hard links of the message's own) and no info: ChannelWithoutInfo. Recovering that
        /// would make qmail-send deliver the message twice; it is finished as a renumbering instead.
        /// </summary>
        [Fact]
        public void A_renumbering_leftover_is_finished_never_recovered_as_a_second_message()
        {
            RootOnly();
            var (q, remote, _, _) = TestQmailQueueTests.Healthy();
            using (q)
            {
                var healthy = QmailView(q.Layout);
                ulong old = remote + 1000003; // the number it had before (any free one)
                foreach (string k in new[] { "mess", "remote" }) TestFs.Raw.Link(q.PathOf(k, remote), q.PathOf(k, old));
                Assert.Contains(Test(q.Root), i => i.Kind == QueueIssueKind.ChannelWithoutInfo && i.Id == old);

                // piped alone, as Test-QmailQueue | Where-Object lets one do
                var piped = _ps.Run("Test-QmailQueue -QueuePath $q | Where-Object Kind -eq ChannelWithoutInfo | Repair-QmailQueue", q.Root).AssertClean();
                Assert.DoesNotContain(piped.Objects<RepairAction>(), a => a.Action.StartsWith("Recover", StringComparison.Ordinal));
                AssertSameView(healthy, QmailView(q.Layout), "after the piped repair");
                _ps.Run("Repair-QmailQueue -QueuePath $q", q.Root).AssertClean();
                Assert.Empty(Test(q.Root));
                AssertSameView(healthy, QmailView(q.Layout), "after the repair");
                Assert.False(File.Exists(q.PathOf("mess", old)));
            }
        }

        /// <summary>
        /// The other half: killed before the switch, the new number has mess and channel links but no
        /// info while the old number is still the message. Piped alone, that finding is refused (the
        /// mess has two names); the whole-queue repair renumbers.
        /// </summary>
        [Fact]
        public void The_target_of_an_unfinished_renumbering_is_not_recovered()
        {
            RootOnly();
            var (q, remote, _, _) = TestQmailQueueTests.Healthy();
            using (q)
            {
                var healthy = QmailView(q.Layout);
                ulong old = remote + 1000003;
                foreach (string k in new[] { "mess", "remote" }) TestFs.Raw.Link(q.PathOf(k, remote), q.PathOf(k, old));
                File.Move(q.PathOf("info", remote), q.PathOf("info", old)); // the message is still "old"
                Assert.Contains(Test(q.Root), i => i.Kind == QueueIssueKind.ChannelWithoutInfo && i.Id == remote);
                var snap = QueueSnapshot.Take(q.Root);
                var piped = _ps.Run("Test-QmailQueue -QueuePath $q | Where-Object Kind -eq ChannelWithoutInfo | Repair-QmailQueue", q.Root).AssertClean();
                Assert.Contains(piped.Warnings, w => w.Contains("Not repaired: ChannelWithoutInfo") && w.Contains("names"));
                QueueSnapshot.AssertSame(snap, QueueSnapshot.Take(q.Root));
                _ps.Run("Repair-QmailQueue -QueuePath $q", q.Root).AssertClean();
                Assert.Empty(Test(q.Root));
                AssertSameView(healthy, QmailView(q.Layout), "after the repair");
            }
        }

        [Fact]
        public void A_copied_message_without_info_is_renumbered_and_recovered_in_one_run()
        {
            RootOnly();
            using var q = Misnumbered();
            var ids = new Dictionary<string, ulong>();
            var before = QmailView(q.Layout, ids);
            var (key, id) = ids.First(kv => kv.Key.EndsWith("<bob@example.test>"));
            File.Delete(q.PathOf("info", id));
            _ps.Run("Repair-QmailQueue -QueuePath $q", q.Root).AssertClean();
            Assert.Empty(Test(q.Root));
            var after = QmailView(q.Layout, ids);
            string? recovered = RecoveredAs(after, key, "");
            Assert.NotNull(recovered);
            ulong newId = ids[BodyOf(key) + " <>"];
            Assert.NotEqual(id, newId);
            Assert.Equal(AsRecovered(before[key][0], "", MessMtime(q.Layout, newId)), recovered);
            foreach (var kv in before.Where(kv => kv.Key != key)) Assert.Equal(kv.Value, after[kv.Key]);
        }

        [Fact]
        public void Recovery_killed_at_every_write_step_shows_the_message_at_most_once_and_a_rerun_delivers_it_once()
        {
            RootOnly();
            int total;
            var (q0, remote0, _, _) = TestQmailQueueTests.Healthy();
            using (q0)
            {
                var counter = new FaultyPosix(TestFs.Raw, int.MaxValue);
                File.Delete(q0.PathOf("info", remote0));
                RunRepair(q0, counter);
                total = counter.Calls;
            }
            Assert.True(total >= 5, $"only {total} write steps?");
            for (int failAt = 1; failAt <= total + 1; failAt++)
            {
                var (q, remote, _, _) = TestQmailQueueTests.Healthy();
                using (q)
                {
                    var ids = new Dictionary<string, ulong>();
                    var healthy = QmailView(q.Layout, ids);
                    string key = ids.Single(kv => kv.Value == remote).Key;
                    var expected = healthy.ToDictionary(kv => kv.Key == key ? BodyOf(key) + " <>" : kv.Key, kv => kv.Key == key ? new List<string> { AsRecovered(kv.Value[0], "", MessMtime(q.Layout, remote)) } : kv.Value);
                    File.Delete(q.PathOf("info", remote));
                    var faulty = new FaultyPosix(TestFs.Raw, failAt);
                    bool crashed = Crashes(() => RunRepair(q, faulty));
                    Assert.Equal(failAt <= total, crashed);
                    var mid = QmailView(q.Layout);
                    foreach (var kv in mid) Assert.True(kv.Value.Count == 1, $"killed at write {failAt} ({faulty.LastCall}): visible twice: {kv.Value[0]}");
                    // either still invisible or whole: never a message with other recipients
                    if (RecoveredAs(mid, key, "") is string m) Assert.Equal(expected[BodyOf(key) + " <>"][0], m);
                    string did = RunRepair(q, TestFs.Raw);
                    var left = Test(q.Root).Where(i => i.Severity != IssueSeverity.Transient).ToList();
                    Assert.True(left.Count == 0, $"killed at write {failAt} ({faulty.LastCall}), rerun left: {string.Join(" | ", left)}; {did}");
                    AssertSameView(expected, QmailView(q.Layout), $"rerun after a kill at write {failAt} ({faulty.LastCall}); {did}");
                }
            }
        }

        /// <summary>Changes a repair makes on purpose (a recovered recipient, birth reset from the future).</summary>
        internal static bool IsExpectedChange(string damage, string before, string after) => damage switch
        {
            "info in future" => before.Split(" born ")[0] == after.Split(" born ")[0],
            "remote duplicate" or "remote unknown record" or "remote all done" or "remote truncated" or "remote empty" => true, // the damage changed the recipients themselves
            "todo truncated" or "todo unknown record" or "todo without F" or "todo empty" => true,
            "info trailing bytes" or "info empty" => true,
            "stale bounce on todo" => after.Replace("bounce=False", "bounce=True") == before || before.Replace("bounce=False", "bounce=True") == after || before == after,
            _ => false,
        };

        [Theory]
        [InlineData(7)]
        [InlineData(31)]
        public void Repair_with_another_split_resplits_the_queue_and_keeps_every_message(int newSplit)
        {
            RootOnly();
            var (q, _, _, _) = TestQmailQueueTests.Healthy();
            using (q)
            {
                var before = QmailView(q.Layout);
                var snap = QueueSnapshot.Take(q.Root);
                _ps.Run($"Repair-QmailQueue -QueuePath $q -Split {newSplit} -WhatIf", q.Root).AssertClean();
                QueueSnapshot.AssertSame(snap, QueueSnapshot.Take(q.Root));
                _ps.Run($"Repair-QmailQueue -QueuePath $q -Split {newSplit}", q.Root).AssertClean();
                var left = _ps.Run($"Test-QmailQueue -QueuePath $q -Split {newSplit}", q.Root).AssertClean().Objects<QueueIssue>()
                    .Where(i => i.Severity != IssueSeverity.Transient).ToList();
                Assert.True(left.Count == 0, string.Join(" | ", left));
                var layout = QueueLayout.Detect(q.Root);
                Assert.Equal(newSplit, layout.Split);
                AssertSameView(before, QmailView(layout), $"re-split to {newSplit}");
                foreach (string d in QueueLayout.SplitDirectories)
                    Assert.Equal(Enumerable.Range(0, newSplit).Select(n => n.ToString()).OrderBy(x => x),
                        Directory.GetDirectories(q.Layout.Dir(d)).Select(Path.GetFileName).OrderBy(x => x));
            }
        }

        /// <summary>A queue whose messages are all misnumbered, like a copied one, in every state renumbering handles.</summary>
        private static TempQueue Misnumbered()
        {
            var q = TempQueue.Create();
            var ids = new List<ulong>
            {
                q.AddProcessed("bob@example.test", new[] { new RecipientSpec("a@example.test", RecipientChannel.Local), new RecipientSpec("b@remote.test", RecipientChannel.Remote, delivered: true), new RecipientSpec("c@remote.test", RecipientChannel.Remote) }, subject: "bob"),
                q.AddProcessed("", new[] { new RecipientSpec("postmaster@remote.test", RecipientChannel.Remote) }, subject: "bounce"),
                q.AddUnprocessed("carol@example.test", "d@remote.test", "e@example.test"),
            };
            q.Writer.AppendBounce(ids[0], "b@remote.test", "550 no");
            foreach (ulong id in ids) q.CopyMessToNewInode(id); // a new inode under the same name, as cp/rsync/tar do
            return q;
        }

        [Fact]
        public void Renumbering_killed_at_every_write_step_never_shows_a_message_twice_or_loses_one_and_a_rerun_converges()
        {
            RootOnly();
            int total;
            Dictionary<string, List<string>> expected;
            using (var q = Misnumbered())
            {
                expected = QmailView(q.Layout);
                var counter = new FaultyPosix(TestFs.Raw, int.MaxValue);
                RunRepair(q, counter);
                total = counter.Calls;
                Assert.Empty(Test(q.Root));
                AssertSameView(expected, QmailView(q.Layout), "clean run");
            }
            Assert.True(total > 10, $"only {total} write steps?");
            // The number of writes depends on the inode numbers a fixture gets: crash at write 1, 2, 3…
            // until a run gets through without reaching the fault.
            for (int failAt = 1; failAt < 10000; failAt++)
            {
                using var q = Misnumbered();
                var view = QmailView(q.Layout);
                var faulty = new FaultyPosix(TestFs.Raw, failAt);
                if (!Crashes(() => RunRepair(q, faulty))) { Assert.True(failAt > 10, $"only {failAt - 1} write steps?"); break; }
                AssertSameView(view, QmailView(q.Layout), $"killed at write {failAt}/{total} ({faulty.LastCall})");
                string did = RunRepair(q, TestFs.Raw);
                var left = Test(q.Root);
                Assert.True(left.Count == 0, $"killed at write {failAt} ({faulty.LastCall}), rerun left: {string.Join(" | ", left)}");
                AssertSameView(view, QmailView(q.Layout), $"rerun after a kill at write {failAt} ({faulty.LastCall}); {did}");
            }
        }

        [Fact]
        public void Resplit_killed_at_every_write_step_never_shows_a_message_twice_and_a_rerun_converges()
        {
            RootOnly();
            int total;
            using (var q = TestQmailQueueTests.Healthy().Q)
            {
                var counter = new FaultyPosix(TestFs.Raw, int.MaxValue);
                RunRepair(q, counter, split: 7);
                total = counter.Calls;
            }
            for (int failAt = 1; failAt < 10000; failAt++)
            {
                using var q = TestQmailQueueTests.Healthy().Q;
                var view = QmailView(q.Layout);
                var faulty = new FaultyPosix(TestFs.Raw, failAt);
                if (!Crashes(() => RunRepair(q, faulty, split: 7))) { Assert.True(failAt > total / 2, $"only {failAt - 1} write steps?"); break; }
                foreach (var kv in QmailView(new QueueLayout(q.Root, 7, false)))
                    Assert.True(kv.Value.Count == 1, $"killed at write {failAt} ({faulty.LastCall}): visible twice: {kv.Value[0]}");
                string did = RunRepair(q, TestFs.Raw, split: 7);
                var layout = new QueueLayout(q.Root, 7, false);
                var left = new QueueInspector(layout, SendLock.Probe(layout)).Inspect().Where(i => i.Severity != IssueSeverity.Transient).ToList();
                Assert.True(left.Count == 0, $"killed at write {failAt} ({faulty.LastCall}), rerun left: {string.Join(" | ", left)}; {did}");
                AssertSameView(view, QmailView(layout), $"re-split rerun after a kill at write {failAt} ({faulty.LastCall})");
            }
        }

        [Fact]
        public void Debris_at_the_number_a_copied_message_must_move_to_is_quarantined_first_and_the_message_renumbered()
        {
            // A backup restored onto a queue that still has debris of old messages: the restored
            // files got new inodes, and some of those inodes are numbers the debris is named after.
            // The debris' own fix was skipped ("busy": the number was a renumbering target), and the
            // renumbering refused the occupied number: every run failed the same way, for ever.
            RootOnly();
            using var q = GoldenQueue.Restore();
            var before = QmailView(q.Layout);
            var targets = new QueueInspector(q.Layout, SendLock.Probe(q.Layout)).Inspect().Where(i => i.Kind == QueueIssueKind.IdNotInode)
                .Select(i => { TestFs.Raw.TryLstat(q.PathOf("mess", i.Id!.Value), out var st, out _); return st.Inode; }).OrderBy(x => x).ToList();
            var (qmails, qmail) = (TestFs.Raw.LookupUser(QmailUsers.Qmails)!.Value.Uid, TestFs.Raw.LookupGroup(QmailUsers.QmailGroup)!.Value);
            // (A bounce/ file at a target is not debris: it belongs to the message moving there; see
            // QmailFollowingRulesTests.A_bounce_file_at_the_renumbering_target_moves_with_its_message….)
            var debris = new[] { ("remote", "Tstale@remote.test\0"), ("info", "Fold@example.test\0"), ("local", "Told@example.test\0"), ("intd", "u0\0p1\0Fold@example.test\0") }
                .Select((d, k) => (Path: q.PathOf(d.Item1, targets[k]), d.Item2)).ToList();
            foreach (var (path, content) in debris)
            {
                File.WriteAllBytes(path, System.Text.Encoding.ASCII.GetBytes(content));
                TestFs.Raw.Lchown(path, qmails, qmail);
                TestFs.Raw.ChmodNoFollow(path, Mode.Rw_______);
            }

            var r = _ps.Run($"Repair-QmailQueue -QueuePath $q -QuarantinePath '{q.Home}/quarantine'", q.Root).AssertClean();
            Assert.Equal(10, r.Objects<RepairAction>().Count(a => a.Kind == QueueIssueKind.IdNotInode));
            Assert.Empty(Test(q.Root));
            Assert.Empty(_ps.Run($"Repair-QmailQueue -QueuePath $q -QuarantinePath '{q.Home}/quarantine'", q.Root).AssertClean().Output);
            AssertSameView(before.Where(kv => !kv.Key.EndsWith("<old@example.test>")).ToDictionary(kv => kv.Key, kv => kv.Value), QmailView(q.Layout), "after repair");
            string manifest = File.ReadAllText(q.Home + "/quarantine/manifest.tsv");
            foreach (var (path, _) in debris) Assert.Contains("\t" + path + "\t", manifest);
        }

        /// <summary>
        /// Issue 14: batches overlap (one links while the one before switches and the one before
        /// that unlinks), except where a batch moves a message to a number a batch still under way
        /// leaves. Here message Z was restored under number N, the mess inode of message Y, so Y
        /// must wait until Z has moved to its own inode and left N; with one message a batch, Y's
        /// batch comes right after Z's. Had Y's links been made while Z's batch was switching, mess/N
        /// would still have been Z's and Y's renumbering would have failed ("belongs to another
        /// message"). One run renumbers both, nothing fails, and qmail sees each message once as before.
        /// </summary>
        [Theory]
        [InlineData(1)]
        [InlineData(2)]
        public void A_batch_moving_to_a_number_the_batch_before_leaves_waits_for_it(int workers)
        {
            RootOnly();
            using var q = TempQueue.Create();
            ulong y = q.AddProcessed("y@example.test", "first@remote.test");
            ulong z = q.AddProcessed("z@example.test", new[] { new RecipientSpec("second@example.test", RecipientChannel.Local), new RecipientSpec("third@remote.test", RecipientChannel.Remote) });
            ulong n = q.CopyMessToNewInode(y); // Y must move to N
            foreach (string k in new[] { "mess", "info", "local", "remote" })
                File.Move(q.PathOf(k, z), q.PathOf(k, n)); // Z now sits at N and must move to z
            var before = QmailView(q.Layout);
            Assert.Equal(2, before.Count);

            var (session, log, did) = RunSession(q, TestFs.Raw, batch: 1, workers: workers);
            Assert.Equal(2, log.DoneCount);
            Assert.Equal(0, log.Failures);
            var renumbered = log.Steps.Where(p => p.Operation == RepairOperation.Renumber).Select(p => (p.From, p.To)).ToList();
            Assert.Equal(new[] { (n, z), (y, n) }, renumbered); // Z's batch first, then Y's
            Assert.NotSame(log.Steps[0].Batch, log.Steps[1].Batch);
            AssertSameView(before, QmailView(q.Layout), "after the repair: " + did);
            var left = new QueueInspector(q.Layout, SendLock.Probe(q.Layout)).Inspect().ToList();
            Assert.True(left.Count == 0, $"left: {string.Join(" | ", left)}; {did}");
        }

        /// <summary>
        /// A restored queue (ids that are not their mess inodes) where one message's info, another's
        /// remote and a third's local file are under names qmail does not read (a leading zero,
        /// another split directory): each gets its canonical name before its message is renumbered,
        /// and moves with it. Renamed after the renumbering, it was left at the old number and went
        /// to the quarantine as a stray: its recipients lost, or its sender (the message then
        /// recovered with the null sender, its failure notices gone to the postmaster).
        /// </summary>
        [Theory]
        [InlineData(1)]
        [InlineData(2)]
        public void A_misnamed_file_of_a_misnumbered_message_gets_its_name_first_and_moves_with_it(int workers)
        {
            RootOnly();
            using var q = TempQueue.Create();
            ulong a = q.AddProcessed("a@example.test", "first@remote.test");
            ulong b = q.AddProcessed("b@example.test", "second@remote.test");
            ulong c = q.AddProcessed("c@example.test", new[] { new RecipientSpec("third@example.test", RecipientChannel.Local), new RecipientSpec("fourth@remote.test", RecipientChannel.Remote) });
            foreach (ulong id in new[] { a, b, c }) q.CopyMessToNewInode(id);
            var before = QmailView(q.Layout);
            Assert.Equal(3, before.Count);
            string info = q.PathOf("info", a), local = q.PathOf("local", c);
            File.Move(info, Path.GetDirectoryName(info) + "/0" + a);
            File.Move(q.PathOf("remote", b), q.Layout.Dir("remote") + "/" + ((q.Layout.SplitOf(b) + 1) % q.Layout.Split) + "/" + b);
            File.Move(local, Path.GetDirectoryName(local) + "/00" + c);

            var (_, log, did) = RunSession(q, TestFs.Raw, workers: workers);
            Assert.Equal(0, log.Failures);
            Assert.DoesNotContain(log.Steps, s => s.Operation is RepairOperation.RecoverInfo or RepairOperation.Quarantine or RepairOperation.QuarantineMessage);
            var renamed = log.Steps.Where(s => s.Operation == RepairOperation.Rename).ToList();
            Assert.Equal(3, renamed.Count);
            Assert.True(log.Steps.FindIndex(s => s.Operation == RepairOperation.Renumber) > log.Steps.IndexOf(renamed[^1]), did);
            AssertSameView(before, QmailView(q.Layout), "after the repair: " + did);
            var left = new QueueInspector(q.Layout, SendLock.Probe(q.Layout)).Inspect().ToList();
            Assert.True(left.Count == 0, $"left: {string.Join(" | ", left)}; {did}");
        }

        /// <summary>
        /// Files over one read window (1 MiB) are repaired as small ones, read a window at a time:
        /// a sparse channel file (millions of empty records) keeps its recipients and loses the rest;
        /// a valid one with a 3 MiB cut record loses the cut one; a todo with a valid head and a
        /// sparse tail keeps its envelope. The original bytes, all of them, are in the quarantine.
        /// </summary>
        [Theory]
        [InlineData("remote", "sparse")]
        [InlineData("remote", "cut")]
        [InlineData("remote", "many")]
        [InlineData("todo", "sparse")]
        public void A_file_bigger_than_a_read_window_is_repaired_as_a_small_one(string dir, string how)
        {
            using var q = TempQueue.Create();
            ulong id = dir == "todo" ? q.AddUnprocessed("bob@example.test", new[] { "a@remote.test" }) : q.AddProcessed("bob@example.test", "a@remote.test");
            string path = q.PathOf(dir, id);
            byte[] head = File.ReadAllBytes(path);
            var expected = new List<byte>(head);
            using (var f = new FileStream(path, FileMode.Append))
            {
                if (how == "sparse") f.SetLength(head.Length + (3L << 20));
                else if (how == "cut") { var b = new byte[3 << 20]; b.AsSpan().Fill((byte)'x'); b[0] = (byte)'T'; f.Write(b); }
                else
                {
                    // 200,000 valid records (4.6 MB) and one of unknown type among them: kept in order.
                    for (int k = 0; k < 200_000; k++)
                    {
                        byte[] r = System.Text.Encoding.ASCII.GetBytes($"Tr{k:D6}@remote.test\0");
                        f.Write(r);
                        expected.AddRange(r);
                        if (k == 100_000) f.Write(System.Text.Encoding.ASCII.GetBytes("Xjunk\0"));
                    }
                }
            }
            long size = new FileInfo(path).Length;
            string quarantine = q.Home + "/quarantine";
            var r1 = _ps.Run($"Repair-QmailQueue -QueuePath $q -QuarantinePath '{quarantine}'", q.Root).AssertClean();
            Assert.Single(r1.Objects<RepairAction>());
            Assert.Equal(expected.ToArray(), File.ReadAllBytes(path));
            string saved = Assert.Single(Directory.GetFiles(quarantine + "/" + dir, "*.orig", SearchOption.AllDirectories));
            Assert.Equal(size, new FileInfo(saved).Length);
            Assert.Empty(Test(q.Root));
            Assert.Empty(_ps.Run($"Repair-QmailQueue -QueuePath $q -QuarantinePath '{quarantine}'", q.Root).AssertClean().Output);
        }

        internal static bool Crashes(Action run)
        {
            try { run(); return false; }
            catch (InjectedCrash) { return true; }
        }

        /// <summary>A whole-queue repair through <paramref name="posix"/>, as Repair-QmailQueue runs it (RepairSession: every pass); <paramref name="bigTodo"/> is -TodoLayout (BigTodo or Vanilla).</summary>
        internal static string RunRepair(TempQueue q, IFileSystem posix, int? split = null, bool? bigTodo = null, int? batch = null, int? workers = null) =>
            RunSession(q, posix, split, bigTodo, batch, workers).Did;

        /// <summary>One RepairSession run; what it found first and every step it ran, for messages.</summary>
        internal static (RepairSession Session, StepLog Log, string Did) RunSession(TempQueue q, IFileSystem posix, int? split = null, bool? bigTodo = null, int? batch = null, int? workers = null)
        {
            var layout = split.HasValue ? new QueueLayout(q.Root, split.Value, bigTodo ?? false) : QueueLayout.Detect(q.Root, null, bigTodo);
            var session = new RepairSession(layout, posix, SendLock.Probe(layout), q.Home + "/quarantine", convertTodoLayout: bigTodo.HasValue);
            if (batch.HasValue) session.RenumberBatchSize = batch.Value;
            session.Workers = workers;
            var log = new StepLog();
            session.Run(log);
            log.ThrowIfFailed();
            return (session, log, "issues: " + string.Join(" | ", session.Found.Select(i => $"{i.Kind}/{i.Severity} {i.Path}")) + " || actions: " + string.Join(" | ", log.Actions));
        }

        /// <summary>The session's reports in a test: every step runs; the first failure is thrown once the run is over.</summary>
        internal sealed class StepLog : IRepairObserver
        {
            private Exception? _first;
            public List<string> Actions { get; } = new List<string>();
            public List<RepairStep> Steps { get; } = new List<RepairStep>();
            public List<string> Warnings { get; } = new List<string>();
            /// <summary>Ctrl+C, when this says so (null: never).</summary>
            public Func<bool>? StopWhen { get; set; }
            public bool Stopping => StopWhen?.Invoke() == true;
            /// <summary>Steps reported done, and failed.</summary>
            public int DoneCount { get; private set; }
            public int Failures { get; private set; }
            public bool ShouldRun(RepairStep step, int index, int count) { lock (Actions) { Actions.Add(step.Action); Steps.Add(step); } return true; }
            public void Done(RepairStep step, string? quarantined) => DoneCount++;
            public void NothingLeft(RepairStep step) { }
            public void Failed(RepairStep step, Exception error) { Failures++; _first ??= error; }
            public void Planned(int pass, int steps) { }
            public void NotRepaired(QueueIssue issue, string why) => Warnings.Add($"Not repaired: {issue.Kind} at {issue.Path}: {why}");
            public void Conflict(string conflict) => Warnings.Add(conflict);
            public void Warning(string text) => Warnings.Add(text);
            public void Note(string text) => Notes.Add(text);
            public List<string> Notes { get; } = new List<string>();
            public void Stale(QueueIssue old, int now) => Warnings.Add($"stale {old.Kind} at {old.Path}");
            public void ThrowIfFailed() { if (_first != null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(_first).Throw(); }
        }

        internal static void RootOnly()
        {
            Assert.True(TestFs.Raw.EffectiveUserId == 0, "Repair tests give files qmail's owners; they run as root (CI runs as root).");
            Assert.True(TestFs.Raw.LookupUser(QmailUsers.Qmailq) != null, "The qmail users must exist (.ci/run creates them).");
        }
    }

    /// <summary>A kill -9 at a chosen write: the call throws before it happens, and nothing after it runs.</summary>
    internal sealed class InjectedCrash : Exception
    {
        public InjectedCrash(string call) : base("injected crash at " + call) { }
    }

    /// <summary>IFileSystem that hands every call to another: the base of the test doubles that change one call.</summary>
    internal class PassThroughPosix : IFileSystem
    {
        protected readonly IFileSystem Inner;
        public PassThroughPosix(IFileSystem inner) { Inner = inner; }

        public void Trust(string root, bool followLink = true) => Inner.Trust(root, followLink);
        public virtual void CreateRoot(string path, uint mode) => Inner.CreateRoot(path, mode);
        public bool IsTrusted(string path) => Inner.IsTrusted(path);
        public void Dispose() { }
        public virtual bool TryLstat(string path, out FileStatus status, out int errno) => Inner.TryLstat(path, out status, out errno);
        public uint EffectiveUserId => Inner.EffectiveUserId;
        public uint EffectiveGroupId => Inner.EffectiveGroupId;
        public (uint Uid, uint Gid)? LookupUser(string name) => Inner.LookupUser(name);
        public uint? LookupGroup(string name) => Inner.LookupGroup(name);
        public string? UserName(uint uid) => Inner.UserName(uid);
        public string? GroupName(uint gid) => Inner.GroupName(gid);
        public virtual DirectoryHandle? TryOpenDirectory(string path, out int errno) => Inner.TryOpenDirectory(path, out errno);
        public virtual List<DirEntry>? TryList(string path, List<DirEntry> into, out int errno) => Inner.TryList(path, into, out errno);
        public virtual byte[] ReadFile(string path) => Inner.ReadFile(path);
        public virtual int OpenExisting(string path, bool write, out int errno, bool noAtime = false) => Inner.OpenExisting(path, write, out errno, noAtime);
        public bool TryFstat(int fd, out FileStatus status, out int errno) => Inner.TryFstat(fd, out status, out errno);
        public void Close(int fd) => Inner.Close(fd);
        public int Flock(int fd, int operation) => Inner.Flock(fd, operation);
        public int ReadAt(int fd, byte[] buffer, int start, int count, long offset, out int errno) => Inner.ReadAt(fd, buffer, start, count, offset, out errno);
        public virtual void WriteAt(int fd, string path, long offset, byte[] data) => Inner.WriteAt(fd, path, offset, data);
        public virtual void PullTrigger(string fifoPath) => Inner.PullTrigger(fifoPath);
        public virtual void Lchown(string path, uint uid, uint gid, string? pairedWith = null) => Inner.Lchown(path, uid, gid, pairedWith);
        public virtual void ChmodNoFollow(string path, uint mode, string? pairedWith = null) => Inner.ChmodNoFollow(path, mode, pairedWith);
        public virtual void Link(string existing, string newPath) => Inner.Link(existing, newPath);
        public virtual void Unlink(string path) => Inner.Unlink(path);
        public virtual void Rename(string from, string to) => Inner.Rename(from, to);
        public virtual void Mkfifo(string path, uint mode) => Inner.Mkfifo(path, mode);
        public string ReadLink(string path) => Inner.ReadLink(path);
        public virtual void Symlink(string target, string path) => Inner.Symlink(target, path);
        public virtual void Mkdir(string path, uint mode) => Inner.Mkdir(path, mode);
        public virtual void Rmdir(string path) => Inner.Rmdir(path);
        public virtual void SetTimes(string path, long atimeSeconds, long mtimeSeconds, string? pairedWith = null) => Inner.SetTimes(path, atimeSeconds, mtimeSeconds, pairedWith);
        public virtual void RestoreTimes(string path, long atimeSeconds, long mtimeSeconds, long mtimeNanoseconds, string? pairedWith = null) => Inner.RestoreTimes(path, atimeSeconds, mtimeSeconds, mtimeNanoseconds, pairedWith);
        public virtual void WriteNewFile(string path, byte[] content, uint mode, bool fsync = true) => Inner.WriteNewFile(path, content, mode, fsync);
        public virtual void CopyNewFile(string source, string path, uint mode) => Inner.CopyNewFile(source, path, mode);
        public virtual void FsyncDirectory(string path) => Inner.FsyncDirectory(path);
        public IDisposable HoldDirectories() => Inner.HoldDirectories();
        public virtual void Append(string path, byte[] bytes, string? pairedWith = null) => Inner.Append(path, bytes, pairedWith);
        public virtual void WriteByteAt(string path, long offset, byte value, string? pairedWith = null) => Inner.WriteByteAt(path, offset, value, pairedWith);
        public int Kill(int pid, int signal) => Inner.Kill(pid, signal);
    }

    /// <summary>
    /// IFileSystem that counts writes and "crashes" at the Nth one; reads pass through. Like a
    /// killed process, it makes no write after that one, on any thread (a renumbering batch writes
    /// from several: QueueRepairer.Workers).
    /// </summary>
    internal sealed class FaultyPosix : PassThroughPosix
    {
        private readonly int _failAt;
        private readonly object _gate = new object();
        private bool _dead;
        public FaultyPosix(IFileSystem inner, int failAt) : base(inner) { _failAt = failAt; }
        public int Calls { get; private set; }
        public string LastCall { get; private set; } = "";
        /// <summary>Every write made, in order, when asked for (a test that classifies its cut points).</summary>
        public List<string>? Log { get; set; }

        private void Write(string what)
        {
            lock (_gate)
            {
                if (_dead) throw new InjectedCrash("after the crash: " + what);
                Calls++;
                LastCall = what;
                Log?.Add(what);
                if (Calls == _failAt) { _dead = true; throw new InjectedCrash(what); }
            }
        }

        public override void CreateRoot(string path, uint mode) { Write("mkdir " + path); base.CreateRoot(path, mode); }
        public override void WriteAt(int fd, string path, long offset, byte[] data) { Write("pwrite " + path); base.WriteAt(fd, path, offset, data); }
        public override void PullTrigger(string fifoPath) { Write("trigger " + fifoPath); base.PullTrigger(fifoPath); }
        public override void Lchown(string path, uint uid, uint gid, string? pairedWith = null) { Write("lchown " + path); base.Lchown(path, uid, gid, pairedWith); }
        public override void ChmodNoFollow(string path, uint mode, string? pairedWith = null) { Write("chmod " + path); base.ChmodNoFollow(path, mode, pairedWith); }
        public override void Link(string existing, string newPath) { Write($"link {existing} {newPath}"); base.Link(existing, newPath); }
        public override void Unlink(string path) { Write("unlink " + path); base.Unlink(path); }
        public override void Rename(string from, string to) { Write($"rename {from} {to}"); base.Rename(from, to); }
        public override void Mkfifo(string path, uint mode) { Write("mkfifo " + path); base.Mkfifo(path, mode); }
        public override void Symlink(string target, string path) { Write("symlink " + path); base.Symlink(target, path); }
        public override void Mkdir(string path, uint mode) { Write("mkdir " + path); base.Mkdir(path, mode); }
        public override void Rmdir(string path) { Write("rmdir " + path); base.Rmdir(path); }
        public override void SetTimes(string path, long atimeSeconds, long mtimeSeconds, string? pairedWith = null) { Write("utimes " + path); base.SetTimes(path, atimeSeconds, mtimeSeconds, pairedWith); }
        public override void RestoreTimes(string path, long atimeSeconds, long mtimeSeconds, long mtimeNanoseconds, string? pairedWith = null) { Write("utimes " + path); base.RestoreTimes(path, atimeSeconds, mtimeSeconds, mtimeNanoseconds, pairedWith); }
        public override void WriteNewFile(string path, byte[] content, uint mode, bool fsync = true) { Write("create " + path); base.WriteNewFile(path, content, mode, fsync); }
        public override void CopyNewFile(string source, string path, uint mode) { Write("copy " + path); base.CopyNewFile(source, path, mode); }
        public override void FsyncDirectory(string path) { Write("fsync " + path); base.FsyncDirectory(path); }
        public override void Append(string path, byte[] bytes, string? pairedWith = null) { Write("append " + path); base.Append(path, bytes, pairedWith); }
        public override void WriteByteAt(string path, long offset, byte value, string? pairedWith = null) { Write("pwrite " + path); base.WriteByteAt(path, offset, value, pairedWith); }
    }
}

namespace QmailPS.Tests.Cmdlets
{
    public sealed class InjectionCrashTests
    {
        /// <summary>
        /// qmail-queue's order (pid file, link to mess, unlink pid, intd, link to todo) means a crash
        /// leaves only debris qmail cleans itself (a pid file, or mess with or without intd and no
        /// todo), or a message that is fully queued. Checked by crashing before every write.
        /// </summary>
        [Fact]
        public void Add_killed_at_any_write_leaves_only_what_qmails_cleanup_removes_or_a_whole_message()
        {
            int total;
            using (var q = TempQueue.Create())
            {
                var counter = new QmailPS.Tests.Check.FaultyPosix(TestFs.Raw, int.MaxValue);
                new QueueWriter(q.Layout, null, counter) { Fsync = true }.Inject(TempQueue.Body("x"), "bob@example.test", new[] { "a@remote.test", "b@example.test" });
                total = counter.Calls;
            }
            Assert.True(total >= 6, $"only {total} writes?");
            for (int failAt = 1; failAt <= total; failAt++)
            {
                using var q = TempQueue.Create();
                var faulty = new QmailPS.Tests.Check.FaultyPosix(TestFs.Raw, failAt);
                Assert.Throws<QmailPS.Tests.Check.InjectedCrash>(() =>
                    new QueueWriter(q.Layout, null, faulty) { Fsync = true }.Inject(TempQueue.Body("x"), "bob@example.test", new[] { "a@remote.test", "b@example.test" }));
                var layout = q.Layout;
                var issues = new QmailPS.Check.QueueInspector(layout, SendLock.Probe(layout)).Inspect().ToList();
                var messages = new QueueScanner(layout).Scan().Where(e => e.Message != null).Select(e => e.Message!).ToList();
                string where = $"crash before write {failAt}/{total} ({faulty.LastCall})";
                // debris qmail removes by itself: young orphans (mess, intd) and pid files, reported as Transient
                Assert.All(issues, i => Assert.True(i.Kind is QueueIssueKind.OrphanMess or QueueIssueKind.StalePidFile && i.Severity == IssueSeverity.Transient,
                    $"{where}: {i}"));
                // and if qmail-send can see a message, it is the whole one
                Assert.All(messages, m =>
                {
                    Assert.Equal(QueueMessageState.Unprocessed, m.State);
                    Assert.Equal(new[] { "a@remote.test", "b@example.test" }, m.Recipients.Select(r => r.Address));
                });
            }
        }
    }
}
