using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using QmailPS.Queue;

namespace QmailPS.Host
{
    /// <summary>
    /// A realistic qmail home (queue/ and control/) for the tour, written with the module's public
    /// QueueWriter exactly as qmail-queue and qmail-send would leave it: a few hundred messages,
    /// local and remote, partly delivered, bounces and double bounces, some bouncing right now,
    /// some not yet preprocessed, queued over the last eight days. The same seed gives the same
    /// queue (up to the inode numbers, which are the message ids).
    /// </summary>
    internal sealed class SampleQueue
    {
        public const int Seed = 20251123;
        private const string Me = "example.test";

        private static readonly string[] LocalUsers = { "alice", "bob", "carol", "dave", "erin", "sales", "support", "billing" };
        private static readonly string[] LocalSenders = { "alice@example.test", "bob@example.test", "carol@example.test", "www-data@example.test", "noreply@example.test" };
        private static readonly string[] OutsideSenders =
        {
            "newsletter@lists.example.org", "orders@shop.example.com", "jane@partner.example.com",
            "alerts@status.example.net", "mike@customer.example.org", "notifications@git.example.com",
        };
        private static readonly string[] RemoteDomains =
        {
            "mail.example.com", "partner.example.com", "customer.example.org", "lists.example.org",
            "greylist.example.net", "unreachable.example", "webmail.example", "bigcorp.example",
        };
        private static readonly string[] RemoteUsers = { "info", "john.smith", "m.jones", "accounts", "kim", "h.tanaka", "orders", "lee" };
        private static readonly string[] Subjects =
        {
            "Invoice {0} for November", "Re: meeting on Thursday", "Your order #{0} has shipped", "Weekly report",
            "Password reset requested", "Re: Re: contract draft v{1}", "[status] incident {0} resolved", "Welcome to the team!",
            "Fwd: quote {0}", "Newsletter: what's new in {1}.{0}", "Build {0} failed", "Holiday schedule",
        };
        private static readonly string[] CronJobs = { "/usr/local/bin/backup-db", "/usr/sbin/logrotate /etc/logrotate.conf", "certbot renew -q", "/usr/local/sbin/check-raid", "apt-get -qq update" };

        private readonly Random _rng = new Random(Seed);
        private readonly DateTime _now;
        private QueueWriter _writer = null!;
        private ControlFiles _control = null!;
        private int _n;

        private SampleQueue(DateTime now) { _now = now; }

        public string Home { get; private set; } = "";
        public string QueuePath { get; private set; } = "";
        public int Messages => _n;
        /// <summary>A partly delivered message with local and remote recipients, for the tour.</summary>
        public ulong ShowcaseId { get; private set; }

        public static SampleQueue Create(DateTime utcNow)
        {
            var q = new SampleQueue(utcNow);
            q.Build();
            return q;
        }

        private void Build()
        {
            DirectoryInfo home = Directory.CreateTempSubdirectory("qmailps-sample-");
            // Like /var/qmail: anyone may traverse to the queue (its own modes keep it private).
            File.SetUnixFileMode(home.FullName, (UnixFileMode)Convert.ToInt32("755", 8));
            Home = home.FullName;
            string control = Path.Combine(Home, "control");
            Directory.CreateDirectory(control);
            File.WriteAllText(Path.Combine(control, "me"), Me + "\n");
            File.WriteAllText(Path.Combine(control, "locals"), Me + "\nlocalhost\n");
            _control = new ControlFiles(control);

            QueueLayout layout = QueueWriter.CreateQueue(Path.Combine(Home, "queue"));
            QueuePath = layout.Root;
            _writer = new QueueWriter(layout);

            ShowcaseId = Processed("carol@example.test",
                new[] { ("dave@example.test", true), ("erin@example.test", false), ("john.smith@partner.example.com", true), ("accounts@unreachable.example", false) },
                _now.AddDays(-2).AddHours(-3).AddMinutes(-17), "Q4 figures and the revised budget", 14_000);

            var kinds = new List<Kind>();
            void Add(Kind k, int count) { for (int i = 0; i < count; i++) kinds.Add(k); }
            Add(Kind.Remote, 128); Add(Kind.Local, 66); Add(Kind.Mixed, 30); Add(Kind.Bounce, 24);
            Add(Kind.DoubleBounce, 9); Add(Kind.Bouncing, 8); Add(Kind.Unprocessed, 25); Add(Kind.Cron, 5);
            for (int i = kinds.Count - 1; i > 0; i--) { int j = _rng.Next(i + 1); (kinds[i], kinds[j]) = (kinds[j], kinds[i]); }
            foreach (Kind k in kinds) Write(k);
        }

        private enum Kind { Remote, Local, Mixed, Bounce, DoubleBounce, Bouncing, Unprocessed, Cron }

        private void Write(Kind kind)
        {
            // Births spread over the last eight days: about one in eight is past qmail's 7-day queuelifetime.
            DateTime birth = _now.AddSeconds(-_rng.Next(120, 8 * 86400));
            switch (kind)
            {
                case Kind.Remote:
                {
                    string from = Pick(LocalSenders);
                    var to = Enumerable.Range(0, 1 + _rng.Next(3)).Select(_ => (RemoteAddress(), false)).ToArray();
                    Processed(from, to, birth, Subject(), BodySize());
                    break;
                }
                case Kind.Local:
                {
                    string from = Pick(OutsideSenders);
                    var to = Enumerable.Range(0, 1 + _rng.Next(2)).Select(_ => (LocalAddress(), false)).ToArray();
                    Processed(from, to, birth, Subject(), BodySize());
                    break;
                }
                case Kind.Mixed:
                {
                    // A message to several people, some already delivered (D records): still queued for the rest.
                    var to = new List<(string, bool)>();
                    int n = 2 + _rng.Next(4);
                    for (int i = 0; i < n; i++) to.Add((_rng.Next(2) == 0 ? LocalAddress() : RemoteAddress(), _rng.Next(2) == 0));
                    to[_rng.Next(n)] = (RemoteAddress(), false);
                    Processed(Pick(LocalSenders), Distinct(to), birth, Subject(), BodySize());
                    break;
                }
                case Kind.Bounce:
                {
                    // qmail-send's bounce to a (often forged) remote sender, stuck because that address does not accept mail.
                    string original = RemoteAddress();
                    string failed = LocalUsers[_rng.Next(LocalUsers.Length)] + "x@" + Me;
                    Processed("", new[] { (original, false) }, birth, null, 0, BounceBody(original, failed, false));
                    break;
                }
                case Kind.DoubleBounce:
                {
                    string failed = RemoteAddress();
                    Processed("#@[]", new[] { ("postmaster@" + Me, false) }, birth, null, 0, BounceBody("postmaster@" + Me, failed, true));
                    break;
                }
                case Kind.Bouncing:
                {
                    // One recipient failed permanently (D record plus the report in bounce/ID); qmail-send
                    // has not yet turned it into a bounce message.
                    string from = Pick(LocalSenders);
                    string bad = _rng.Next(3) == 0 ? LocalUsers[_rng.Next(LocalUsers.Length)] + "1@" + Me : RemoteAddress();
                    var to = new List<(string, bool)> { (bad, true) };
                    if (_rng.Next(2) == 0) to.Add((RemoteAddress(), false));
                    ulong id = Processed(from, Distinct(to), birth, Subject(), BodySize());
                    _writer.AppendBounce(id, bad, BounceReport(bad));
                    break;
                }
                case Kind.Unprocessed:
                {
                    // Just queued by qmail-queue (todo/), qmail-send has not preprocessed it yet: a newsletter run.
                    string subject = "Newsletter: what's new in November";
                    string to = RemoteAddress();
                    Unprocessed("newsletter@example.test", to, subject, 2_000 + _rng.Next(6_000));
                    break;
                }
                case Kind.Cron:
                {
                    string job = CronJobs[_n % CronJobs.Length];
                    Unprocessed("root@example.test", "root@example.test", "Cron <root@mail> " + job, 300 + _rng.Next(900));
                    break;
                }
            }
        }

        private static (string, bool)[] Distinct(List<(string Address, bool Done)> list) =>
            list.GroupBy(r => r.Address, StringComparer.OrdinalIgnoreCase).Select(g => g.First()).ToArray();

        private ulong Processed(string sender, IReadOnlyList<(string Address, bool Done)> recipients, DateTime birth, string? subject, int bodySize, string? fullText = null)
        {
            var specs = recipients.Select(r => new RecipientSpec(r.Address, _control.ChannelOf(r.Address), r.Done)).ToList();
            string text = fullText ?? MessageText(sender, recipients[0].Address, subject ?? "", birth, bodySize);
            ulong id = Inject(text, sender, specs.Select(s => s.Address).ToList(), birth, local: sender.EndsWith("@" + Me, StringComparison.Ordinal) || sender.Length == 0 || sender == "#@[]");
            // qmail-send's nextretry(): birth + n*n*chanskip, n = sqrt(age/chanskip) (+1 for remote).
            double age = Math.Max(0, (_now - birth).TotalSeconds);
            int nl = (int)Math.Sqrt(age / 10), nr = (int)Math.Sqrt(age / 20) + 1;
            _writer.WriteEnvelope(id, sender, specs, birth, birth.AddSeconds(nl * nl * 10.0), birth.AddSeconds(nr * nr * 20.0));
            // qmail-send unlinks a channel file at the end of the pass that finds no T record left:
            // after a clean stop no file holds only done recipients.
            foreach (RecipientChannel c in new[] { RecipientChannel.Local, RecipientChannel.Remote })
                if (specs.Any(s => s.Channel == c) && specs.Where(s => s.Channel == c).All(s => s.Delivered))
                    File.Delete(_writer.Layout.PathOf(c == RecipientChannel.Local ? "local" : "remote", id));
            File.Delete(_writer.Layout.PathOf("intd", id));
            File.Delete(_writer.Layout.PathOf("todo", id));
            return id;
        }

        private void Unprocessed(string sender, string recipient, string subject, int bodySize)
        {
            DateTime queued = _now.AddSeconds(-_rng.Next(5, 240));
            ulong id = Inject(MessageText(sender, recipient, subject, queued, bodySize), sender, new[] { recipient }, queued, local: true);
            File.SetLastWriteTimeUtc(_writer.Layout.PathOf("todo", id), queued); // todo/ID and intd/ID are one inode
        }

        private ulong Inject(string text, string sender, IReadOnlyList<string> recipients, DateTime when, bool local)
        {
            _n++;
            // qmail-queue run by qmail-smtpd (uid qmaild) for mail from outside, by a local user's program otherwise.
            uint uid = local ? 1000u + (uint)_rng.Next(3) : 995u;
            return _writer.Inject(Encoding.UTF8.GetBytes(text), sender, recipients, uid, null, 20000 + _rng.Next(40000), when);
        }

        private string LocalAddress() => Pick(LocalUsers) + "@" + Me;

        private string RemoteAddress() => Pick(RemoteUsers) + "@" + Pick(RemoteDomains);

        private T Pick<T>(IReadOnlyList<T> list) => list[_rng.Next(list.Count)];

        private string Subject() => string.Format(CultureInfo.InvariantCulture, Pick(Subjects), 1000 + _rng.Next(9000), 2 + _rng.Next(8));

        private int BodySize()
        {
            int r = _rng.Next(100);
            if (r < 70) return 400 + _rng.Next(3_000);
            if (r < 95) return 4_000 + _rng.Next(40_000);
            return 100_000 + _rng.Next(400_000); // an attachment
        }

        private static string Rfc2822(DateTime utc) => utc.ToString("ddd, d MMM yyyy HH:mm:ss '+0000'", CultureInfo.InvariantCulture);

        private string MessageText(string from, string to, string subject, DateTime date, int bodySize)
        {
            var sb = new StringBuilder();
            sb.Append("Date: ").Append(Rfc2822(date)).Append('\n');
            sb.Append("From: ").Append(from.Length == 0 ? "MAILER-DAEMON@" + Me : from).Append('\n');
            sb.Append("To: ").Append(to).Append('\n');
            sb.Append("Subject: ").Append(subject).Append('\n');
            sb.Append("Message-ID: <").Append(date.Ticks.ToString("x", CultureInfo.InvariantCulture)).Append('.').Append(_n)
              .Append("@").Append(from.Contains('@') ? from.Substring(from.IndexOf('@') + 1) : Me).Append(">\n");
            sb.Append("MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n");
            sb.Append("Hello,\n\nplease find the details below.\n\n");
            var line = new StringBuilder();
            const string letters = "abcdefghijklmnopqrstuvwxyz";
            while (sb.Length < bodySize)
            {
                line.Clear();
                for (int w = 0; w < 9; w++) { if (w > 0) line.Append(' '); for (int c = 2 + _rng.Next(7); c > 0; c--) line.Append(letters[_rng.Next(26)]); }
                sb.Append(line).Append('\n');
            }
            sb.Append("\n-- \nsent from the sample queue of qmailps\n");
            return sb.ToString();
        }

        private string BounceBody(string to, string failed, bool doubleBounce)
        {
            var sb = new StringBuilder();
            sb.Append("Date: ").Append(Rfc2822(_now)).Append('\n');
            sb.Append("From: MAILER-DAEMON@").Append(Me).Append('\n');
            sb.Append("To: ").Append(to).Append('\n');
            sb.Append("Subject: failure notice\n\n");
            sb.Append("Hi. This is the qmail-send program at ").Append(Me).Append(".\n");
            if (doubleBounce)
                sb.Append("I tried to deliver a bounce message to this address, but the bounce bounced!\n\n");
            else
                sb.Append("I'm afraid I wasn't able to deliver your message to the following addresses.\nThis is a permanent error; I've given up. Sorry it didn't work out.\n\n");
            sb.Append('<').Append(failed).Append(">:\n").Append(BounceReport(failed)).Append('\n');
            sb.Append("--- Below this line is a copy of the message.\n\n");
            sb.Append(MessageText(RemoteAddress(), failed, Subject(), _now.AddMinutes(-3), 600));
            return sb.ToString();
        }

        private string BounceReport(string recipient)
        {
            if (recipient.EndsWith("@" + Me, StringComparison.Ordinal)) return "Sorry, no mailbox here by that name. (#5.1.1)\n";
            string ip = "192.0.2." + (10 + _rng.Next(200)).ToString(CultureInfo.InvariantCulture);
            switch (_rng.Next(3))
            {
                case 0:
                    return $"{ip} does not like recipient.\nRemote host said: 550 5.1.1 <{recipient}>: Recipient address rejected: User unknown in virtual mailbox table\nGiving up on {ip}.\n";
                case 1:
                    return $"{ip} does not like recipient.\nRemote host said: 552 5.2.2 <{recipient}>: Mailbox full\nGiving up on {ip}.\n";
                default:
                    return $"Connected to {ip} but sender was rejected.\nRemote host said: 553 5.7.1 Sender address rejected: not owned by user\n";
            }
        }
    }
}
