using System;
using System.Collections.Generic;
using QmailPS.Posix;

namespace QmailPS.Queue
{
    /// <summary>qmail's users and groups (conf-users, conf-groups), looked up at run time like notqmail does.</summary>
    public static class QmailUsers
    {
        public const string Alias = "alias", Qmaild = "qmaild", Qmaill = "qmaill", Qmailp = "qmailp",
            Qmailq = "qmailq", Qmailr = "qmailr", Qmails = "qmails";
        public const string QmailGroup = "qmail", NofilesGroup = "nofiles";
    }

    /// <summary>Resolved ids of the qmail accounts; missing accounts are reported by name.</summary>
    internal sealed class QmailIds
    {
        public uint Qmailq, Qmails, Qmailr, QmailGid;

        public static QmailIds Resolve(IPosix posix)
        {
            var missing = new List<string>();
            uint U(string n) { var u = posix.LookupUser(n); if (u is null) missing.Add("user " + n); return u?.Uid ?? 0; }
            var ids = new QmailIds { Qmailq = U(QmailUsers.Qmailq), Qmails = U(QmailUsers.Qmails), Qmailr = U(QmailUsers.Qmailr) };
            uint? g = posix.LookupGroup(QmailUsers.QmailGroup);
            if (g is null) missing.Add("group " + QmailUsers.QmailGroup);
            ids.QmailGid = g ?? 0;
            if (missing.Count > 0)
                throw new InvalidOperationException("The qmail accounts are missing on this system: " + string.Join(", ", missing) +
                    ". Create them as qmail's INSTALL.ids describes.");
            return ids;
        }
    }
}
