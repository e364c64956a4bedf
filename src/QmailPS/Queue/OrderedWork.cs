using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace QmailPS.Queue
{
    /// <summary>
    /// Runs chunks of work on the thread pool, a bounded number ahead, and yields their results in
    /// the order the chunks were produced: parallel reading, queue-ordered output, bounded memory.
    /// The producer (the enumeration of work) runs on the caller's thread.
    /// </summary>
    internal static class OrderedWork
    {
        public static IEnumerable<T> Run<T>(IEnumerable<Func<List<T>>> work, int window, CancellationToken cancel)
        {
            var pending = new Queue<Task<List<T>>>();
            using IEnumerator<Func<List<T>>> e = work.GetEnumerator();
            while (true)
            {
                cancel.ThrowIfCancellationRequested();
                while (pending.Count < window && e.MoveNext())
                {
                    Func<List<T>> f = e.Current;
                    pending.Enqueue(Task.Run(f, cancel));
                }
                if (pending.Count == 0) yield break;
                Task<List<T>> head = pending.Dequeue();
                try { head.Wait(cancel); }
                catch (AggregateException ae) when (ae.InnerException != null)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ae.InnerException).Throw();
                }
                HeapBound.Check();
                foreach (T item in head.Result) yield return item;
            }
            // On an early stop (Ctrl+C, Select-Object -First) chunks still running see the token and end;
            // they close their descriptors in finally blocks and their results are dropped.
        }
    }
}
