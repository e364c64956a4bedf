namespace QmailPS
{
    /// <summary>
    /// Where qmail keeps todo/ and intd/ files (queue-format.md §8.1): compiled into qmail-queue and
    /// qmail-send, so only the admin knows which one the installed binaries use.
    /// </summary>
    public enum TodoLayout
    {
        /// <summary>qmail-1.03, netqmail, notqmail: todo/ID and intd/ID.</summary>
        Vanilla,
        /// <summary>The big-todo patch (sagredo, qmail-ldap, s/qmail): todo/ID%split/ID and intd/ID%split/ID.</summary>
        BigTodo,
    }
}
