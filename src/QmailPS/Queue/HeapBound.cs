using System;
using System.Threading;

namespace QmailPS.Queue
{
    /// <summary>
    /// Keeps a long scan's garbage from growing the process: the runtime lets the youngest
    /// generation grow to about the size of the L3 cache (32 MB on the benchmark's EPYC) before it
    /// collects, and in a scan of a million messages that garbage, not live data, is most of what
    /// the scan adds to the process (issue 14: peak RSS under 150 MB). A scan calls
    /// <see cref="Check"/> between chunks; once 4 MB have been allocated since the last
    /// collection it asks for a young-generation one. With nearly nothing surviving a chunk, that
    /// takes well under a millisecond; a queue of 1,000,000 messages sees a few hundred of them.
    /// The first 32 MB allocated after the process's first scan began are left to the runtime, so a
    /// first small scan is never slowed; after that every scan is checked.
    /// </summary>
    internal static class HeapBound
    {
        private const long Every = 4 << 20, After = 32 << 20;

        // GC.GetTotalAllocatedBytes exists from .NET Core 3.0 on (every pwsh this module loads in),
        // not in netstandard2.0's surface.
        private static readonly Func<bool, long>? s_allocated = Find();
        private static long s_start = -1, s_last;
        private static int s_gen0;

        private static Func<bool, long>? Find()
        {
            var m = typeof(GC).GetMethod("GetTotalAllocatedBytes", new[] { typeof(bool) });
            return m is null ? null : (Func<bool, long>)Delegate.CreateDelegate(typeof(Func<bool, long>), m);
        }

        public static void Check()
        {
            if (s_allocated is null) return;
            long now = s_allocated(false);
            if (Interlocked.CompareExchange(ref s_start, now, -1) == -1) { s_last = now; return; }
            int gen0 = GC.CollectionCount(0);
            if (gen0 != Volatile.Read(ref s_gen0)) { Volatile.Write(ref s_gen0, gen0); Interlocked.Exchange(ref s_last, now); return; } // the runtime collected meanwhile
            long last = Interlocked.Read(ref s_last);
            if (now - Interlocked.Read(ref s_start) < After || now - last < Every) return;
            if (Interlocked.CompareExchange(ref s_last, now, last) != last) return; // another scan thread is collecting
            GC.Collect(0, GCCollectionMode.Forced, blocking: true);
            Volatile.Write(ref s_gen0, GC.CollectionCount(0));
        }
    }
}
