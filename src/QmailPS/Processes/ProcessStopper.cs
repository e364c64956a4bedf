using System;
using System.Collections.Generic;
using System.Threading;
using QmailPS.Posix;

namespace QmailPS.Processes
{
    /// <summary>Is the pid still the process that was listed?</summary>
    internal enum Identity
    {
        /// <summary>Same pid, same start time, not yet exited.</summary>
        Same,
        /// <summary>No such pid any more, or it has exited (a zombie waiting for its parent).</summary>
        Gone,
        /// <summary>The pid belongs to a process with another start time: the listed one ended and the pid was reused.</summary>
        Reused,
    }

    /// <summary>One process being stopped: its identity (pid + start time) and, where the kernel has them, a pidfd.</summary>
    internal sealed class TrackedProcess : IDisposable
    {
        internal TrackedProcess(int pid, ulong startTicks, int parentId, int depth, int pidfd)
        {
            ProcessId = pid; StartTicks = startTicks; ParentId = parentId; Depth = depth; PidFd = pidfd;
        }

        public int ProcessId { get; }
        public ulong StartTicks { get; }
        public int ParentId { get; }
        /// <summary>0 for the qmail process itself, 1 for its children, …</summary>
        public int Depth { get; }
        /// <summary>-1 when pidfds are unavailable (Linux &lt; 5.3, seccomp): signals then go by pid after a start-time check.</summary>
        internal int PidFd { get; private set; }
        public bool Ended { get; internal set; }
        public bool GotKill { get; internal set; }

        public void Dispose()
        {
            ProcNative.Close(PidFd);
            PidFd = -1;
        }
    }

    /// <summary>The result of one signal.</summary>
    internal readonly struct SignalResult
    {
        public SignalResult(bool sent, bool gone, int errno) { Sent = sent; Gone = gone; Errno = errno; }
        public bool Sent { get; }
        /// <summary>The process had already ended (or its pid had been reused): nothing was signalled.</summary>
        public bool Gone { get; }
        /// <summary>Non-zero when the kernel refused the signal (EPERM: not ours).</summary>
        public int Errno { get; }
    }

    /// <summary>
    /// Signals processes without ever hitting the wrong one. The identity of a process is its pid
    /// plus its start time (/proc/PID/stat field 22): it is re-read right before every signal and a
    /// mismatch means "pid reused", never signalled. Where the kernel offers pidfds, the process is
    /// opened once (and the start time checked after opening), and every signal goes through the
    /// pidfd, which cannot reach a later holder of the pid at all. Without pidfds, kill(2) follows
    /// the start-time check, leaving only the microseconds between the two as a window.
    /// </summary>
    internal sealed class ProcessStopper
    {
        private readonly ProcTable _proc;
        private readonly IFileSystem _posix;
        private bool _pidFdWorks;

        public ProcessStopper(ProcTable proc, IFileSystem posix, bool usePidFd = true)
        {
            _proc = proc;
            _posix = posix;
            _pidFdWorks = usePidFd;
        }

        public bool UsesPidFd => _pidFdWorks;

        public Identity Check(int pid, ulong startTicks)
        {
            ProcStat? st = _proc.ReadStat(pid);
            if (st is null) return Identity.Gone;
            if (st.Value.StartTicks != startTicks) return Identity.Reused;
            return st.Value.HasExited ? Identity.Gone : Identity.Same;
        }

        /// <summary>
        /// The rule for "this is qmail's program <paramref name="name"/>":
        /// the base name of /proc/PID/exe (without the kernel's " (deleted)" mark) must equal the name.
        /// Only when exe cannot be read (EACCES/EPERM: another user's process without privileges)
        /// must both the kernel's comm and argv[0]'s base name equal it. An interpreter running a
        /// script called qmail-…, a symlink qmail-… → something else, and exec -a are all refused.
        /// </summary>
        public bool IsQmailExecutable(int pid, string name, out string detail)
        {
            string? exe = _proc.ReadExecutable(pid, out int errno);
            if (exe != null)
            {
                string bn = QmailProgramNames.ExecutableBaseName(exe);
                detail = $"executable {exe}";
                return string.Equals(bn, name, StringComparison.Ordinal);
            }
            if (errno == Errno.EACCES || errno == Errno.EPERM)
            {
                ProcStat? st = _proc.ReadStat(pid);
                string[] argv = _proc.ReadCommandLine(pid);
                string comm = st?.Comm ?? "";
                string a0 = argv.Length > 0 ? QmailProgramNames.BaseName(argv[0]) : "";
                detail = $"executable unreadable ({Errno.QmailText(errno)}); comm '{comm}', argv[0] '{a0}'";
                return comm == name && a0 == name;
            }
            detail = $"executable unreadable ({Errno.QmailText(errno)})";
            return false;
        }

        /// <summary>
        /// Starts tracking a process: opens a pidfd and then confirms the start time, so the pidfd is
        /// known to be the listed process. Returns null with the identity when it is not (any more).
        /// </summary>
        public TrackedProcess? Track(int pid, ulong startTicks, int parentId, int depth, out Identity identity)
        {
            int fd = -1;
            if (_pidFdWorks)
            {
                fd = ProcNative.PidFdOpen(pid, out int errno);
                if (fd < 0 && errno == Errno.ESRCH) { identity = Identity.Gone; return null; }
                if (fd < 0) _pidFdWorks = false; // ENOSYS, or EPERM from a seccomp filter: fall back to kill(2)
            }
            identity = Check(pid, startTicks);
            if (identity != Identity.Same)
            {
                ProcNative.Close(fd);
                return null;
            }
            return new TrackedProcess(pid, startTicks, parentId, depth, fd);
        }

        public SignalResult Signal(TrackedProcess t, int signal)
        {
            if (t.Ended || Check(t.ProcessId, t.StartTicks) != Identity.Same)
            {
                t.Ended = true;
                return new SignalResult(false, true, 0);
            }
            int rc = t.PidFd >= 0 ? ProcNative.PidFdSendSignal(t.PidFd, signal) : _posix.Kill(t.ProcessId, signal);
            if (rc == Errno.ESRCH)
            {
                t.Ended = true;
                return new SignalResult(false, true, 0);
            }
            if (rc == 0 && signal == ProcNative.SIGKILL) t.GotKill = true;
            return new SignalResult(rc == 0, false, rc);
        }

        /// <summary>Marks and reports whether the process has ended (exited, or its pid now names another process).</summary>
        public bool HasEnded(TrackedProcess t)
        {
            if (!t.Ended && Check(t.ProcessId, t.StartTicks) != Identity.Same) t.Ended = true;
            return t.Ended;
        }

        /// <summary>
        /// Live descendants of the tracked processes that are not tracked yet (children found through
        /// the ppid field of every /proc/PID/stat). A child cannot be older than its parent; one that
        /// looks older is a stale ppid match and is skipped.
        /// </summary>
        public List<TrackedProcess> NewDescendants(IList<TrackedProcess> tracked)
        {
            var result = new List<TrackedProcess>();
            var known = new HashSet<(int, ulong)>();
            foreach (TrackedProcess t in tracked) known.Add((t.ProcessId, t.StartTicks));
            Dictionary<int, List<ProcStat>> children = _proc.ChildrenByParent();
            var queue = new Queue<(int Pid, ulong Start, int Depth)>();
            foreach (TrackedProcess t in tracked)
                if (!HasEnded(t)) queue.Enqueue((t.ProcessId, t.StartTicks, t.Depth));
            while (queue.Count > 0)
            {
                var (pid, start, depth) = queue.Dequeue();
                if (!children.TryGetValue(pid, out List<ProcStat>? kids)) continue;
                foreach (ProcStat k in kids)
                {
                    if (k.StartTicks < start || k.HasExited || !known.Add((k.ProcessId, k.StartTicks))) continue;
                    TrackedProcess? c = Track(k.ProcessId, k.StartTicks, pid, depth + 1, out _);
                    if (c is null) continue;
                    result.Add(c);
                    queue.Enqueue((k.ProcessId, k.StartTicks, depth + 1));
                }
            }
            return result;
        }

        /// <summary>Waits until every process has ended, the time is up, or the wait is cancelled; true when all ended.</summary>
        public bool WaitForEnd(IEnumerable<TrackedProcess> processes, TimeSpan timeout, CancellationToken cancel)
        {
            var list = new List<TrackedProcess>(processes);
            DateTime deadline = DateTime.UtcNow + timeout;
            while (true)
            {
                bool all = true;
                foreach (TrackedProcess t in list)
                    if (!HasEnded(t)) { all = false; break; }
                if (all) return true;
                TimeSpan left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) return false;
                int ms = (int)Math.Min(50, Math.Ceiling(left.TotalMilliseconds));
                if (cancel.WaitHandle.WaitOne(ms)) cancel.ThrowIfCancellationRequested();
            }
        }
    }
}
