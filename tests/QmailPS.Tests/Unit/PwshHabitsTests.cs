using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using QmailPS.Commands;
using QmailPS.Queue;
using QmailPS.Tests.Support;
using Xunit;

namespace QmailPS.Tests.Unit
{
    /// <summary>
    /// The parts behind issue 12's pwsh habits that are deeper than a Pester line: the recipients
    /// collection, '&lt;&gt;' as the null sender, the completers' bounds and totality, the qmail-home
    /// hint, and progress events inside todo/.
    /// </summary>
    public sealed class PwshHabitsTests
    {
        [Fact]
        public void Recipients_collection_reads_as_comma_separated_addresses_and_lists_the_pending_ones()
        {
            using var q = TempQueue.Create();
            ulong id = q.AddProcessed("bob@example.test", new[]
            {
                new RecipientSpec("a@example.test", RecipientChannel.Local, delivered: true),
                new RecipientSpec("b@remote.test", RecipientChannel.Remote),
                new RecipientSpec("c@remote.test", RecipientChannel.Remote),
            });
            QueueMessage m = new QueueScanner(q.Layout).Read(id)!.Message!;
            Assert.IsAssignableFrom<IList<QueueRecipient>>(m.Recipients);
            Assert.Equal("a@example.test, b@remote.test, c@remote.test", m.Recipients.ToString());
            Assert.Equal(new[] { "b@remote.test", "c@remote.test" }, m.Recipients.Pending().Select(r => r.Address));
            // No member named Address on the collection: PowerShell's member enumeration applies.
            Assert.Null(typeof(QueueRecipientCollection).GetMember("Address").FirstOrDefault());
        }

        [Theory]
        [InlineData("<>", "")]
        [InlineData(" <> ", "")]
        [InlineData("", "")]
        [InlineData("bob@example.test", "bob@example.test")]
        [InlineData("<bob@example.test>", "<bob@example.test>")]
        public void NullSender_maps_only_the_typed_null_sender(string typed, string expected)
        {
            var t = new NullSenderAttribute();
            Assert.Equal(expected, t.Transform(null!, typed));
            Assert.Equal(new object[] { expected, "x@y" }, (object[])t.Transform(null!, new object[] { typed, "x@y" }));
            Assert.Equal(new[] { expected }, (string[])t.Transform(null!, new[] { typed }));
            Assert.Equal(42, t.Transform(null!, 42));
        }

        [Fact]
        public void Completers_are_total_on_a_path_that_is_not_a_queue()
        {
            var bound = new Hashtable { ["QueuePath"] = "/nonexistent/qmail/queue" };
            Assert.Empty(new QueueIdCompleter().CompleteArgument("Get-QmailQueueMessage", "Id", "", null!, bound));
            Assert.Empty(new QueueSenderCompleter().CompleteArgument("Get-QmailQueueMessage", "Sender", "", null!, bound));
            Assert.Empty(new QueueRecipientCompleter().CompleteArgument("Get-QmailQueueMessage", "Recipient", "", null!, bound));
            Assert.Empty(new QueuePathCompleter().CompleteArgument("Get-QmailQueueMessage", "QueuePath", "/nonexistent/", null!, bound));
        }

        [Fact]
        public void Id_completion_is_bounded_sorted_and_includes_unprocessed_messages()
        {
            using var q = TempQueue.Create();
            var ids = new List<ulong>();
            for (int i = 0; i < CompletionSupport.MaxResults + 20; i++) ids.Add(q.AddUnprocessed("a@example.test", "b@example.test"));
            ulong processed = q.AddProcessed("a@example.test", "c@remote.test");
            var bound = new Hashtable { ["QueuePath"] = q.Root };
            var got = new QueueIdCompleter().CompleteArgument("Get-QmailQueueMessage", "Id", "", null!, bound).Select(r => ulong.Parse(r.CompletionText)).ToList();
            Assert.Equal(CompletionSupport.MaxResults, got.Count);
            Assert.Equal(got.OrderBy(x => x), got);
            Assert.Equal(ids.Concat(new[] { processed }).OrderBy(x => x).Take(CompletionSupport.MaxResults), got);
            string one = processed.ToString();
            Assert.Equal(new[] { one }, new QueueIdCompleter().CompleteArgument("x", "Id", one, null!, bound).Select(r => r.CompletionText));
        }

        [Fact]
        public void Address_completion_quotes_what_PowerShell_would_misread()
        {
            using var q = TempQueue.Create();
            q.AddProcessed("", "a@remote.test");
            q.AddProcessed("#@[]", "b@remote.test");
            q.AddProcessed("plain@example.test", "c d@remote.test");
            var bound = new Hashtable { ["QueuePath"] = q.Root };
            var senders = new QueueSenderCompleter().CompleteArgument("x", "Sender", "", null!, bound).Select(r => r.CompletionText).ToList();
            Assert.Equal(new[] { "'#@[]'", "'<>'", "plain@example.test" }, senders.OrderBy(s => s, StringComparer.Ordinal));
            var rcpts = new QueueRecipientCompleter().CompleteArgument("x", "Recipient", "'c", null!, bound).Select(r => r.CompletionText);
            Assert.Equal(new[] { "'c d@remote.test'" }, rcpts);
        }

        [Fact]
        public void A_qmail_home_given_as_the_queue_names_its_queue()
        {
            using var q = TempQueue.Create();
            var e = Assert.Throws<NotAQueueException>(() => QueueLayout.Detect(q.Home));
            Assert.Equal(q.Root, e.Suggestion);
            Assert.Contains($"did you mean {q.Root}?", e.Message);
            var plain = Assert.Throws<NotAQueueException>(() => QueueLayout.Detect(Path.Combine(q.Root, "mess")));
            Assert.Null(plain.Suggestion);
        }

        [Fact]
        public void Progress_events_come_inside_todo_in_order_and_grow()
        {
            using var q = TempQueue.Create();
            for (int i = 0; i < 700; i++) q.AddUnprocessed("a@example.test", "b@example.test");
            var seen = new List<(int Messages, int Percent, string Path)>();
            int messages = 0;
            foreach (ScanEvent e in new QueueScanner(q.Layout).Scan())
            {
                if (e.Kind == ScanEventKind.Message) messages++;
                else if (e.Kind == ScanEventKind.Progress) seen.Add((messages, e.Percent, e.Path!));
            }
            Assert.Equal(700, messages);
            var inTodo = seen.Where(s => s.Path.Contains("not yet preprocessed")).ToList();
            // 700 messages: chunks of 256, so progress after 256 and 512, each after its chunk's messages.
            Assert.Equal(new[] { 256, 512 }, inTodo.Select(s => s.Messages));
            Assert.Contains("256 of 700", inTodo[0].Path);
            Assert.True(inTodo[0].Percent < inTodo[1].Percent);
            Assert.Equal(seen.Select(s => s.Percent).OrderBy(p => p), seen.Select(s => s.Percent));
        }
    }
}
