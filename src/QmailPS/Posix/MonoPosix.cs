using System;
using Mono.Unix.Native;

namespace QmailPS.Posix
{
    /// <summary>IPosix over Mono.Posix.NETStandard (the design card's choice), plus flock-free calls only.</summary>
    internal sealed class MonoPosix : IPosix
    {
        private static int LastErrno() => NativeConvert.FromErrno(Stdlib.GetLastError());

        private static void Check(int rc, string op, string path)
        {
            if (rc < 0) throw Errno.ToException(LastErrno(), op, path);
        }

        public bool TryLstat(string path, out FileStatus status, out int errno)
        {
            if (Syscall.lstat(path, out Stat st) != 0)
            {
                errno = LastErrno(); status = default; return false;
            }
            status = new FileStatus(st.st_ino, DeviceId(st.st_dev), (uint)st.st_mode, st.st_uid, st.st_gid, (uint)st.st_nlink,
                st.st_size, st.st_mtime, st.st_mtime_nsec, st.st_atime);
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

        public uint EffectiveUserId => Syscall.geteuid();

        public (uint Uid, uint Gid)? LookupUser(string name)
        {
            // getpwnam_r underneath (Mono's wrapper copies the static struct under a lock).
            Passwd? pw = Syscall.getpwnam(name);
            return pw is null ? null : (pw.pw_uid, pw.pw_gid);
        }

        public uint? LookupGroup(string name)
        {
            Group? gr = Syscall.getgrnam(name);
            return gr?.gr_gid;
        }

        public string? UserName(uint uid) => Syscall.getpwuid(uid)?.pw_name;

        public string? GroupName(uint gid) => Syscall.getgrgid(gid)?.gr_name;

        public void Lchown(string path, uint uid, uint gid) => Check(Syscall.lchown(path, uid, gid), "lchown", path);

        public void ChmodNoFollow(string path, uint mode)
        {
            int fd = Syscall.open(path, OpenFlags.O_RDONLY | OpenFlags.O_NOFOLLOW | OpenFlags.O_NONBLOCK | OpenFlags.O_CLOEXEC);
            Check(fd, "open", path);
            try { Check(Syscall.fchmod(fd, (FilePermissions)mode), "fchmod", path); }
            finally { Syscall.close(fd); }
        }

        public void Link(string existing, string newPath) => Check(Syscall.link(existing, newPath), "link", newPath);

        public void Unlink(string path) => Check(Syscall.unlink(path), "unlink", path);

        public void Rename(string from, string to) => Check(Syscall.rename(from, to), "rename", from);

        public void Mkfifo(string path, uint mode)
        {
            Check(Syscall.mkfifo(path, (FilePermissions)mode), "mkfifo", path);
            ChmodNoFollow(path, mode); // mkfifo is subject to the umask
        }

        public string ReadLink(string path)
        {
            // Mono's string overload decodes the target with its escape for non-UTF-8 bytes, which
            // symlink() encodes back: the copy names exactly what the original named.
            var sb = new System.Text.StringBuilder(4096);
            Check(Syscall.readlink(path, sb), "readlink", path);
            return sb.ToString();
        }

        public void Symlink(string target, string path) => Check(Syscall.symlink(target, path), "symlink", path);

        public void Mkdir(string path, uint mode)
        {
            Check(Syscall.mkdir(path, (FilePermissions)mode), "mkdir", path);
            ChmodNoFollow(path, mode);
        }

        public void Rmdir(string path) => Check(Syscall.rmdir(path), "rmdir", path);

        public void SetTimes(string path, long atimeSeconds, long mtimeSeconds)
        {
            var times = new[] { new Timeval { tv_sec = atimeSeconds }, new Timeval { tv_sec = mtimeSeconds } };
            Check(Syscall.lutimes(path, times), "lutimes", path);
        }

        public void RestoreTimes(string path, long atimeSeconds, long mtimeSeconds, long mtimeNanoseconds)
        {
            const int AT_FDCWD = -100;
            var times = new[] { new Timespec { tv_sec = atimeSeconds }, new Timespec { tv_sec = mtimeSeconds, tv_nsec = mtimeNanoseconds } };
            Check(Syscall.utimensat(AT_FDCWD, path, times, AtFlags.AT_SYMLINK_NOFOLLOW), "utimensat", path);
        }

        public void WriteNewFile(string path, byte[] content, uint mode, bool fsync = true)
        {
            int fd = Syscall.open(path, OpenFlags.O_WRONLY | OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_NOFOLLOW | OpenFlags.O_CLOEXEC,
                (FilePermissions)mode);
            Check(fd, "create", path);
            try
            {
                WriteAll(fd, content, path);
                Check(Syscall.fchmod(fd, (FilePermissions)mode), "fchmod", path); // undo the umask
                if (fsync) Check(Syscall.fsync(fd), "fsync", path);
            }
            finally { Syscall.close(fd); }
        }

        public unsafe void CopyNewFile(string source, string path, uint mode)
        {
            int from = Syscall.open(source, OpenFlags.O_RDONLY | OpenFlags.O_NOFOLLOW | OpenFlags.O_NONBLOCK | OpenFlags.O_CLOEXEC);
            Check(from, "open", source);
            try
            {
                Check(Syscall.fstat(from, out Stat st), "fstat", source);
                if ((st.st_mode & FilePermissions.S_IFMT) != FilePermissions.S_IFREG) throw Errno.ToException(Errno.EINVAL, "copy (not a regular file)", source);
                int fd = Syscall.open(path, OpenFlags.O_WRONLY | OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_NOFOLLOW | OpenFlags.O_CLOEXEC,
                    (FilePermissions)mode);
                Check(fd, "create", path);
                try
                {
                    var buffer = new byte[1 << 20]; // a message of any size, in bounded memory
                    while (true)
                    {
                        long n;
                        fixed (byte* b = buffer) n = Syscall.read(from, b, (ulong)buffer.Length);
                        if (n < 0)
                        {
                            int e = LastErrno();
                            if (e == Errno.EINTR) continue;
                            throw Errno.ToException(e, "read", source);
                        }
                        if (n == 0) break;
                        WriteAll(fd, buffer, (int)n, path);
                    }
                    Check(Syscall.fchmod(fd, (FilePermissions)mode), "fchmod", path);
                    Check(Syscall.fsync(fd), "fsync", path);
                }
                finally { Syscall.close(fd); }
            }
            finally { Syscall.close(from); }
        }

        private static void WriteAll(int fd, byte[] content, string path) => WriteAll(fd, content, content.Length, path);

        private static unsafe void WriteAll(int fd, byte[] content, int length, string path)
        {
            int done = 0;
            while (done < length)
            {
                long n;
                fixed (byte* p = &content[done]) n = Syscall.write(fd, p, (ulong)(length - done));
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
            int fd = Syscall.open(path, OpenFlags.O_RDONLY | OpenFlags.O_NOFOLLOW | OpenFlags.O_CLOEXEC | OpenFlags.O_DIRECTORY);
            Check(fd, "open", path);
            try { Check(Syscall.fsync(fd), "fsync", path); }
            finally { Syscall.close(fd); }
        }

        public void Append(string path, byte[] bytes)
        {
            int fd = Syscall.open(path, OpenFlags.O_WRONLY | OpenFlags.O_APPEND | OpenFlags.O_NOFOLLOW | OpenFlags.O_CLOEXEC | OpenFlags.O_NONBLOCK);
            Check(fd, "open", path);
            try
            {
                WriteAll(fd, bytes, path);
                Check(Syscall.fsync(fd), "fsync", path);
            }
            finally { Syscall.close(fd); }
        }

        public unsafe void WriteByteAt(string path, long offset, byte value)
        {
            int fd = Syscall.open(path, OpenFlags.O_WRONLY | OpenFlags.O_NOFOLLOW | OpenFlags.O_CLOEXEC | OpenFlags.O_NONBLOCK);
            Check(fd, "open", path);
            try
            {
                long n = Syscall.pwrite(fd, &value, 1, offset);
                if (n != 1) throw Errno.ToException(n < 0 ? LastErrno() : Errno.EIO, "write", path);
                Check(Syscall.fsync(fd), "fsync", path);
            }
            finally { Syscall.close(fd); }
        }

        public int Kill(int pid, int signal)
        {
            int rc = Syscall.kill(pid, NativeConvert.ToSignum(signal));
            return rc == 0 ? 0 : LastErrno();
        }
    }
}
