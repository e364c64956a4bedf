using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using QmailPS.Check;
using QmailPS.Check.Repair;
using QmailPS.Posix;
using QmailPS.Queue;
using QmailPS.Tests.Support;
using Xunit;

namespace QmailPS.Tests.Check
{
    /// <summary>
    /// The plan as data (each step an operation with arguments, its -WhatIf text made from them)
    /// and the one repair session (inspect, plan, execute, inspect again) the cmdlet and the tests share.
    /// </summary>
    public sealed class RepairSessionTests : IClassFixture<RepairQmailQueueTests.Session>
    {
        private readonly PsSession _ps;
        public RepairSessionTests(RepairQmailQueueTests.Session s) { _ps = s.Ps; }

        private static readonly string[] Damages =
        {
            "info trailing bytes", "remote truncated", "stray bounce", "non-numeric name", "mess wrong owner",
            "extra split dir", "todo unknown record", "info alias", "old pid file", "trigger missing",
        };

        private static TempQueue Damaged()
        {
            var (q, remote, mixed, unprocessed) = TestQmailQueueTests.Healthy();
            foreach (string d in Damages) TestQmailQueueTests.Apply(q, d, remote, mixed, unprocessed);
            return q;
        }

        /// <summary>
        /// Every step's text is what Describe makes of its operation and arguments, and a plan whose
        /// texts are all blanked repairs the queue exactly as well: nothing is decided from the text.
        /// </summary>
        [Fact]
        public void A_step_runs_from_its_operation_and_arguments_and_its_text_is_made_from_them()
        {
            RepairQmailQueueTests.RootOnly();
            using TempQueue q = Damaged();
            var layout = QueueLayout.Detect(q.Root);
            var issues = new QueueInspector(layout, SendLock.Probe(layout)).Inspect().ToList();
            var repairer = new QueueRepairer(layout, TestFs.Raw, q.Home + "/quarantine");
            List<RepairStep> plan = repairer.Plan(issues);
            var ops = plan.Select(s => s.Operation).Distinct().ToList();
            Assert.True(ops.Count >= 5, "the damages should need several kinds of change: " + string.Join(", ", ops));
            foreach (RepairStep s in plan)
            {
                Assert.False(string.IsNullOrWhiteSpace(s.Action), $"{s.Operation} on {s.Path} has no text");
                Assert.Equal(PathName.Printable(repairer.Describe(s)), s.Action);
                s.Action = "?";
            }
            var log = new RepairQmailQueueTests.StepLog();
            RepairSession.Execute(repairer, plan, log);
            log.ThrowIfFailed();
            List<QueueIssue> left = new QueueInspector(layout, SendLock.Probe(layout)).Inspect().ToList();
            Assert.True(left.Count == 0, "left: " + string.Join(" | ", left.Select(i => $"{i.Kind} {i.Path}")));
        }

        /// <summary>
        /// A pass that changed the queue is followed by a fresh inspection: info put back in its split
        /// directory shows its birth in the future only then, and the same run repairs it. With one
        /// pass allowed, the check after it says what is left instead of staying silent.
        /// </summary>
        [Fact]
        public void A_pass_is_followed_by_an_inspection_that_repairs_or_reports_what_it_uncovered()
        {
            RepairQmailQueueTests.RootOnly();
            foreach (int passes in new[] { 3, 1 })
            {
                var (q, remote, mixed, unprocessed) = TestQmailQueueTests.Healthy();
                using (q)
                {
                    TestQmailQueueTests.Apply(q, "info in future", remote, mixed, unprocessed);
                    TestQmailQueueTests.Apply(q, "info in wrong split", remote, mixed, unprocessed);
                    var layout = QueueLayout.Detect(q.Root);
                    var session = new RepairSession(layout, TestFs.Raw, SendLock.Probe(layout), q.Home + "/quarantine") { MaxPasses = passes };
                    var log = new RepairQmailQueueTests.StepLog();
                    session.Run(log);
                    log.ThrowIfFailed();
                    var left = new QueueInspector(layout, SendLock.Probe(layout)).Inspect().ToList();
                    if (passes == 3)
                    {
                        Assert.Equal(2, session.Passes);
                        Assert.Contains(log.Steps, s => s.Operation == RepairOperation.Rename);
                        Assert.Contains(log.Steps, s => s.Operation == RepairOperation.SetBirthToNow);
                        Assert.Empty(left);
                        Assert.Empty(log.Warnings);
                    }
                    else
                    {
                        Assert.Equal(1, session.Passes);
                        Assert.Equal(QueueIssueKind.InfoInFuture, Assert.Single(left).Kind);
                        string w = Assert.Single(log.Warnings);
                        Assert.Contains("after 1 passes the queue still needs 1 repair(s)", w);
                        Assert.Contains("Set the birth of message", w);
                    }
                }
            }
        }

        /// <summary>A change declined at a -Confirm prompt ends the run after that pass: the postmaster is not asked again.</summary>
        [Fact]
        public void A_declined_step_is_not_asked_again_by_a_later_pass()
        {
            RepairQmailQueueTests.RootOnly();
            var (q, remote, mixed, unprocessed) = TestQmailQueueTests.Healthy();
            using (q)
            {
                TestQmailQueueTests.Apply(q, "stray bounce", remote, mixed, unprocessed);
                string wrong = TestQmailQueueTests.Apply(q, "info in wrong split", remote, mixed, unprocessed);
                var layout = QueueLayout.Detect(q.Root);
                var session = new RepairSession(layout, TestFs.Raw, SendLock.Probe(layout), q.Home + "/quarantine");
                var prompt = new Declining(RepairOperation.Quarantine);
                session.Run(prompt);
                Assert.Equal(1, session.Passes);
                Assert.Equal(1, prompt.Asked.Count(s => s.Operation == RepairOperation.Quarantine));
                Assert.True(File.Exists(layout.PathOf("bounce", 999)), "the declined move was made");
                Assert.False(File.Exists(wrong), "the accepted rename was not made");
            }
        }

        /// <summary>Repair-QmailQueue's objects say which operation each change was, for pipelines to filter on.</summary>
        [Fact]
        public void Repair_output_names_the_operation_of_each_change()
        {
            RepairQmailQueueTests.RootOnly();
            var (q, remote, mixed, unprocessed) = TestQmailQueueTests.Healthy();
            using (q)
            {
                TestQmailQueueTests.Apply(q, "stray bounce", remote, mixed, unprocessed);
                TestQmailQueueTests.Apply(q, "mess wrong owner", remote, mixed, unprocessed);
                TestQmailQueueTests.Apply(q, "info trailing bytes", remote, mixed, unprocessed);
                // (the hosted session has no Microsoft.PowerShell.Utility: no Sort-Object)
                var r = _ps.Run($"Repair-QmailQueue -QueuePath $q -QuarantinePath '{q.Home}/quarantine' | ForEach-Object {{ \"$($_.Operation) $($_.Kind)\" }}", q.Root).AssertClean();
                Assert.Equal(new[] { "CutAfterSender InfoTrailingBytes", "Quarantine StrayFile", "ResetOwnerAndMode MessWrongOwner" },
                    r.Output.Select(o => o.ToString()).OrderBy(x => x, StringComparer.Ordinal));
            }
        }

        /// <summary>Each kind of finding belongs to exactly one family of rules, which plans its repair.</summary>
        [Fact]
        public void Every_kind_of_finding_has_one_rule_family_that_plans_its_repair()
        {
            var owners = QmailPS.Check.Rules.RuleBook.Owners; // building it throws on a kind claimed twice
            var missing = Enum.GetValues<QueueIssueKind>().Where(k => !owners.ContainsKey(k)).ToList();
            Assert.True(missing.Count == 0, "no family plans: " + string.Join(", ", missing));
            Assert.Equal(7, owners.Values.Select(o => o.Family).Distinct().Count());
        }

        private sealed class Declining : IRepairObserver
        {
            private readonly RepairOperation _no;
            public Declining(RepairOperation no) { _no = no; }
            public List<RepairStep> Asked { get; } = new List<RepairStep>();
            public bool Stopping => false;
            public bool ShouldRun(RepairStep step, int index, int count) { Asked.Add(step); return step.Operation != _no; }
            public void Done(RepairStep step, string? quarantined) { }
            public void NothingLeft(RepairStep step) { }
            public void Failed(RepairStep step, Exception error) => throw error;
            public void Planned(int pass, int steps) { }
            public void NotRepaired(QueueIssue issue, string why) { }
            public void Conflict(string conflict) { }
            public void Warning(string text) { }
            public void Note(string text) { }
            public void Stale(QueueIssue old, int now) { }
        }
    }
}
