using System;
using System.Collections.Generic;
using QmailPS.Check.Repair;

namespace QmailPS.Check.Rules
{
    /// <summary>
    /// Which family of rules owns each kind of finding, and so plans its repair: every
    /// QueueIssueKind belongs to exactly one family (a test holds the module to it).
    /// </summary>
    internal static class RuleBook
    {
        public static readonly IReadOnlyDictionary<QueueIssueKind, (string Family, Action<QueueIssue, IRepairPlanner> Plan)> Owners = Build();

        private static Dictionary<QueueIssueKind, (string, Action<QueueIssue, IRepairPlanner>)> Build()
        {
            var owners = new Dictionary<QueueIssueKind, (string, Action<QueueIssue, IRepairPlanner>)>();
            void Own(string family, QueueIssueKind[] kinds, Action<QueueIssue, IRepairPlanner> plan)
            {
                foreach (QueueIssueKind k in kinds)
                {
                    if (owners.TryGetValue(k, out var other)) throw new InvalidOperationException($"{k} belongs to both {other.Item1} and {family}");
                    owners[k] = (family, plan);
                }
            }
            Own(nameof(StructureRules), StructureRules.Kinds, StructureRules.Plan);
            Own(nameof(NameRules), NameRules.Kinds, NameRules.Plan);
            Own(nameof(AccessRules), AccessRules.Kinds, AccessRules.Plan);
            Own(nameof(MessRules), MessRules.Kinds, MessRules.Plan);
            Own(nameof(InfoRules), InfoRules.Kinds, InfoRules.Plan);
            Own(nameof(TodoRules), TodoRules.Kinds, TodoRules.Plan);
            Own(nameof(ChannelRules), ChannelRules.Kinds, ChannelRules.Plan);
            return owners;
        }

        /// <summary>The repair of finding <paramref name="i"/>, as its rule family plans it.</summary>
        public static void Plan(QueueIssue i, IRepairPlanner p)
        {
            if (Owners.TryGetValue(i.Kind, out var owner)) owner.Plan(i, p);
            else p.NotRepaired(i, "this version does not repair it");
        }
    }
}
