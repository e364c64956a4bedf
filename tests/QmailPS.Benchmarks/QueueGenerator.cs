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

        public static string HomeOf(int n, string? template = null) =>
            Path.Combine(BaseDir, n.ToString(CultureInfo.InvariantCulture) + (template is null ? "" : "-like-" + TemplateName(template)));
        public static string QueueOf(int n, string? template = null) => Path.Combine(HomeOf(n, template), "queue");

        private static string TemplateName(string template)
        {
            var sb = new StringBuilder();
            foreach (char c in Path.GetFullPath(template).TrimEnd('/')) sb.Append(char.IsLetterOrDigit(c) ? c : '_');
            return sb.ToString().Trim('_');
        }

        /// <summary>
        /// The queue path, generating it first unless a complete one is cached. With
        /// <paramref name="template"/> (a queue written by real qmail), the messages copy that queue's
        /// messages one by one, in the order qmail queued them, cycling when N is larger: the same
        /// senders and recipients (so the same info, local and remote file sizes), done marks,
        /// bounce files and mess sizes; ids are again the inode numbers qmail-queue's way of
        /// injecting gives, and the split directories grow to the same sizes.
        /// </summary>
        public static string Ensure(int n, TextWriter? log = null, string? template = null)
        {
            string home = HomeOf(n, template);
            string marker = Path.Combine(home, MarkerName);
            if (File.Exists(marker)) return QueueOf(n);
            log ??= Console.Error;
            if (Directory.Exists(home))
            {
                log.WriteLine($"[gen] {home} is incomplete (no {MarkerName} marker); removing it");
                Run("rm", "-rf", home);
            }
            GenerateWithoutFsync(n, home, log, template);
            Run("sync");
            return QueueOf(n, template);
        }

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        private static void GenerateWithoutFsync(int n, string home, TextWriter log, string? template)
        {
            using var fs = new LinuxFileSystem();
            if (template is null) Generate(n, home, log, NoFsyncPosix.Wrap(fs));
            else GenerateLike(n, home, log, NoFsyncPosix.Wrap(fs), template);
        }

        /// <summary>One message of a template queue, as the generator repeats it.</summary>
        private sealed class Shape
        {
            public Shape(QueueMessage m, string? bounceText)
            {
                Sender = m.Sender;
                Size = m.Size;
                Birth = m.QueuedAtUtc;
                Bounce = bounceText;
                var r = new List<RecipientSpec>();
                foreach (QueueRecipient q in m.Recipients) r.Add(new RecipientSpec(q.Address, q.Channel, q.Delivered));
                Recipients = r;
                Id = m.Id;
            }
            public ulong Id { get; }
            public string Sender { get; }
            public long Size { get; }
            public DateTime Birth { get; }
            public string? Bounce { get; }
            public List<RecipientSpec> Recipients { get; }
        }

        private static void GenerateLike(int n, string home, TextWriter log, IFileSystem fs, string template)
        {
            var sw = Stopwatch.StartNew();
            var layoutT = QueueLayout.Detect(Path.GetFullPath(template));
            var shapes = new List<Shape>();
            foreach (ScanEvent e in new QueueScanner(layoutT).Scan())
            {
                if (e.Kind != ScanEventKind.Message || e.Message is null || e.Message.FromTodo || e.Message.Recipients.Count == 0) continue;
                string? bounce = null;
                if (e.Message.HasBounce)
                {
                    try { bounce = File.ReadAllText(layoutT.PathOf("bounce", e.Message.Id), Encoding.Latin1); } catch (IOException) { }
                }
                shapes.Add(new Shape(e.Message, bounce));
            }
            if (shapes.Count == 0) throw new InvalidOperationException($"{template}: no preprocessed message to copy");
            // qmail queued them in the order of their birth (the info file's mtime), ids rising with it.
            shapes.Sort((a, b) => a.Birth != b.Birth ? a.Birth.CompareTo(b.Birth) : a.Id.CompareTo(b.Id));
            log.WriteLine($"[gen] template {template}: {shapes.Count} messages read in {sw.Elapsed.TotalSeconds:F1} s");

            Directory.CreateDirectory(home);
            File.SetUnixFileMode(home, (UnixFileMode)Convert.ToInt32("755", 8));
            Directory.CreateDirectory(Path.Combine(home, "control"));
            string control = Path.Combine(Path.GetDirectoryName(layoutT.Root.TrimEnd('/'))!, "control");
            foreach (string f in new[] { "me", "locals", "virtualdomains" })
                if (File.Exists(Path.Combine(control, f))) File.Copy(Path.Combine(control, f), Path.Combine(home, "control", f));
            if (!File.Exists(Path.Combine(home, "control", "me"))) File.WriteAllText(Path.Combine(home, "control", "me"), "example.test\n");
            QueueLayout layout = QueueWriter.CreateQueue(fs, Path.Combine(home, "queue"), layoutT.Split);

            // Two writers, as qmail-queue's injections and qmail-send's preprocessing interleave on a busy host.
            int workers = 2;
            long done = 0, locals = 0, remotes = 0, bounces = 0, recipients = 0;
            TimeSpan shift = DateTime.UtcNow - shapes[shapes.Count - 1].Birth; // the newest copy is "now"
            Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, w =>
            {
                var writer = new QueueWriter(layout);
                var addrs = new List<string>(4);
                for (long i = w; i < n; i += workers)
                {
                    Shape s = shapes[(int)(i % shapes.Count)];
                    addrs.Clear();
                    foreach (RecipientSpec r in s.Recipients) addrs.Add(r.Address);
                    DateTime birth = s.Birth + shift - TimeSpan.FromSeconds(i / shapes.Count * 60);
                    byte[] body = BodyOfSize(i, s.Sender, addrs[0], s.Size);
                    ulong id = writer.Inject(body, s.Sender, addrs, callerUid: 0, pid: 30000 + w, now: birth);
                    writer.WriteEnvelope(id, s.Sender, s.Recipients, birth, birth.AddSeconds(100), birth.AddSeconds(400));
                    File.Delete(layout.PathOf("intd", id));
                    File.Delete(layout.PathOf("todo", id));
                    if (s.Bounce != null) File.WriteAllText(layout.PathOf("bounce", id), s.Bounce, Encoding.Latin1);
                    bool hasLocal = false, hasRemote = false;
                    foreach (RecipientSpec r in s.Recipients) { if (r.Channel == RecipientChannel.Local) hasLocal = true; else hasRemote = true; }
                    if (hasLocal) Interlocked.Increment(ref locals);
                    if (hasRemote) Interlocked.Increment(ref remotes);
                    if (s.Bounce != null) Interlocked.Increment(ref bounces);
                    Interlocked.Add(ref recipients, s.Recipients.Count);
                    long d = Interlocked.Increment(ref done);
                    if (d % 100000 == 0) log.WriteLine($"[gen] {d}/{n} in {sw.Elapsed.TotalSeconds:F1} s");
                }
            });
            if (fs.LookupUser(QmailUsers.Qmails) is { } qs) Run("chown", $"{qs.Uid}", layout.Dir("bounce"));
            string summary = string.Create(CultureInfo.InvariantCulture,
                $"messages={n}\nsplit={layout.Split}\ntemplate={Path.GetFullPath(template)}\nlocal={locals}\nremote={remotes}\nbounce={bounces}\nrecipients={recipients}\nseconds={sw.Elapsed.TotalSeconds:F1}\ncreated={DateTime.UtcNow:O}\n");
            File.WriteAllText(Path.Combine(home, MarkerName), summary);
            log.WriteLine($"[gen] done in {sw.Elapsed.TotalSeconds:F1} s: " + summary.Replace('\n', ' '));
        }

        /// <summary>A message whose mess file (with the Received line Inject adds) is about <paramref name="size"/> bytes.</summary>
        private static byte[] BodyOfSize(long i, string from, string to, long size)
        {
            var sb = new StringBuilder((int)Math.Min(size + 64, 1 << 24));
            sb.Append("From: ").Append(from.Length == 0 ? "MAILER-DAEMON@example.test" : from).Append('\n');
            sb.Append("To: ").Append(to).Append('\n');
            sb.Append("Subject: benchmark message ").Append(i.ToString(CultureInfo.InvariantCulture)).Append("\n\n");
            const int received = 66; // "Received: (qmail 30000 invoked by uid 0); 3 Dec 2026 08:24:37 -0000\n"
            while (sb.Length + received < size) sb.Append("lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do\n");
            if (sb.Length + received > size && size > received + 40) sb.Length = (int)(size - received - 1);
            if (sb[sb.Length - 1] != '\n') sb.Append('\n');
            return Encoding.ASCII.GetBytes(sb.ToString());
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
