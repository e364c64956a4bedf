using System;
using System.Collections.Concurrent;
using System.Text;

namespace QmailPS.Queue
{
    /// <summary>
    /// Decodes addresses, handing back the same string for the same bytes. A big queue repeats a few
    /// senders and recipients many times (a bounce storm, a newsletter, one stuck domain); sharing
    /// their strings halves what 100,000 listed messages keep alive, and with it the garbage
    /// collector's copying and the page faults of a growing heap. Direct-mapped and fixed-size:
    /// a miss costs one hash, memory never grows with the queue. Not thread-safe: one per reader.
    /// </summary>
    internal sealed class AddressCache
    {
        private const int Slots = 4096; // power of two
        private readonly string?[] _slots = new string?[Slots];

        public string Decode(byte[] buffer, int offset, int count, out byte[]? rawIfLossy)
        {
            uint hash = 2166136261;
            for (int i = offset; i < offset + count; i++)
            {
                byte b = buffer[i];
                if (b >= 0x80) return QueueRecords.DecodeAddress(buffer, offset, count, out rawIfLossy); // not cached: rare
                hash = (hash ^ b) * 16777619;
            }
            rawIfLossy = null;
            ref string? slot = ref _slots[hash & (Slots - 1)];
            string? s = slot;
            if (s != null && s.Length == count && SameAscii(s, buffer, offset)) return s;
            s = Encoding.ASCII.GetString(buffer, offset, count);
            slot = s;
            return s;
        }

        private static bool SameAscii(string s, byte[] buffer, int offset)
        {
            for (int i = 0; i < s.Length; i++) if (s[i] != buffer[offset + i]) return false;
            return true;
        }
    }

    /// <summary>Caches handed from one chunk to the next, so each stays warm for the whole scan.</summary>
    internal sealed class AddressCachePool
    {
        private readonly ConcurrentBag<AddressCache> _free = new ConcurrentBag<AddressCache>();

        public AddressCache Rent() => _free.TryTake(out AddressCache? c) ? c : new AddressCache();

        public void Return(AddressCache cache) => _free.Add(cache);
    }
}
