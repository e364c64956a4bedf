using System;

namespace QmailPS.Queue
{
    /// <summary>The message ids listed in one directory: a sorted array (a third of a HashSet's memory, no growth on the way).</summary>
    internal sealed class IdSet
    {
        public static readonly IdSet Empty = new IdSet(new ulong[0], 0);
        private readonly ulong[] _ids;
        private readonly int _count;

        public IdSet(ulong[] ids, int count)
        {
            Array.Sort(ids, 0, count);
            _ids = ids;
            _count = count;
        }

        public int Count => _count;
        public bool Contains(ulong id) => Array.BinarySearch(_ids, 0, _count, id) >= 0;
    }
}
