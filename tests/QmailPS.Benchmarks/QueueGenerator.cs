using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using QmailPS.Posix;
using QmailPS.Queue;

namespace QmailPS.Benchmarks
{
    /// <summary>
    /// Builds (once) and caches a queue of N preprocessed messages under /tmp/qmailps-bench/&lt;N&gt;/:
    /// a qmail home with control/ and queue/ (split 23), written by the module's own QueueWriter the
    /// way qmail-queue and qmail-send write it (inode-named mess, info, local, remote, bounce), with
    /// qmail's owners when run as root. The mix is the one in shared/docs/performance-notes.md:
    /// 40% with a local file, 90% with a remote file (so 30% have both, every message has at least
    /// one), 1-3 recipients, about 10% of recipients already done, 3% bouncing, small bodies.
    /// A marker file written last makes a later run reuse the queue; a queue without it is rebuilt.
    /// </summary>
    public static class QueueGenerator
    {
        public const string BaseDir = "/tmp/qmailps-bench";
        public const string MarkerName = "complete";

        public static string HomeOf(int n) => Path.Combine(BaseDir, n.ToString(CultureInfo.InvariantCulture));
        public static string QueueOf(int n) => Path.Combine(HomeOf(n), "queue");

        /// <summary>The queue path, generating it first unless a complete one is cached.</summary>
        public static string Ensure(int n, TextWriter? log = null)
        {
            string home = HomeOf(n);
            string marker = Path.Combine(home, MarkerName);
            if (File.Exists(marker)) return QueueOf(n);
            log ??= Console.Error;
            if (Directory.Exists(home))
            {
                log.WriteLine($"[gen] {home} is incomplete (no {MarkerName} marker); removing it");
                Run("rm", "-rf", home);
            }
            GenerateWithoutFsync(n, home, log);
            Run("sync");
            return QueueOf(n);
        }

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        private static void GenerateWithoutFsync(int n, string home, TextWriter log)
        {
            using var fs = new LinuxFileSystem();
            Generate(n, home, log, NoFsyncPosix.Wrap(fs));
        }

        private static void Generate(int n, string home, TextWriter log, IFileSystem fs)
        {
            var sw = Stopwatch.StartNew();
            Directory.CreateDirectory(home);
            File.SetUnixFileMode(home, (UnixFileMode)Convert.ToInt32("755", 8));
            Directory.CreateDirectory(Path.Combine(home, "control"));
            File.WriteAllText(Path.Combine(home, "control", "me"), "example.test\n");
            File.WriteAllText(Path.Combine(home, "control", "locals"), "example.test\nlocalhost\n");
            QueueLayout layout = QueueWriter.CreateQueue(fs, Path.Combine(home, "queue"), 23);

            // Enough threads to keep both cores busy in the kernel (the work is almost all syscalls).
            int workers = Math.Max(2, Environment.ProcessorCount * 2);
            long done = 0, locals = 0, remotes = 0, bounces = 0, recipients = 0;
            int nextPercent = 10;
            object logLock = new object();
            DateTime now = DateTime.UtcNow;
            log.WriteLine($"[gen] writing {n} messages into {layout.Root} with {workers} threads");

            Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, w =>
            {
                var writer = new QueueWriter(layout);
                int pid = 20000 + w; // distinct pid/ file names per writer
                var rcpt = new List<RecipientSpec>(3);
                var addrs = new List<string>(3);
                for (long i = w; i < n; i += workers)
                {
                    ulong r = Mix((ulong)i);
                    double u = Unit(ref r);
                    bool hasLocal, hasRemote;
                    if (u < 0.30) { hasLocal = true; hasRemote = true; }   // 30% both
                    else if (u < 0.40) { hasLocal = true; hasRemote = false; } // 10% local only
                    else { hasLocal = false; hasRemote = true; }             // 60% remote only
                    int count = 1 + (int)(Next(ref r) % 3);
                    if (hasLocal && hasRemote && count < 2) count = 2;
                    rcpt.Clear(); addrs.Clear();
                    for (int k = 0; k < count; k++)
                    {
                        bool local = hasLocal && hasRemote ? (k == 0 || (k == 1 ? false : (Next(ref r) & 1) == 0)) : hasLocal;
                        string a = local
                            ? $"user{Next(ref r) % 5000}@example.test"
                            : $"rcpt{Next(ref r) % 100000}@host{Next(ref r) % 2000}.example.org";
                        bool delivered = count > 1 && Unit(ref r) < 0.10;
                        rcpt.Add(new RecipientSpec(a, local ? RecipientChannel.Local : RecipientChannel.Remote, delivered));
                        addrs.Add(a);
                    }
                    string sender = (Next(ref r) % 50) == 0 ? "" : $"sender{Next(ref r) % 20000}@example.test";
                    DateTime birth = now.AddSeconds(-(double)(Next(ref r) % (7 * 86400)));
                    byte[] body = Body(i, sender, addrs[0], (int)(Next(ref r) % 400));

                    ulong id = writer.Inject(body, sender, addrs, callerUid: 1000, pid: pid, now: birth);
                    writer.WriteEnvelope(id, sender, rcpt, birth, birth.AddSeconds(100), birth.AddSeconds(400));
                    File.Delete(layout.PathOf("intd", id));
                    File.Delete(layout.PathOf("todo", id));
                    bool bounce = Unit(ref r) < 0.03;
                    if (bounce) writer.AppendBounce(id, addrs[0], "Sorry, no mailbox here by that name. (#5.1.1)");

                    if (hasLocal) Interlocked.Increment(ref locals);
                    if (hasRemote) Interlocked.Increment(ref remotes);
                    if (bounce) Interlocked.Increment(ref bounces);
                    Interlocked.Add(ref recipients, count);
                    long d = Interlocked.Increment(ref done);
                    if (d * 100 / n >= nextPercent)
                    {
                        lock (logLock)
                        {
                            if (d * 100 / n >= nextPercent)
                            {
                                log.WriteLine($"[gen] {d}/{n} ({d * 100 / n}%) in {sw.Elapsed.TotalSeconds:F1} s");
                                nextPercent = (int)(d * 100 / n) / 10 * 10 + 10;
                            }
                        }
                    }
                }
            });

            string summary = string.Create(CultureInfo.InvariantCulture,
                $"messages={n}\nsplit=23\nlocal={locals}\nremote={remotes}\nbounce={bounces}\nrecipients={recipients}\nseconds={sw.Elapsed.TotalSeconds:F1}\ncreated={DateTime.UtcNow:O}\n");
            File.WriteAllText(Path.Combine(home, MarkerName), summary);
            log.WriteLine($"[gen] done in {sw.Elapsed.TotalSeconds:F1} s: " + summary.Replace('\n', ' '));
        }

        private static byte[] Body(long i, string from, string to, int extra)
        {
            var sb = new StringBuilder(256 + extra);
            sb.Append("From: ").Append(from.Length == 0 ? "MAILER-DAEMON@example.test" : from).Append('\n');
            sb.Append("To: ").Append(to).Append('\n');
            sb.Append("Subject: benchmark message ").Append(i.ToString(CultureInfo.InvariantCulture)).Append('\n');
            sb.Append("Message-ID: <").Append(i.ToString(CultureInfo.InvariantCulture)).Append(".bench@example.test>\n\n");
            sb.Append("hello\n");
            for (int k = 0; k < extra; k += 64) sb.Append("lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do\n");
            return Encoding.ASCII.GetBytes(sb.ToString());
        }

        // SplitMix64: deterministic per-message choices whatever the thread interleaving.
        private static ulong Mix(ulong x)
        {
            x += 0x9E3779B97F4A7C15UL;
            x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
            x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
            return x ^ (x >> 31);
        }

        private static ulong Next(ref ulong state) { state = Mix(state); return state >> 11; }
        private static double Unit(ref ulong state) => Next(ref state) / (double)(1UL << 53);

        private static void Run(string file, params string[] args)
        {
            var psi = new ProcessStartInfo(file);
            foreach (string a in args) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(" ", args)} exited {p.ExitCode}");
        }
    }
}
