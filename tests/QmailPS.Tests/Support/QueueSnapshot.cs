using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;

namespace QmailPS.Tests.Support
{
    /// <summary>Every entry of a tree: type, owner, mode, size, mtime, inode and content hash — to prove "nothing changed".</summary>
    public static class QueueSnapshot
    {
        public static SortedDictionary<string, string> Take(string root)
        {
            var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (string path in Directory.EnumerateFileSystemEntries(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }).Append(root))
            {
                if (ThroughSymlink(root, path)) continue; // .NET recursion follows directory links; the queue's own entry is the link

                if (!QmailPS.Tests.Support.TestFs.Raw.TryLstat(path, out var st, out _)) { result[path] = "(vanished)"; continue; }
                // Read through the module's libc path: .NET's File.* takes a shared flock, which a held
                // lock/sendmutex or lock/tcpto would refuse (and qmail never locks for reading).
                string hash = st.Kind == QmailPS.Posix.FileKind.Regular ? Convert.ToHexString(SHA256.HashData(ReadNoLock(path))) : "";
                result[path] = $"{Convert.ToString(st.Mode, 8)} {st.Uid}:{st.Gid} {st.Size} {st.MTimeSeconds}.{st.MTimeNanoseconds} {st.Inode} {st.Links} {hash}";
            }
            return result;
        }

        private static bool ThroughSymlink(string root, string path)
        {
            for (string? d = Path.GetDirectoryName(path); d != null && d.Length > root.Length; d = Path.GetDirectoryName(d))
                if (QmailPS.Tests.Support.TestFs.Raw.TryLstat(d, out var st, out _) && st.Kind == QmailPS.Posix.FileKind.Symlink) return true;
            return false;
        }

        internal static byte[] ReadNoLock(string path)
        {
            using var dir = QmailPS.Tests.Support.TestFs.Plain.TryOpenDirectory(Path.GetDirectoryName(path)!, out int derr) ?? throw new IOException($"open {path}: errno {derr}");
            byte[] buffer = new byte[4096];
            // atime is data to qmail; past the envelope limit, size and mtime stand for the rest
            int n = dir.TryReadFile(QmailPS.Posix.Libc.PathBytes(Path.GetFileName(path)), ref buffer, out _, out int errno, QmailPS.Posix.DirectoryHandle.LargestEnvelope, noAtime: true);
            if (n < 0) throw new IOException($"read {path}: errno {errno}");
            return buffer.AsSpan(0, n).ToArray();
        }

        public static void AssertSame(SortedDictionary<string, string> before, SortedDictionary<string, string> after)
        {
            var diff = before.Keys.Union(after.Keys).Where(k => !before.TryGetValue(k, out var a) || !after.TryGetValue(k, out var b) || a != b).ToList();
            if (diff.Count > 0)
                throw new Xunit.Sdk.XunitException("The queue changed: " + string.Join("; ", diff.Take(10).Select(k =>
                    $"{k}: {(before.TryGetValue(k, out var a) ? a : "(absent)")} -> {(after.TryGetValue(k, out var b) ? b : "(absent)")}")));
        }
    }
}
