using System;
using System.Collections.Generic;
using System.Net;
using System.Threading;
using QmailPS.Posix;

namespace QmailPS.Processes
{
    /// <summary>The qmail program names the module knows, and which of them hold the MTA together.</summary>
    internal static class QmailProgramNames
    {
        public const string Send = "qmail-send", Lspawn = "qmail-lspawn", Rspawn = "qmail-rspawn", Clean = "qmail-clean",
            Todo = "qmail-todo", Remote = "qmail-remote", Local = "qmail-local", Smtpd = "qmail-smtpd", Queue = "qmail-queue";

        public static readonly string[] All = { Send, Lspawn, Rspawn, Clean, Todo, Remote, Local, Smtpd, Queue };

        /// <summary>Stop-QmailZombie's default: the deliveries and sessions that hang on a slow peer.</summary>
        public static readonly string[] Zombies = { Remote, Smtpd };

        /// <summary>
        /// qmail-send and the children it cannot live without: killing any of them stops all
        /// delivery (qmail-send exits when it loses a helper: "lost qmail-clean connection", …).
        /// </summary>
        public static readonly string[] Supervisors = { Send, Lspawn, Rspawn, Clean, Todo };

        public static bool IsQmailName(string name) => Array.IndexOf(All, name) >= 0;

        public static bool IsSupervisor(string name) => Array.IndexOf(Supervisors, name) >= 0;

        public static string BaseName(string path)
        {
            int slash = path.LastIndexOf('/');
            return slash >= 0 ? path.Substring(slash + 1) : path;
        }

        /// <summary>"/var/qmail/bin/qmail-remote (deleted)" → "qmail-remote": the kernel marks a replaced file so.</summary>
        public static string ExecutableBaseName(string exe)
        {
            const string deleted = " (deleted)";
            if (exe.EndsWith(deleted, StringComparison.Ordinal)) exe = exe.Substring(0, exe.Length - deleted.Length);
            return BaseName(exe);
        }

        /// <summary>
        /// The qmail name of a process: its comm (the kernel takes it from the executed file's name)
        /// when that is a qmail name, else argv[0]'s base name when that is; otherwise null. Listing
        /// by argv[0] too shows impostors (exec -a); Stop-QmailZombie checks the executable before
        /// it signals anything.
        /// </summary>
        public static string? NameOf(string comm, string[] argv)
        {
            if (IsQmailName(comm)) return comm;
            if (argv.Length > 0)
            {
                string a0 = BaseName(argv[0]);
                if (IsQmailName(a0)) return a0;
            }
            return null;
        }
    }

    /// <summary>Builds QmailProcess objects from the process table.</summary>
    internal sealed class QmailProcessReader
    {
        private readonly ProcTable _proc;
        private readonly Dictionary<uint, string> _users = new Dictionary<uint, string>();
        private readonly Dictionary<string, SocketTable> _sockets = new Dictionary<string, SocketTable>(StringComparer.Ordinal);

        private readonly Func<uint, string?> _userName;

        public QmailProcessReader(ProcTable proc, Func<uint, string?> userName) { _proc = proc; _userName = userName; }

        public ProcTable Table => _proc;

        /// <summary>Every qmail process whose name passes the filter.</summary>
        public IEnumerable<QmailProcess> Scan(Func<string, bool> nameFilter, CancellationToken cancel)
        {
            foreach (int pid in _proc.ProcessIds())
            {
                cancel.ThrowIfCancellationRequested();
                ProcStat? st = _proc.ReadStat(pid);
                if (st is null) continue;
                string[] argv = _proc.ReadCommandLine(pid);
                string? name = QmailProgramNames.NameOf(st.Value.Comm, argv);
                if (name is null || !nameFilter(name)) continue;
                QmailProcess? p = Build(st.Value, name, argv);
                if (p != null) yield return p;
            }
        }

        /// <summary>One process by pid: null when there is no such process; NotQmail set when it is not a qmail program.</summary>
        public QmailProcess? Read(int pid, out bool notQmail, out string? comm)
        {
            notQmail = false;
            comm = null;
            ProcStat? st = _proc.ReadStat(pid);
            if (st is null) return null;
            comm = st.Value.Comm;
            string[] argv = _proc.ReadCommandLine(pid);
            string? name = QmailProgramNames.NameOf(st.Value.Comm, argv);
            if (name is null) { notQmail = true; return null; }
            return Build(st.Value, name, argv);
        }

        private QmailProcess? Build(ProcStat st, string name, string[] argv)
        {
            int pid = st.ProcessId;
            var p = new QmailProcess(pid, name, st.StartTicks, _proc.StartTimeUtc(st.StartTicks))
            {
                ParentId = st.ParentId,
                State = st.State.ToString(),
                CommandLine = argv,
                ExecutablePath = _proc.ReadExecutable(pid, out _),
            };
            uint? uid = _proc.ReadEffectiveUid(pid);
            if (uid.HasValue)
            {
                p.UserId = uid.Value;
                p.User = UserName(uid.Value);
            }
            switch (name)
            {
                case QmailProgramNames.Remote:
                    ParseRemoteArgs(p, argv);
                    AddConnection(p);
                    break;
                case QmailProgramNames.Local:
                    ParseLocalArgs(p, argv);
                    break;
                case QmailProgramNames.Smtpd:
                    AddConnection(p);
                    string? ip = _proc.ReadEnvironmentVariable(pid, "TCPREMOTEIP");
                    if (ip != null && IPAddress.TryParse(ip, out IPAddress? client)) p.ClientAddress = client;
                    else if (p.PeerAddress != null) p.ClientAddress = p.PeerAddress.Address;
                    break;
            }
            return p;
        }

        /// <summary>qmail-rspawn runs "qmail-remote HOST SENDER RCPT…" (qmail-rspawn.c).</summary>
        internal static void ParseRemoteArgs(QmailProcess p, string[] argv)
        {
            if (argv.Length >= 2) p.Host = argv[1];
            if (argv.Length >= 3) p.Sender = argv[2];
            if (argv.Length >= 4)
            {
                var r = new string[argv.Length - 3];
                Array.Copy(argv, 3, r, 0, r.Length);
                p.Recipients = r;
            }
        }

        /// <summary>
        /// qmail-lspawn runs "bin/qmail-local -- USER HOME LOCAL DASH EXT DOMAIN SENDER DEFAULTDELIVERY"
        /// (qmail-local(8) also allows -n/-N before them). The recipient is LOCAL@DOMAIN.
        /// </summary>
        internal static void ParseLocalArgs(QmailProcess p, string[] argv)
        {
            int i = 1;
            while (i < argv.Length && argv[i].StartsWith("-", StringComparison.Ordinal))
            {
                if (argv[i] == "--") { i++; break; }
                i++;
            }
            if (argv.Length - i < 8) return;
            p.DeliveryUser = argv[i];
            p.HomeDirectory = argv[i + 1];
            p.Recipients = new[] { argv[i + 2] + "@" + argv[i + 5] };
            p.Sender = argv[i + 6];
        }

        private void AddConnection(QmailProcess p)
        {
            List<ulong> inodes = _proc.SocketInodes(p.ProcessId);
            if (inodes.Count == 0) return;
            string ns = _proc.ReadNetNamespace(p.ProcessId) ?? "";
            if (!_sockets.TryGetValue(ns, out SocketTable? table)) _sockets[ns] = table = SocketTable.Load(_proc, p.ProcessId);
            TcpSocket? s = table.Connection(inodes);
            if (s is null) return;
            p.PeerAddress = s.Remote;
            p.LocalAddress = s.Local;
        }

        private string UserName(uint uid)
        {
            if (_users.TryGetValue(uid, out string? n)) return n;
            string? name = null;
            try { name = _userName(uid); }
            catch (Exception e) when (e is DllNotFoundException || e is EntryPointNotFoundException || e is TypeLoadException) { }
            return _users[uid] = name ?? uid.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }
}
