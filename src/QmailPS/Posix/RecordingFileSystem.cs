using System;
using System.Collections.Generic;

namespace QmailPS.Posix
{
    /// <summary>
    /// A set of paths, compact for the ones a renumbering writes: a path whose last name is a
    /// canonical number (qmail's message files) is kept as that number in its directory's set,
    /// about 20 bytes where the string took 150; any other path as it is. A run renumbering
    /// 95,890 messages marked about 700,000 paths, as strings a third of its memory (issue 14).
    /// Membership is the same as for the strings: a canonical number has one spelling.
    /// </summary>
    internal sealed class PathSet
    {
        private readonly Dictionary<string, HashSet<ulong>> _numbered = new Dictionary<string, HashSet<ulong>>(StringComparer.Ordinal);
        private readonly HashSet<string> _other = new HashSet<string>(StringComparer.Ordinal);

        public int Count { get; private set; }

        public void Add(string path)
        {
            bool added;
            if (Numbered(path, out int slash, out ulong id))
            {
                string dir = path.Substring(0, slash);
                if (!_numbered.TryGetValue(dir, out HashSet<ulong>? ids)) _numbered[dir] = ids = new HashSet<ulong>();
                added = ids.Add(id);
            }
            else added = _other.Add(path);
            if (added) Count++;
        }

        public bool Contains(string path) =>
            Numbered(path, out int slash, out ulong id)
                ? _numbered.TryGetValue(path.Substring(0, slash), out HashSet<ulong>? ids) && ids.Contains(id)
                : _other.Contains(path);

        /// <summary>Whether the last name is digits without a leading zero that fit in 64 bits (the only spelling of that number).</summary>
        private static bool Numbered(string path, out int slash, out ulong id)
        {
            slash = path.LastIndexOf('/');
            id = 0;
            int start = slash + 1, length = path.Length - start;
            if (slash < 0 || length == 0 || length > 20 || (path[start] == '0' && length > 1)) return false;
            for (int i = start; i < path.Length; i++)
            {
                char c = path[i];
                if (c < '0' || c > '9') return false;
                ulong digit = (ulong)(c - '0');
                if (id > (ulong.MaxValue - digit) / 10) return false;
                id = id * 10 + digit;
            }
            return true;
        }
    }

    /// <summary>
    /// The seam as one run of Repair-QmailQueue uses it: every call goes to the real seam, and the
    /// path of every change is remembered, so a step can tell the run's own earlier changes from
    /// changes somebody else made to a file after it was inspected.
    /// </summary>
    internal sealed class RecordingFileSystem : IFileSystem
    {
        private readonly IFileSystem _inner;
        private readonly PathSet _changed = new PathSet();

        public RecordingFileSystem(IFileSystem inner) { _inner = inner; }

        /// <summary>Whether this run has changed <paramref name="path"/> (or renamed something to or from it).</summary>
        public bool Changed(string path) { lock (_changed) return _changed.Contains(path); }

        // Locked: the workers of a renumbering batch write through one seam (QueueRepairer.RunBatches).
        private void Mark(string path) { lock (_changed) _changed.Add(path); }

        public void Trust(string root, bool followLink = true) => _inner.Trust(root, followLink);
        public void CreateRoot(string path, uint mode) { Mark(path); _inner.CreateRoot(path, mode); }
        public bool IsTrusted(string path) => _inner.IsTrusted(path);
        public void Dispose() { } // the inner seam belongs to the caller
        public bool TryLstat(string path, out FileStatus status, out int errno) => _inner.TryLstat(path, out status, out errno);
        public uint EffectiveUserId => _inner.EffectiveUserId;
        public uint EffectiveGroupId => _inner.EffectiveGroupId;
        public (uint Uid, uint Gid)? LookupUser(string name) => _inner.LookupUser(name);
        public uint? LookupGroup(string name) => _inner.LookupGroup(name);
        public string? UserName(uint uid) => _inner.UserName(uid);
        public string? GroupName(uint gid) => _inner.GroupName(gid);
        public DirectoryHandle? TryOpenDirectory(string path, out int errno) => _inner.TryOpenDirectory(path, out errno);
        public List<DirEntry>? TryList(string path, List<DirEntry> into, out int errno) => _inner.TryList(path, into, out errno);
        public byte[] ReadFile(string path) => _inner.ReadFile(path);
        public int OpenExisting(string path, bool write, out int errno, bool noAtime = false) { if (write) Mark(path); return _inner.OpenExisting(path, write, out errno, noAtime); }
        public bool TryFstat(int fd, out FileStatus status, out int errno) => _inner.TryFstat(fd, out status, out errno);
        public void Close(int fd) => _inner.Close(fd);
        public int Flock(int fd, int operation) => _inner.Flock(fd, operation);
        public int ReadAt(int fd, byte[] buffer, int start, int count, long offset, out int errno) => _inner.ReadAt(fd, buffer, start, count, offset, out errno);
        public void WriteAt(int fd, string path, long offset, byte[] data) { Mark(path); _inner.WriteAt(fd, path, offset, data); }
        public void PullTrigger(string fifoPath) => _inner.PullTrigger(fifoPath);
        public void Lchown(string path, uint uid, uint gid, string? pairedWith = null) { Mark(path); _inner.Lchown(path, uid, gid, pairedWith); }
        public void ChmodNoFollow(string path, uint mode, string? pairedWith = null) { Mark(path); _inner.ChmodNoFollow(path, mode, pairedWith); }
        public void Link(string existing, string newPath) { Mark(existing); Mark(newPath); _inner.Link(existing, newPath); }
        public void Unlink(string path) { Mark(path); _inner.Unlink(path); }
        public void Rename(string from, string to) { Mark(from); Mark(to); _inner.Rename(from, to); }
        public void Mkfifo(string path, uint mode) { Mark(path); _inner.Mkfifo(path, mode); }
        public string ReadLink(string path) => _inner.ReadLink(path);
        public void Symlink(string target, string path) { Mark(path); _inner.Symlink(target, path); }
        public void Mkdir(string path, uint mode) { Mark(path); _inner.Mkdir(path, mode); }
        public void Rmdir(string path) { Mark(path); _inner.Rmdir(path); }
        public void SetTimes(string path, long atimeSeconds, long mtimeSeconds, string? pairedWith = null) { Mark(path); _inner.SetTimes(path, atimeSeconds, mtimeSeconds, pairedWith); }
        public void RestoreTimes(string path, long atimeSeconds, long mtimeSeconds, long mtimeNanoseconds, string? pairedWith = null) { Mark(path); _inner.RestoreTimes(path, atimeSeconds, mtimeSeconds, mtimeNanoseconds, pairedWith); }
        public void WriteNewFile(string path, byte[] content, uint mode, bool fsync = true) { Mark(path); _inner.WriteNewFile(path, content, mode, fsync); }
        public void CopyNewFile(string source, string path, uint mode) { Mark(path); _inner.CopyNewFile(source, path, mode); }
        public void FsyncDirectory(string path) => _inner.FsyncDirectory(path);
        public System.IDisposable HoldDirectories() => _inner.HoldDirectories();
        public void Append(string path, byte[] bytes, string? pairedWith = null) { Mark(path); _inner.Append(path, bytes, pairedWith); }
        public void WriteByteAt(string path, long offset, byte value, string? pairedWith = null) { Mark(path); _inner.WriteByteAt(path, offset, value, pairedWith); }
        public int Kill(int pid, int signal) => _inner.Kill(pid, signal);
    }
}
