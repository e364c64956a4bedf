using System.Linq;
using QmailPS.Queue;
using QmailPS.Tests.Support;
using Xunit;

namespace QmailPS.Tests.Unit
{
    public sealed class QueueLayoutTests
    {
        /// <summary>The cached names findings cite are fmtqfn's paths, relative to the queue, for every directory, split and id.</summary>
        [Theory]
        [InlineData(23, false)]
        [InlineData(23, true)]
        [InlineData(1, false)]
        [InlineData(7, true)]
        public void RelOf_is_the_canonical_path_relative_to_the_queue(int split, bool bigTodo)
        {
            using var q = TempQueue.Create(split, bigTodo);
            ulong[] ids = { 0, 1, 22, 23, 24, 46, 1234567, 18446744073709551615UL };
            foreach (string dir in new[] { "mess", "info", "local", "remote", "todo", "intd", "bounce" })
                foreach (ulong id in ids.Concat(ids)) // the second time from the cache
                {
                    string expected = q.Layout.PathOf(dir, id).Substring(q.Root.Length + 1);
                    Assert.Equal(expected, q.Layout.RelOf(dir, id));
                    Assert.Equal(expected, q.Layout.RelOf(dir, id, id.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                }
        }
    }
}
