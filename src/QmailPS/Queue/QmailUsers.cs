namespace QmailPS.Queue
{
    /// <summary>qmail's users and groups (conf-users, conf-groups), looked up at run time like notqmail does.</summary>
    public static class QmailUsers
    {
        public const string Alias = "alias", Qmaild = "qmaild", Qmaill = "qmaill", Qmailp = "qmailp",
            Qmailq = "qmailq", Qmailr = "qmailr", Qmails = "qmails";
        public const string QmailGroup = "qmail", NofilesGroup = "nofiles";
    }
}
