using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using Mono.Unix.Native;

namespace QmailPS.Posix
{
    /// <summary>
    /// <see cref="IFileSystem"/> on Linux: the *at calls of <see cref="LibcAt"/> relative to anchor
    /// descriptors for every path in the queue or the quarantine, Mono.Posix for user names and kill.
    /// </summary>
    internal sealed unsafe class LinuxFileSystem : IFileSystem
    {
        private sealed class Anchor
        {
            public Anchor(string path, int fd, ulong device) { Path = path; Fd = fd; Device = device; }
            public string Path { get; }
            public int Fd { get; }
            public ulong Device { get; }
        }

        private static bool s_noOpenat2;
        private readonly bool _useOpenat2;
        private readonly List<Anchor> _anchors = new List<Anchor>();
        private readonly object _gate = new object();

        /// <param name="useOpenat2">false forces the per-component O_NOFOLLOW walk that kernels before 5.6 get (tests run both).</param>
        public LinuxFileSystem(bool useOpenat2 = true)
        {
            // The resolver must be in place before the JIT first touches a Mono.Posix type.
            NativeDependencies.Register();
            _useOpenat2 = useOpenat2;
        }

        // ---- anchors -------------------------------------------------------------------------

        public void Trust(string root, bool followLink = true)
        {
            string full = Normal(root);
            lock (_gate) { if (_anchors.Exists(a => a.Path == full)) return; }
            int fd;
            fixed (byte* p = Libc.PathBytes(full))
                fd = Libc.open(p, Libc.O_RDONLY | Libc.O_CLOEXEC | LibcAt.O_Directory | (followLink ? 0 : Libc.O_NOFOLLOW), 0);
            if (fd < 0) throw Errno.ToException(Libc.LastErrno, "open directory", full);
            if (!FstatFd(fd, out FileStatus st, out int errno)) { Libc.close(fd); throw Errno.ToException(errno, "fstat", full); }
            lock (_gate)
            {
                if (_anchors.Exists(a => a.Path == full)) { Libc.close(fd); return; }
                _anchors.Add(new Anchor(full, fd, st.Device));
            }
        }

        public void CreateRoot(string path, uint mode)
        {
            string full = Normal(path);
            string parent = Path.GetDirectoryName(full) ?? "/";
            if (parent != full && !Directory.Exists(parent)) MakeParents(parent);
            fixed (byte* p = Libc.PathBytes(full)) Check(LibcAt.mkdirat(Libc.AT_FDCWD, p, mode), "mkdir", full);
            Trust(full, followLink: false);
            ChmodNoFollow(full, mode); // mkdir is subject to the umask
        }

        private static void MakeParents(string dir)
        {
            string? up = Path.GetDirectoryName(dir);
            if (up != null && up != dir && !Directory.Exists(up)) MakeParents(up);
            int rc;
            fixed (byte* p = Libc.PathBytes(dir)) rc = LibcAt.mkdirat(Libc.AT_FDCWD, p, 0x1ED); // 0755, as hier.c makes the qmail home
            if (rc < 0)
            {
                if (LastErrno() != Errno.EEXIST) throw Errno.ToException(LastErrno(), "mkdir", dir);
                return;
            }
            int fd;
            fixed (byte* p = Libc.PathBytes(dir)) fd = Libc.open(p, Libc.O_RDONLY | Libc.O_CLOEXEC | LibcAt.O_Directory | Libc.O_NOFOLLOW, 0);
            if (fd < 0) return;
            LibcAt.fchmod(fd, 0x1ED); // not the umask's
            Libc.close(fd);
        }

        ~LinuxFileSystem() => Dispose();

        public bool IsTrusted(string path) => Find(path, out _, out _);

        public void Dispose()
        {
            lock (_gate)
            {
                foreach (Anchor a in _anchors) Libc.close(a.Fd);
                _anchors.Clear();
            }
        }

        private static string Normal(string path)
        {
            string full = Path.GetFullPath(path);
            if (full.Length > 1) full = full.TrimEnd('/');
            return full.Length == 0 ? "/" : full;
        }

        /// <summary>The deepest anchor holding <paramref name="path"/> and the path below it ("" for the anchor itself).
        /// A relative path, or one with an empty, '.' or '..' component, belongs to no anchor.</summary>
        private bool Find(string path, out Anchor anchor, out string rel)
        {
            anchor = null!; rel = "";
            if (path.Length == 0 || path[0] != '/') return false;
            string p = path.Length > 1 ? path.TrimEnd('/') : path;
            Anchor? best = null;
            lock (_gate)
            {
                foreach (Anchor a in _anchors)
                {
                    bool under = p == a.Path || (a.Path == "/" ? p.Length > 1 : p.StartsWith(a.Path + "/", StringComparison.Ordinal));
                    if (under && (best is null || a.Path.Length > best.Path.Length)) best = a;
                }
            }
            if (best is null) return false;
            rel = p.Length == best.Path.Length ? "" : p.Substring(best.Path == "/" ? 1 : best.Path.Length + 1);
            if (rel.Length > 0)
                foreach (string c in rel.Split('/'))
                    if (c.Length == 0 || c == "." || c == "..") return false;
            anchor = best;
            return true;
        }

        /// <summary>Where one name is: a directory descriptor reached safely and the last component.</summary>
        private struct Target : IDisposable
        {
            public int DirFd;
            public byte[] NameZ;
            public bool OwnsFd;
            public Anchor? Anchor;
            public string Path;

            public void Dispose()
            {
                if (OwnsFd && DirFd >= 0) Libc.close(DirFd);
                DirFd = -1;
            }
        }

        /// <summary>
        /// Resolves the directory holding the last component of <paramref name="path"/>. Beneath an
        /// anchor: from its descriptor, never through a symlink or a mount; false with errno (ELOOP,
        /// EXDEV, ENOENT, ENOTDIR) when that fails. Outside every anchor: a change is refused
        /// (<see cref="OutsideQueueException"/>); a read uses the path as given.
        /// </summary>
        private bool TryLocate(string path, bool change, string operation, out Target t, out int errno)
        {
            t = new Target { DirFd = -1, Path = path };
            if (!Find(path, out Anchor a, out string rel))
            {
                if (change) throw new OutsideQueueException(path, operation);
                t.DirFd = Libc.AT_FDCWD;
                t.NameZ = Libc.PathBytes(path);
                errno = 0;
                return true;
            }
            t.Anchor = a;
            int slash = rel.LastIndexOf('/');
            string parent = slash < 0 ? "" : rel.Substring(0, slash);
            string name = rel.Length == 0 ? "." : rel.Substring(slash + 1);
            t.NameZ = Libc.PathBytes(name);
            if (parent.Length == 0) { t.DirFd = a.Fd; errno = 0; return true; }
            if (change && Held(a, parent, out int kept)) { t.DirFd = kept; errno = 0; return true; }
            int fd = OpenBeneath(a, parent, Libc.O_RDONLY | LibcAt.O_Directory, out errno);
            if (fd < 0) return false;
            t.DirFd = fd; t.OwnsFd = true;
            if (change) Hold(a, parent, ref t);
            return true;
        }

        // ---- held directories (HoldDirectories) ----------------------------------------------

        /// <summary>
        /// The descriptors held for the caller: its thread and the threads it starts while it holds
        /// them (the ExecutionContext flows to them). Another user of the same seam (a test shares
        /// one) resolves its paths as always.
        /// </summary>
        private readonly AsyncLocal<Dictionary<string, int>?> _held = new AsyncLocal<Dictionary<string, int>?>();

        public IDisposable HoldDirectories()
        {
            if (_held.Value != null) return new Release(null, null); // nested: the outer one releases
            var held = new Dictionary<string, int>(StringComparer.Ordinal);
            _held.Value = held;
            return new Release(this, held);
        }

        private sealed class Release : IDisposable
        {
            private LinuxFileSystem? _fs;
            private readonly Dictionary<string, int>? _held;
            public Release(LinuxFileSystem? fs, Dictionary<string, int>? held) { _fs = fs; _held = held; }
            public void Dispose()
            {
                LinuxFileSystem? fs = Interlocked.Exchange(ref _fs, null);
                if (fs is null || _held is null) return;
                if (ReferenceEquals(fs._held.Value, _held)) fs._held.Value = null;
                lock (_held)
                {
                    foreach (int fd in _held.Values) Libc.close(fd);
                    _held.Clear();
                    _held[Released] = -1; // a thread that still sees this set (another context) holds nothing more in it
                }
            }
        }

        private bool Held(Anchor a, string parent, out int fd)
        {
            fd = -1;
            Dictionary<string, int>? held = _held.Value;
            if (held is null) return false;
            lock (held) return !held.ContainsKey(Released) && held.TryGetValue(a.Path + "\0" + parent, out fd);
        }

        private const string Released = "\0released";

        /// <summary>Keeps a directory just opened for a change, while held: the target no longer owns it.</summary>
        private void Hold(Anchor a, string parent, ref Target t)
        {
            Dictionary<string, int>? held = _held.Value;
            if (held is null) return;
            lock (held)
            {
                if (held.ContainsKey(Released)) return;
                string key = a.Path + "\0" + parent;
                if (held.TryGetValue(key, out int other)) { Libc.close(t.DirFd); t.DirFd = other; } // another thread was first
                else held[key] = t.DirFd;
                t.OwnsFd = false;
            }
        }

        private Target Locate(string path, bool change, string operation)
        {
            if (!TryLocate(path, change, operation, out Target t, out int errno)) throw Refused(errno, operation, path);
            return t;
        }

        private static IOException Refused(int errno, string operation, string path) => errno switch
        {
            Errno.ELOOP => new PosixIOException($"{operation} {path}: a symbolic link is on the way inside the queue; QmailPS never follows one there (errno {errno})", errno),
            Errno.EXDEV => new PosixIOException($"{operation} {path}: another file system is mounted on the way inside the queue; QmailPS never crosses one there (errno {errno})", errno),
            _ => Errno.ToException(errno, operation, path),
        };

        /// <summary>openat2 beneath the anchor with no symlink, magic link or mount crossing; or, where the
        /// kernel lacks openat2 (before 5.6, or a seccomp filter), the same one component at a time.</summary>
        private int OpenBeneath(Anchor a, string rel, int flags, out int errno)
        {
            flags |= Libc.O_CLOEXEC | Libc.O_NOFOLLOW;
            if (_useOpenat2 && !s_noOpenat2)
            {
                var how = new LibcAt.OpenHow
                {
                    Flags = (ulong)(uint)flags,
                    Resolve = LibcAt.RESOLVE_BENEATH | LibcAt.RESOLVE_NO_SYMLINKS | LibcAt.RESOLVE_NO_MAGICLINKS | LibcAt.RESOLVE_NO_XDEV,
                };
                int fd;
                fixed (byte* p = Libc.PathBytes(rel))
                    fd = (int)Libc.syscall(LibcAt.SYS_openat2, a.Fd, (long)p, (long)&how, sizeof(LibcAt.OpenHow), 0, 0);
                if (fd >= 0) { errno = 0; return fd; }
                errno = Libc.LastErrno;
                if (errno == Errno.ENOTDIR && HasSymlink(a, rel)) errno = Errno.ELOOP; // O_DIRECTORY wins over O_NOFOLLOW
                if (errno == Errno.EAGAIN) errno = Errno.EXDEV; // a rename race under RESOLVE_BENEATH: refuse, do not retry blindly
                if (errno != LibcAt.ENOSYS && errno != Errno.EPERM) return -1;
                s_noOpenat2 = true; // seccomp filters answer EPERM or ENOSYS
            }
            string[] parts = rel.Split('/');
            int dir = a.Fd;
            for (int i = 0; i < parts.Length; i++)
            {
                bool last = i == parts.Length - 1;
                int f = last ? flags : Libc.O_RDONLY | LibcAt.O_Directory | Libc.O_CLOEXEC | Libc.O_NOFOLLOW;
                int fd;
                fixed (byte* p = Libc.PathBytes(parts[i])) fd = Libc.openat(dir, p, f, 0);
                int e = fd < 0 ? Libc.LastErrno : 0;
                if (e == Errno.ENOTDIR)
                {
                    FileStatus ls;
                    fixed (byte* p = Libc.PathBytes(parts[i]))
                        if (StatAt(dir, p, Libc.AT_SYMLINK_NOFOLLOW, out ls, out _) && ls.Kind == FileKind.Symlink) e = Errno.ELOOP;
                }
                if (dir != a.Fd) Libc.close(dir);
                if (fd < 0) { errno = e; return -1; }
                if (!FstatFd(fd, out FileStatus st, out errno)) { Libc.close(fd); return -1; }
                if (st.Device != a.Device) { Libc.close(fd); errno = Errno.EXDEV; return -1; }
                dir = fd;
            }
            errno = 0;
            return dir;
        }

        internal static bool Fstat(int fd, out FileStatus st, out int errno) => FstatFd(fd, out st, out errno);

        /// <summary>Whether a component of <paramref name="rel"/> below the anchor is a symlink (lstat each, never following).</summary>
        private bool HasSymlink(Anchor a, string rel)
        {
            string path = a.Path == "/" ? "" : a.Path;
            foreach (string c in rel.Split('/'))
            {
                path += "/" + c;
                if (!TryLstat(path, out FileStatus st, out _)) return false;
                if (st.Kind == FileKind.Symlink) return true;
            }
            return false;
        }

        private static bool FstatFd(int fd, out FileStatus st, out int errno)
        {
            byte* empty = stackalloc byte[1];
            empty[0] = 0;
            return StatAt(fd, empty, Libc.AT_EMPTY_PATH, out st, out errno);
        }

        private static bool s_noStatx;

        private static bool StatAt(int dirfd, byte* name, int flags, out FileStatus st, out int errno)
        {
            if (!s_noStatx)
            {
                try
                {
                    Libc.StatxBuffer buf;
                    if (Libc.statx(dirfd, name, flags, Libc.STATX_BASIC_STATS, &buf) == 0) { st = buf.ToStatus(); errno = 0; return true; }
                    errno = Libc.LastErrno; st = default; return false;
                }
                catch (EntryPointNotFoundException) { s_noStatx = true; }
            }
            return StatAtMono(dirfd, name, flags, out st, out errno);
        }

        /// <summary>glibc before 2.28: Mono.Posix's fstatat (the same call, older struct).</summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        private static bool StatAtMono(int dirfd, byte* name, int flags, out FileStatus st, out int errno)
        {
            int len = 0;
            while (name[len] != 0) len++;
            var raw = new byte[len];
            for (int i = 0; i < len; i++) raw[i] = name[i];
            string n = PathName.FromBytes(raw, len);
            int rc = (flags & Libc.AT_EMPTY_PATH) != 0 && n.Length == 0
                ? Syscall.fstat(dirfd, out Stat s)
                : Syscall.fstatat(dirfd, n, out s, (flags & Libc.AT_SYMLINK_NOFOLLOW) != 0 ? AtFlags.AT_SYMLINK_NOFOLLOW : 0);
            if (rc != 0) { errno = NativeConvert.FromErrno(Stdlib.GetLastError()); st = default; return false; }
            st = new FileStatus(s.st_ino, DeviceId(s.st_dev), (uint)s.st_mode, s.st_uid, s.st_gid, (uint)s.st_nlink,
                s.st_size, s.st_mtime, s.st_mtime_nsec, s.st_atime);
            errno = 0;
            return true;
        }

        /// <summary>glibc's dev_t encoding (gnu_dev_major/minor) to the (major &lt;&lt; 32 | minor) form statx gives.</summary>
        internal static ulong DeviceId(ulong dev)
        {
            ulong major = ((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfffUL);
            ulong minor = (dev & 0xff) | ((dev >> 12) & ~0xffUL);
            return (major << 32) | (minor & 0xffffffff);
        }

        private static int LastErrno() => Libc.LastErrno;

        private static void Check(int rc, string op, string path)
        {
            if (rc < 0) throw Errno.ToException(LastErrno(), op, path);
        }

        // ---- reads ---------------------------------------------------------------------------

        public bool TryLstat(string path, out FileStatus status, out int errno)
        {
            if (!TryLocate(path, false, "lstat", out Target t, out errno)) { status = default; return false; }
            using (t)
                fixed (byte* n = t.NameZ) return StatAt(t.DirFd, n, Libc.AT_SYMLINK_NOFOLLOW, out status, out errno);
        }

        public DirectoryHandle? TryOpenDirectory(string path, out int errno)
        {
            int fd = OpenDirectoryFd(path, out errno);
            if (fd < 0) return null;
            return new DirectoryHandle(fd, path, this);
        }

        private int OpenDirectoryFd(string path, out int errno)
        {
            int flags = Libc.O_RDONLY | Libc.O_CLOEXEC | Libc.O_NONBLOCK | LibcAt.O_Directory;
            int fd;
            if (Find(path, out Anchor a, out string rel))
            {
                if (rel.Length == 0)
                {
                    fixed (byte* dot = Libc.PathBytes(".")) fd = Libc.openat(a.Fd, dot, flags, 0);
                    errno = fd < 0 ? Libc.LastErrno : 0;
                    return fd;
                }
                fd = OpenBeneath(a, rel, flags, out errno);
                return fd;
            }
            // A directory the user named outside any queue: followed, as opendir does.
            fixed (byte* p = Libc.PathBytes(path)) fd = Libc.open(p, flags, 0);
            errno = fd < 0 ? Libc.LastErrno : 0;
            return fd;
        }

        public List<DirEntry>? TryList(string path, List<DirEntry> into, out int errno)
        {
            into.Clear();
            int fd = OpenDirectoryFd(path, out errno);
            if (fd < 0) return null;
            return DirectoryHandle.ReadEntries(fd, into, out errno);
        }

        public byte[] ReadFile(string path)
        {
            string dir = Path.GetDirectoryName(path) ?? "/";
            using DirectoryHandle h = TryOpenDirectory(dir, out int errno) ?? throw Refused(errno, "open directory", dir);
            byte[] buffer = new byte[4096];
            int n = h.TryReadFile(Libc.PathBytes(Path.GetFileName(path)), ref buffer, out _, out errno);
            if (n < 0) throw errno == Errno.ELOOP ? Refused(errno, "read", path) : Errno.ToException(errno == DirectoryHandle.NotRegular ? Errno.EINVAL : errno, "read", path);
            var result = new byte[n];
            Buffer.BlockCopy(buffer, 0, result, 0, n);
            return result;
        }

        public string ReadLink(string path)
        {
            using Target t = Locate(path, false, "readlink");
            var buf = new byte[4096];
            long n;
            fixed (byte* name = t.NameZ)
            fixed (byte* b = buf) n = (long)LibcAt.readlinkat(t.DirFd, name, b, (UIntPtr)buf.Length);
            if (n < 0) throw Errno.ToException(LastErrno(), "readlink", path);
            return PathName.FromBytes(buf, (int)n);
        }

        // ---- checked descriptors ---------------------------------------------------------------

        /// <summary>
        /// Opens an existing entry to change it: lstat first (nothing but a regular file, a FIFO or
        /// a directory is ever opened, so no device is opened for writing), then O_NOFOLLOW |
        /// O_NONBLOCK, then fstat of the descriptor, which must be the inode seen, on the anchor's
        /// device, with one link (two only when <paramref name="pairedWith"/> is the other name of
        /// the pair qmail-queue makes, todo and intd).
        /// </summary>
        private int OpenChecked(Target t, int flags, bool content, string? pairedWith, out FileStatus st)
        {
            string path = t.Path;
            FileStatus before;
            fixed (byte* n = t.NameZ)
                if (!StatAt(t.DirFd, n, Libc.AT_SYMLINK_NOFOLLOW, out before, out int e0)) throw Errno.ToException(e0, "lstat", path);
            if (before.Kind == FileKind.Symlink) throw Refused(Errno.ELOOP, "open", path);
            bool ok = before.Kind == FileKind.Regular || (!content && (before.Kind == FileKind.Fifo || before.Kind == FileKind.Directory));
            if (!ok) throw new NotRegularFileException(path, before.Kind);
            if (before.Kind == FileKind.Directory) flags = Libc.O_RDONLY | LibcAt.O_Directory;
            int fd;
            fixed (byte* n = t.NameZ) fd = Libc.openat(t.DirFd, n, flags | Libc.O_NOFOLLOW | Libc.O_NONBLOCK | Libc.O_CLOEXEC, 0);
            if (fd < 0) throw Errno.ToException(LastErrno(), "open", path);
            try
            {
                if (!FstatFd(fd, out st, out int e)) throw Errno.ToException(e, "fstat", path);
                if (st.Inode != before.Inode || st.Device != before.Device || st.Kind != before.Kind)
                    throw new PosixIOException($"{path} was replaced while it was being opened; nothing was changed", Errno.EAGAIN);
                if (t.Anchor != null && st.Device != t.Anchor.Device)
                    throw new PosixIOException($"{path} is on another file system than {t.Anchor.Path}; nothing was changed", Errno.EXDEV);
                if (st.Kind != FileKind.Directory && st.Links != 1 && !IsPair(st, pairedWith))
                    throw new SharedInodeException(path, st.Links);
                return fd;
            }
            catch
            {
                Libc.close(fd);
                throw;
            }
        }

        private bool IsPair(FileStatus st, string? pairedWith) =>
            pairedWith != null && st.Links == 2 && TryLstat(pairedWith, out FileStatus other, out _)
            && other.Inode == st.Inode && other.Device == st.Device;

        public int OpenExisting(string path, bool write, out int errno, bool noAtime = false)
        {
            if (write)
            {
                if (!TryLocate(path, true, "open", out Target t, out errno)) return -1;
                using (t)
                {
                    try { errno = 0; return OpenChecked(t, LibcFileIo.O_RDWR, content: true, null, out _); }
                    catch (SharedInodeException) { throw; }
                    catch (NotRegularFileException) { errno = DirectoryHandle.NotRegular; return -1; }
                    catch (PosixIOException e) { errno = e.Errno; return -1; }
                    catch (FileNotFoundException) { errno = Errno.ENOENT; return -1; }
                    catch (DirectoryNotFoundException) { errno = Errno.ENOTDIR; return -1; }
                }
            }
            if (!TryLocate(path, false, "open", out Target r, out errno)) return -1;
            using (r)
            {
                int fd;
                int flags = Libc.O_RDONLY | Libc.O_NOFOLLOW | Libc.O_NONBLOCK | Libc.O_CLOEXEC | (noAtime ? Libc.O_NOATIME : 0);
                fixed (byte* n = r.NameZ) fd = Libc.openat(r.DirFd, n, flags, 0);
                if (fd < 0 && noAtime && LastErrno() == Errno.EPERM) // O_NOATIME needs the file's owner or CAP_FOWNER
                    fixed (byte* n = r.NameZ) fd = Libc.openat(r.DirFd, n, flags & ~Libc.O_NOATIME, 0);
                errno = fd < 0 ? LastErrno() : 0;
                return fd;
            }
        }

        public bool TryFstat(int fd, out FileStatus status, out int errno) => FstatFd(fd, out status, out errno);

        public int Flock(int fd, int operation) => Libc.flock(fd, operation) == 0 ? 0 : LastErrno();

        public int ReadAt(int fd, byte[] buffer, int start, int count, long offset, out int errno)
        {
            if (count == 0) { errno = 0; return 0; }
            long got;
            fixed (byte* b = &buffer[start]) got = (long)LibcFileIo.pread(fd, b, (UIntPtr)count, offset);
            errno = got < 0 ? LastErrno() : 0;
            return (int)got;
        }

        public void PullTrigger(string fifoPath)
        {
            if (!TryLocate(fifoPath, true, "open", out Target t, out _)) return;
            using (t)
            {
                int fd;
                fixed (byte* n = t.NameZ) fd = Libc.openat(t.DirFd, n, Libc.O_WRONLY | Libc.O_NONBLOCK | Libc.O_CLOEXEC | Libc.O_NOFOLLOW, 0);
                if (fd < 0) return; // ENXIO: nobody reads it (qmail-send not running)
                try
                {
                    if (!FstatFd(fd, out FileStatus st, out _) || st.Kind != FileKind.Fifo) return;
                    byte zero = 0;
                    LibcAt.write(fd, &zero, (UIntPtr)1);
                }
                finally { Libc.close(fd); }
            }
        }

        public void Close(int fd) { if (fd >= 0) Libc.close(fd); }

        public void WriteAt(int fd, string path, long offset, byte[] data)
        {
            int done = 0;
            while (done < data.Length)
            {
                long put;
                fixed (byte* b = &data[done]) put = (long)LibcFileIo.pwrite(fd, b, (UIntPtr)(data.Length - done), offset + done);
                if (put < 0)
                {
                    int e = LastErrno();
                    if (e == Errno.EINTR) continue;
                    throw Errno.ToException(e, "write", path);
                }
                done += (int)put;
            }
        }

        // ---- changes ---------------------------------------------------------------------------

        public void Lchown(string path, uint uid, uint gid, string? pairedWith = null)
        {
            using Target t = Locate(path, true, "chown");
            FileStatus st;
            fixed (byte* n = t.NameZ)
                if (!StatAt(t.DirFd, n, Libc.AT_SYMLINK_NOFOLLOW, out st, out int e)) throw Errno.ToException(e, "lstat", path);
            if (st.Kind == FileKind.Symlink)
            {
                // The link itself (a copy made in the quarantine); its target is never touched.
                fixed (byte* n = t.NameZ) Check(LibcAt.fchownat(t.DirFd, n, uid, gid, Libc.AT_SYMLINK_NOFOLLOW), "chown", path);
                return;
            }
            int fd = OpenChecked(t, Libc.O_RDONLY, content: false, pairedWith, out _);
            try { Check(LibcAt.fchown(fd, uid, gid), "fchown", path); }
            finally { Libc.close(fd); }
        }

        public void ChmodNoFollow(string path, uint mode, string? pairedWith = null)
        {
            using Target t = Locate(path, true, "chmod");
            int fd = OpenChecked(t, Libc.O_RDONLY, content: false, pairedWith, out _);
            try { Check(LibcAt.fchmod(fd, mode), "fchmod", path); }
            finally { Libc.close(fd); }
        }

        public void Link(string existing, string newPath)
        {
            using Target a = Locate(existing, true, "link");
            using Target b = Locate(newPath, true, "link");
            fixed (byte* n1 = a.NameZ)
            fixed (byte* n2 = b.NameZ) Check(LibcAt.linkat(a.DirFd, n1, b.DirFd, n2, 0), "link", newPath);
        }

        public void Unlink(string path)
        {
            using Target t = Locate(path, true, "unlink");
            fixed (byte* n = t.NameZ) Check(LibcAt.unlinkat(t.DirFd, n, 0), "unlink", path);
        }

        public void Rename(string from, string to)
        {
            using Target a = Locate(from, true, "rename");
            using Target b = Locate(to, true, "rename");
            fixed (byte* n1 = a.NameZ)
            fixed (byte* n2 = b.NameZ) Check(LibcAt.renameat(a.DirFd, n1, b.DirFd, n2), "rename", from);
        }

        public void Mkfifo(string path, uint mode)
        {
            using Target t = Locate(path, true, "mkfifo");
            fixed (byte* n = t.NameZ) Check(LibcAt.mkfifoat(t.DirFd, n, mode), "mkfifo", path);
            FixMode(t, mode); // mkfifo is subject to the umask
        }

        public void Symlink(string target, string path)
        {
            using Target t = Locate(path, true, "symlink");
            fixed (byte* to = Libc.PathBytes(target))
            fixed (byte* n = t.NameZ) Check(LibcAt.symlinkat(to, t.DirFd, n), "symlink", path);
        }

        public void Mkdir(string path, uint mode)
        {
            using Target t = Locate(path, true, "mkdir");
            fixed (byte* n = t.NameZ) Check(LibcAt.mkdirat(t.DirFd, n, mode), "mkdir", path);
            FixMode(t, mode);
        }

        private void FixMode(Target t, uint mode)
        {
            int fd = OpenChecked(t, Libc.O_RDONLY, content: false, null, out _);
            try { Check(LibcAt.fchmod(fd, mode), "fchmod", t.Path); }
            finally { Libc.close(fd); }
        }

        public void Rmdir(string path)
        {
            using Target t = Locate(path, true, "rmdir");
            fixed (byte* n = t.NameZ) Check(LibcAt.unlinkat(t.DirFd, n, LibcAt.AT_REMOVEDIR), "rmdir", path);
        }

        public void SetTimes(string path, long atimeSeconds, long mtimeSeconds, string? pairedWith = null) =>
            Times(path, atimeSeconds, mtimeSeconds, 0, pairedWith);

        public void RestoreTimes(string path, long atimeSeconds, long mtimeSeconds, long mtimeNanoseconds, string? pairedWith = null) =>
            Times(path, atimeSeconds, mtimeSeconds, mtimeNanoseconds, pairedWith);

        private void Times(string path, long atime, long mtime, long mtimeNs, string? pairedWith)
        {
            using Target t = Locate(path, true, "utimens");
            LibcAt.Timespec* times = stackalloc LibcAt.Timespec[2];
            times[0] = new LibcAt.Timespec { Sec = atime };
            times[1] = new LibcAt.Timespec { Sec = mtime, Nsec = mtimeNs };
            FileStatus st;
            fixed (byte* n = t.NameZ)
                if (!StatAt(t.DirFd, n, Libc.AT_SYMLINK_NOFOLLOW, out st, out int e)) throw Errno.ToException(e, "lstat", path);
            if (st.Kind == FileKind.Symlink)
            {
                fixed (byte* n = t.NameZ) Check(LibcAt.utimensat(t.DirFd, n, times, Libc.AT_SYMLINK_NOFOLLOW), "utimensat", path);
                return;
            }
            int fd = OpenChecked(t, Libc.O_RDONLY, content: false, pairedWith, out _);
            try { Check(LibcAt.futimens(fd, times), "futimens", path); }
            finally { Libc.close(fd); }
        }

        public void WriteNewFile(string path, byte[] content, uint mode, bool fsync = true)
        {
            using Target t = Locate(path, true, "create");
            int fd = CreateExclusive(t, mode);
            try
            {
                WriteAll(fd, content, content.Length, path);
                Check(LibcAt.fchmod(fd, mode), "fchmod", path); // undo the umask
                if (fsync) Check(LibcAt.fsync(fd), "fsync", path);
            }
            finally { Libc.close(fd); }
        }

        private static int CreateExclusive(Target t, uint mode)
        {
            int fd;
            fixed (byte* n = t.NameZ)
                fd = Libc.openat(t.DirFd, n, Libc.O_WRONLY | LibcAt.O_CREAT | LibcAt.O_EXCL | Libc.O_NOFOLLOW | Libc.O_CLOEXEC, mode);
            if (fd < 0) throw Errno.ToException(LastErrno(), "create", t.Path);
            return fd;
        }

        public void CopyNewFile(string source, string path, uint mode)
        {
            int from;
            using (Target s = Locate(source, false, "open"))
                fixed (byte* n = s.NameZ) from = Libc.openat(s.DirFd, n, Libc.O_RDONLY | Libc.O_NOFOLLOW | Libc.O_NONBLOCK | Libc.O_CLOEXEC, 0);
            if (from < 0) throw Errno.ToException(LastErrno(), "open", source);
            try
            {
                if (!FstatFd(from, out FileStatus st, out int e)) throw Errno.ToException(e, "fstat", source);
                if (st.Kind != FileKind.Regular) throw Errno.ToException(Errno.EINVAL, "copy (not a regular file)", source);
                using Target t = Locate(path, true, "create");
                int fd = CreateExclusive(t, mode);
                try
                {
                    var buffer = new byte[1 << 20]; // a message of any size, in bounded memory
                    while (true)
                    {
                        long n;
                        fixed (byte* b = buffer) n = (long)Libc.read(from, b, (UIntPtr)buffer.Length);
                        if (n < 0)
                        {
                            int err = LastErrno();
                            if (err == Errno.EINTR) continue;
                            throw Errno.ToException(err, "read", source);
                        }
                        if (n == 0) break;
                        WriteAll(fd, buffer, (int)n, path);
                    }
                    Check(LibcAt.fchmod(fd, mode), "fchmod", path);
                    Check(LibcAt.fsync(fd), "fsync", path);
                }
                finally { Libc.close(fd); }
            }
            finally { Libc.close(from); }
        }

        private static void WriteAll(int fd, byte[] content, int length, string path)
        {
            int done = 0;
            while (done < length)
            {
                long n;
                fixed (byte* p = &content[done]) n = (long)LibcAt.write(fd, p, (UIntPtr)(length - done));
                if (n < 0)
                {
                    int e = LastErrno();
                    if (e == Errno.EINTR) continue;
                    throw Errno.ToException(e, "write", path);
                }
                done += (int)n;
            }
        }

        public void FsyncDirectory(string path)
        {
            if (Find(path, out Anchor a, out string rel) && rel.Length > 0 && Held(a, rel, out int kept))
            {
                Check(LibcAt.fsync(kept), "fsync", path);
                return;
            }
            int fd = OpenDirectoryFd(path, out int errno);
            if (fd < 0) throw Refused(errno, "open directory", path);
            try { Check(LibcAt.fsync(fd), "fsync", path); }
            finally { Libc.close(fd); }
        }

        public void Append(string path, byte[] bytes, string? pairedWith = null)
        {
            using Target t = Locate(path, true, "append");
            int fd = OpenChecked(t, Libc.O_WRONLY | LibcAt.O_APPEND, content: true, pairedWith, out _);
            try
            {
                WriteAll(fd, bytes, bytes.Length, path);
                Check(LibcAt.fsync(fd), "fsync", path);
            }
            finally { Libc.close(fd); }
        }

        public void WriteByteAt(string path, long offset, byte value, string? pairedWith = null)
        {
            using Target t = Locate(path, true, "write");
            int fd = OpenChecked(t, Libc.O_WRONLY, content: true, pairedWith, out _);
            try
            {
                long n = (long)LibcFileIo.pwrite(fd, &value, (UIntPtr)1, offset);
                if (n != 1) throw Errno.ToException(n < 0 ? LastErrno() : Errno.EIO, "write", path);
                Check(LibcAt.fsync(fd), "fsync", path);
            }
            finally { Libc.close(fd); }
        }

        // ---- users and processes ------------------------------------------------------------------

        public uint EffectiveUserId => Syscall.geteuid();

        public uint EffectiveGroupId => Syscall.getegid();

        public (uint Uid, uint Gid)? LookupUser(string name)
        {
            // getpwnam_r underneath (Mono's wrapper copies the static struct under a lock).
            Passwd? pw = Syscall.getpwnam(name);
            return pw is null ? null : (pw.pw_uid, pw.pw_gid);
        }

        public uint? LookupGroup(string name) => Syscall.getgrnam(name)?.gr_gid;

        public string? UserName(uint uid) => Syscall.getpwuid(uid)?.pw_name;

        public string? GroupName(uint gid) => Syscall.getgrgid(gid)?.gr_name;

        public int Kill(int pid, int signal)
        {
            int rc = Syscall.kill(pid, NativeConvert.ToSignum(signal));
            return rc == 0 ? 0 : NativeConvert.FromErrno(Stdlib.GetLastError());
        }
    }
}
