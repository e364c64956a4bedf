using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Text;
using QmailPS.Queue;
using QmailPS.Tests.Support;
using Xunit;

namespace QmailPS.Tests.Cmdlets
{
    public sealed class GetQmailQueueMessageTests : IClassFixture<GetQmailQueueMessageTests.Fixture>
    {
        /// <summary>One queue with a message in each healthy state, shared by the read-only tests.</summary>
        public sealed class Fixture : IDisposable
        {
            public TempQueue Q { get; } = TempQueue.Create();
            public PsSession Ps { get; } = new PsSession();
            public ulong Local, Remote, Partly, Bounce, DoubleBounce, Bouncing, Unprocessed, Old;

            public Fixture()
            {
                Local = Q.AddProcessed("bob@example.test", new[] { new RecipientSpec("alice@example.test", RecipientChannel.Local) }, subject: "local");
                Remote = Q.AddProcessed("carol@example.net", "dave@remote.test");
                Partly = Q.AddProcessed("bob@example.test", new[]
                {
                    new RecipientSpec("alice@example.test", RecipientChannel.Local, delivered: true),
                    new RecipientSpec("x1@remote.test", RecipientChannel.Remote, delivered: true),
                    new RecipientSpec("x2@remote.test", RecipientChannel.Remote),
                });
                Bounce = Q.AddProcessed("", "erin@example.org");
                DoubleBounce = Q.AddProcessed("#@[]", new[] { new RecipientSpec("postmaster@example.test", RecipientChannel.Local) });
                Bouncing = Q.AddProcessed("alice@example.test", new[]
                {
                    new RecipientSpec("gone@reject.test", RecipientChannel.Remote, delivered: true),
                    new RecipientSpec("later@remote.test", RecipientChannel.Remote),
                });
                Q.Writer.AppendBounce(Bouncing, "gone@reject.test", "192.0.2.25 does not like recipient.\nRemote host said: 550 5.1.1 no such user here\nGiving up on 192.0.2.25.\n");
                Unprocessed = Q.AddUnprocessed("frank@example.net", "alice@example.test", "ginny@remote.test");
                Old = Q.AddProcessed("spammer@junk.test", new[] { new RecipientSpec("victim@remote.test", RecipientChannel.Remote) }, birth: DateTime.UtcNow.AddDays(-9));
            }

            public void Dispose() { Ps.Dispose(); Q.Dispose(); }
        }

        private readonly Fixture _f;
        public GetQmailQueueMessageTests(Fixture f) { _f = f; }

        private List<QueueMessage> Get(string args = "") =>
            _f.Ps.Run($"Get-QmailQueueMessage -QueuePath $q {args}", _f.Q.Root).AssertClean().Objects<QueueMessage>();

        [Fact]
        public void Lists_every_message_including_unprocessed_ones_with_their_state()
        {
            var all = Get().ToDictionary(m => m.Id);
            Assert.Equal(8, all.Count);
            Assert.Equal(QueueMessageState.Unprocessed, all[_f.Unprocessed].State);
            Assert.Equal(QueueMessageState.Bouncing, all[_f.Bouncing].State);
            Assert.Equal(QueueMessageState.Queued, all[_f.Local].State);
            Assert.All(all.Values, m => Assert.Equal(_f.Q.Root, m.QueuePath));
            Assert.All(all.Values, m => Assert.Null(m.Damage));
        }

        [Fact]
        public void Unprocessed_message_shows_todo_envelope_with_channels_predicted_from_control_locals()
        {
            var m = Get($"-Id {_f.Unprocessed}").Single();
            Assert.Equal("frank@example.net", m.Sender);
            Assert.Equal(new[] { ("alice@example.test", RecipientChannel.Local), ("ginny@remote.test", RecipientChannel.Remote) },
                m.Recipients.Select(r => (r.Address, r.Channel)));
            Assert.Equal(2, m.PendingCount);
            Assert.Null(m.NextAttempt);
            var todoMtime = File.GetLastWriteTimeUtc(_f.Q.PathOf("todo", m.Id));
            Assert.Equal(todoMtime, m.QueuedAtUtc);
            Assert.Equal(File.GetLastWriteTime(_f.Q.PathOf("todo", m.Id)), m.QueuedAt);
        }

        [Fact]
        public void Partly_delivered_message_keeps_done_records_and_counts_pending()
        {
            var m = Get($"-Id {_f.Partly}").Single();
            Assert.Equal(new[] { true, true, false }, m.Recipients.Select(r => r.Delivered));
            Assert.Equal(1, m.PendingCount);
            // next attempt: only the remote file has a pending recipient (mtime = birth + 400)
            Assert.Equal(File.GetLastWriteTimeUtc(_f.Q.PathOf("remote", m.Id)), m.NextAttemptUtc);
            Assert.Equal(File.GetLastWriteTimeUtc(_f.Q.PathOf("info", m.Id)), m.QueuedAtUtc);
            Assert.Equal(new FileInfo(_f.Q.PathOf("mess", m.Id)).Length, m.Size);
        }

        [Fact]
        public void Bounce_and_double_bounce_senders()
        {
            var b = Get($"-Id {_f.Bounce}").Single();
            Assert.True(b.IsBounce);
            Assert.False(b.IsDoubleBounce);
            var d = Get($"-Id {_f.DoubleBounce}").Single();
            Assert.True(d.IsDoubleBounce);
            Assert.False(d.IsBounce);
        }

        [Fact]
        public void Filters_sender_recipient_state_and_age()
        {
            Assert.Equal(new[] { _f.Bounce }, Get("-Sender ''").Select(m => m.Id));
            Assert.Equal(new[] { _f.DoubleBounce }, Get("-Sender '#@[]'").Select(m => m.Id)); // not a valid wildcard: literal
            Assert.Equal(new[] { _f.Local, _f.Partly }.OrderBy(x => x), Get("-Sender 'BOB@*'").Select(m => m.Id).OrderBy(x => x));
            Assert.Equal(new[] { _f.Unprocessed }, Get("-Recipient ginny@*").Select(m => m.Id));
            Assert.Equal(new[] { _f.Bouncing }, Get("-State Bouncing").Select(m => m.Id));
            Assert.Equal(new[] { _f.Old }, Get("-OlderThan ([timespan]::FromDays(7))").Select(m => m.Id));
            Assert.DoesNotContain(_f.Old, Get("-NewerThan '1.00:00:00'").Select(m => m.Id));
            Assert.Equal(7, Get("-NewerThan '1.00:00:00'").Count);
        }

        [Fact]
        public void Ages_take_the_short_forms_postmasters_type()
        {
            Assert.Equal(new[] { _f.Old }, Get("-OlderThan '7d'").Select(m => m.Id));
            Assert.Equal(Get("-NewerThan '1.00:00:00'").Select(m => m.Id), Get("-NewerThan '24h'").Select(m => m.Id));
            Assert.Equal(Get("-NewerThan '1.00:00:00'").Select(m => m.Id), Get("-NewerThan '1440m'").Select(m => m.Id));
            Assert.Equal(Get("-NewerThan '1.12:00:00'").Select(m => m.Id), Get("-NewerThan '1d12h'").Select(m => m.Id));
            // Not an age: PowerShell's own conversion error, not a silent zero.
            var r = _f.Ps.Run("Get-QmailQueueMessage -QueuePath $q -OlderThan '3x'", _f.Q.Root);
            Assert.Contains(r.Errors, e => e.Exception.Message.Contains("Cannot convert value \"3x\" to type \"System.TimeSpan\"", System.StringComparison.Ordinal));
            Assert.Empty(r.Objects<QueueMessage>());
        }

        [Fact]
        public void Id_binds_by_value_and_by_property_name_and_unknown_ids_are_per_item_errors()
        {
            var byValue = _f.Ps.Run($"{_f.Local},{_f.Remote} | Get-QmailQueueMessage -QueuePath $q", _f.Q.Root).AssertClean().Objects<QueueMessage>();
            Assert.Equal(new[] { _f.Local, _f.Remote }, byValue.Select(m => m.Id));

            var byName = _f.Ps.Run($"[pscustomobject]@{{ Id = {_f.Partly}; QueuePath = $q }} | Get-QmailQueueMessage", _f.Q.Root).AssertClean().Objects<QueueMessage>();
            Assert.Equal(_f.Partly, byName.Single().Id);

            var r = _f.Ps.Run($"Get-QmailQueueMessage -QueuePath $q -Id 1,{_f.Local}", _f.Q.Root);
            Assert.Equal(_f.Local, r.Objects<QueueMessage>().Single().Id); // the pipeline went on after the error
            var e = Assert.Single(r.Errors);
            Assert.Equal("QmailMessageNotFound,QmailPS.Commands.GetQmailQueueMessageCommand", e.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.ObjectNotFound, e.CategoryInfo.Category);
            Assert.Equal(1UL, e.TargetObject);
        }

        [Fact]
        public void Messages_piped_back_in_rebind_by_Id_and_QueuePath()
        {
            var r = _f.Ps.Run("Get-QmailQueueMessage -QueuePath $q -State Bouncing | Get-QmailQueueMessage", _f.Q.Root).AssertClean();
            Assert.Equal(_f.Bouncing, r.Objects<QueueMessage>().Single().Id);
        }

        [Fact]
        public void IncludeHeader_reads_and_decodes_headers_only_when_asked()
        {
            ulong id = _f.Q.Writer.Inject(Encoding.ASCII.GetBytes(
                "Date: Mon, 23 Nov 2026 10:00:00 +0000\nFrom: =?UTF-8?B?SsO8cmdlbg==?= <j@example.test>\nTo: a@example.test,\n b@example.test\n" +
                "Subject: =?ISO-8859-1?Q?Gr=FC=DFe?= =?UTF-8?Q?_aus_K=C3=B6ln?=\nMessage-ID: <abc@example.test>\n\nbody\n"),
                "j@example.test", new[] { "a@example.test" });
            var plain = Get($"-Id {id}").Single();
            Assert.Null(plain.Subject);
            var m = Get($"-Id {id} -IncludeHeader").Single();
            Assert.Equal("Grüße aus Köln", m.Subject);
            Assert.Equal("Jürgen <j@example.test>", m.From);
            Assert.Equal("a@example.test, b@example.test", m.To);
            Assert.Equal("<abc@example.test>", m.MessageId);
            Assert.Equal("Mon, 23 Nov 2026 10:00:00 +0000", m.Date);
            File.Delete(_f.Q.PathOf("todo", id)); File.Delete(_f.Q.PathOf("intd", id)); File.Delete(_f.Q.PathOf("mess", id));
        }

        [Fact]
        public void Qread_text_skips_unprocessed_and_marks_bouncing()
        {
            var lines = _f.Ps.Run("Get-QmailQueueMessage -QueuePath $q | ConvertTo-QmailQread", _f.Q.Root).AssertClean()
                .Output.Select(o => (string)o.BaseObject).ToList();
            Assert.DoesNotContain(lines, l => l.Contains("#" + _f.Unprocessed + " "));
            Assert.Contains(lines, l => l.Contains($"#{_f.Bouncing} ") && l.EndsWith(">  bouncing", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.Contains($"#{_f.Bounce} ") && l.EndsWith("  <> ", StringComparison.Ordinal));
            Assert.Contains("  done\tlocal\talice@example.test", lines);
            Assert.Contains("\tremote\tx2@remote.test", lines);
        }

        [Fact]
        public void Default_table_view_shows_id_time_size_sender_recipients_and_state()
        {
            var r = _f.Ps.Run($"Get-QmailQueueMessage -QueuePath $q -Id {_f.Partly},{_f.Bounce} | Out-Host", _f.Q.Root).AssertClean();
            string text = r.HostText;
            foreach (string h in new[] { "Id", "QueuedAt", "Size", "Sender", "Recipients", "State" }) Assert.Contains(h, text);
            // The Recipients column shows what the message still waits for: x2 is the only pending one.
            Assert.Contains("x2@remote.test", text);
            Assert.DoesNotContain("alice@example.test", text);
            Assert.Contains("<>", text);
            Assert.Contains(_f.Partly.ToString(), text);
        }

        [Fact]
        public void Long_scan_reports_progress_and_completes_it()
        {
            var r = _f.Ps.Run("$ProgressPreference = 'Continue'; Get-QmailQueueMessage -QueuePath $q", _f.Q.Root).AssertClean();
            Assert.NotEmpty(r.Progress);
            Assert.Equal(ProgressRecordType.Completed, r.Progress.Last().RecordType);
        }

        [Fact]
        public void Verbose_explains_the_layout_it_found()
        {
            var r = _f.Ps.Run("Get-QmailQueueMessage -QueuePath $q -Verbose", _f.Q.Root).AssertClean();
            Assert.Contains(r.Verbose, v => v.Contains("split 23") && v.Contains("vanilla"));
        }

        [Fact]
        public void Relative_QueuePath_resolves_against_the_PowerShell_location_not_the_process()
        {
            var r = _f.Ps.Run("$old = $PWD; $ExecutionContext.SessionState.Path.SetLocation($h) | Out-Null; try { @(Get-QmailQueueMessage -QueuePath ./queue).Count } finally { $ExecutionContext.SessionState.Path.SetLocation($old.Path) | Out-Null }",
                new Dictionary<string, object?> { ["h"] = _f.Q.Home }).AssertClean();
            Assert.Equal(8, (int)r.Output.Single().BaseObject);
        }

        [Fact]
        public void QMAIL_HOME_gives_the_default_queue()
        {
            var r = _f.Ps.Run("$env:QMAIL_HOME = $h; try { @(Get-QmailQueueMessage).Count } finally { [Environment]::SetEnvironmentVariable('QMAIL_HOME', $null) }",
                new Dictionary<string, object?> { ["h"] = _f.Q.Home }).AssertClean();
            Assert.Equal(8, (int)r.Output.Single().BaseObject);
        }
    }
}
