using QmailPS.Check.Repair;
using System.Collections.Generic;

namespace QmailPS.Check.Rules
{
    /// <summary>
    /// Names qmail reaches only through the canonical one (queue-format.md §1.4, §3.2 "file in the
    /// wrong split dir", "non-canonical name", big-todo vs vanilla). qmail-send finds messages by
    /// reading info/ (an alias there is a second message: delivered twice) and todo/ (each name
    /// opens the canonical file, so a second name only warns for ever); every other file it opens
    /// by the canonical name alone, so an alias beside it is never read.
    /// </summary>
    internal static class NameRules
    {
        /// <param name="rel">The name found (relative to the queue).</param>
        /// <param name="canonical">The name qmail uses for message <paramref name="id"/>.</param>
        /// <param name="twin">The canonical file exists too.</param>
        public static Finding NonCanonical(string rel, string top, ulong id, string canonical, bool twin)
        {
            (IssueSeverity sev, string what) = !twin
                ? (IssueSeverity.Stuck, $"{rel} is not the canonical name of message {id}: qmail looks only at {canonical} and never sees it.")
                : top == "info" ? (IssueSeverity.Danger, $"{rel} is another name of message {id} beside {canonical}: qmail-send queues the message twice and delivers it twice.")
                : top == "todo" ? (IssueSeverity.Stuck, $"{rel} is another name of message {id} beside {canonical}: qmail-send preprocesses {canonical} once, then warns 'unable to open {canonical}' at every scan for the alias, which it never removes.")
                : (IssueSeverity.Garbage, $"{rel} is another name beside {canonical}: qmail opens {canonical} only and never reads it.");
            return new Finding(QueueIssueKind.NonCanonicalName, sev, rel, what, twin ? "Compare the two and quarantine the alias." : "Rename it to its canonical name.");
        }

        public static Finding Misplaced(string rel, string top, ulong id, string canonical, bool twin) =>
            new Finding(QueueIssueKind.WrongSplitDirectory, twin && top == "info" ? IssueSeverity.Danger : IssueSeverity.Stuck, rel,
                twin ? $"{rel} is in the wrong split directory and {canonical} exists too: qmail-send queues message {id} twice."
                     : $"{rel} is in the wrong split directory: qmail looks for {canonical} and silently ignores message {id} (no delivery, no bounce, no log line).",
                twin ? "Compare the two and quarantine the misplaced copy." : $"Move it to {canonical}.");

        /// <summary>A todo or intd file in the place the other todo layout uses (big-todo's todo/N/ID in a vanilla queue, or the reverse).</summary>
        public static Finding OtherLayout(string rel, string dir, ulong id, string canonical, bool bigTodo, string fix) =>
            new Finding(QueueIssueKind.BigTodoMismatch, dir == "todo" ? IssueSeverity.Stuck : IssueSeverity.Cosmetic, rel,
                dir == "todo"
                    ? $"{rel} is where {(bigTodo ? "vanilla" : "big-todo")} qmail-queue puts message {id}'s envelope, but this queue has the {(bigTodo ? "big-todo" : "vanilla")} layout: qmail-send looks for {canonical} and never preprocesses the message."
                    : $"{rel} is where {(bigTodo ? "vanilla" : "big-todo")} qmail-queue writes, but this queue has the {(bigTodo ? "big-todo" : "vanilla")} layout: qmail-clean removes {canonical}, never it.",
                fix);

        /// <summary>What converts the todo layout, with {0} for the canonical name.</summary>
        public static string LayoutFix(bool bigTodo) =>
            $"Convert the queue to the layout the installed qmail binaries use: Repair-QmailQueue -TodoLayout {(bigTodo ? "BigTodo" : "Vanilla")} moves it to {{0}}; -TodoLayout {(bigTodo ? "Vanilla" : "BigTodo")} converts the other way.";

        public static readonly QueueIssueKind[] Kinds =
            { QueueIssueKind.NonCanonicalName, QueueIssueKind.WrongSplitDirectory, QueueIssueKind.NonNumericName, QueueIssueKind.StrayFile, QueueIssueKind.BigTodoMismatch };

        /// <summary>
        /// A file only under a name qmail does not reach is renamed to the canonical one (rename(2):
        /// never both names, never neither); a second name of a file qmail reads, or a duplicate qmail
        /// would deliver twice, goes to the quarantine. Names that are no message number, and files
        /// of messages that are gone, are left-overs. Between todo layouts, the conversion is the
        /// repairer's (with -TodoLayout).
        /// </summary>
        public static void Plan(QueueIssue i, IRepairPlanner p)
        {
            switch (i.Kind)
            {
                case QueueIssueKind.NonCanonicalName:
                case QueueIssueKind.WrongSplitDirectory:
                {
                    string canonical = p.PathOf(p.Rel(i.Path).Split('/')[0], i.Id!.Value);
                    var op = i.Severity == IssueSeverity.Danger || p.Exists(canonical) ? RepairOperation.Quarantine : RepairOperation.Rename;
                    var step = RepairStep.For(op, i);
                    step.Target = canonical;
                    p.Add(step);
                    break;
                }
                case QueueIssueKind.NonNumericName:
                case QueueIssueKind.StrayFile:
                    p.Add(RepairStep.For(RepairOperation.Quarantine, i));
                    break;
                case QueueIssueKind.BigTodoMismatch:
                    break;
            }
        }
    }
}
