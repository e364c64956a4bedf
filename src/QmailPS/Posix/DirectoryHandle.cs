using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;

namespace QmailPS.Posix
{
    /// <summary>One entry of a directory, as readdir returns it. Numeric names are parsed the way
    /// qmail's scan_ulong does (all digits, wrapping modulo 2^64); the raw name is kept only when it
    /// is not the canonical decimal form, because only then must it be opened by its own bytes.</summary>
    internal readonly struct DirEntry
    {
        public DirEntry(ulong id, bool numeric, bool canonical, FileKind kind, byte[]? rawName)
        {
            Id = id; IsNumeric = numeric; IsCanonical = canonical; Kind = kind; RawName = rawName;
        }

        public ulong Id { get; }
        public bool IsNumeric { get; }
        /// <summary>Numeric, and spelled exactly as qmail's fmtqfn spells the id (no leading zero).</summary>
        public bool IsCanonical { get; }
        /// <summary>From d_type; Unknown when the file system does not fill it in.</summary>
        public FileKind Kind { get; }
        /// <summary>The name's bytes without NUL; null for canonical numeric names.</summary>
        public byte[]? RawName { get; }

        public string Name => RawName is null ? Id.ToString(System.Globalization.CultureInfo.InvariantCulture) : PathName.FromBytes(RawName, RawName.Length);

        /// <summary>NUL-terminated bytes to pass to openat/statx.</summary>
        public byte[] NameZ()
        {
            if (RawName is null) { var b = new byte[21]; Libc.FormatId(Id, b); return b; }
            var z = new byte[RawName.Length + 1];
            Buffer.BlockCopy(RawName, 0, z, 0, RawName.Length);
            return z;
        }
    }

    /// <summary>
    /// An open directory: entries are listed with readdir, and files are stat'ed and read relative
    /// to the directory's descriptor (statx/openat), which is what makes a scan cheaper than
    /// qmail-qread's absolute-path calls. Never follows a symlink to a file; never blocks on a FIFO.
    /// </summary>
    internal sealed unsafe class DirectoryHandle : IDisposable
    {
        /// <summary>errno-like code for "not a regular file" (the open worked but the type is wrong).</summary>
        public const int NotRegular = -2;
        /// <summary>errno-like code: the file is larger than <see cref="WholeReadLimit"/>; read it a window at a time (<see cref="TryStreamFile"/>). st is set.</summary>
        public const int Streamable = -3;
        /// <summary>The window of <see cref="TryStreamFile"/>, and the whole-read limit readers that can stream set.</summary>
        public const int Window = 1 << 20;

        private static bool s_noStatx;
        private readonly IFileSystem _fs;
        private int _fd;

        /// <summary>Made by <see cref="IFileSystem.TryOpenDirectory"/>, which reached the directory safely; takes the descriptor.</summary>
        internal DirectoryHandle(int fd, string path, IFileSystem fs) { _fd = fd; Path = path; _fs = fs; }

        public string Path { get; }

        /// <summary>
        /// The largest file a whole read takes in; a bigger one (up to <see cref="LargestEnvelope"/>)
        /// gives <see cref="Streamable"/>. Readers that judge records a window at a time set it
        /// to <see cref="Window"/>, so memory does not grow with a channel file.
        /// </summary>
        public int WholeReadLimit { get; set; } = LargestEnvelope;

        /// <summary>The descriptor, for calls queued on an io_uring; valid until Dispose.</summary>
        internal int Fd => _fd;

        private bool TryStatSelf(out FileStatus st, out int errno)
        {
            byte* empty = stackalloc byte[1];
            empty[0] = 0;
            return TryStatCore(_fd, empty, Libc.AT_EMPTY_PATH, Path, out st, out errno);
        }

        /// <summary>lstat of a name in this directory.</summary>
        public bool TryStat(byte[] nameZ, out FileStatus st, out int errno)
        {
            fixed (byte* n = nameZ)
                return TryStatCore(_fd, n, Libc.AT_SYMLINK_NOFOLLOW, null, out st, out errno, nameZ);
        }

        public bool TryStat(string name, out FileStatus st, out int errno) => TryStat(Libc.PathBytes(name), out st, out errno);

        [System.Runtime.CompilerServices.SkipLocalsInit] // statx fills the buffer; do not zero 256 bytes per file first
        private bool TryStatCore(int dirfd, byte* name, int flags, string? selfPath, out FileStatus st, out int errno, byte[]? nameZ = null)
        {
            if (!s_noStatx)
            {
                try
                {
                    Libc.StatxBuffer buf;
                    if (Libc.statx(dirfd, name, flags, Libc.STATX_BASIC_STATS, &buf) == 0)
                    {
                        st = buf.ToStatus(); errno = 0; return true;
                    }
                    errno = Libc.LastErrno;
                    st = default;
                    return false;
                }
                catch (EntryPointNotFoundException)
                {
                    // glibc < 2.28 or a libc without statx: fall back to Mono.Posix lstat on full paths.
                    s_noStatx = true;
                }
            }
            // Only on the fallback path: the full name is built when it is needed, not on every read.
            string full = selfPath ?? System.IO.Path.Combine(Path, PathName.FromBytesZ(nameZ!));
            return _fs.TryLstat(full, out st, out errno);
        }

        /// <summary>
        /// Reads a whole regular file of this directory into <paramref name="buffer"/> (grown as
        /// needed). Returns the length, or -1 with errno set (ENOENT, EACCES, ELOOP for a symlink,
        /// <see cref="NotRegular"/> for a FIFO, directory or device). <paramref name="maxBytes"/>
        /// caps the read for files such as mess where only the start is wanted. A whole file larger
        /// than <see cref="LargestEnvelope"/> is not read: EFBIG.
        /// </summary>
        public int TryReadFile(byte[] nameZ, ref byte[] buffer, out FileStatus st, out int errno, int maxBytes = int.MaxValue, bool noAtime = false)
        {
            int fd;
            int flags = Libc.O_RDONLY | Libc.O_CLOEXEC | Libc.O_NOFOLLOW | Libc.O_NONBLOCK | (noAtime ? Libc.O_NOATIME : 0);
            fixed (byte* n = nameZ) fd = Libc.openat(_fd, n, flags, 0);
            if (fd < 0 && noAtime && Libc.LastErrno == Errno.EPERM)
                fixed (byte* n = nameZ) fd = Libc.openat(_fd, n, flags & ~Libc.O_NOATIME, 0);
            if (fd < 0) { errno = Libc.LastErrno; st = default; return -1; }
            try
            {
                byte* empty = stackalloc byte[1];
                empty[0] = 0;
                if (!TryStatCore(fd, empty, Libc.AT_EMPTY_PATH, null, out st, out errno, nameZ))
                    return -1;
                if (st.Kind != FileKind.Regular) { errno = NotRegular; return -1; }
                bool whole = maxBytes == int.MaxValue;
                if (whole && st.Size > LargestEnvelope) { errno = Errno.EFBIG; return -1; }
                if (whole && st.Size > WholeReadLimit) { errno = Streamable; return -1; }
                int cap = whole ? LargestEnvelope + 1 : maxBytes; // one byte more: a file growing past the limit is seen
                long want = Math.Min(st.Size, cap);
                if (buffer.Length < want + 1) buffer = new byte[Math.Max(want + 1, Math.Min(buffer.Length * 2L, cap))];
                int total = 0;
                while (total < cap)
                {
                    if (total == buffer.Length)
                    {
                        // The file grew while we read it (a live qmail-send appending to bounce/).
                        Array.Resize(ref buffer, (int)Math.Min(buffer.Length * 2L, cap));
                    }
                    int ask = Math.Min(buffer.Length - total, cap - total);
                    long got;
                    fixed (byte* b = &buffer[total]) got = (long)Libc.read(fd, b, (UIntPtr)ask);
                    if (got < 0)
                    {
                        errno = Libc.LastErrno;
                        if (errno == Errno.EINTR) continue;
                        return -1;
                    }
                    if (got == 0) break;
                    total += (int)got;
                    // Stop at the size fstat gave: saves the read() that would return 0 on every file.
                    // A file that grew meanwhile (bounce/ being appended) is read on up to the cap.
                    if (total == st.Size && total < cap) break;
                }
                if (whole && total > LargestEnvelope) { errno = Errno.EFBIG; return -1; }
                errno = 0;
                return total;
            }
            finally { Libc.close(fd); }
        }

        /// <summary>
        /// Reads a regular file of this directory a <see cref="Window"/> at a time, handing each to
        /// <paramref name="feed"/> (bytes, count): memory stays one window whatever the file's
        /// size. Returns the bytes read, or -1 with errno set as <see cref="TryReadFile"/> does.
        /// </summary>
        public long TryStreamFile(byte[] nameZ, ref byte[] window, Action<byte[], int> feed, out FileStatus st, out int errno)
        {
            int fd;
            fixed (byte* n = nameZ) fd = Libc.openat(_fd, n, Libc.O_RDONLY | Libc.O_CLOEXEC | Libc.O_NOFOLLOW | Libc.O_NONBLOCK, 0);
            if (fd < 0) { errno = Libc.LastErrno; st = default; return -1; }
            try
            {
                byte* empty = stackalloc byte[1];
                empty[0] = 0;
                if (!TryStatCore(fd, empty, Libc.AT_EMPTY_PATH, null, out st, out errno, nameZ)) return -1;
                if (st.Kind != FileKind.Regular) { errno = NotRegular; return -1; }
                if (window.Length < Window) window = new byte[Window];
                long total = 0;
                while (true)
                {
                    long got;
                    fixed (byte* b = &window[0]) got = (long)Libc.read(fd, b, (UIntPtr)window.Length);
                    if (got < 0)
                    {
                        errno = Libc.LastErrno;
                        if (errno == Errno.EINTR) continue;
                        return -1;
                    }
                    if (got == 0) break;
                    feed(window, (int)got);
                    total += got;
                }
                errno = 0;
                return total;
            }
            finally { Libc.close(fd); }
        }

        /// <summary>
        /// The most a whole-file read takes in (info, local, remote, todo, intd, bounce): 256 MiB is
        /// millions of recipients. Anything bigger is damage (a runaway append, a file that is not an
        /// envelope), and reading it would cost gigabytes of memory; it is reported, not read.
        /// </summary>
        public const int LargestEnvelope = 256 << 20;

        /// <summary>Reads every entry of an open directory (takes the descriptor and closes it).</summary>
        internal static List<DirEntry>? ReadEntries(int fd, List<DirEntry> into, out int errno)
        {
            into.Clear();
            return EachEntry(fd, into.Add, out errno) ? into : null;
        }

        /// <summary>
        /// Calls <paramref name="each"/> for every entry of this directory, without a list (a split
        /// directory of a million-message queue holds 40,000 names): through a descriptor of its own,
        /// opened on "." of this one, so the listing starts at the beginning whatever was read before.
        /// </summary>
        public bool TryEachEntry(Action<DirEntry> each, out int errno)
        {
            int fd;
            fixed (byte* dot = Dot) fd = Libc.openat(_fd, dot, Libc.O_RDONLY | Libc.O_CLOEXEC | Libc.O_DIRECTORY, 0);
            if (fd < 0) { errno = Libc.LastErrno; return false; }
            return EachEntry(fd, each, out errno);
        }

        private static readonly byte[] Dot = { (byte)'.', 0 };

        /// <summary>The readdir loop (takes the descriptor and closes it).</summary>
        private static bool EachEntry(int fd, Action<DirEntry> each, out int errno)
        {
            IntPtr dir = Libc.fdopendir(fd);
            if (dir == IntPtr.Zero)
            {
                errno = Libc.LastErrno; // ENOTDIR when it is a file
                Libc.close(fd);
                return false;
            }
            try
            {
                while (true)
                {
                    IntPtr ent = Libc.readdir(dir);
                    if (ent == IntPtr.Zero) break;
                    // struct dirent on 64-bit glibc and musl: d_ino@0, d_off@8, d_reclen@16, d_type@18, d_name@19.
                    byte* e = (byte*)ent;
                    byte dtype = e[18];
                    byte* name = e + 19;
                    int len = 0;
                    while (name[len] != 0) len++;
                    if (name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.'))) continue;
                    each(MakeEntry(name, len, dtype));
                }
                errno = 0;
                return true;
            }
            finally { Libc.closedir(dir); }
        }

        private static DirEntry MakeEntry(byte* name, int len, byte dtype)
        {
            FileKind kind = dtype switch
            {
                8 => FileKind.Regular, 4 => FileKind.Directory, 10 => FileKind.Symlink, 1 => FileKind.Fifo,
                12 => FileKind.Socket, 2 => FileKind.CharDevice, 6 => FileKind.BlockDevice, _ => FileKind.Unknown,
            };
            bool numeric = len > 0, overflow = false;
            ulong id = 0;
            for (int i = 0; i < len; i++)
            {
                byte c = name[i];
                if (c < '0' || c > '9') { numeric = false; break; }
                ulong d = (ulong)(c - '0');
                if (id > (ulong.MaxValue - d) / 10) overflow = true;
                unchecked { id = id * 10 + d; } // scan_ulong wraps, it does not check
            }
            // An overflowing name is an alias of the wrapped id, like a leading zero is.
            bool canonical = numeric && !overflow && (len == 1 || name[0] != '0');
            byte[]? raw = null;
            if (!canonical)
            {
                raw = new byte[len];
                Marshal.Copy((IntPtr)name, raw, 0, len);
            }
            return new DirEntry(numeric ? id : 0, numeric, canonical, kind, raw);
        }

        public void Dispose()
        {
            if (_fd >= 0) { Libc.close(_fd); _fd = -1; }
        }
    }
}
