namespace QmailPS.Posix
{
    /// <summary>
    /// Permission bits qmail uses, spelled like ls shows them. C# has no octal literals: 0750 in C#
    /// is decimal 750, so modes are written in binary here and nowhere else.
    /// </summary>
    internal static class Mode
    {
        public const uint Rwxr_x___ = 0b111_101_000; // 0750: queue, mess, todo, lock
        public const uint Rwx______ = 0b111_000_000; // 0700: pid, intd, info, local, remote, bounce
        public const uint Rw_r__r__ = 0b110_100_100; // 0644: mess, todo, intd files; lock/tcpto
        public const uint Rw_______ = 0b110_000_000; // 0600: info, local, remote, bounce files; lock/sendmutex
        public const uint Rw__w__w_ = 0b110_010_010; // 0622: lock/trigger
    }
}
