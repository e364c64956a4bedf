using System;
using System.Reflection;
using QmailPS.Posix;

namespace QmailPS.Benchmarks
{
    /// <summary>
    /// The module's own POSIX layer with one change for building benchmark queues: files are not
    /// fsynced (qmail fsyncs every queue file; four fsyncs a message made 100,000 messages take over
    /// 3 minutes, almost all of it waiting on the journal). The files written are the same.
    /// A DispatchProxy rather than a class implementing IFileSystem, so that methods added to the
    /// module's interface do not break this project.
    /// </summary>
    public class NoFsyncPosix : DispatchProxy
    {
        private object? _inner;

        internal static IFileSystem Wrap(IFileSystem inner)
        {
            IFileSystem proxy = Create<IFileSystem, NoFsyncPosix>();
            ((NoFsyncPosix)(object)proxy)._inner = inner;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? method, object?[]? args)
        {
            if (method is null) throw new ArgumentNullException(nameof(method));
            if (method.Name == "WriteNewFile" && args != null)
            {
                ParameterInfo[] ps = method.GetParameters();
                for (int i = 0; i < ps.Length; i++)
                    if (ps[i].Name == "fsync" && ps[i].ParameterType == typeof(bool)) args[i] = false;
            }
            try { return method.Invoke(_inner, args); }
            catch (TargetInvocationException e) when (e.InnerException != null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
                throw;
            }
        }
    }
}
