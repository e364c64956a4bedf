using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using QmailPS.Posix;

namespace QmailPS.Processes
{
    /// <summary>The fields of /proc/PID/stat the module uses.</summary>
    internal readonly struct ProcStat
    {
        public ProcStat(int pid, string comm, char state, int parentId, ulong startTicks)
        {
            ProcessId = pid; Comm = comm; State = state; ParentId = parentId; StartTicks = startTicks;
        }

        public int ProcessId { get; }
        /// <summary>Field 2 without its parentheses (the kernel's comm, at most 15 bytes).</summary>
        public string Comm { get; }
        public char State { get; }
        public int ParentId { get; }
        /// <summary>Field 22: start time in clock ticks after boot.</summary>
        public ulong StartTicks { get; }
        /// <summary>Z (zombie) and X (dead): it has exited; only its parent's wait() is missing.</summary>
        public bool HasExited => State == 'Z' || State == 'X' || State == 'x';
    }

    /// <summary>
    /// Reads the Linux process table under /proc. No PowerShell types; every read tolerates the
    /// process vanishing halfway (then the answer is null/empty, never an exception).
    /// </summary>
    internal sealed class ProcTable
    {
        private long _bootSeconds = -1;

        public ProcTable(string root = "/proc")
        {
            Root = root.TrimEnd('/');
            ClockTicksPerSecond = ProcNative.ClockTicksPerSecond();
        }

        public string Root { get; }
        public long ClockTicksPerSecond { get; }

        /// <summary>btime of /proc/stat: boot time in Unix seconds.</summary>
        public long BootTimeSeconds
        {
            get
            {
                if (_bootSeconds >= 0) return _bootSeconds;
                string? text = ReadText(Root + "/stat");
                if (text != null)
                {
                    foreach (string line in text.Split('\n'))
                    {
                        if (!line.StartsWith("btime ", StringComparison.Ordinal)) continue;
                        if (long.TryParse(line.Substring(6).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long b))
                            return _bootSeconds = b;
                    }
                }
                throw new IOException($"{Root}/stat has no btime line; cannot tell when processes started.");
            }
        }

        /// <summary>UTC start time of a process from its stat starttime (clock ticks after boot).</summary>
        public DateTime StartTimeUtc(ulong startTicks)
        {
            long ticksPerClock = TimeSpan.TicksPerSecond / ClockTicksPerSecond;
            return new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc)
                .AddSeconds(BootTimeSeconds)
                .AddTicks((long)startTicks * ticksPerClock);
        }

        /// <summary>Every process id (thread-group leaders; threads are not listed in /proc).</summary>
        public List<int> ProcessIds()
        {
            var pids = new List<int>();
            foreach (string dir in Directory.EnumerateDirectories(Root))
            {
                string name = dir.Substring(dir.LastIndexOf('/') + 1);
                if (name.Length > 0 && name[0] >= '1' && name[0] <= '9'
                    && int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
                    pids.Add(pid);
            }
            pids.Sort();
            return pids;
        }

        public ProcStat? ReadStat(int pid)
        {
            string? text = ReadText(PidPath(pid, "stat"));
            return text is null ? null : ParseStat(text);
        }

        /// <summary>
        /// "PID (COMM) S PPID … starttime …". COMM may itself hold spaces and parentheses, so the
        /// fields after it are counted from the last ')'.
        /// </summary>
        internal static ProcStat? ParseStat(string text)
        {
            int open = text.IndexOf('(');
            int close = text.LastIndexOf(')');
            if (open <= 0 || close < open) return null;
            if (!int.TryParse(text.Substring(0, open).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)) return null;
            string comm = text.Substring(open + 1, close - open - 1);
            string[] f = text.Substring(close + 1).Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries);
            // f[0] is field 3 (state), so field N is f[N - 3].
            if (f.Length < 20 || f[0].Length != 1) return null;
            if (!int.TryParse(f[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int ppid)) return null;
            if (!ulong.TryParse(f[19], NumberStyles.None, CultureInfo.InvariantCulture, out ulong start)) return null;
            return new ProcStat(pid, comm, f[0][0], ppid, start);
        }

        /// <summary>argv, or an empty array (kernel threads, zombies, or no permission).</summary>
        public string[] ReadCommandLine(int pid)
        {
            byte[]? raw = ReadBytes(PidPath(pid, "cmdline"));
            return raw is null ? new string[0] : ParseNulSeparated(raw);
        }

        internal static string[] ParseNulSeparated(byte[] raw)
        {
            int len = raw.Length;
            if (len == 0) return new string[0];
            if (raw[len - 1] == 0) len--;
            var parts = new List<string>();
            int start = 0;
            for (int i = 0; i <= len; i++)
            {
                if (i == len || raw[i] == 0)
                {
                    parts.Add(Encoding.UTF8.GetString(raw, start, i - start));
                    start = i + 1;
                }
            }
            return parts.ToArray();
        }

        /// <summary>The value of one variable in the process's initial environment, or null (absent, or not ours to read).</summary>
        public string? ReadEnvironmentVariable(int pid, string name)
        {
            byte[]? raw = ReadBytes(PidPath(pid, "environ"));
            if (raw is null) return null;
            string prefix = name + "=";
            foreach (string entry in ParseNulSeparated(raw))
                if (entry.StartsWith(prefix, StringComparison.Ordinal)) return entry.Substring(prefix.Length);
            return null;
        }

        /// <summary>Effective uid from /proc/PID/status ("Uid: real effective saved fs").</summary>
        public uint? ReadEffectiveUid(int pid)
        {
            string? text = ReadText(PidPath(pid, "status"));
            if (text is null) return null;
            foreach (string line in text.Split('\n'))
            {
                if (!line.StartsWith("Uid:", StringComparison.Ordinal)) continue;
                string[] f = line.Substring(4).Split(new[] { '\t', ' ' }, StringSplitOptions.RemoveEmptyEntries);
                if (f.Length >= 2 && uint.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out uint uid)) return uid;
            }
            return null;
        }

        /// <summary>readlink /proc/PID/exe: null with errno ENOENT (exited, or a kernel thread) or EACCES/EPERM (not ours).</summary>
        public string? ReadExecutable(int pid, out int errno) => ProcNative.ReadLink(PidPath(pid, "exe"), out errno);

        /// <summary>The network namespace of a process ("net:[4026531992]"), or null.</summary>
        public string? ReadNetNamespace(int pid) => ProcNative.ReadLink(PidPath(pid, "ns/net"), out _);

        /// <summary>Inodes of the sockets among the process's open descriptors ("socket:[INODE]" links).</summary>
        public List<ulong> SocketInodes(int pid)
        {
            var inodes = new List<ulong>();
            IEnumerable<string> fds;
            try { fds = Directory.GetFiles(PidPath(pid, "fd")); }
            catch (IOException) { return inodes; }
            catch (UnauthorizedAccessException) { return inodes; }
            foreach (string fd in fds)
            {
                string? target = ProcNative.ReadLink(fd, out _);
                if (target is null || !target.StartsWith("socket:[", StringComparison.Ordinal) || !target.EndsWith("]", StringComparison.Ordinal)) continue;
                if (ulong.TryParse(target.Substring(8, target.Length - 9), NumberStyles.None, CultureInfo.InvariantCulture, out ulong inode))
                    inodes.Add(inode);
            }
            return inodes;
        }

        /// <summary>parent pid → children, over the whole table (for process trees; /proc/PID/task/*/children needs CONFIG_PROC_CHILDREN).</summary>
        public Dictionary<int, List<ProcStat>> ChildrenByParent()
        {
            var map = new Dictionary<int, List<ProcStat>>();
            foreach (int pid in ProcessIds())
            {
                ProcStat? st = ReadStat(pid);
                if (st is null) continue;
                if (!map.TryGetValue(st.Value.ParentId, out List<ProcStat>? list)) map[st.Value.ParentId] = list = new List<ProcStat>();
                list.Add(st.Value);
            }
            return map;
        }

        /// <summary>
        /// The pid holding an exclusive lock on the file with this device and inode, from /proc/locks
        /// (queue-format.md §7: qmail-send's flock on lock/sendmutex; POSIX for a lockf build). Null if none.
        /// </summary>
        public int? LockHolder(uint devMajor, uint devMinor, ulong inode)
        {
            string? text = ReadText(Root + "/locks");
            if (text is null) return null;
            int? inodeOnly = null;
            foreach (string line in text.Split('\n'))
            {
                if (!TryParseLockLine(line, out int pid, out uint maj, out uint min, out ulong ino) || ino != inode) continue;
                if (maj == devMajor && min == devMinor) return pid;
                // overlayfs: stat shows the overlay's device, /proc/locks the real file's; the inode number still agrees.
                inodeOnly ??= pid;
            }
            return inodeOnly;
        }

        /// <summary>"1: FLOCK  ADVISORY  WRITE 11083 fe:00:11657315 0 EOF"; "1: -> FLOCK …" (a blocked waiter) is not a holder.</summary>
        internal static bool TryParseLockLine(string line, out int pid, out uint major, out uint minor, out ulong inode)
        {
            pid = 0; major = 0; minor = 0; inode = 0;
            string[] f = line.Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 6 || f[1] == "->") return false;
            if ((f[1] != "FLOCK" && f[1] != "POSIX") || f[3] != "WRITE") return false;
            string[] id = f[5].Split(':');
            return id.Length == 3
                && int.TryParse(f[4], NumberStyles.None, CultureInfo.InvariantCulture, out pid) && pid > 0
                && uint.TryParse(id[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out major)
                && uint.TryParse(id[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out minor)
                && ulong.TryParse(id[2], NumberStyles.None, CultureInfo.InvariantCulture, out inode);
        }

        public string PidPath(int pid, string entry) => Root + "/" + pid.ToString(CultureInfo.InvariantCulture) + "/" + entry;

        internal static string? ReadText(string path)
        {
            byte[]? b = ReadBytes(path);
            return b is null ? null : Encoding.UTF8.GetString(b);
        }

        /// <summary>Whole content of a /proc file (they report size 0, so read to EOF), or null when it cannot be read.</summary>
        internal static byte[]? ReadBytes(string path)
        {
            try
            {
                using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.None);
                using var ms = new MemoryStream();
                byte[] buf = new byte[4096];
                int n;
                while ((n = fs.Read(buf, 0, buf.Length)) > 0) ms.Write(buf, 0, n);
                return ms.ToArray();
            }
            catch (IOException) { return null; }
            catch (UnauthorizedAccessException) { return null; }
        }
    }
}
