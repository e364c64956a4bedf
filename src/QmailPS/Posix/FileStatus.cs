using System;

namespace QmailPS.Posix
{
    /// <summary>Kind of a directory entry, as lstat/d_type tell it (symlinks are never followed).</summary>
    internal enum FileKind : byte { Unknown, Regular, Directory, Symlink, Fifo, Socket, CharDevice, BlockDevice }

    /// <summary>The part of lstat/statx the queue code needs. Times are Unix seconds (UTC).</summary>
    internal readonly struct FileStatus
    {
        public FileStatus(ulong inode, ulong device, uint mode, uint uid, uint gid, uint links, long size,
            long mtimeSec, long mtimeNsec, long atimeSec)
        {
            Inode = inode; Device = device; Mode = mode; Uid = uid; Gid = gid; Links = links; Size = size;
            MTimeSeconds = mtimeSec; MTimeNanoseconds = mtimeNsec; ATimeSeconds = atimeSec;
        }

        public ulong Inode { get; }
        /// <summary>Device as (major &lt;&lt; 32) | minor, whichever call filled it.</summary>
        public ulong Device { get; }
        /// <summary>Full st_mode: type bits and permission bits.</summary>
        public uint Mode { get; }
        public uint Uid { get; }
        public uint Gid { get; }
        public uint Links { get; }
        public long Size { get; }
        public long MTimeSeconds { get; }
        public long MTimeNanoseconds { get; }
        public long ATimeSeconds { get; }

        /// <summary>Permission bits only (07777).</summary>
        public uint Permissions => Mode & 0xFFF;

        public FileKind Kind => KindOf(Mode);

        public DateTime MTimeUtc => UnixTime.ToUtc(MTimeSeconds, MTimeNanoseconds);

        /// <summary>The kind in words, for messages ("… is a FIFO").</summary>
        internal static string Describe(FileKind k) => k switch
        {
            FileKind.Symlink => "symbolic link",
            FileKind.Fifo => "FIFO",
            FileKind.Socket => "socket",
            FileKind.CharDevice => "character device",
            FileKind.BlockDevice => "block device",
            FileKind.Directory => "directory",
            FileKind.Regular => "regular file",
            _ => "file of unknown type",
        };

        internal static FileKind KindOf(uint mode) => (mode & 0xF000) switch
        {
            0x8000 => FileKind.Regular,
            0x4000 => FileKind.Directory,
            0xA000 => FileKind.Symlink,
            0x1000 => FileKind.Fifo,
            0xC000 => FileKind.Socket,
            0x2000 => FileKind.CharDevice,
            0x6000 => FileKind.BlockDevice,
            _ => FileKind.Unknown,
        };
    }

    internal static class UnixTime
    {
        private static readonly DateTime Epoch = new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc);

        public static DateTime ToUtc(long seconds, long nanoseconds = 0)
        {
            // Clamp: a garbage mtime must not throw out of a listing.
            const long max = 253402300799; // 9999-12-31T23:59:59Z
            if (seconds > max) seconds = max;
            if (seconds < -62135596800) seconds = -62135596800;
            return Epoch.AddTicks(seconds * TimeSpan.TicksPerSecond + nanoseconds / 100);
        }

        public static long ToSeconds(DateTime time) =>
            (long)Math.Floor((time.ToUniversalTime() - Epoch).TotalSeconds);

        public static long Now => ToSeconds(DateTime.UtcNow);
    }
}
