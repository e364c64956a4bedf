using System;
using System.Linq;
using System.Management.Automation;
using QmailPS.Commands;
using QmailPS.Metrics;
using Xunit;

namespace QmailPS.Tests.Metrics
{
    /// <summary>The text exposition format of Export-QmailMetric, and the host rule of the changing cmdlets, without a queue.</summary>
    public sealed class MetricWriterTests
    {
        [Theory]
        [InlineData("/var/qmail/queue", "/var/qmail/queue")]
        [InlineData("a\"b", "a\\\"b")]
        [InlineData("a\\b", "a\\\\b")]
        [InlineData("a\nb", "a\\nb")]
        [InlineData("tab\there ü", "tab\there ü")]
        public void Label_values_are_escaped_as_the_exposition_format_says(string value, string escaped)
        {
            Assert.Equal(escaped, MetricText.EscapeLabelValue(value));
            Assert.Equal("queue=\"" + escaped + "\"", MetricText.Label("queue", value));
        }

        [Fact]
        public void Help_text_escapes_backslash_and_line_feed_only()
        {
            Assert.Equal("a \\\\ \"b\" \\n c", MetricText.EscapeHelp("a \\ \"b\" \n c"));
        }

        [Theory]
        [InlineData(0d, "0")]
        [InlineData(12345678901d, "12345678901")]
        [InlineData(-3d, "-3")]
        [InlineData(0.25d, "0.25")]
        [InlineData(double.NaN, "NaN")]
        [InlineData(double.PositiveInfinity, "+Inf")]
        [InlineData(double.NegativeInfinity, "-Inf")]
        public void Values_use_the_invariant_culture_and_the_format_s_special_values(double v, string text)
        {
            Assert.Equal(text, MetricText.FormatValue(v));
        }

        [Fact]
        public void Every_family_has_one_HELP_and_one_TYPE_line_before_its_samples_and_the_text_ends_in_a_line_feed()
        {
            var a = new QueueMetrics("/q/a", new[] { "qmail-send" }) { MessagesInQueue = 3, Inspected = true, TcpToSkipped = 1, SendRunning = true, ProcessesRead = true };
            a.AddProcess("qmail-send", DateTime.UtcNow.AddHours(-2));
            a.AddProcess("qmail-remote", DateTime.UtcNow.AddMinutes(-5));
            a.AddIssue(IssueSeverity.Stuck);
            var b = new QueueMetrics("/q/\"b\"", new[] { "qmail-send" }) { MessagesInQueue = 7, ProcessesRead = true };
            string text = QueueMetrics.Render(new[] { a, b });
            Assert.EndsWith("\n", text, StringComparison.Ordinal);
            string[] lines = text.TrimEnd('\n').Split('\n');
            var families = lines.Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]).ToList();
            Assert.Equal(families.Distinct().Count(), families.Count);
            Assert.Equal(families.Count, lines.Count(l => l.StartsWith("# HELP ", StringComparison.Ordinal)));
            string? current = null;
            foreach (string l in lines)
            {
                if (l.StartsWith("# TYPE ", StringComparison.Ordinal)) { current = l.Split(' ')[2]; continue; }
                if (l.StartsWith("#", StringComparison.Ordinal)) continue;
                string name = l.Split('{', ' ')[0];
                Assert.Equal(current, name); // a sample belongs to the family declared just before it
            }
            Assert.Contains("qmail_queue_messages{queue=\"/q/a\"} 3", lines);
            Assert.Contains("qmail_queue_messages{queue=\"/q/\\\"b\\\"\"} 7", lines);
            Assert.Contains("qmail_queue_findings{queue=\"/q/a\",severity=\"stuck\"} 1", lines);
            Assert.DoesNotContain(lines, l => l.StartsWith("qmail_queue_findings{queue=\"/q/\\\"b", StringComparison.Ordinal)); // b was not inspected
            Assert.Contains("qmail_tcpto_skipped_hosts{queue=\"/q/a\"} 1", lines);
            Assert.Contains("qmail_send_running{queue=\"/q/a\"} 1", lines);
            Assert.Contains("qmail_processes{name=\"qmail-send\"} 1", lines);
            Assert.Contains("qmail_processes{name=\"qmail-remote\"} 1", lines);
            Assert.Single(lines, l => l.StartsWith("qmail_processes{name=\"qmail-send\"}", StringComparison.Ordinal)); // the host's, once
            double age = double.Parse(lines.Single(l => l.StartsWith("qmail_process_oldest_age_seconds{name=\"qmail-send\"}", StringComparison.Ordinal)).Split(' ')[1],
                System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(age, 7190, 7300);
            // An empty queue has no oldest message: no sample rather than a made-up 0.
            Assert.DoesNotContain(lines, l => l.StartsWith("qmail_queue_oldest_message_timestamp_seconds{", StringComparison.Ordinal));
        }

        [Fact]
        public void Objects_from_another_host_or_of_unknown_origin_are_refused_and_this_host_s_are_not()
        {
            string[] deserialized = { "Deserialized.QmailPS.QueueMessage", "Deserialized.System.Object" };
            ErrorRecord? e = HostOrigin.Check("mx-elsewhere.example", deserialized, 7UL, "Remove-QmailQueueMessage");
            Assert.NotNull(e);
            Assert.Equal("QmailObjectFromAnotherHost", e!.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.InvalidArgument, e.CategoryInfo.Category);
            Assert.Equal(7UL, e.TargetObject);
            Assert.Contains("came from 'mx-elsewhere.example'", e.Exception.Message, StringComparison.Ordinal);
            Assert.Contains("Invoke-Command -HostName mx-elsewhere.example", e.ErrorDetails.RecommendedAction, StringComparison.Ordinal);
            // Not only deserialized objects: anything that says it comes from elsewhere.
            Assert.NotNull(HostOrigin.Check("mx2", new[] { "System.Management.Automation.PSCustomObject" }, 7UL, "Remove-QmailQueueMessage"));

            Assert.Null(HostOrigin.Check("localhost", deserialized, 7UL, "Remove-QmailQueueMessage")); // Start-Job
            Assert.Null(HostOrigin.Check(Environment.MachineName.ToUpperInvariant(), deserialized, 7UL, "Remove-QmailQueueMessage"));

            ErrorRecord? clixml = HostOrigin.Check(null, new[] { "Deserialized.QmailPS.QmailProcess", "Deserialized.System.Object" }, 4242, "Stop-QmailZombie");
            Assert.Equal("QmailObjectOriginUnknown", clixml!.FullyQualifiedErrorId);
            Assert.Equal(4242, clixml.TargetObject);
            Assert.Null(HostOrigin.Check(null, new[] { "System.UInt64", "System.Object" }, 7UL, "Remove-QmailQueueMessage")); // a bare id
            Assert.Null(HostOrigin.Check(null, new[] { "QmailPS.QueueMessage", "System.Object" }, 7UL, "Remove-QmailQueueMessage")); // a live message
            Assert.Null(HostOrigin.Check(null, null, 7UL, "Remove-QmailQueueMessage")); // -Id on the command line
        }
    }
}
