using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using QmailPS.Posix;
using QmailPS.Queue;

namespace QmailPS.Tests.Support
{
    /// <summary>
    /// A real queue in a temporary qmail home (queue/ and control/), written by the module's own
    /// QueueWriter: real files, owners, modes, hard links, inode-named messages.
    /// </summary>
    public sealed class TempQueue : IDisposable
    {
        private TempQueue(string home, QueueLayout layout)
        {
            Home = home;
            Layout = layout;
            Writer = new QueueWriter(layout) { Fsync = false }; // throw-away queues: speed over durability
            Directory.CreateDirectory(Path.Combine(home, "control"));
            File.WriteAllText(Path.Combine(home, "control", "me"), "example.test\n");
            File.WriteAllText(Path.Combine(home, "control", "locals"), "example.test\nlocalhost\n");
        }

        public string Home { get; }
        public string Root => Layout.Root;
        public QueueLayout Layout { get; }
        public QueueWriter Writer { get; }
        public ControlFiles Control => new ControlFiles(Path.Combine(Home, "control"));

        public static string NewHome()
        {
            string home = Path.Combine(Path.GetTempPath(), "qmailps-test-" + Guid.NewGuid().ToString("N").Substring(0, 12));
            Directory.CreateDirectory(home);
            // Let the qmail accounts (and a non-root test user) traverse to the queue, like /var/qmail.
            File.SetUnixFileMode(home, (UnixFileMode)Convert.ToInt32("755", 8));
            return home;
        }

        public static TempQueue Create(int split = 23, bool bigTodo = false)
        {
            string home = NewHome();
            try
            {
                QueueLayout layout = QueueWriter.CreateQueue(Path.Combine(home, "queue"), split, bigTodo);
                return new TempQueue(home, layout);
            }
            catch
            {
                RemoveTree(home);
                throw;
            }
        }

        /// <summary>Wraps an existing queue directory (e.g. the restored golden one).</summary>
        public static TempQueue Open(string home, int? split = null) => new TempQueue(home, QueueLayout.Detect(Path.Combine(home, "queue"), split));

        public static byte[] Body(string subject, string from = "bob@example.test", string to = "alice@example.test", string text = "hello\n") =>
            Encoding.ASCII.GetBytes($"From: {from}\nTo: {to}\nSubject: {subject}\n\n{text}");

        /// <summary>A message qmail-queue just queued (todo/ and intd/, not yet preprocessed).</summary>
        public ulong AddUnprocessed(string sender, params string[] recipients) =>
            Writer.Inject(Body("unprocessed"), sender, recipients, callerUid: 1000, pid: 4242);

        /// <summary>A preprocessed message, as qmail-send leaves it after a clean stop.</summary>
        public ulong AddProcessed(string sender, IReadOnlyList<RecipientSpec> recipients, DateTime? birth = null, string subject = "test",
            DateTime? nextLocal = null, DateTime? nextRemote = null)
        {
            ulong id = Writer.Inject(Body(subject), sender, recipients.Select(r => r.Address).ToList(), callerUid: 1000, pid: 4243);
            DateTime b = birth ?? DateTime.UtcNow.AddMinutes(-30);
            Writer.WriteEnvelope(id, sender, recipients, b, nextLocal ?? b.AddSeconds(100), nextRemote ?? b.AddSeconds(400));
            File.Delete(Layout.PathOf("intd", id));
            File.Delete(Layout.PathOf("todo", id));
            return id;
        }

        public ulong AddProcessed(string sender, params string[] remoteRecipients) =>
            AddProcessed(sender, remoteRecipients.Select(r => new RecipientSpec(r, RecipientChannel.Remote)).ToList());

        public string PathOf(string dir, ulong id) => Layout.PathOf(dir, id);

        /// <summary>What cp -a, rsync or tar do to a message: mess gets a new inode under the same name (owner, mode, times kept); returns that inode.</summary>
        public ulong CopyMessToNewInode(ulong id)
        {
            string mess = PathOf("mess", id), tmp = mess + ".tmp";
            File.Copy(mess, tmp);
            TestFs.Raw.TryLstat(mess, out FileStatus st, out _);
            TestFs.Raw.Lchown(tmp, st.Uid, st.Gid);
            TestFs.Raw.ChmodNoFollow(tmp, st.Permissions);
            TestFs.Raw.SetTimes(tmp, st.ATimeSeconds, st.MTimeSeconds);
            File.Move(tmp, mess, overwrite: true);
            TestFs.Raw.TryLstat(mess, out FileStatus now, out _);
            return now.Inode;
        }

        /// <summary>rm -rf, for trees .NET cannot delete (names that are not UTF-8).</summary>
        public static void RemoveTree(string path)
        {
            using var rm = Process.Start(new ProcessStartInfo("rm", new[] { "-rf", "--", path }) { UseShellExecute = false })!;
            rm.WaitForExit();
        }

        public void Dispose()
        {
            try { Directory.Delete(Home, true); }
            catch (IOException) { RemoveTree(Home); } // .NET cannot name a file whose name is not UTF-8
            catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>The golden queue of real notqmail (tests/golden/processed, copied unedited from real notqmail), restored with real owners.</summary>
    public static class GoldenQueue
    {
        public static string Dir => Path.Combine(Repo.Golden, "processed");

        /// <summary>
        /// Extracts queue-processed.tar.gz into a new temp home and gives every file the owner of the
        /// same name on this machine (the tarball has the sandbox's numeric ids, ids.txt).
        /// </summary>
        public static TempQueue Restore()
        {
            string home = TempQueue.NewHome();
            try
            {
                Run("tar", "-xpzf", Path.Combine(Dir, "queue-processed.tar.gz"), "-C", home);
                var (users, groups) = ReadIds();
                foreach (string path in Walk(Path.Combine(home, "queue")))
                {
                    if (!TestFs.Raw.TryLstat(path, out var st, out _)) throw new IOException("lstat " + path);
                    uint uid = users.TryGetValue(st.Uid, out string? u) ? LocalUid(u) : 0;
                    uint gid = groups.TryGetValue(st.Gid, out string? g) ? LocalGid(g) : 0;
                    TestFs.Raw.Lchown(path, uid, gid);
                }
                return TempQueue.Open(home);
            }
            catch
            {
                // A failed restore must not leave an empty qmailps-test-* folder behind.
                TempQueue.RemoveTree(home);
                throw;
            }
        }

        private static uint LocalUid(string name) => TestFs.Raw.LookupUser(name)?.Uid ?? 0;
        private static uint LocalGid(string name) => TestFs.Raw.LookupGroup(name) ?? 0;

        private static (Dictionary<uint, string> Users, Dictionary<uint, string> Groups) ReadIds()
        {
            var users = new Dictionary<uint, string>();
            var groups = new Dictionary<uint, string>();
            bool inGroups = false;
            foreach (string line in File.ReadAllLines(Path.Combine(Repo.Golden, "ids.txt")))
            {
                if (line.StartsWith("# groups", StringComparison.Ordinal)) { inGroups = true; continue; }
                if (line.StartsWith("#", StringComparison.Ordinal) || line.Length == 0) continue;
                string[] f = line.Split(':');
                if (inGroups) groups[uint.Parse(f[1])] = f[0];
                else users[uint.Parse(f[1])] = f[0];
            }
            return (users, groups);
        }

        private static IEnumerable<string> Walk(string root)
        {
            yield return root;
            foreach (string e in Directory.EnumerateFileSystemEntries(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
                yield return e;
        }

        public static void Run(string file, params string[] args)
        {
            var psi = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (string a in args) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            string err = p.StandardError.ReadToEnd();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(" ", args)} failed: {err}");
        }

        /// <summary>qmail-qread.txt cut into one block per message (stats line + recipient lines).</summary>
        public static List<string> QreadBlocks(IEnumerable<string> lines)
        {
            var blocks = new List<string>();
            var cur = new StringBuilder();
            foreach (string l in lines)
            {
                if (!l.StartsWith("\t", StringComparison.Ordinal) && !l.StartsWith("  done", StringComparison.Ordinal) && cur.Length > 0)
                {
                    blocks.Add(cur.ToString());
                    cur.Clear();
                }
                cur.Append(l).Append('\n');
            }
            if (cur.Length > 0) blocks.Add(cur.ToString());
            return blocks;
        }
    }
}
