using System;
using System.Net;

namespace QmailPS
{
    /// <summary>
    /// One running qmail process (qmail-send and its helpers, a delivery, an SMTP session), read from
    /// /proc, with what it works on when its argv or socket tells it.
    /// </summary>
    public sealed class QmailProcess
    {
        private static readonly string[] None = new string[0];

        internal QmailProcess(int processId, string name, ulong startTicks, DateTime startTime)
        {
            ProcessId = processId;
            Name = name;
            StartTicks = startTicks;
            StartTimeUtc = startTime.ToUniversalTime();
        }

        public int ProcessId { get; }
        public int ParentId { get; internal set; }
        /// <summary>qmail-send, qmail-remote, …: the kernel's comm, or argv[0]'s base name when only that is a qmail name.</summary>
        public string Name { get; }
        /// <summary>Owner (effective uid) by name; the number when the uid has no name.</summary>
        public string User { get; internal set; } = "";
        public uint UserId { get; internal set; }
        /// <summary>Kernel state letter: R running, S sleeping, D uninterruptible, T stopped, Z zombie.</summary>
        public string State { get; internal set; } = "";
        /// <summary>When the process started, in local time (as Get-Process): /proc/PID/stat starttime after boot, plus /proc/stat btime.</summary>
        public DateTime StartTime => StartTimeUtc.ToLocalTime();
        /// <summary>StartTime in UTC.</summary>
        public DateTime StartTimeUtc { get; }
        /// <summary>Now minus StartTime (taken when read, so it grows while you look at the object).</summary>
        public TimeSpan Age => DateTime.UtcNow - StartTimeUtc;
        /// <summary>The /proc/PID/exe link ("… (deleted)" after an upgrade replaced the file); null when unreadable.</summary>
        public string? ExecutablePath { get; internal set; }
        /// <summary>argv from /proc/PID/cmdline.</summary>
        public string[] CommandLine { get; internal set; } = None;

        /// <summary>qmail-remote: the host (or [ip]) it delivers to, argv[1].</summary>
        public string? Host { get; internal set; }
        /// <summary>qmail-remote and qmail-local: the envelope sender ('' for a bounce).</summary>
        public string? Sender { get; internal set; }
        /// <summary>qmail-remote: argv[3…]; qmail-local: LOCAL@DOMAIN.</summary>
        public string[] Recipients { get; internal set; } = None;
        /// <summary>The first of Recipients, or null.</summary>
        public string? Recipient => Recipients.Length > 0 ? Recipients[0] : null;
        /// <summary>qmail-local: the user argument (the account qmail-lspawn chose for the recipient).</summary>
        public string? DeliveryUser { get; internal set; }
        /// <summary>qmail-local: the home directory argument.</summary>
        public string? HomeDirectory { get; internal set; }

        /// <summary>qmail-remote and qmail-smtpd: remote end of its TCP connection (from /proc/PID/fd and /proc/net/tcp{,6}).</summary>
        public IPEndPoint? PeerAddress { get; internal set; }
        /// <summary>Local end of that connection.</summary>
        public IPEndPoint? LocalAddress { get; internal set; }
        /// <summary>qmail-smtpd: the client, from TCPREMOTEIP (tcpserver) or else the connection's remote address.</summary>
        public IPAddress? ClientAddress { get; internal set; }

        /// <summary>True for the process that holds flock on the queue's lock/sendmutex (the running qmail-send).</summary>
        public bool IsQmailSend { get; internal set; }

        /// <summary>/proc/PID/stat starttime in clock ticks after boot: with the pid, the process's identity.</summary>
        internal ulong StartTicks { get; }

        public override string ToString() => $"{Name} {ProcessId}";
    }

    /// <summary>What Stop-QmailZombie did with one process.</summary>
    public enum StopOutcome : long
    {
        /// <summary>It (and, for qmail-local, its whole tree) ended after SIGTERM.</summary>
        Terminated,
        /// <summary>Something was still there after -Timeout and got SIGKILL.</summary>
        Killed,
        /// <summary>It had exited before it was signalled.</summary>
        AlreadyGone,
        /// <summary>Not signalled: a qmail-send supervisor without -Force, not qmail's executable, or its pid now belongs to another process. An error says which.</summary>
        Refused,
        /// <summary>A signal could not be sent, or the process was still there after SIGKILL. An error says why.</summary>
        Failed,
    }

    /// <summary>One process Stop-QmailZombie acted on, and how.</summary>
    public sealed class StoppedProcess
    {
        private static readonly int[] NoPids = new int[0];

        internal StoppedProcess(QmailProcess process, StopOutcome outcome, string reason)
        {
            Process = process;
            Outcome = outcome;
            Reason = reason;
            Age = process.Age;
        }

        public int ProcessId => Process.ProcessId;
        public string Name => Process.Name;
        public StopOutcome Outcome { get; internal set; }
        /// <summary>Its age when it was stopped (or refused).</summary>
        public TimeSpan Age { get; }
        /// <summary>Signals sent, in order ("SIGTERM", "SIGTERM, SIGKILL"); empty when none was.</summary>
        public string Signals { get; internal set; } = "";
        /// <summary>Descendants signalled with it (qmail-local: the programs of its .qmail deliveries).</summary>
        public int[] Descendants { get; internal set; } = NoPids;
        public string? Host => Process.Host;
        public IPEndPoint? PeerAddress => Process.PeerAddress;
        public IPAddress? ClientAddress => Process.ClientAddress;
        public string? Recipient => Process.Recipient;
        public string Reason { get; internal set; }
        /// <summary>The process as it was listed.</summary>
        public QmailProcess Process { get; }

        public override string ToString() => $"{Name} {ProcessId}: {Outcome}";
    }
}
