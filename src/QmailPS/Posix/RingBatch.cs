using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using QmailPS.Posix;

namespace QmailPS.Queue
{
    /// <summary>What to fetch for one message: files to open and read (bits of 1 &lt;&lt; RingBatch.Info…MessHead) and whether to stat mess.</summary>
    internal readonly struct RingRequest
    {
        public RingRequest(ulong id, int open, bool statMess) { Id = id; Open = open; StatMess = statMess; }
        public ulong Id { get; }
        public int Open { get; }
        public bool StatMess { get; }
    }

    /// <summary>
    /// The calls of up to <see cref="MaxMessages"/> preprocessed messages, made in two rounds
    /// through one io_uring: open info/local/remote (and mess, for its first bytes); then read
    /// every opened file and close it (a read hard-linked to its close). The stats (of mess by name,
    /// of each opened file) are plain statx calls made in between: io_uring runs every statx on its
    /// worker threads (the kernel forces it async), and handing 3 statx a message to those threads
    /// cost more CPU than the calls themselves (measured on a real qmail queue of 93,600 messages:
    /// about 2.4 s of CPU a scan with statx in the ring, 1.9 s with plain statx, the plain-call path 2.0 s).
    /// The results are then handed out as if each call had been made on its own, so the
    /// scanner judges a message the same way on either path. A file whose size differs from what was
    /// read (bigger than a slot, or changed meanwhile) is read again with plain calls.
    /// info, local and remote are read with O_NOATIME where allowed (as mess always is), on either
    /// path: qmail-send sets a channel file's atime and mtime to the next attempt, so relatime
    /// would otherwise write the inode of every channel file at every listing.
    /// </summary>
    internal sealed unsafe class RingBatch : IDisposable
    {
        public const int MaxMessages = 256;
        /// <summary>Files opened and read (MessHead: the first bytes of mess, not stat'ed), and mess stat'ed by name.</summary>
        public const int Info = 0, Local = 1, Remote = 2, MessHead = 3, Mess = 4;
        private const int Slots = 5, SlotBytes = 512, HeadBytes = 64, NameBytes = 24, NotDone = int.MinValue;
        private const int ECANCELED = 125; // a linked call the kernel did not run
        private const ulong OpenOp = 0, StatOp = 1UL << 32, ReadOp = 2UL << 32, CloseOp = 3UL << 32;

        private readonly IoUring _ring;
        private IntPtr _arena;
        private readonly byte* _names, _data, _empty;
        private readonly Libc.StatxBuffer* _stat;
        private readonly int[] _open = new int[MaxMessages * Slots], _statRes = new int[MaxMessages * Slots], _readRes = new int[MaxMessages * Slots], _closeRes = new int[MaxMessages * Slots];
        private readonly Action<ulong, int> _onComplete;
        private bool _valid;
        private int _count;

        private RingBatch(IoUring ring)
        {
            _ring = ring;
            long size = (long)MaxMessages * (NameBytes + Slots * sizeof(Libc.StatxBuffer) + Slots * SlotBytes) + 64;
            _arena = Marshal.AllocHGlobal(new IntPtr(size));
            byte* a = (byte*)_arena;
            _stat = (Libc.StatxBuffer*)a;
            _data = a + MaxMessages * Slots * sizeof(Libc.StatxBuffer);
            _names = _data + MaxMessages * Slots * SlotBytes;
            _empty = _names + MaxMessages * NameBytes;
            _empty[0] = 0;
            _onComplete = OnComplete;
        }

        /// <summary>
        /// Descriptors one batch may hold open at once: a quarter of what the soft RLIMIT_NOFILE still
        /// leaves (less a reserve), so other batches, plain calls and the host keep theirs. A file
        /// beyond it is read with a plain call: a low limit costs speed, never a message.
        /// </summary>
        internal static int OpenBudget()
        {
            const int all = MaxMessages * 4;
            ulong soft;
            try
            {
                if (Libc.getrlimit(Libc.RLIMIT_NOFILE, out Libc.RLimit l) != 0) return 16;
                soft = l.Cur;
            }
            catch (EntryPointNotFoundException) { return 16; }
            if (soft >= 1UL << 20) return all; // the usual raised limit: no need to count
            long inUse = 256;
            try { inUse = System.Linq.Enumerable.Count(System.IO.Directory.EnumerateFileSystemEntries("/proc/self/fd")); }
            catch (System.IO.IOException) { }
            catch (UnauthorizedAccessException) { }
            return (int)Math.Max(0, Math.Min(all, ((long)Math.Min(soft, int.MaxValue) - inUse - 64) / 4));
        }

        /// <summary>A batch with its own ring, or null where io_uring is not usable.</summary>
        public static RingBatch? TryCreate()
        {
            IoUring? ring = IoUring.TryCreate(2048);
            return ring is null ? null : new RingBatch(ring);
        }

        /// <summary>Makes the calls for <paramref name="requests"/> (at most <see cref="MaxMessages"/>) in the directories of one split.</summary>
        public void Run(List<RingRequest> requests, DirectoryHandle? info, DirectoryHandle? mess, DirectoryHandle? local, DirectoryHandle? remote, int openBudget = MaxMessages * 4)
        {
            int count = Math.Min(requests.Count, MaxMessages);
            int flags = Libc.O_RDONLY | Libc.O_CLOEXEC | Libc.O_NOFOLLOW | Libc.O_NONBLOCK | Libc.O_NOATIME;
            for (int j = 0; j < count * Slots; j++) { _open[j] = NotDone; _statRes[j] = NotDone; _readRes[j] = NotDone; _closeRes[j] = NotDone; }
            _count = count;
            _valid = true;
            try
            {
                // 1. open the files asked for (within the descriptor budget); stat mess (plain calls).
                int budget = openBudget;
                void Open(DirectoryHandle? dir, byte* name, int how, int j)
                {
                    if (dir is null || budget <= 0) return; // not done here: a plain call reads it
                    budget--;
                    _ring.PrepOpenat(dir.Fd, name, how, OpenOp | (uint)j);
                }
                for (int k = 0; k < count; k++)
                {
                    RingRequest r = requests[k];
                    byte* name = _names + k * NameBytes;
                    Libc.FormatId(r.Id, name);
                    if ((r.Open & (1 << Info)) != 0) Open(info, name, flags, k * Slots + Info);
                    if ((r.Open & (1 << Local)) != 0) Open(local, name, flags, k * Slots + Local);
                    if ((r.Open & (1 << Remote)) != 0) Open(remote, name, flags, k * Slots + Remote);
                    if ((r.Open & (1 << MessHead)) != 0) Open(mess, name, flags, k * Slots + MessHead);
                }
                _ring.SubmitAndWait(_onComplete);
                for (int k = 0; k < count; k++)
                {
                    if (!requests[k].StatMess || mess is null) continue;
                    int j = k * Slots + Mess;
                    _statRes[j] = Libc.statx(mess.Fd, _names + k * NameBytes, Libc.AT_SYMLINK_NOFOLLOW, Libc.STATX_BASIC_STATS, _stat + j) == 0 ? 0 : -Libc.LastErrno;
                }
                // 2. stat what opened (plain calls); read it and close it through the ring. The read
                //    is only used once the stat says "regular file"; anything else is just closed.
                for (int j = 0; j < count * Slots; j++)
                {
                    if (_open[j] < 0) continue;
                    bool head = j % Slots == MessHead;
                    if (!head)
                    {
                        _statRes[j] = Libc.statx(_open[j], _empty, Libc.AT_EMPTY_PATH, Libc.STATX_BASIC_STATS, _stat + j) == 0 ? 0 : -Libc.LastErrno;
                        if (_statRes[j] < 0 || (_stat[j].Mode & 0xF000) != 0x8000) { _ring.PrepClose(_open[j], CloseOp | (uint)j); continue; }
                    }
                    // Hard link: the close runs after the read whatever the read gave (a short read is normal).
                    _ring.PrepRead(_open[j], _data + (long)j * SlotBytes, (uint)(head ? HeadBytes : SlotBytes), ReadOp | (uint)j, hardLinkNext: true);
                    _ring.PrepClose(_open[j], CloseOp | (uint)j);
                }
                _ring.SubmitAndWait(_onComplete);
            }
            catch (System.IO.IOException)
            {
                _valid = false; // io_uring_enter refused: every file of this batch is read with plain calls
            }
            finally
            {
                // Whatever happened, no descriptor stays open: a close the ring did not run (never
                // submitted, or cancelled) is made here.
                for (int j = 0; j < count * Slots; j++)
                {
                    if (_open[j] < 0) continue;
                    if (_closeRes[j] == NotDone || _closeRes[j] == -ECANCELED) Libc.close(_open[j]);
                }
            }
        }

        /// <summary>The batch ran out of descriptors (another thread's, or the host's): a plain call, made after the batch closed its own, will do.</summary>
        private static bool OutOfDescriptors(int result) => result == -Errno.EMFILE || result == -Errno.ENFILE;

        private void OnComplete(ulong userData, int result)
        {
            int j = (int)(uint)userData;
            switch (userData & 0xFFFFFFFF00000000UL)
            {
                case OpenOp: _open[j] = result; break;
                case StatOp: _statRes[j] = result; break;
                case ReadOp: _readRes[j] = result; break;
                case CloseOp: _closeRes[j] = result; break;
            }
        }

        // The choice every reader makes: message k of a batch, or a plain call when there is no
        // batch (no io_uring) or the message is not in it (k = -1).

        public static int Read(RingBatch? batch, int k, int kind, DirectoryHandle dir, byte[] nameZ, ref byte[] buffer, out FileStatus st, out int errno) =>
            batch != null && k >= 0 ? batch.Read(k, kind, dir, nameZ, ref buffer, out st, out errno) : dir.TryReadFile(nameZ, ref buffer, out st, out errno, noAtime: true);

        public static int ReadHead(RingBatch? batch, int k, DirectoryHandle dir, byte[] nameZ, ref byte[] buffer, int maxBytes, out int errno) =>
            batch != null && k >= 0 ? batch.ReadHead(k, dir, nameZ, ref buffer, maxBytes, out errno) : dir.TryReadFile(nameZ, ref buffer, out _, out errno, maxBytes, noAtime: true);

        public static bool Stat(RingBatch? batch, int k, DirectoryHandle? dir, byte[] nameZ, out FileStatus st, out int errno)
        {
            if (batch != null && k >= 0) return batch.Stat(k, dir, nameZ, out st, out errno);
            if (dir != null) return dir.TryStat(nameZ, out st, out errno);
            st = default; errno = Errno.ENOENT; return false;
        }

        /// <summary>What DirectoryHandle.TryReadFile would have returned for file <paramref name="kind"/> of message <paramref name="k"/>.</summary>
        public int Read(int k, int kind, DirectoryHandle dir, byte[] nameZ, ref byte[] buffer, out FileStatus st, out int errno)
        {
            int j = k * Slots + kind;
            int o = k < _count ? _open[j] : NotDone;
            // EPERM: O_NOATIME on a file this (non-root) user does not own; the plain call retries without it.
            if (!_valid || o == NotDone || o == -Errno.EPERM || OutOfDescriptors(o) || (o >= 0 && _statRes[j] == NotDone))
                return dir.TryReadFile(nameZ, ref buffer, out st, out errno, noAtime: true);
            st = default;
            if (o < 0) { errno = -o; return -1; }
            if (_statRes[j] < 0) { errno = -_statRes[j]; return -1; }
            st = _stat[j].ToStatus();
            if (st.Kind != FileKind.Regular) { errno = DirectoryHandle.NotRegular; return -1; }
            int n = _readRes[j];
            if (n == NotDone) return dir.TryReadFile(nameZ, ref buffer, out st, out errno, noAtime: true);
            if (n < 0) { errno = -n; return -1; }
            if (n != st.Size) return dir.TryReadFile(nameZ, ref buffer, out st, out errno, noAtime: true);
            if (buffer.Length < n + 1) buffer = new byte[Math.Max(n + 1, buffer.Length * 2)];
            Marshal.Copy((IntPtr)(_data + (long)j * SlotBytes), buffer, 0, n);
            errno = 0;
            return n;
        }

        /// <summary>
        /// The first bytes of mess, as DirectoryHandle.TryReadFile(…, maxBytes, noAtime: true) gives
        /// them; only for a mess already known to be a regular file.
        /// </summary>
        public int ReadHead(int k, DirectoryHandle dir, byte[] nameZ, ref byte[] buffer, int maxBytes, out int errno)
        {
            int j = k * Slots + MessHead;
            int o = k < _count ? _open[j] : NotDone;
            if (!_valid || maxBytes > HeadBytes || o == NotDone || o == -Errno.EPERM || OutOfDescriptors(o) || (o >= 0 && _readRes[j] == NotDone))
                return dir.TryReadFile(nameZ, ref buffer, out _, out errno, maxBytes, noAtime: true);
            if (o < 0) { errno = -o; return -1; }
            int n = _readRes[j];
            if (n < 0) { errno = -n; return -1; }
            n = Math.Min(n, maxBytes);
            if (buffer.Length < n + 1) buffer = new byte[Math.Max(n + 1, buffer.Length * 2)];
            Marshal.Copy((IntPtr)(_data + (long)j * SlotBytes), buffer, 0, n);
            errno = 0;
            return n;
        }

        /// <summary>What DirectoryHandle.TryStat would have returned for mess of message <paramref name="k"/>.</summary>
        public bool Stat(int k, DirectoryHandle? dir, byte[] nameZ, out FileStatus st, out int errno)
        {
            int j = k * Slots + Mess;
            int r = k < _count ? _statRes[j] : NotDone;
            if (!_valid || r == NotDone)
            {
                if (dir != null) return dir.TryStat(nameZ, out st, out errno);
                st = default; errno = Errno.ENOENT; return false;
            }
            if (r < 0) { st = default; errno = -r; return false; }
            st = _stat[j].ToStatus();
            errno = 0;
            return true;
        }


        public void Dispose()
        {
            _ring.Dispose();
            if (_arena != IntPtr.Zero) { Marshal.FreeHGlobal(_arena); _arena = IntPtr.Zero; }
        }
    }

    /// <summary>
    /// Batches (rings and their memory, about 1 MB each) reused from chunk to chunk of one scan, all
    /// released when it ends. At most 3 x parallelism + 1 exist: a chunk that finds none free reads with plain
    /// calls, so memory stays bounded however many threads the pool runs.
    /// </summary>
    internal sealed class RingPool
    {
        private readonly Stack<RingBatch> _free = new Stack<RingBatch>();
        private readonly int _max;
        private int _created;
        private bool _closed;

        /// <param name="parallelism">The scan's worker count. Up to three times as many chunks are in flight
        /// (OrderedWork's window), and more than <paramref name="parallelism"/> of them do run at once: the
        /// consumer thread runs the chunk it waits for when that one has not started (Task.Wait inlines it),
        /// and the thread pool adds threads. A chunk that found no ring read its messages with plain calls:
        /// measured on 100,000 messages, one in five did (strace: 46,000 openat a scan besides the ring's).
        /// Rings are made only when a chunk asks and finds none free, so a scan has as many as ran at once.</param>
        public RingPool(int parallelism = 2) { _max = parallelism * 3 + 1; OpenBudget = RingBatch.OpenBudget(); }

        /// <summary>Descriptors each batch of this scan may hold open (counted once, when the scan starts).</summary>
        public int OpenBudget { get; }

        public RingBatch? Rent()
        {
            lock (_free)
            {
                if (_free.Count > 0) return _free.Pop();
                if (_created >= _max || _closed) return null;
                _created++;
            }
            RingBatch? b = RingBatch.TryCreate();
            if (b is null) lock (_free) _created--;
            return b;
        }

        public void Return(RingBatch batch)
        {
            lock (_free)
            {
                if (!_closed) { _free.Push(batch); return; }
            }
            batch.Dispose(); // the scan ended while this chunk still ran
        }

        public void Close()
        {
            lock (_free)
            {
                _closed = true;
                while (_free.Count > 0) _free.Pop().Dispose();
            }
        }
    }
}
