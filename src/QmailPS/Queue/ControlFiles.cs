using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using QmailPS.Posix;

namespace QmailPS.Queue
{
    /// <summary>
    /// The few control files that decide what qmail-send does with a queued message: locals and
    /// virtualdomains (local or remote delivery, qmail-send.c rewrite()), envnoathost, percenthack
    /// and queuelifetime. Read from &lt;home&gt;/control next to the queue; a missing file takes
    /// qmail's default.
    /// </summary>
    public sealed class ControlFiles
    {
        public const long DefaultQueueLifetime = 604800;

        private readonly HashSet<string> _locals = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        private readonly Dictionary<string, string> _virtualDomains = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        private readonly HashSet<string> _percentHack = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

        public string Directory { get; }
        public string? Me { get; }
        public string EnvNoAtHost { get; }
        public long QueueLifetime { get; }
        /// <summary>Why control/queuelifetime could not be used (unreadable, not a number), or null.</summary>
        public string? QueueLifetimeProblem { get; }
        /// <summary>Problems met while reading (unreadable or malformed files), for -Verbose or an error.</summary>
        public List<string> Problems { get; } = new List<string>();

        public ControlFiles(string controlDirectory)
        {
            Directory = controlDirectory;
            Me = FirstLine("me");
            EnvNoAtHost = FirstLine("envnoathost") ?? Me ?? "envnoathost";
            var locals = Lines("locals");
            if (locals is null) { if (Me != null) _locals.Add(Me); }
            else foreach (string l in locals) _locals.Add(l);
            foreach (string l in Lines("percenthack") ?? new List<string>()) _percentHack.Add(l);
            foreach (string l in Lines("virtualdomains") ?? new List<string>())
            {
                int colon = l.IndexOf(':');
                if (colon < 0) continue;
                string key = l.Substring(0, colon);
                if (!_virtualDomains.ContainsKey(key)) _virtualDomains[key] = l.Substring(colon + 1);
            }
            int before = Problems.Count;
            string? lifetime = FirstLine("queuelifetime");
            QueueLifetime = DefaultQueueLifetime;
            if (Problems.Count > before) QueueLifetimeProblem = Problems[Problems.Count - 1];
            else if (lifetime != null)
            {
                // control_readint: scan_ulong on the first line. No leading digit means "not set"
                // (qmail-send keeps its default); digits are read up to the first other character.
                int digits = 0;
                ulong v = 0;
                while (digits < lifetime.Length && lifetime[digits] >= '0' && lifetime[digits] <= '9')
                    v = unchecked(v * 10 + (ulong)(lifetime[digits++] - '0'));
                if (digits == 0)
                    Problems.Add($"control/queuelifetime does not start with a number ('{lifetime}'): qmail-send uses its default, {DefaultQueueLifetime} s");
                else if (v > int.MaxValue)
                {
                    // control_readint stores the number in an int: qmail-send would use this truncated
                    // value (4294967296 becomes 0, every message dying at once), not the one in the file.
                    QueueLifetimeProblem = $"control/queuelifetime is {lifetime.Substring(0, digits)}, more than qmail-send's int holds; qmail-send would use {unchecked((int)v)} instead";
                    Problems.Add(QueueLifetimeProblem);
                }
                else QueueLifetime = (long)v;
            }
        }

        /// <summary>
        /// A control file is a few lines (locals, virtualdomains: thousands at most); one bigger than
        /// this is not a control file, and reading it would cost its size in memory.
        /// </summary>
        internal const long MaxControlFile = 64L << 20;

        /// <summary>The bytes of a control file as text; null when it does not exist (qmail's default).</summary>
        private string? Read(string name)
        {
            string path = Path.Combine(Directory, name);
            try
            {
                // Never File.ReadAllText: it would block for ever on a FIFO.
                return Encoding.UTF8.GetString(UserFile.ReadRegular(path, MaxControlFile));
            }
            catch (FileNotFoundException) { return null; }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                // qmail-send refuses to start on a control file it cannot read (getcontrols fails).
                Problems.Add($"cannot read {path}: {e.Message}");
                return null;
            }
        }

        /// <summary>control_readfile: every line without trailing spaces and tabs, empty lines and '#' comments skipped.</summary>
        private List<string>? Lines(string name)
        {
            string? text = Read(name);
            if (text is null) return null;
            var result = new List<string>();
            foreach (string raw in text.Split('\n'))
            {
                string line = raw.TrimEnd(' ', '\t');
                if (line.Length == 0 || line[0] == '#') continue;
                result.Add(line);
            }
            return result;
        }

        /// <summary>control_readline: the first line as it is (a comment or an empty line too), without trailing spaces and tabs.</summary>
        private string? FirstLine(string name)
        {
            string? text = Read(name);
            if (text is null) return null;
            int nl = text.IndexOf('\n');
            return (nl < 0 ? text : text.Substring(0, nl)).TrimEnd(' ', '\t');
        }

        /// <summary>qmail-send's rewrite(): which channel a todo recipient will be preprocessed into.</summary>
        public RecipientChannel ChannelOf(string recipient)
        {
            string addr = recipient;
            int at = addr.LastIndexOf('@');
            if (at < 0) { addr = addr + "@" + EnvNoAtHost; at = addr.LastIndexOf('@'); }
            // percenthack: user%host@thisdomain becomes user@host while the domain is listed.
            while (_percentHack.Contains(addr.Substring(at + 1)))
            {
                int pct = addr.LastIndexOf('%', at == 0 ? 0 : at - 1);
                if (pct < 0) break;
                addr = addr.Substring(0, at);
                addr = addr.Substring(0, pct) + "@" + addr.Substring(pct + 1);
                at = pct;
            }
            at = addr.LastIndexOf('@');
            if (_locals.Contains(addr.Substring(at + 1))) return RecipientChannel.Local;
            for (int i = 0; i <= addr.Length; i++)
            {
                if (i == 0 || i == at + 1 || i == addr.Length || (i > at && addr[i] == '.'))
                {
                    if (_virtualDomains.TryGetValue(addr.Substring(i), out string? prepend))
                        return prepend.Length == 0 ? RecipientChannel.Remote : RecipientChannel.Local;
                }
            }
            return RecipientChannel.Remote;
        }
    }
}
