using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.ExceptionServices;
using System.Text;
using System.Threading;
using QmailPS.Check.Repair;
using QmailPS.Check.Rules;
using QmailPS.Posix;
using QmailPS.Queue;

namespace QmailPS.Check
{
    /// <summary>A repair that cannot go ahead as planned (a target occupied by another message).</summary>
    internal sealed class RepairConflictException : IOException
    {
        public RepairConflictException(string message) : base(message) { }
    }

    /// <summary>
    /// Turns findings into an ordered plan and carries it out (queue-format.md §3.3). Every change
    /// goes through IFileSystem, so tests can cut it short at any write; every step leaves a state in
    /// which qmail sees each message exactly once, and a new run finishes what a killed one began.
    /// Nothing is deleted that could be mail: it goes to the quarantine. The only unlinks are of
    /// names that are hard links of a file that stays (renumbering), and the files qmail-send itself
    /// would unlink before redoing a todo entry.
    /// </summary>
    internal sealed partial class QueueRepairer : IRepairPlanner
    {
        private static readonly string[] MessageFiles = { "mess", "info", "local", "remote", "bounce", "todo", "intd" };

        private readonly QueueLayout _l;
        private readonly RecordingFileSystem _p;
        private readonly Quarantine _q;
        private readonly uint? _qmailGid;

        /// <param name="convertTodoLayout">The admin said which todo layout the qmail binaries use (Repair-QmailQueue
        /// -TodoLayout): <paramref name="layout"/>.BigTodo is that layout, and todo/ and intd/ are converted to it.</param>
        public QueueRepairer(QueueLayout layout, IFileSystem posix, string quarantinePath, string recoverySender = "", bool convertTodoLayout = false)
        {
            _l = layout;
            _p = new RecordingFileSystem(posix);
            _q = new Quarantine(quarantinePath, layout.Root, _p);
            _qmailGid = posix.LookupGroup(QmailUsers.QmailGroup);
            RecoverySender = recoverySender;
            _convert = convertTodoLayout;
        }

        private readonly bool _convert;

        /// <summary>
        /// Renumberings per batch (<see cref="RunBatches"/>); tests make it small to cut between batches.
        /// Each batch costs one fsync per directory per phase; on a 95,890-message copy 1,000 a batch took
        /// 11.7 s, 5,000 10.3 s. Ctrl+C begins no further member, and those begun finish (two phases of
        /// at most this many links, renames and unlinks, well under a second here).
        /// </summary>
        public int RenumberBatchSize { get; set; } = 5000;

        /// <summary>Why a requested todo layout conversion was refused (nothing of it is planned then).</summary>
        public List<string> Conflicts { get; } = new List<string>();

        public string QuarantinePath => _q.Root;

        /// <summary>
        /// The envelope sender given to a message recovered without its info (ChannelWithoutInfo):
        /// the queue no longer has it, so '' (the null sender: a failure goes to the postmaster as a
        /// double bounce) unless the admin names one. Checked like qmail-queue checks an address.
        /// </summary>
        public string RecoverySender { get; }

        /// <summary>Findings this version leaves alone, with the reason (reported, never silently skipped).</summary>
        public List<(QueueIssue Issue, string Why)> NotRepaired { get; } = new List<(QueueIssue, string)>();

        private string P(string dir, ulong id) => _l.PathOf(dir, id);
        private bool Exists(string path) => Exists(path, out _);

        /// <summary>
        /// lstat. While planning, and while a batch of renumberings runs (nothing else changes the
        /// queue's directories then), through one descriptor per directory, opened safely by the
        /// seam: one statx per name instead of an openat2, a statx and a close (issue 14: a 100,000-message
        /// renumbering made about 30 lstats per message). Outside those scopes, by path as before.
        /// </summary>
        private bool Exists(string path, out FileStatus st)
        {
            if (_ahead is Dictionary<string, (bool, FileStatus)> ahead && ahead.TryGetValue(path, out var seen) && !_p.Changed(path))
            {
                st = seen.Item2;
                return seen.Item1;
            }
            Dictionary<string, DirectoryHandle?>? dirs = _dirs;
            if (dirs != null)
            {
                string dir = Path.GetDirectoryName(path)!;
                DirectoryHandle? h;
                lock (dirs) // a batch's workers share the descriptors (RunBatches)
                    if (!dirs.TryGetValue(dir, out h)) dirs[dir] = h = _p.TryOpenDirectory(dir, out _);
                if (h != null) return h.TryStat(Path.GetFileName(path), out st, out _);
            }
            return _p.TryLstat(path, out st, out _);
        }

        private Dictionary<string, DirectoryHandle?>? _dirs;

        /// <summary>
        /// lstats made ahead, on <see cref="Workers"/> threads, for the names planning looks at for
        /// every misnumbered message (<see cref="StatAhead"/>); only while planning, which writes
        /// nothing (a name this run has written is looked at again all the same). One at a time,
        /// those three lstats a message took a 100,000-message plan 1.3 s on one CPU (issue 14).
        /// </summary>
        private Dictionary<string, (bool, FileStatus)>? _ahead;

        /// <summary>Fills <see cref="_ahead"/> with the lstats of <paramref name="paths"/>, made on <see cref="Workers"/> threads.</summary>
        private void StatAhead(List<string> paths)
        {
            var seen = new (bool, FileStatus)[paths.Count];
            OnThreads(paths.Count, Workers, i => seen[i] = (Exists(paths[i], out FileStatus st), st));
            var ahead = new Dictionary<string, (bool, FileStatus)>(paths.Count, StringComparer.Ordinal);
            for (int i = 0; i < paths.Count; i++) ahead[paths[i]] = seen[i];
            _ahead = ahead;
        }

        /// <summary>
        /// Exists, for the names a renumbering looks at (<see cref="BeginRenumber"/>): a name its
        /// directory did not list when this run first looked there, and that this run has not
        /// written since (<see cref="RecordingFileSystem.Changed"/>), is absent without a statx.
        /// Most of a message's names at both numbers do not exist, and each statx of one is a
        /// directory search: a third of the kernel time of a 100,000-message renumbering (issue 14).
        /// Sound for these names only: while a message is renumbered, nothing but this run makes or
        /// removes a file numbered FROM or TO. qmail-send is stopped (lock/sendmutex); qmail-queue
        /// numbers its files by the inode of the one it has just made, links mess first, and removes
        /// only its own: TO is the inode of mess/FROM, so never a new file's, and a link to mess/FROM
        /// fails while that name exists. Any other check (a name that may have appeared since the
        /// inspection) keeps its statx.
        /// </summary>
        private bool ExistsListed(string kind, ulong id, out FileStatus st)
        {
            if (Listed(kind, id) == false) { st = default; return false; }
            return Exists(P(kind, id), out st);
        }

        /// <summary>
        /// Whether the name was in its directory's listing (<see cref="ExistsListed"/>), when this
        /// run has not written it since; null when that cannot tell (not listable, or written).
        /// </summary>
        private bool? Listed(string kind, ulong id)
        {
            string path = P(kind, id), dir = Path.GetDirectoryName(path)!;
            ulong[]? listed;
            lock (_listed)
                if (!_listed.TryGetValue(dir, out listed))
                {
                    List<DirEntry>? names = _p.Changed(dir) ? null : _p.TryList(dir, new List<DirEntry>(), out _);
                    if (names != null)
                    {
                        var ids = new List<ulong>(names.Count);
                        foreach (DirEntry e in names) if (e.IsCanonical) ids.Add(e.Id);
                        listed = ids.ToArray();
                        Array.Sort(listed);
                    }
                    _listed[dir] = listed;
                }
            if (listed is null || _p.Changed(path) || _p.Changed(dir)) return null;
            return Array.BinarySearch(listed, id) >= 0;
        }

        /// <summary>Canonical names of a directory as first listed by this run (sorted); null: not listable, or changed by this run before that.</summary>
        private readonly Dictionary<string, ulong[]?> _listed = new Dictionary<string, ulong[]?>(StringComparer.Ordinal);

        /// <summary>Directory descriptors for <see cref="Exists(string, out FileStatus)"/> until disposed (nested scopes share the outer one).</summary>
        private IDisposable DirectoryScope()
        {
            if (_dirs != null) return new Scope(null);
            _dirs = new Dictionary<string, DirectoryHandle?>(StringComparer.Ordinal);
            return new Scope(() =>
            {
                foreach (DirectoryHandle? h in _dirs.Values) h?.Dispose();
                _dirs = null;
            });
        }

        /// <summary>
        /// A batch's reads and writes, until it completes, through one descriptor per directory
        /// (opened safely the first time): its lstats (<see cref="DirectoryScope"/>) and its links,
        /// renames, unlinks and fsyncs (<see cref="IFileSystem.HoldDirectories"/>), instead of an
        /// openat2 and a close of the parent for each (about 24 a message, issue 14). Nothing else
        /// changes those directories meanwhile; one moved away or swapped for a symlink is not
        /// followed: the descriptor stays on the directory the batch began with.
        /// </summary>
        private IDisposable BatchScope()
        {
            IDisposable reads = DirectoryScope(), writes = _p.HoldDirectories();
            return new Scope(() => { writes.Dispose(); reads.Dispose(); });
        }

        /// <summary>Releases what a batch holds (<see cref="BatchScope"/>); once, whoever calls first.</summary>
        private static void EndScope(RenumberBatch batch)
        {
            batch.Scope?.Dispose();
            batch.Scope = null;
        }

        private sealed class Scope : IDisposable
        {
            private Action? _end;
            public Scope(Action? end) { _end = end; }
            public void Dispose() { _end?.Invoke(); _end = null; }
        }

        // ------------------------------------------------------------------ planning

        public List<RepairStep> Plan(IEnumerable<QueueIssue> issues)
        {
            using (DirectoryScope())
                try { return PlanCore(issues); }
                finally { _ahead = null; }
        }

        private List<RepairStep> PlanCore(IEnumerable<QueueIssue> issues)
        {
            var all = issues.Where(i => i.QueuePath == _l.Root).ToList();
            var plan = _plan = new List<RepairStep>();
            var last = _last = new List<RepairStep>();
            var done = _done = new HashSet<string>(StringComparer.Ordinal);

            // 0. The todo layout (vanilla ⇄ big-todo) is the admin's to say: without -TodoLayout the
            //    findings are reported, once; with it the conversion is planned from what is on disk,
            //    so it also completes one a crash cut short.
            List<QueueIssue> layoutIssues = all.Where(i => i.Kind == QueueIssueKind.BigTodoMismatch).ToList();
            all = all.Where(i => i.Kind != QueueIssueKind.BigTodoMismatch).ToList();
            Conversion? conversion = null;
            if (_convert) conversion = PlanConversion();
            else if (layoutIssues.Count > 0)
                NotRepaired.Add((layoutIssues[0], "moving todo/ and intd/ files between the vanilla and the big-todo layout needs to know which one the installed qmail binaries use: " +
                    "run Repair-QmailQueue -TodoLayout Vanilla or -TodoLayout BigTodo" + (layoutIssues.Count > 1 ? $" ({layoutIssues.Count - 1} more finding(s) of this kind)" : "")));
            if (conversion != null)
            {
                // Findings on files the conversion moves are planned at the files' new names.
                all = all.Select(i => i.Id.HasValue && conversion.Moves.TryGetValue(i.Path, out string? to)
                    ? new QueueIssue(i.Kind, i.Severity, i.Id, to, i.Description, i.Fix, i.QueuePath) : i).ToList();
            }

            // 1. Structure: directories, then lock files (files need their directories).
            foreach (QueueIssue i in all.Where(i => i.Id is null).OrderBy(i => i.Path.Count(c => c == '/')))
            {
                if (!_convert && layoutIssues.Count > 0 && IsTodoSplitDir(i.Path) && i.Kind == QueueIssueKind.DirectoryMissing)
                {
                    // Between layouts: making more big-todo directories is half a conversion nobody asked for.
                    NotRepaired.Add((i, "the queue is between the vanilla and the big-todo layout: give -TodoLayout Vanilla or -TodoLayout BigTodo"));
                    continue;
                }
                if (_convert && IsTodoSplitDir(i.Path))
                {
                    if (conversion is null) { NotRepaired.Add((i, "the conversion of the todo layout is refused (see the error)")); continue; }
                    if (conversion.Dirs.Contains(i.Path) && i.Kind == QueueIssueKind.DirectoryMissing) continue; // created by the conversion
                }
                if (IsFileLevel(i.Kind)) continue; // planned with the files, below
                RuleBook.Plan(i, this);
            }
            if (conversion != null)
            {
                plan.AddRange(conversion.Steps);
                last.AddRange(conversion.Last);
            }

            // 2. Renumbering, in dependency order; findings on the ids it touches are its business.
            //    Old names left by an interrupted renumbering are cleared first: they free the numbers
            //    other messages may be moving to. Such a name is never renumbered a second time.
            var leftovers = new Dictionary<ulong, ulong>();
            List<QueueIssue> numbered = all.Where(i => i.Id.HasValue && (i.Kind == QueueIssueKind.ChannelWithoutInfo || i.Kind == QueueIssueKind.OrphanMess || i.Kind == QueueIssueKind.IdNotInode)).ToList();
            StatAhead(numbered.Select(i => i.Id!.Value).Distinct().SelectMany(id => new[] { P("mess", id), P("info", id) }).ToList());
            foreach (QueueIssue i in numbered)
                if (RenumberedTo(i.Id!.Value) is ulong to) leftovers[i.Id.Value] = to;
            //    A message with a file that shares its inode with a file outside the queue goes to the
            //    quarantine as it is (AccessRules), not renumbered first: a renumbering would link the
            //    outside file's inode once more, and -WhatIf would show a renumbering for a Danger
            //    finding. Planned before the renumberings, so its number is free for one moving there.
            var leftoverTargets = new HashSet<ulong>(leftovers.Values);
            foreach (QueueIssue i in all.Where(i => i.Kind == QueueIssueKind.SharedInode && i.Id is ulong s && !leftovers.ContainsKey(s) && !leftoverTargets.Contains(s)))
                if (done.Add(Planned(i))) PlanFile(i);
            var renumber = new Dictionary<ulong, ulong>();
            foreach (QueueIssue i in all.Where(i => i.Kind == QueueIssueKind.IdNotInode && i.Id.HasValue && !leftovers.ContainsKey(i.Id.Value) && !done.Contains("message|" + i.Id.Value)))
                if (Exists(P("mess", i.Id!.Value), out FileStatus st) && st.Inode != i.Id.Value) renumber[i.Id.Value] = st.Inode;
            var busy = new HashSet<ulong>(renumber.Keys.Concat(renumber.Values).Concat(leftovers.Keys).Concat(leftovers.Values));
            var targets = new HashSet<ulong>(renumber.Values); // Dictionary.ContainsValue is a scan: 100,000 of them took minutes
            RenumberBatch? batch = null;
            foreach (var kv in leftovers)
            {
                if (batch is null || batch.Members.Count >= RenumberBatchSize) batch = new RenumberBatch();
                Add(plan, RenumberStep(batch, RepairOperation.FinishRenumber, kv.Key, kv.Value));
            }
            //    A file of a message to be renumbered that qmail reaches only under another name (not
            //    canonical, or in another split directory) gets its canonical name first, so the
            //    renumbering carries it along: renamed after it, it was left at the old number, a stray
            //    that went to the quarantine with its recipients (or its sender, the message then
            //    recovered with the null one). A second name beside the canonical one goes as always.
            var namedBack = new HashSet<ulong>(); // their info comes back: nothing to recover
            foreach (QueueIssue i in all.Where(i => i.Kind is QueueIssueKind.NonCanonicalName or QueueIssueKind.WrongSplitDirectory && i.Id is ulong r && renumber.ContainsKey(r)))
            {
                if (!done.Add(Planned(i))) continue;
                int first = plan.Count;
                PlanFile(i);
                if (TopOf(i.Path) == "info" && plan.Skip(first).Any(s => s.Operation == RepairOperation.Rename)) namedBack.Add(i.Id!.Value);
            }
            //    Debris named after a target number (files of an old message whose mess is gone: a
            //    stray local, remote or bounce, an info, todo or intd without mess) would make that
            //    renumbering fail for ever, and its own fix is skipped below while the number is a
            //    target: it goes to the quarantine first. No mess at the target means none of it is a
            //    renumbering's own work, which always links mess first.
            //    A bounce/ file at a target is the exception: it belongs to the message moving there.
            foreach (QueueIssue i in all.Where(i => i.Id is ulong t && targets.Contains(t) && !renumber.ContainsKey(t) && !leftovers.ContainsKey(t)
                                                    && TopOf(i.Path) != "bounce"
                                                    && (IsOrphanedPart(i.Kind) || i.Kind is QueueIssueKind.InfoWithoutMess or QueueIssueKind.TodoWithoutMess)))
                if (!Exists(P("mess", i.Id!.Value)) && done.Add(Planned(i)))
                    PlanFile(i);
            //    A batch ends where a message would move to a number another of its messages leaves (or
            //    the reverse): that number is free only once the batch has unlinked the old names.
            batch = null;
            foreach (var (from, to) in RenumberOrder(renumber, all))
            {
                if (batch is null || batch.Members.Count >= RenumberBatchSize || batch.Touches(from, to)) batch = new RenumberBatch();
                Add(plan, RenumberStep(batch, RepairOperation.Renumber, from, to));
            }
            //    A renumbered message that had lost its info is recovered under its new number, once
            //    no other name of its files is left (RecoverInfo checks that when it runs).
            var recovering = new HashSet<ulong>();
            foreach (QueueIssue i in all.Where(i => i.Kind == QueueIssueKind.ChannelWithoutInfo && i.Id.HasValue && renumber.ContainsKey(i.Id.Value)))
            {
                ulong from = i.Id!.Value, to = renumber[from];
                if (namedBack.Contains(from)) continue; // its own info, under another name (renamed above): it comes back, sender and all
                if (RecoveryBlocked(from, out bool messUsable) != null || !messUsable || PendingRecipients(from) == 0) continue; // judged again under its new number
                if (recovering.Add(to)) Add(plan, Recovery(i, to, from, P("mess", from)));
            }
            //    A renumbering of a message without info that a kill cut short has left channel files at
            //    the target (and perhaps only mess at the old number): judged at the target. (A target
            //    that is to be renumbered itself holds a message of its own, judged above.)
            var renumberedFrom = renumber.ToDictionary(kv => kv.Value, kv => kv.Key);
            foreach (QueueIssue i in all.Where(i => i.Kind == QueueIssueKind.ChannelWithoutInfo && i.Id is ulong t && renumberedFrom.ContainsKey(t) && !renumber.ContainsKey(t) && !recovering.Contains(t)))
            {
                ulong to = i.Id!.Value, from = renumberedFrom[to];
                if (MisplacedInfo(from) != null || MisplacedInfo(to) != null) continue;
                // Its mess has two names until the renumbering before this step unlinks the old one
                // (RecoverInfo checks again when it runs).
                string? why = RecoveryBlocked(to, out bool messUsable);
                bool oldNameOnly = Exists(P("mess", to), out FileStatus mt) && mt.Links == 2 && Exists(P("mess", from), out FileStatus mf) && mf.Inode == mt.Inode;
                if (!messUsable || (why != null && !oldNameOnly) || PendingRecipients(to) == 0) continue;
                if (recovering.Add(to)) Add(plan, Recovery(i, to, from, P("mess", to)));
            }

            //    A stale todo that goes to the quarantine whole (TodoWithInfo) is not rewritten first:
            //    the rewrite would give it a new inode, and its intd would stay behind.
            _todoDiffers.Clear();
            foreach (QueueIssue i in all.Where(i => i.Kind == QueueIssueKind.TodoWithInfo && i.Severity == IssueSeverity.Danger && i.Id.HasValue))
                _todoDiffers[i.Path] = TodoDiffers(i.Path, i.Id!.Value);

            // 3. Per-file and per-message fixes; names first: a message whose info or todo only has
            //    the wrong name is whole again once renamed, so it is not judged incomplete meanwhile.
            foreach (QueueIssue i in all.Where(i => i.Id.HasValue && (i.Kind == QueueIssueKind.NonCanonicalName || i.Kind == QueueIssueKind.WrongSplitDirectory)))
                if (i.Severity != IssueSeverity.Danger && !Exists(P(TopOf(i.Path), i.Id!.Value))) busy.Add(i.Id.Value);
            //    Then whole-message quarantines, which make every other fix of that message moot.
            foreach (QueueIssue i in all.Where(i => i.Id.HasValue || IsFileLevel(i.Kind))
                                        .OrderBy(i => i.Kind == QueueIssueKind.NonCanonicalName || i.Kind == QueueIssueKind.WrongSplitDirectory ? 0
                                                    : IsWholeMessage(i.Kind) || (i.Kind == QueueIssueKind.Symlink && TopOf(i.Path) == "mess") ? 1 : 2))
            {
                if (i.Id.HasValue && done.Contains("message|" + i.Id.Value)) continue;
                bool naming = i.Kind == QueueIssueKind.NonCanonicalName || i.Kind == QueueIssueKind.WrongSplitDirectory;
                if (i.Id.HasValue && busy.Contains(i.Id.Value) && !naming && (IsWholeMessage(i.Kind) || IsOrphanedPart(i.Kind))) continue;
                if (i.Id.HasValue && renumber.ContainsKey(i.Id.Value) | targets.Contains(i.Id.Value) | leftovers.ContainsKey(i.Id.Value) && !naming) continue;
                if (i.Kind == QueueIssueKind.IdNotInode) continue;
                if (!done.Add(Planned(i))) continue;
                PlanFile(i);
            }
            plan.AddRange(last);
            return plan;
        }

        // ------------------------------------------------------------------ steps: made, described, applied

        /// <summary>Recovery of message ID (RENUMBEREDFROM: its number before this run's renumbering) without its info.</summary>
        private static RepairStep Recovery(QueueIssue i, ulong id, ulong? renumberedFrom, string mess) =>
            new RepairStep(RepairOperation.RecoverInfo, i.Kind, i.Severity, id, mess) { Reason = i.Description, RenumberedFrom = renumberedFrom };

        /// <summary>Adds a step with its -WhatIf text, made from the step.</summary>
        private void Add(List<RepairStep> plan, RepairStep step)
        {
            step.Action = PathName.Printable(Describe(step));
            plan.Add(step);
        }

        /// <summary>What -WhatIf says a step does: made from its operation and arguments only.</summary>
        internal string Describe(RepairStep s)
        {
            string rel = Rel(s.Path);
            string top = rel.Split('/')[0];
            ulong id = s.Id ?? 0;
            string layout = _l.BigTodo ? "big-todo" : "vanilla";
            switch (s.Operation)
            {
                case RepairOperation.CreateDirectory:
                    return $"Create {rel}/ ({DirShape(top)})" + (s.Kind == QueueIssueKind.BigTodoMismatch ? " for the big-todo layout" : "");
                case RepairOperation.ReplaceWithDirectory:
                    return s.Kind == QueueIssueKind.Symlink
                        ? $"Move the symbolic link {rel} (never what it points to) to the quarantine and create the directory ({DirShape(top)})"
                        : $"Move {rel} to the quarantine and create the directory ({DirShape(top)})";
                case RepairOperation.RemoveDirectory:
                    return s.Kind == QueueIssueKind.SplitDirectoryExtra
                        ? $"Remove {rel}, beyond the split ({_l.Split}), once its files have moved to their split directories"
                        : $"Remove {rel}/, a directory of the big-todo layout, once its files have moved to {top}/";
                case RepairOperation.CreateLockFile:
                    return $"Create {rel} as qmail's installer does";
                case RepairOperation.ReplaceLockFile:
                    return s.Kind == QueueIssueKind.Symlink ? $"Move the symbolic link {rel} (not its target) to the quarantine and create the lock file"
                        : s.Kind == QueueIssueKind.SharedInode ? $"Move {rel} (a hard link shared with a file outside the queue) to the quarantine and create it as qmail's installer does"
                        : $"Move {rel} to the quarantine and create it as qmail's installer does";
                case RepairOperation.ResetOwnerAndMode:
                    return $"Reset {rel}{(s.Id is null && top != "lock" ? "/" : "")} to {ShapeOf(s.Owner, s.KeepGroup)}";
                case RepairOperation.Quarantine:
                    if (s.Kind is QueueIssueKind.NonCanonicalName or QueueIssueKind.WrongSplitDirectory)
                        return s.Severity == IssueSeverity.Danger
                            ? $"Move the duplicate {rel} to the quarantine (qmail would deliver message {id} twice)"
                            : $"Move the second name {rel} to the quarantine ({Rel(s.Target!)} is the one qmail reads)";
                    if (s.Kind == QueueIssueKind.SharedInode) return $"Move {rel} (a hard link shared with a file outside the queue) to the quarantine";
                    return $"Move {rel} to the quarantine" + (s.Severity == IssueSeverity.Garbage && s.Kind is QueueIssueKind.OrphanMess or QueueIssueKind.StalePidFile ? " (qmail would delete it)" : "");
                case RepairOperation.QuarantineStaleTodo:
                    return $"Move the stale {rel} to the quarantine (message {id} was preprocessed and partly delivered; qmail-send would deliver its done recipients again)";
                case RepairOperation.QuarantineMessage:
                    return $"Move every file of message {id} to the quarantine, with its recipients listed in the manifest (qmail cannot deliver it as it is)";
                case RepairOperation.Rename:
                    return $"Rename {rel} to {Rel(s.Target!)}";
                case RepairOperation.MoveToLayout:
                    return s.Layout switch
                    {
                        LayoutMove.Move => $"Move {rel} to {Rel(s.Target!)} ({layout} layout)",
                        LayoutMove.UnlinkSecondName => $"Remove {rel}, a second name (hard link) of {Rel(s.Target!)} ({layout} layout)",
                        _ => $"Move {rel} to the quarantine: {Rel(s.Target!)} is another {top} file of message {id}, the one qmail with the {layout} layout reads",
                    };
                case RepairOperation.RewriteRecords:
                {
                    RecordFix fix = s.Records!.Fix;
                    var what = new List<string>();
                    if (fix.UnknownDropped > 0) what.Add($"leave out its {fix.UnknownDropped} record(s) of unknown type");
                    if (fix.Completed) what.Add($"complete its cut-off last record, {s.Records.Partial}, proven whole by {fix.ProvenBy}");
                    else if (fix.Partial != null) what.Add($"leave out its cut-off last record, {s.Records.Partial}, as qmail does (not proven whole: the cut may have made another address), its bytes kept in the manifest");
                    return fix.NothingLeft
                        ? $"Move {rel} to the quarantine: no complete record is left in it ({string.Join("; ", what)})"
                        : $"Rewrite {rel}: {string.Join("; ", what)} (original to the quarantine)";
                }
                case RepairOperation.CutAfterSender:
                    return $"Cut {rel} after its F record, keeping its mtime (the birth)";
                case RepairOperation.SetBirthToNow:
                    return $"Set the birth of message {id} (mtime of {rel}) to now";
                case RepairOperation.RecoverInfo:
                    return RecoveryAction(id, s.RenumberedFrom);
                case RepairOperation.Renumber:
                    return $"Renumber message {s.From} to {s.To} (its mess inode): move mess, info, local, remote, bounce, todo and intd together";
                case RepairOperation.FinishRenumber:
                    return $"Finish renumbering message {s.From} to {s.To}: remove the old names, which are hard links of message {s.To}'s files";
                default:
                    throw new ArgumentOutOfRangeException(nameof(s), s.Operation, "no such repair operation");
            }
        }

        /// <summary>
        /// Does what a step says. Returns where data was quarantined, if anywhere, or
        /// <see cref="RepairStep.NothingLeft"/> when its file was gone (or was no longer the one
        /// inspected) by then. A member of a batch run alone is begun, and the last one completes
        /// the batch; an executor calls <see cref="Begin"/> and <see cref="Complete"/> instead.
        /// </summary>
        internal string? Apply(RepairStep s)
        {
            // A fix of one file does nothing when the file is gone by the time it runs (another fix
            // of the same message moved it, or qmail-send finished it): never an error, never a guess.
            // Nor when the file is no longer the one inspected (another inode, type, size or mtime)
            // and this run did not change it: it is judged again by the next inspection, not from
            // what it was (a channel file empty then may hold a recipient now).
            if (s.OnlyIfUnchanged && (!Exists(s.Path) || (s.Seen is FileStatus then && !Unchanged(s.Path, then, s)))) return RepairStep.NothingLeft;
            string rel = Rel(s.Path);
            ulong id = s.Id ?? 0;
            string? to;
            switch (s.Operation)
            {
                case RepairOperation.CreateDirectory:
                    MakeDir(s.Path, rel.Split('/')[0]);
                    return null;
                case RepairOperation.ReplaceWithDirectory:
                    if (s.Kind == QueueIssueKind.Symlink && (!Exists(s.Path, out FileStatus now) || now.Kind != FileKind.Symlink)) return RepairStep.NothingLeft;
                    to = _q.Move(s.Path, s.Reason, null);
                    MakeDir(s.Path, rel.Split('/')[0]);
                    return to;
                case RepairOperation.RemoveDirectory:
                    // rmdir refuses a directory that is not empty: what is left in it is never lost.
                    if (Exists(s.Path))
                    {
                        _p.Rmdir(s.Path);
                        _p.FsyncDirectory(Path.GetDirectoryName(s.Path)!);
                    }
                    return null;
                case RepairOperation.CreateLockFile:
                    MakeLockFile(rel);
                    return null;
                case RepairOperation.ReplaceLockFile:
                    to = _q.Move(s.Path, s.Reason, null);
                    MakeLockFile(rel);
                    return to;
                case RepairOperation.ResetOwnerAndMode:
                    Reset(s.Path, s.Owner, s.KeepGroup);
                    return null;
                case RepairOperation.Quarantine:
                    return _q.Move(s.Path, s.Reason, s.Id);
                case RepairOperation.QuarantineStaleTodo:
                    return TodoDiffers(s.Path, id) is null ? MoveWithIntd(s.Path, id, s.Reason) : throw new RepairConflictException($"{rel} changed since it was inspected; not moved.");
                case RepairOperation.QuarantineMessage:
                    return QuarantineMessage(id, s.Reason);
                case RepairOperation.Rename:
                {
                    string canonical = s.Target!;
                    if (Exists(canonical)) return _q.Move(s.Path, "duplicate of " + canonical, s.Id); // appeared since: never overwrite
                    // rename(2) is atomic: never a moment with both names (qmail would queue the
                    // message twice) or neither. Nothing else creates this name meanwhile: qmail-send
                    // is stopped and held off by lock/sendmutex, and qmail-queue only makes new ids.
                    _p.Rename(s.Path, canonical);
                    _p.FsyncDirectory(Path.GetDirectoryName(canonical)!);
                    _p.FsyncDirectory(Path.GetDirectoryName(s.Path)!);
                    return null;
                }
                case RepairOperation.MoveToLayout:
                    return MoveToLayout(id, s.Path, s.Target!);
                case RepairOperation.RewriteRecords:
                    return ApplyRecords(s);
                case RepairOperation.CutAfterSender:
                    return Rewrite(s.Path, id, "F", true, s.Reason);
                case RepairOperation.SetBirthToNow:
                {
                    long t = UnixTime.Now;
                    _p.SetTimes(s.Path, t, t);
                    return null;
                }
                case RepairOperation.RecoverInfo:
                    RecoverInfo(id);
                    return null;
                case RepairOperation.Renumber:
                case RepairOperation.FinishRenumber:
                    return ApplyAlone(s);
                default:
                    throw new ArgumentOutOfRangeException(nameof(s), s.Operation, "no such repair operation");
            }
        }

        /// <summary>
        /// Moves a todo to the quarantine with the intd qmail-queue linked it from (same inode), intd
        /// first as qmail-clean does: left behind, that intd would share its inode with the
        /// quarantine's copy, and no queue file may share one with a file outside the queue.
        /// </summary>
        private string MoveWithIntd(string todo, ulong id, string reason)
        {
            string intd = _l.PairOf(todo) ?? P("intd", id);
            if (Exists(todo, out FileStatus t) && Exists(intd, out FileStatus n) && n.Inode == t.Inode && n.Device == t.Device)
                _q.Move(intd, reason, id);
            return _q.Move(todo, reason, id);
        }

        /// <summary>True when the file is the one inspected, or this run changed it itself; otherwise a warning says why the step is skipped.</summary>
        private bool Unchanged(string path, FileStatus then, RepairStep step)
        {
            if (_p.Changed(path) || !Exists(path, out FileStatus now)) return true;
            if (now.Device == then.Device && now.Inode == then.Inode && now.Kind == then.Kind && now.Size == then.Size
                && now.MTimeSeconds == then.MTimeSeconds && now.MTimeNanoseconds == then.MTimeNanoseconds) return true;
            Warnings.Add($"Skipped '{step.Action}': {PathName.Printable(path)} changed after it was inspected " +
                $"(inode {then.Inode} → {now.Inode}, {then.Size} → {now.Size} bytes, mtime {then.MTimeUtc:o} → {now.MTimeUtc:o}); run Test-QmailQueue again.");
            return false;
        }

        private string TopOf(string path) => path.Substring(_l.Root.Length + 1).Split('/')[0];

        /// <summary>Findings that only mean "its message is elsewhere": moot while that message is being moved.</summary>
        private static bool IsOrphanedPart(QueueIssueKind k) => k is QueueIssueKind.OrphanMess or QueueIssueKind.StrayFile
            or QueueIssueKind.StaleBounce or QueueIssueKind.IntdWithoutMess;

        private static bool IsFileLevel(QueueIssueKind k) => k is QueueIssueKind.NonNumericName or QueueIssueKind.StalePidFile or QueueIssueKind.LockDirectoryExtraEntry or QueueIssueKind.SharedInode;

        /// <summary>What <c>_done</c> holds once a finding is planned: a whole-message finding counts once per message.</summary>
        private static string Planned(QueueIssue i) => i.Kind + "|" + i.Path + "|" + (IsWholeMessage(i.Kind) ? i.Id.ToString() : "");

        private static bool IsWholeMessage(QueueIssueKind k) => k is QueueIssueKind.InfoWithoutMess or QueueIssueKind.TodoWithoutMess or QueueIssueKind.ChannelWithoutInfo or QueueIssueKind.MessEmpty
            or QueueIssueKind.InfoBad or QueueIssueKind.TodoEmpty or QueueIssueKind.TodoWithoutSender or QueueIssueKind.SharedInode;

        /// <summary>Orders renumbers so a target id is free before a message moves there; cycles and occupied targets are reported.</summary>
        private IEnumerable<(ulong From, ulong To)> RenumberOrder(Dictionary<ulong, ulong> map, List<QueueIssue> all)
        {
            var state = new Dictionary<ulong, int>(); // 1 visiting, 2 done
            var order = new List<(ulong, ulong)>();
            bool Visit(ulong from)
            {
                if (state.TryGetValue(from, out int s)) return s == 2;
                state[from] = 1;
                ulong to = map[from];
                if (map.ContainsKey(to) && !Visit(to))
                {
                    NotRepaired.Add((all.First(i => i.Id == from && i.Kind == QueueIssueKind.IdNotInode),
                        $"message {from} must move to {to}, which message {to} occupies and cannot leave (a cycle); move one of them by hand"));
                    state[from] = 2;
                    return false;
                }
                order.Add((from, to)); // after the message occupying its target has moved out
                state[from] = 2;
                return true;
            }
            foreach (ulong from in map.Keys.OrderBy(x => x)) Visit(from);
            return order;
        }

        /// <summary>Stale todo files (TodoWithInfo, Danger) → how they differ from info and the channel files, null when they do not (then they go whole).</summary>
        private readonly Dictionary<string, string?> _todoDiffers = new Dictionary<string, string?>(StringComparer.Ordinal);

        private void PlanFile(QueueIssue i)
        {
            int first = _plan.Count;
            RuleBook.Plan(i, this);
            // A fix of one file does nothing when the file is gone by the time it runs, or is no
            // longer the one inspected (RepairStep.OnlyIfUnchanged); a whole message's move looks
            // at every file of the message when it runs.
            for (int k = first; k < _plan.Count; k++)
            {
                RepairStep p = _plan[k];
                if (p.Operation == RepairOperation.QuarantineMessage) continue;
                p.OnlyIfUnchanged = true;
                p.Seen = Exists(p.Path, out FileStatus then) ? then : (FileStatus?)null;
            }
        }

        // ------------------------------------------------------------------ what the rules' Plan may use (IRepairPlanner)

        private List<RepairStep> _plan = new List<RepairStep>(), _last = new List<RepairStep>();
        private HashSet<string> _done = new HashSet<string>(StringComparer.Ordinal);

        string IRepairPlanner.Rel(string path) => Rel(path);
        string IRepairPlanner.PathOf(string dir, ulong id) => P(dir, id);
        bool IRepairPlanner.Exists(string path) => Exists(path);
        bool IRepairPlanner.IsRegularFile(string path) => Exists(path, out FileStatus st) && st.Kind == FileKind.Regular;
        bool IRepairPlanner.HasTodo(ulong id) => HasTodo(id);
        void IRepairPlanner.Add(RepairStep step) => Add(_plan, step);
        void IRepairPlanner.AddLast(RepairStep step) => Add(_last, step);
        void IRepairPlanner.QuarantineMessage(QueueIssue i) => PlanWholeMessage(i);
        void IRepairPlanner.RecoverOrQuarantine(QueueIssue i) => PlanChannelWithoutInfo(i);
        void IRepairPlanner.NotRepaired(QueueIssue i, string why) => NotRepaired.Add((i, why));

        void IRepairPlanner.RewriteRecords(QueueIssue i, string types)
        {
            // One step per file, whichever of its findings comes first: cut and unknown records are
            // judged together, so the file is rewritten once and converges. A stale todo that goes
            // to the quarantine whole is not rewritten first (its intd would stay behind).
            if (!_done.Add("records|" + i.Path)) return;
            if (TopOf(i.Path) == "todo" && _todoDiffers.TryGetValue(i.Path, out string? stale) && stale is null) return;
            PlanRecords(i, _plan, i.Id ?? 0, types);
        }

        void IRepairPlanner.StaleTodo(QueueIssue i)
        {
            // It goes only when it holds exactly the envelope that info/ and the channel files hold:
            // otherwise which envelope is the true one is the postmaster's call.
            string? differs = _todoDiffers.TryGetValue(i.Path, out string? known) ? known : TodoDiffers(i.Path, i.Id!.Value);
            if (differs != null) NotRepaired.Add((i, $"which of todo/ and info/ is the true envelope is the postmaster's call: {differs}"));
            else Add(_plan, RepairStep.For(RepairOperation.QuarantineStaleTodo, i));
        }

        private void PlanWholeMessage(QueueIssue i)
        {
            if (!_done.Add("message|" + i.Id!.Value)) return;
            Add(_plan, RepairStep.For(RepairOperation.QuarantineMessage, i));
        }

        /// <summary>
        /// Every file of message ID to the quarantine, mess first (unlike a deletion's order): if the
        /// run is killed part way, what is left (info, todo, channels, intd or bounce without mess)
        /// is a finding the next run moves too, and qmail-send only defers it. Left last, a lone mess
        /// would be a young orphan, which the next run leaves alone and qmail-send deletes after 36 h:
        /// the body lost (found by RepairCrashTests, "info missing" killed at write 7, "todo empty" at 6).
        /// </summary>
        private string? QuarantineMessage(ulong id, string description)
        {
            string reason = description + " Recipients: " + DescribeRecipients(id);
            string? first = null;
            foreach (string dir in MessageEditor.RemovalOrder.Where(d => d == "mess").Concat(MessageEditor.RemovalOrder.Where(d => d != "mess")))
                foreach (string path in dir is "todo" or "intd" ? new[] { P(dir, id), _l.OtherLayoutPath(dir, id) } : new[] { P(dir, id) })
                {
                    // A message's files are where either todo layout puts them; a directory is never one.
                    if (!Exists(path, out FileStatus st) || st.Kind == FileKind.Directory) continue;
                    string to = _q.Move(path, reason, id);
                    first ??= to;
                }
            return first;
        }

        // ------------------------------------------------------------------ recovering a message without info

        /// <summary>
        /// mess + local/remote, no info, no todo: qmail-send never sees the message and its recipients
        /// are silently dropped (queue-format.md §3.2). When the bytes allow it, the message is given
        /// back to qmail-send with a new info file; only a message with nothing left to deliver goes
        /// to the quarantine, as before.
        /// </summary>
        private void PlanChannelWithoutInfo(QueueIssue i)
        {
            ulong id = i.Id!.Value;
            string? refuse = RecoveryBlocked(id, out bool messUsable);
            if (refuse != null)
            {
                NotRepaired.Add((i, refuse));
                _done.Add("message|" + id);
                return;
            }
            if (!messUsable || PendingRecipients(id) == 0) { PlanWholeMessage(i); return; }
            if (!_done.Add("recover|" + id)) return;
            Add(_plan, Recovery(i, id, null, i.Path));
        }

        /// <summary>The -WhatIf text of a recovery: exactly what <see cref="RecoverInfo"/> writes.</summary>
        private string RecoveryAction(ulong id, ulong? renumberedFrom)
        {
            string info = Rel(P("info", id)), mess = Rel(P("mess", id));
            string sender = RecoverySender.Length == 0
                ? "the null sender <> (the original sender is lost: a failure notice goes to the postmaster as a double bounce)"
                : $"the sender <{RecoverySender}> (from -RecoverySender)";
            string from = renumberedFrom.HasValue ? $" (message {renumberedFrom} once renumbered)" : "";
            return $"Recover message {id}{from}: re-create {info} with {sender} and the mtime of {mess} as its birth, so qmail-send delivers its pending recipients; done recipients stay done";
        }

        /// <summary>
        /// Why a message without info must not be recovered now (null: it may be). A name left by an
        /// interrupted renumbering, or a mess file with a second name, is another message's file:
        /// giving it an info would make qmail-send deliver that message twice.
        /// </summary>
        private string? RecoveryBlocked(ulong id, out bool messUsable)
        {
            messUsable = false;
            if (!Exists(P("mess", id), out FileStatus m)) return null;
            if (RenumberedTo(id) is ulong to)
                return $"its files are the old names of message {to} (an interrupted renumbering); run Repair-QmailQueue on the whole queue to finish it";
            // root's too: cp -r (or a restore without owners) gives every file to root; the
            // MessWrongOwner fix planned beside the recovery gives it back to qmailq.
            messUsable = m.Kind == FileKind.Regular && _p.LookupUser(QmailUsers.Qmailq) is { } q && (m.Uid == q.Uid || m.Uid == 0);
            if (messUsable && m.Links != 1)
                return $"{Rel(P("mess", id))} has {m.Links} names (a renumbering or re-split in progress?): giving it an info could make qmail-send deliver it twice; run Repair-QmailQueue on the whole queue";
            return null;
        }

        /// <summary>T records in the message's channel files; a cut-off last T only when proven whole (then its completion is planned too).</summary>
        private int PendingRecipients(ulong id)
        {
            int n = 0;
            foreach (string k in new[] { "local", "remote" })
            {
                string path = P(k, id);
                if (!Exists(path, out FileStatus st) || st.Kind != FileKind.Regular) continue;
                RecordScan recs;
                try { recs = ScanFile(path, "TD", null); } catch (IOException) { continue; }
                n += (int)Math.Min(int.MaxValue - n, recs.Pending);
                // A cut-off T counts only when the repair completes it (proven whole).
                if (recs.TruncatedRecipient && recs.TruncatedLength == recs.Truncated!.Length)
                {
                    string partial = RecordRules.Latin1.GetString(recs.Truncated, 1, recs.Truncated.Length - 1);
                    if (RecordRules.ProvenWhole(partial, ProvenAddresses(id, path, partial), out _)) n++;
                }
            }
            return n;
        }

        /// <summary>todo/ID in either layout's place (never a directory: big-todo's todo/N is not message N's todo).</summary>
        /// <summary>
        /// Null when the todo file holds the same sender and the same recipients (as a multiset) as
        /// info/ and the channel files, done or not; else what differs. qmail-send's preprocessing
        /// may rewrite an address (virtualdomains): such a message differs, and is left alone.
        /// </summary>
        private string? TodoDiffers(string todoPath, ulong id)
        {
            try
            {
                string? todoSender = null, infoSender = null;
                var wanted = new List<string>();
                ScanFile(todoPath, "upFT", (s, type, b, off, n, at) =>
                {
                    if (type == 'F') todoSender ??= Convert.ToBase64String(b, off, n);
                    else if (type == 'T') wanted.Add(Convert.ToBase64String(b, off, n));
                });
                ScanFile(P("info", id), "F", (s, type, b, off, n, at) => infoSender ??= Convert.ToBase64String(b, off, n));
                if (todoSender is null || todoSender != infoSender) return "the senders differ";
                wanted.Sort(StringComparer.Ordinal);
                var queued = new List<string>();
                foreach (string k in new[] { "local", "remote" })
                {
                    if (!Exists(P(k, id))) continue;
                    ScanFile(P(k, id), "TD", (s, type, b, off, n, at) => queued.Add(Convert.ToBase64String(b, off, n)));
                }
                queued.Sort(StringComparer.Ordinal);
                return wanted.SequenceEqual(queued) ? null : "the recipients differ";
            }
            catch (IOException e) { return "they cannot be compared (" + e.Message + ")"; }
        }

        private bool HasTodo(ulong id) =>
            (Exists(P("todo", id), out FileStatus a) && a.Kind != FileKind.Directory) || (Exists(_l.OtherLayoutPath("todo", id), out FileStatus b) && b.Kind != FileKind.Directory);

        /// <summary>
        /// Writes info/N/ID = F&lt;sender&gt;\0 (qmails:qmail 0600, like qmail-send's todo_do) with the mess
        /// mtime as birth (now if that is in the future), so queuelifetime counts from the original
        /// injection. Crash-safe: a name qmail ignores, fsync, owner, times, then one rename makes the
        /// message visible; every condition is checked again first, as a rerun may find it done.
        /// </summary>
        private void RecoverInfo(ulong id)
        {
            string info = P("info", id), mess = P("mess", id);
            if (Exists(info) || HasTodo(id)) return;                                    // visible already
            if (RecoveryBlocked(id, out bool messUsable) != null || !messUsable) return; // not (or no longer) safe
            if (PendingRecipients(id) == 0) return;
            if (!Exists(mess, out FileStatus m)) return;
            (uint Uid, uint Gid) qmails = _p.LookupUser(QmailUsers.Qmails) ?? throw new IOException("The user qmails does not exist: info cannot be given qmail-send's owner.");
            long now = UnixTime.Now;
            long birth = m.MTimeSeconds > now ? now : m.MTimeSeconds;
            string dir = Path.GetDirectoryName(info)!;
            string temp = Path.Combine(dir, "." + Path.GetFileName(info) + ".qmailps-new");
            if (Exists(temp)) _q.Move(temp, "left by an interrupted repair", id);
            _p.WriteNewFile(temp, QueueRecords.EncodeInfo(QueueRecords.EncodeAddress(RecoverySender)), Mode.Rw_______);
            _p.Lchown(temp, qmails.Uid, _qmailGid ?? qmails.Gid);
            _p.SetTimes(temp, birth, birth);
            _p.Rename(temp, info);
            _p.FsyncDirectory(dir);
        }

        /// <summary>The path relative to the queue root ("." for the root itself).</summary>
        private string Rel(string path) => path.Length > _l.Root.Length ? path.Substring(_l.Root.Length + 1) : ".";

        // ------------------------------------------------------------------ todo layout (§8.1 big-todo)

        /// <summary>What converting todo/ and intd/ to the layout of _l takes, as found on disk.</summary>
        private sealed class Conversion
        {
            /// <summary>mkdir of the split directories (big-todo), then one rename per file.</summary>
            public List<RepairStep> Steps { get; } = new List<RepairStep>();
            /// <summary>rmdir of the big-todo directories (vanilla), once empty.</summary>
            public List<RepairStep> Last { get; } = new List<RepairStep>();
            /// <summary>Directories the conversion creates or removes.</summary>
            public HashSet<string> Dirs { get; } = new HashSet<string>(StringComparer.Ordinal);
            /// <summary>Files it moves: old path to new path.</summary>
            public Dictionary<string, string> Moves { get; } = new Dictionary<string, string>(StringComparer.Ordinal);
        }

        private static readonly string[] TodoDirs = { "intd", "todo" };

        /// <summary>todo/N or intd/N (N a number): a directory of the big-todo layout.</summary>
        private bool IsTodoSplitDir(string path)
        {
            if (path.Length <= _l.Root.Length + 1) return false;
            string[] parts = Rel(path).Split('/');
            return parts.Length == 2 && (parts[0] == "todo" || parts[0] == "intd") && parts[1].Length > 0 && parts[1].All(c => c >= '0' && c <= '9');
        }

        private FileKind KindOf(string dir, DirEntry e) =>
            e.Kind != FileKind.Unknown ? e.Kind : Exists(dir + "/" + e.Name, out FileStatus st) ? st.Kind : FileKind.Unknown;

        /// <summary>
        /// Vanilla → big-todo: create todo/0…split-1 and intd/0…split-1 (qmail's installer's owners and
        /// modes), then rename each todo/ID and intd/ID to …/ID%split/ID. Big-todo → vanilla: rename
        /// each todo/N/ID and intd/N/ID to todo/ID and intd/ID, then remove the empty N directories.
        /// rename(2) is atomic, so a message is never under both names nor under neither, and every
        /// step is idempotent: a rerun after a crash finishes the job. Refused as a whole (Conflicts)
        /// when a message's name is the name of a directory the other layout needs.
        /// </summary>
        private Conversion? PlanConversion()
        {
            var c = new Conversion();
            var moves = new List<(ulong Id, string Dir, string From, string To)>();
            foreach (string d in TodoDirs)
            {
                string top = _l.Dir(d);
                List<DirEntry>? entries = _p.TryList(top, new List<DirEntry>(), out _);
                if (entries is null) continue; // a missing or broken todo/: the structure fixes
                if (_l.BigTodo)
                {
                    foreach (DirEntry e in entries)
                    {
                        if (!e.IsCanonical || KindOf(top, e) != FileKind.Regular) continue; // names and foreign types: their own fixes
                        if (e.Id < (ulong)_l.Split)
                            Conflicts.Add($"{d}/{e.Id} is the {d} file of message {e.Id}, and the big-todo layout needs a directory of that name: move message {e.Id} out of the queue by hand first");
                        else moves.Add((e.Id, d, top + "/" + e.Name, _l.PathOf(d, e.Id)));
                    }
                    for (int n = 0; n < _l.Split; n++)
                    {
                        string dir = _l.SplitDir(d, n);
                        if (Exists(dir)) continue; // something else there: the structure fixes report it
                        c.Dirs.Add(dir);
                        Add(c.Steps, new RepairStep(RepairOperation.CreateDirectory, QueueIssueKind.BigTodoMismatch, IssueSeverity.Stuck, null, dir));
                    }
                }
                else
                {
                    foreach (DirEntry k in entries)
                    {
                        if (!k.IsNumeric || KindOf(top, k) != FileKind.Directory) continue;
                        string dir = top + "/" + k.Name;
                        List<DirEntry>? inside = _p.TryList(dir, new List<DirEntry>(), out _);
                        foreach (DirEntry e in inside ?? new List<DirEntry>())
                        {
                            if (!e.IsCanonical || KindOf(dir, e) != FileKind.Regular) continue;
                            string to = _l.PathOf(d, e.Id);
                            if (Exists(to, out FileStatus t) && t.Kind == FileKind.Directory)
                                Conflicts.Add($"{Rel(dir)}/{e.Id} is the {d} file of message {e.Id}, and the vanilla layout needs that name, where the directory {Rel(to)}/ is: move message {e.Id} out of the queue by hand first");
                            else moves.Add((e.Id, d, dir + "/" + e.Name, to));
                        }
                        c.Dirs.Add(dir);
                        Add(c.Last, new RepairStep(RepairOperation.RemoveDirectory, QueueIssueKind.BigTodoMismatch, IssueSeverity.Stuck, null, dir));
                    }
                }
            }
            if (Conflicts.Count > 0) return null;
            // Per message: intd first, then todo, the name qmail-send reads; the message is whole in the new layout from that rename on.
            foreach (var m in moves.OrderBy(m => m.Id).ThenBy(m => m.Dir == "todo" ? 1 : 0))
            {
                c.Moves[m.From] = m.To;
                LayoutMove how = !Exists(m.To, out FileStatus t) ? LayoutMove.Move
                    : Exists(m.From, out FileStatus f) && f.Inode == t.Inode && f.Device == t.Device ? LayoutMove.UnlinkSecondName : LayoutMove.Quarantine;
                Add(c.Steps, new RepairStep(RepairOperation.MoveToLayout, QueueIssueKind.BigTodoMismatch, IssueSeverity.Stuck, m.Id, m.From) { Target = m.To, Layout = how });
            }
            return c;
        }

        /// <summary>One file to its place in the new layout. Never overwrites: the same file under both
        /// names loses the extra one (a hard link), a different one goes to the quarantine.</summary>
        private string? MoveToLayout(ulong id, string from, string to)
        {
            if (!Exists(from, out FileStatus f)) return null; // moved already
            string toDir = Path.GetDirectoryName(to)!;
            if (!Exists(toDir, out FileStatus ds) || ds.Kind != FileKind.Directory) // never into a symbolic link
                throw new IOException($"{Rel(toDir)} is not a directory: {Rel(from)} cannot move there. Repair the directory first.");
            if (Exists(to, out FileStatus t))
            {
                if (t.Inode == f.Inode && t.Device == f.Device)
                {
                    _p.Unlink(from); // rename(2) would keep both names of one inode
                    _p.FsyncDirectory(Path.GetDirectoryName(from)!);
                    return null;
                }
                return _q.Move(from, $"{Rel(from)} and {Rel(to)} are two different files of message {id}; qmail with the {(_l.BigTodo ? "big-todo" : "vanilla")} layout reads only {Rel(to)}", id);
            }
            _p.Rename(from, to);
            _p.FsyncDirectory(Path.GetDirectoryName(to)!);
            _p.FsyncDirectory(Path.GetDirectoryName(from)!);
            return null;
        }

        // ------------------------------------------------------------------ renumbering (§3.3)

        /// <summary>
        /// Moves message OLD to NEW (its mess inode). The step that moves the message's identity is a
        /// single rename of info (or of todo for an unprocessed message): before it qmail sees only
        /// OLD, after it only NEW. The other files are hard-linked first and their old names removed
        /// after, so no moment has a message without its files.
        /// </summary>
        /// <summary>
        /// Moves every file of message FROM to the number TO, together and as they are: the
        /// message's own state (a stale todo beside info and D marks included) is judged by the rules
        /// under its new number, never decided here by dropping an envelope file — unlinking info and
        /// the channel files because a todo exists made every delivered recipient pending again.
        /// Order: hard links of mess, intd, channel files and bounce at the new number; an info found
        /// in another split directory first put where qmail looks for it; then info and todo renamed
        /// (the switch: from here the message is TO); then the old names of the linked files unlinked.
        /// A bounce/ file already at TO belongs to the message moving there (nothing else has that
        /// number): it is kept, and an old one of its own is appended to it.
        /// </summary>
        private void BeginRenumber(RenumberBatch batch, RepairStep step)
        {
            ulong from = step.From, to = step.To;
            // Each name at both numbers is looked at once (a 100,000-message renumbering pays for every lstat).
            var seen = new Dictionary<string, (bool Old, FileStatus O, bool New, FileStatus N)>(MessageFiles.Length, StringComparer.Ordinal);
            bool messLinked = false; // mess/TO is a link of mess/FROM: an earlier run began this renumbering
            foreach (string k in MessageFiles)
            {
                string target = P(k, to);
                // With nothing at TO, the old name's status is never compared: its listing says enough
                // (a link of a name gone meanwhile fails, and the member with it).
                bool t = ExistsListed(k, to, out FileStatus ns);
                FileStatus os = default;
                bool s = !t && Listed(k, from) is bool listed ? listed : Exists(P(k, from), out os);
                seen[k] = (s, os, t, ns);
                if (k == "mess") messLinked = s && t && os.Inode == ns.Inode && os.Device == ns.Device;
                if (t && !(s && os.Inode == ns.Inode && os.Device == ns.Device))
                {
                    if (k is "info" or "todo" && !s && Exists(P("mess", to))) continue; // switched already
                    // Killed while it unlinked the old names of a message without info or todo (nothing
                    // to switch): the name at TO is the link it made, its old name already gone.
                    if (!s && messLinked) continue;
                    if (k == "bounce") continue; // the message's own failure notices: merged below
                    throw new RepairConflictException($"Cannot renumber message {from} to {to}: {Rel(target)} belongs to another message. Repair that one first.");
                }
            }
            bool putBack = false;
            if (!seen["info"].Old && MisplacedInfo(from) is string elsewhere)
            {
                putBack = true;
                _p.Rename(elsewhere, P("info", from));
                _p.FsyncDirectory(Path.GetDirectoryName(P("info", from))!);
                _p.FsyncDirectory(Path.GetDirectoryName(elsewhere)!);
            }
            HashSet<string> dirs = batch.Linked;
            void LinkIfNeeded(string k)
            {
                if (!seen[k].Old || seen[k].New) return;
                string target = P(k, to);
                _p.Link(P(k, from), target);
                lock (dirs) dirs.Add(Path.GetDirectoryName(target)!);
            }
            foreach (string k in new[] { "mess", "intd", "local", "remote" }) LinkIfNeeded(k);
            var (hasOld, ob, hasNew, nb) = seen["bounce"];
            if (hasOld && hasNew && (ob.Inode != nb.Inode || ob.Device != nb.Device))
            {
                // Both hold failure notices of this message: qmail-send appends to bounce/ID, so one file with both says all of them.
                _p.Append(P("bounce", to), _p.ReadFile(P("bounce", from)));
            }
            else LinkIfNeeded("bounce");

            // What the later phases need to know, as seen here: which old names are links of the
            // new ones now, and which exist at all (nothing but this run changes them meanwhile, see
            // ExistsListed), so they neither look again nor search a directory for a name not there.
            int linked = 0, old = 0;
            for (int i = 0; i < MessageFiles.Length; i++)
            {
                var (o, os2, n, ns2) = seen[MessageFiles[i]];
                if (MessageFiles[i] == "info" && putBack) o = true;
                if (o) old |= 1 << i;
                if (o && (!n || (os2.Inode == ns2.Inode && os2.Device == ns2.Device))) linked |= 1 << i;
            }
            step.Begun = new RenumberFacts(linked, old);
        }

        /// <summary>Bits of <see cref="MessageFiles"/>.</summary>
        private static int Bit(string kind) => 1 << Array.IndexOf(MessageFiles, kind);

        /// <summary>A renumbering in <paramref name="batch"/>, which starts a new one where the plan says.</summary>
        private RepairStep RenumberStep(RenumberBatch batch, RepairOperation op, ulong from, ulong to)
        {
            var step = new RepairStep(op, QueueIssueKind.IdNotInode, IssueSeverity.Danger, from, P("mess", from)) { From = from, To = to };
            batch.Add(step);
            return step;
        }

        /// <summary>info/M/ID in a split directory other than ID's own (the only copy of the sender), or null.</summary>
        private string? MisplacedInfo(ulong id)
        {
            string own = P("info", id);
            List<DirEntry>? splits = _p.TryList(_l.Dir("info"), new List<DirEntry>(), out _);
            if (splits is null) return null;
            foreach (DirEntry d in splits)
            {
                if (!d.IsCanonical) continue;
                string path = _l.Dir("info") + "/" + d.Name + "/" + id.ToString(CultureInfo.InvariantCulture);
                if (path != own && Exists(path, out FileStatus st) && st.Kind == FileKind.Regular) return path;
            }
            return null;
        }

        /// <summary>The message now lives at NEW: a new run reaches here for the names OLD still has.</summary>
        private ulong? RenumberedTo(ulong from)
        {
            if (!Exists(P("mess", from), out FileStatus m) || m.Inode == from) return null;
            if (Exists(P("info", from)) || HasTodo(from)) return null;
            ulong to = m.Inode;
            if (!Exists(P("mess", to), out FileStatus n) || n.Inode != m.Inode) return null;
            return Exists(P("info", to)) || HasTodo(to) ? to : (ulong?)null;
        }

        /// <summary>Unlinks (or quarantines) the old names; with <paramref name="dirs"/> the fsyncs are left to the caller, one per directory.</summary>
        private string? FinishRenumber(ulong from, ulong to, HashSet<string>? dirs = null, RenumberFacts? begun = null)
        {
            string? quarantined = null;
            foreach (string k in new[] { "local", "remote", "bounce", "intd", "mess" })
            {
                string source = P(k, from);
                if (begun is RenumberFacts f && (f.Old & Bit(k)) == 0) continue; // none when begun
                if (begun is RenumberFacts g && (g.Linked & Bit(k)) != 0) { UnlinkName(source, dirs); continue; } // a link of the new name when begun
                if (!UnlinkLink(source, P(k, to), dirs)) // true when there is no such old name
                    lock (_q) quarantined ??= _q.Move(source, $"left under the old number {from} after message {from} became {to}, but it is not the same file as {_l.RelOf(k, to)}", from);
            }
            return quarantined;
        }

        /// <summary>Unlinks OLD only when it is the same inode as NEW (a hard link): nothing is lost.</summary>
        private bool UnlinkLink(string oldName, string newName, HashSet<string>? dirs = null)
        {
            if (!Exists(oldName, out FileStatus o)) return true;
            if (!Exists(newName, out FileStatus n) || n.Inode != o.Inode || n.Device != o.Device) return false;
            UnlinkName(oldName, dirs);
            return true;
        }

        /// <summary>Unlinks a name known to be a second link; its directory is fsync'ed now, or added to <paramref name="dirs"/> for the caller.</summary>
        private void UnlinkName(string name, HashSet<string>? dirs)
        {
            _p.Unlink(name);
            if (dirs != null) lock (dirs) dirs.Add(Path.GetDirectoryName(name)!);
            else _p.FsyncDirectory(Path.GetDirectoryName(name)!);
        }

        // ------------------------------------------------------------------ records

        /// <summary>Warnings a run owes the postmaster (a cut address left out): the cmdlet writes them.</summary>
        public List<string> Warnings { get; } = new List<string>();

        /// <summary>
        /// Cut and unknown records of one todo or channel file (RecordRules), judged from one read
        /// of it a window at a time; the plan keeps a digest of its bytes, not the bytes, and the
        /// step refuses to run when the file changed meanwhile.
        /// </summary>
        private void PlanRecords(QueueIssue i, List<RepairStep> plan, ulong id, string types)
        {
            RecordScan scan;
            byte[] digest;
            try { scan = ScanFile(i.Path, types, null, out digest); }
            catch (IOException e) { NotRepaired.Add((i, "it cannot be read (" + e.Message + ")")); return; }
            if (scan.Oversized > 0) { NotRepaired.Add((i, $"it has a record longer than {RecordScan.MaxRecord} bytes, which no address is; move it aside by hand")); return; }
            RecordFix fix = RecordRules.Judge(scan, types, partial => ProvenAddresses(id, i.Path, partial), partial => HasRecipient(i.Path, types, partial));
            if (fix.ChangesNothing) return;
            string partial = fix.Partial is null ? "" : RecordRules.Show(fix.Partial) + (fix.PartialLength > fix.Partial.Length ? $" (first {fix.Partial.Length} of {fix.PartialLength} bytes)" : "");
            Add(plan, new RepairStep(RepairOperation.RewriteRecords, i.Kind, i.Severity, id, i.Path) { Reason = i.Description, Records = new RecordRepair(types, fix, digest, partial) });
        }

        /// <summary>What a RewriteRecords step does: the file moved whole, one NUL appended in place, or the file written again.</summary>
        private string? ApplyRecords(RepairStep step)
        {
            RecordRepair r = step.Records!;
            RecordFix fix = r.Fix;
            ulong id = step.Id ?? 0;
            string rel = Rel(step.Path);
            string reason = step.Reason + (fix.Partial != null ? " Cut-off record: " + r.Partial + (fix.Completed ? " (completed: proven whole by " + fix.ProvenBy + ")" : " (left out: not proven whole)") + "." : "");
            string? to;
            if (fix.NothingLeft || fix.AppendNulOnly)
            {
                ScanFile(step.Path, r.Types, null, out byte[] now);
                if (!now.SequenceEqual(r.Digest)) throw new RepairConflictException($"{rel} changed since it was inspected; not rewritten.");
                if (fix.NothingLeft) to = _q.Move(step.Path, reason, id);
                else
                {
                    to = _q.SaveCopyOf(step.Path, reason, id);
                    _p.Append(step.Path, new byte[] { 0 }, _l.PairOf(step.Path));
                }
            }
            else to = RewriteRecords(step.Path, id, r.Types, false, fix.Completed ? fix.Partial : null, reason, r.Digest);
            if (fix.Partial != null && !fix.Completed)
                Warnings.Add($"Message {id}: the cut-off record {r.Partial} of {rel} is left out, as qmail-send leaves it out; if that recipient should get the message, queue it again for them. Its bytes are in the quarantine manifest.");
            return to;
        }

        /// <summary>
        /// Reads PATH a window at a time through the seam and scans its records: memory stays one
        /// window whatever the file's size. <paramref name="digest"/> is the SHA-256 of its bytes.
        /// </summary>
        private RecordScan ScanFile(string path, string types, RecordScan.Visitor? visit, out byte[] digest)
        {
            using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
            RecordScan scan = ScanFile(path, types, visit, (b, n) => sha.AppendData(b, 0, n));
            digest = sha.GetHashAndReset();
            return scan;
        }

        private byte[] _window = Array.Empty<byte>();

        private RecordScan ScanFile(string path, string types, RecordScan.Visitor? visit, Action<byte[], int>? raw = null)
        {
            int fd = _p.OpenExisting(path, write: false, out int errno, noAtime: true);
            if (fd < 0) throw Errno.ToException(errno, "open", path);
            try
            {
                if (!_p.TryFstat(fd, out FileStatus st, out errno)) throw Errno.ToException(errno, "fstat", path);
                if (st.Kind != FileKind.Regular) throw new IOException($"{path} is not a regular file.");
                // One buffer for every read (never nested): a small file costs what it holds.
                byte[] window = _window.Length >= DirectoryHandle.Window || _window.Length > st.Size ? _window
                    : _window = new byte[(int)Math.Min(DirectoryHandle.Window, Math.Max(4096, st.Size + 1))];
                var scan = new RecordScan(types, visit);
                for (long at = 0; ;)
                {
                    int n = _p.ReadAt(fd, window, 0, window.Length, at, out errno);
                    if (n < 0) { if (errno == Errno.EINTR) continue; throw Errno.ToException(errno, "read", path); }
                    if (n == 0) break;
                    raw?.Invoke(window, n);
                    scan.Feed(window, 0, n);
                    at += n;
                }
                scan.End();
                return scan;
            }
            finally { _p.Close(fd); }
        }

        /// <summary>Whether PATH holds a complete recipient record (pending or done) for ADDRESS.</summary>
        private bool HasRecipient(string path, string types, string address)
        {
            bool found = false;
            byte[] want = RecordRules.Latin1.GetBytes(address);
            ScanFile(path, types, (s, type, b, off, n, at) =>
            {
                if (found || (type != 'T' && type != 'D') || n != want.Length) return;
                found = RecordRules.Latin1.GetString(b, off, n).Equals(address, StringComparison.OrdinalIgnoreCase);
            });
            return found;
        }

        /// <summary>
        /// Addresses known whole for message ID that equal or extend <paramref name="partial"/> (what
        /// RecordRules.ProvenWhole weighs), with where each was found: the recipient headers of its
        /// mess, and every other copy of its envelope (todo, intd, the other channel file).
        /// </summary>
        private Dictionary<string, string> ProvenAddresses(ulong id, string except, string partial)
        {
            var proven = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            void Add(string a, string where)
            {
                if (a.StartsWith(partial, StringComparison.OrdinalIgnoreCase) && !proven.ContainsKey(a)) proven[a] = where;
            }
            foreach (string k in new[] { "todo", "intd", "local", "remote" })
                foreach (string path in k is "todo" or "intd" ? new[] { P(k, id), _l.OtherLayoutPath(k, id) } : new[] { P(k, id) })
                {
                    if (path == except || !Exists(path, out FileStatus st) || st.Kind != FileKind.Regular) continue;
                    string where = Rel(path);
                    try
                    {
                        ScanFile(path, "upFTD", (s, type, b, off, n, at) =>
                        {
                            if ((type == 'T' || type == 'D') && n >= partial.Length) Add(RecordRules.Latin1.GetString(b, off, n), where);
                        });
                    }
                    catch (IOException) { }
                }
            string mess = P("mess", id);
            if (Exists(mess, out FileStatus ms) && ms.Kind == FileKind.Regular)
            {
                try
                {
                    using DirectoryHandle dir = _p.TryOpenDirectory(Path.GetDirectoryName(mess)!, out int derr) ?? throw Errno.ToException(derr, "open directory", Path.GetDirectoryName(mess)!);
                    byte[] head = new byte[4096];
                    int n = dir.TryReadFile(Libc.PathBytes(Path.GetFileName(mess)), ref head, out _, out _, 64 << 10, noAtime: true);
                    if (n > 0)
                        foreach (string a in RecordRules.HeaderAddresses(head, n)) Add(a, "the headers of " + Rel(mess));
                }
                catch (IOException) { }
            }
            return proven;
        }

        /// <summary>
        /// Replaces a file with only its records of known types (info: only the first F), keeping
        /// its owner, mode and mtime. See <see cref="RewriteRecords"/>.
        /// </summary>
        private string? Rewrite(string path, ulong id, string types, bool firstOnly, string reason)
        {
            if (!Exists(path, out FileStatus st) || st.Kind != FileKind.Regular) return null;
            return RewriteRecords(path, id, types, firstOnly, null, reason, null);
        }

        /// <summary>
        /// Writes PATH's records of TYPES (only the first with <paramref name="firstOnly"/>, then
        /// <paramref name="append"/> with its NUL) to a new file beside it under a name qmail ignores,
        /// a window at a time, with the same owner, mode and mtime; saves the old bytes in the
        /// quarantine and renames the new file over the old one. When the bytes read no longer have
        /// the plan's <paramref name="expected"/> digest the new file goes and nothing changes.
        /// </summary>
        private string? RewriteRecords(string path, ulong id, string types, bool firstOnly, byte[]? append, string reason, byte[]? expected)
        {
            if (!Exists(path, out FileStatus st) || st.Kind != FileKind.Regular) return null;
            string temp = Path.Combine(Path.GetDirectoryName(path)!, "." + Path.GetFileName(path) + ".qmailps-new");
            if (Exists(temp)) _q.Move(temp, "left by an interrupted repair", id);
            using var pending = new MemoryStream();
            bool created = false, stop = false;
            void Flush(bool last)
            {
                if (!created) _p.WriteNewFile(temp, pending.ToArray(), st.Permissions, fsync: last);
                else _p.Append(temp, pending.ToArray());
                created = true;
                pending.SetLength(0);
            }
            RecordScan scan = ScanFile(path, types, (s, type, b, off, n, at) =>
            {
                if (stop) return;
                pending.WriteByte(type);
                pending.Write(b, off, n);
                pending.WriteByte(0);
                if (firstOnly) stop = true;
                if (pending.Length >= DirectoryHandle.Window) Flush(false);
            }, out byte[] digest);
            if (scan.Oversized > 0 || (expected != null && !digest.SequenceEqual(expected)))
            {
                if (created) _q.Move(temp, "written by a repair that found the file changed", id);
                throw new RepairConflictException(scan.Oversized > 0
                    ? $"{Rel(path)} has a record longer than {RecordScan.MaxRecord} bytes; not rewritten."
                    : $"{Rel(path)} changed since it was inspected; not rewritten.");
            }
            if (append != null) { pending.Write(append, 0, append.Length); pending.WriteByte(0); }
            Flush(true);
            string saved = _q.SaveCopyOf(path, reason, id);
            _p.Lchown(temp, st.Uid, st.Gid);
            _p.SetTimes(temp, st.ATimeSeconds, st.MTimeSeconds);
            _p.Rename(temp, path);
            _p.FsyncDirectory(Path.GetDirectoryName(path)!);
            return saved;
        }

        private string DescribeRecipients(ulong id)
        {
            var list = new List<string>();
            // The sender too: with it the manifest holds the whole envelope, enough to queue the mail again.
            foreach (string path in new[] { P("info", id), P("todo", id), _l.OtherLayoutPath("todo", id) })
            {
                if (!Exists(path, out FileStatus fs) || fs.Kind != FileKind.Regular) continue;
                string? sender = null;
                try { ScanFile(path, "upFT", (s, type, b, off, n, at) => { if (type == 'F') sender ??= Encoding.UTF8.GetString(b, off, n); }); } catch (IOException) { continue; }
                if (sender != null) { list.Add("sender:<" + sender + ">"); break; }
            }
            foreach (string k in new[] { "local", "remote", "todo" })
            {
                string path = P(k, id);
                if (k == "todo" && !Exists(path)) path = _l.OtherLayoutPath(k, id);
                if (!Exists(path, out FileStatus st) || st.Kind != FileKind.Regular) continue;
                try
                {
                    ScanFile(path, "TDupF", (s, type, b, off, n, at) =>
                    {
                        if (type == 'T' || type == 'D') list.Add((type == 'D' ? "done:" : "") + k + ":" + Encoding.UTF8.GetString(b, off, n));
                    });
                }
                catch (IOException) { continue; }
            }
            return list.Count == 0 ? "(none readable)" : string.Join(", ", list);
        }

        // ------------------------------------------------------------------ structure

        private string DirShape(string top) => ShapeOf(QueueLayout.DirectoryOwner(top));
        private static string ShapeOf((string Owner, uint Mode) o, bool keepGroup = false) =>
            keepGroup ? $"{o.Owner} {"0" + Convert.ToString(o.Mode, 8)}, keeping its group" : $"{o.Owner}:qmail {"0" + Convert.ToString(o.Mode, 8)}";

        private void MakeDir(string path, string top)
        {
            if (!Exists(path)) _p.Mkdir(path, QueueLayout.DirectoryOwner(top).Mode);
            Reset(path, QueueLayout.DirectoryOwner(top));
            _p.FsyncDirectory(Path.GetDirectoryName(path)!);
        }

        private void MakeLockFile(string rel)
        {
            string path = _l.Root + "/" + rel;
            var (owner, mode) = StructureRules.LockOwner(rel);
            if (!Exists(path))
            {
                if (rel == "lock/trigger") _p.Mkfifo(path, mode);
                else _p.WriteNewFile(path, rel == "lock/tcpto" ? new byte[1024] : new byte[0], mode);
            }
            Reset(path, (owner, mode));
        }

        /// <summary>lchown (never follows a symlink) and fchmod on an O_NOFOLLOW descriptor.</summary>
        private void Reset(string path, (string Owner, uint Mode) want, bool keepGroup = false)
        {
            if (!Exists(path, out FileStatus st)) return;
            if (st.Kind == FileKind.Symlink) throw new IOException($"{path} is a symbolic link; not changing it.");
            uint? uid = _p.LookupUser(want.Owner)?.Uid;
            if (uid.HasValue && (st.Uid != uid.Value || (!keepGroup && _qmailGid.HasValue && st.Gid != _qmailGid.Value)))
                _p.Lchown(path, uid.Value, keepGroup ? st.Gid : _qmailGid ?? st.Gid, _l.PairOf(path));
            if (st.Permissions != want.Mode) _p.ChmodNoFollow(path, want.Mode, _l.PairOf(path));
        }
    }
}
