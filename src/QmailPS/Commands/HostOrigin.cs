using System;
using System.Collections.Generic;
using System.Management.Automation;
using System.Net;

namespace QmailPS.Commands
{
    /// <summary>
    /// Whether a piped object belongs to this host. The cmdlets that change something act on the
    /// local queue and processes only: a message number or pid read on another host names other mail
    /// (or another process) here. So an object whose PSComputerName (added by Invoke-Command and
    /// Start-Job) names another host is refused (QmailObjectFromAnotherHost), and so is a deserialized
    /// QmailPS object that does not say where it came from (QmailObjectOriginUnknown, e.g. Import-Clixml).
    /// </summary>
    internal static class HostOrigin
    {
        private const string Deserialized = "Deserialized.";
        private static string[]? s_localNames;

        /// <summary>This host's names: localhost (Start-Job's PSComputerName), the host name, and its first label.</summary>
        internal static string[] LocalNames
        {
            get
            {
                if (s_localNames != null) return s_localNames;
                var names = new List<string> { "localhost" };
                void Add(string? n)
                {
                    if (string.IsNullOrEmpty(n)) return;
                    if (!names.Exists(x => string.Equals(x, n, StringComparison.OrdinalIgnoreCase))) names.Add(n!);
                    int dot = n!.IndexOf('.');
                    if (dot > 0) Add(n.Substring(0, dot));
                }
                Add(Environment.MachineName);
                try { Add(Dns.GetHostName()); } catch (System.Net.Sockets.SocketException) { }
                return s_localNames = names.ToArray();
            }
        }

        internal static bool IsLocal(string computer)
        {
            foreach (string n in LocalNames)
                if (string.Equals(n, computer, StringComparison.OrdinalIgnoreCase)) return true;
            // mx1.example.org from a host that knows itself only as mx1 (or the other way round).
            int dot = computer.IndexOf('.');
            string first = dot > 0 ? computer.Substring(0, dot) : computer;
            if (dot > 0 && Array.Exists(LocalNames, n => n.IndexOf('.') < 0 && n != "localhost" && string.Equals(n, first, StringComparison.OrdinalIgnoreCase)))
                return true;
            return false;
        }

        /// <summary>
        /// The refusal for a piped object that is not this host's, or null when it may be used.
        /// <paramref name="computer"/> and <paramref name="typeNames"/> are the piped object's
        /// PSComputerName and PSTypeNames, bound by property name (so that they never change which
        /// parameter set the object binds to); <paramref name="target"/> is what the object names (its id, pid or queue).
        /// </summary>
        internal static ErrorRecord? Check(string? computer, string[]? typeNames, object? target, string cmdlet)
        {
            string what = typeNames != null && typeNames.Length > 0 ? typeNames[0] : "object";
            if (!string.IsNullOrEmpty(computer))
                return IsLocal(computer!) ? null : QmailErrors.ObjectFromAnotherHost(target ?? what, what, computer!, LocalNames[Math.Min(1, LocalNames.Length - 1)], cmdlet);
            if (typeNames != null)
                foreach (string t in typeNames)
                    if (t.StartsWith(Deserialized + "QmailPS.", StringComparison.Ordinal))
                        return QmailErrors.ObjectOriginUnknown(target ?? what, t.Substring(Deserialized.Length), cmdlet);
            return null;
        }

        /// <summary>Writes the refusal and returns true when the piped object must not be used.</summary>
        internal static bool Refuse(PSCmdlet cmdlet, string? computer, string[]? typeNames, object? target)
        {
            ErrorRecord? refusal = Check(computer, typeNames, target, cmdlet.MyInvocation.MyCommand.Name);
            if (refusal is null) return false;
            cmdlet.WriteError(refusal);
            return true;
        }
    }
}
