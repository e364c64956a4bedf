using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using QmailPS.Posix;

namespace QmailPS.Check
{
    /// <summary>
    /// Where Repair-QmailQueue puts what it takes out of the queue: never deleted, moved (renamed,
    /// so on the same file system it is atomic) under the same relative path, with a line in
    /// manifest.tsv saying what it was and why. Created only when the first file goes there.
    /// </summary>
    internal sealed class Quarantine
    {
        private readonly IFileSystem _posix;
        private readonly string _queueRoot;
        private bool _ready;

        public Quarantine(string root, string queueRoot, IFileSystem posix) { Root = root; _queueRoot = queueRoot; _posix = posix; }

        public string Root { get; }

        /// <summary>The default: a timestamped sibling of the queue (same file system, so moves are renames).</summary>
        public static string DefaultPath(string queueRoot, DateTime now) =>
            queueRoot.TrimEnd('/') + ".quarantine-" + now.ToString("yyyyMMdd'T'HHmmss", CultureInfo.InvariantCulture);

        /// <summary>
        /// Why <paramref name="quarantine"/> cannot take what is moved out of <paramref name="queueRoot"/>
        /// (null: it can). Inside the queue (the queue itself, a split directory, or a path that leads
        /// there through a symbolic link), a "move" only renames a file to a name qmail ignores: every
        /// run finds it again and moves it again, or fails moving a directory into itself (EINVAL). An
        /// existing non-directory would fail every fix one by one; both are refused before any change.
        /// </summary>
        public static string? Refuse(string quarantine, string queueRoot, IFileSystem posix)
        {
            string q = Path.GetFullPath(quarantine).TrimEnd('/'), root = Path.GetFullPath(queueRoot).TrimEnd('/');
            const string inside = "it is inside the queue, where qmail-send and the next repair would find what was moved there";
            if (q == root || q.StartsWith(root + "/", StringComparison.Ordinal)) return inside;
            if (posix.TryLstat(q, out FileStatus own, out _) && own.Kind != FileKind.Directory)
                return $"it exists and is a {own.Kind.ToString().ToLowerInvariant()}, not a directory";
            if (posix.TryLstat(q, out _, out _) && Unsafe(q, posix) is string notSafe) return notSafe;
            // The same physically: from the deepest existing ancestor, resolved by the kernel through any
            // symbolic link ("a/."), up by ".." to /, comparing device and inode with the queue's.
            string a = q.Length == 0 ? "/" : q;
            while (!posix.TryLstat(a, out _, out _)) a = Path.GetDirectoryName(a) ?? "/";
            if (!posix.TryLstat(root + "/.", out FileStatus r, out _) || !posix.TryLstat("/.", out FileStatus top, out _)) return null;
            string walk = a.TrimEnd('/') + "/.";
            for (int depth = 0; depth < 256 && posix.TryLstat(walk, out FileStatus st, out _); depth++, walk += "/..")
            {
                if (st.Device == r.Device && st.Inode == r.Inode) return inside;
                if (st.Device == top.Device && st.Inode == top.Inode) break;
            }
            return null;
        }

        /// <summary>Why an existing directory cannot be the quarantine (null: it can).</summary>
        internal static string? Unsafe(string root, IFileSystem fs)
        {
            string full = Path.GetFullPath(root).TrimEnd('/');
            if (!fs.TryLstat(full, out FileStatus st, out int errno)) return $"it cannot be examined ({Errno.QmailText(errno)})";
            if (st.Kind == FileKind.Symlink) return "it is a symbolic link";
            if (st.Kind != FileKind.Directory) return $"it is a {FileStatus.Describe(st.Kind)}, not a directory";
            if (st.Uid != fs.EffectiveUserId) return $"it is owned by {fs.UserName(st.Uid) ?? "uid " + st.Uid}, not by the user running Repair-QmailQueue";
            if ((st.Permissions & 0x12) != 0) return "group or others can write it (mode " + Convert.ToString(st.Permissions, 8).PadLeft(4, '0') + ")";
            for (string? a = Path.GetDirectoryName(full); a != null && a != "/"; a = Path.GetDirectoryName(a))
                if (fs.TryLstat(a, out FileStatus up, out _) && up.Kind == FileKind.Symlink)
                    return $"it is reached through the symbolic link {a}";
            return null;
        }

        /// <summary>Moves a queue entry (file, FIFO, symlink itself — never its target) here; returns the new path.</summary>
        public string Move(string path, string reason, ulong? id)
        {
            Prepare();
            string rel = path.StartsWith(_queueRoot + "/", StringComparison.Ordinal) ? path.Substring(_queueRoot.Length + 1) : Path.GetFileName(path);
            string target = Path.Combine(Root, rel);
            MakeParents(Path.GetDirectoryName(target)!);
            for (int n = 1; _posix.TryLstat(target, out _, out _); n++) target = Path.Combine(Root, rel) + "." + n.ToString(CultureInfo.InvariantCulture);
            // The manifest line first: after a crash it names a file that may still be in the queue,
            // which the next run moves again; the other order could lose track of a moved file.
            Record(id, path, target, reason);
            try { _posix.Rename(path, target); }
            catch (PosixIOException e) when (e.Errno == Errno.EXDEV) { MoveAcross(path, target); }
            _posix.FsyncDirectory(Path.GetDirectoryName(path)!);
            return target;
        }

        /// <summary>
        /// The quarantine is on another file system (say the queue is its own partition): rename(2)
        /// cannot move there, so the entry is made again there (same kind, bytes, owner, mode and
        /// mtime; a symlink as a symlink, never its target; a directory entry by entry), made durable,
        /// and only then removed from the queue. Killed in between, it is in both places; the next
        /// run moves the queue's copy again, under a ".1" name. Sockets and device nodes cannot be
        /// copied faithfully: they stay where they are, with an error.
        /// </summary>
        private void MoveAcross(string from, string to)
        {
            if (!_posix.TryLstat(from, out FileStatus st, out int errno)) throw Errno.ToException(errno, "lstat", from);
            switch (st.Kind)
            {
                case FileKind.Regular:
                    _posix.CopyNewFile(from, to, st.Permissions);
                    break;
                case FileKind.Symlink:
                    _posix.Symlink(_posix.ReadLink(from), to);
                    break;
                case FileKind.Fifo:
                    _posix.Mkfifo(to, st.Permissions);
                    break;
                case FileKind.Directory:
                    _posix.Mkdir(to, st.Permissions);
                    foreach (DirEntry e in _posix.TryList(from, new List<DirEntry>(), out int lerr) ?? throw Errno.ToException(lerr, "open directory", from))
                        MoveAcross(from + "/" + e.Name, to + "/" + e.Name);
                    break;
                default:
                    throw new IOException($"{from} is a {st.Kind}; it cannot be copied to the quarantine {Root} on another file system, so it stays in the queue. Give -QuarantinePath a folder on the queue's file system.");
            }
            _posix.Lchown(to, st.Uid, st.Gid);
            _posix.SetTimes(to, st.ATimeSeconds, st.MTimeSeconds);
            _posix.FsyncDirectory(Path.GetDirectoryName(to)!);
            if (st.Kind == FileKind.Directory) _posix.Rmdir(from);
            else _posix.Unlink(from);
        }

        /// <summary>Saves a copy of bytes about to be replaced in the queue (the file itself stays).</summary>
        public string SaveCopy(string path, byte[] content, string reason, ulong? id) =>
            Save(path, reason, id, target => _posix.WriteNewFile(target, content, Mode.Rw_______));

        /// <summary>The same, copied from the file a window at a time: memory does not grow with it.</summary>
        public string SaveCopyOf(string path, string reason, ulong? id) =>
            Save(path, reason, id, target => _posix.CopyNewFile(path, target, Mode.Rw_______));

        private string Save(string path, string reason, ulong? id, Action<string> write)
        {
            Prepare();
            string rel = path.StartsWith(_queueRoot + "/", StringComparison.Ordinal) ? path.Substring(_queueRoot.Length + 1) : Path.GetFileName(path);
            string target = Path.Combine(Root, rel) + ".orig";
            MakeParents(Path.GetDirectoryName(target)!);
            for (int n = 1; _posix.TryLstat(target, out _, out _); n++) target = Path.Combine(Root, rel) + ".orig." + n.ToString(CultureInfo.InvariantCulture);
            write(target);
            Record(id, path, target, reason);
            return target;
        }

        /// <summary>
        /// A fresh quarantine is made 0700 for the running user. An existing one is used only when
        /// it is a directory of the running user that nobody else can write, reached without a
        /// symbolic link: whoever can write it could plant links there for root to write through.
        /// Either way it becomes an anchor of the seam, so everything in it is made relative to its
        /// handle (O_EXCL | O_NOFOLLOW), never through a link.
        /// </summary>
        private void Prepare()
        {
            if (_ready) return;
            if (!_posix.TryLstat(Root, out FileStatus st, out _)) _posix.CreateRoot(Root, Mode.Rwx______);
            else
            {
                if (Unsafe(Root, _posix) is string why) throw new IOException($"The quarantine '{Root}' is not used: {why}. Give -QuarantinePath a new path (it is made 0700) or a directory of yours that only you can write.");
                _posix.Trust(Root, followLink: false);
            }
            string manifest = Path.Combine(Root, "manifest.tsv");
            if (!_posix.TryLstat(manifest, out _, out _))
                _posix.WriteNewFile(manifest, Encoding.UTF8.GetBytes("time\tid\tfrom\tto\treason\n"), Mode.Rw_______);
            _ready = true;
        }

        private void MakeParents(string dir)
        {
            if (_posix.TryLstat(dir, out _, out _)) return;
            MakeParents(Path.GetDirectoryName(dir)!);
            _posix.Mkdir(dir, Mode.Rwx______);
        }

        private void Record(ulong? id, string from, string to, string reason)
        {
            string line = string.Join("\t", DateTime.UtcNow.ToString("o", CultureInfo.InvariantCulture),
                id?.ToString(CultureInfo.InvariantCulture) ?? "-", PathName.Printable(from), PathName.Printable(to), PathName.Printable(reason)) + "\n";
            _posix.Append(Path.Combine(Root, "manifest.tsv"), Encoding.UTF8.GetBytes(line));
        }
    }
}
