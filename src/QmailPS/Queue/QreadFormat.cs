using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace QmailPS.Queue
{
    /// <summary>
    /// qmail-qread's text (qmail-qread.c fmtstats/putstats, queue-format.md §4.1), byte for byte:
    /// "&lt;mday&gt; &lt;Mon&gt; &lt;YYYY&gt; &lt;HH:MM:SS&gt; GMT  #ID  size  &lt;sender&gt; " [" bouncing"], then one
    /// line per local then remote recipient ("\tlocal\taddr" or "  done\tlocal\taddr"); bytes outside
    /// 32…126 print as '_'. Its two bugs (leftover info bytes as recipients, a stale sender for an
    /// empty info) are not copied.
    /// </summary>
    public static class QreadFormat
    {
        private static readonly string[] Months = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

        /// <summary>The lines qmail-qread prints for a message, or none for one it does not list (in todo/ without info/).</summary>
        public static IEnumerable<string> Lines(QueueMessage m)
        {
            if (m.FromTodo || m.State == QueueMessageState.Unprocessed)
            {
                // qmail-qread lists a message in todo/ only when info/N/ID exists too, and from that.
                if (m.QreadView != null) foreach (string line in Lines(m.QreadView)) yield return line;
                yield break;
            }
            string id = m.Id.ToString(CultureInfo.InvariantCulture);
            if (m.QreadTrouble != null)
            {
                yield return $"warning: trouble with #{id}: {m.QreadTrouble}";
                yield break;
            }
            DateTime t = m.QueuedAtUtc;
            var sb = new StringBuilder(80);
            sb.Append(t.Day.ToString(CultureInfo.InvariantCulture)).Append(' ').Append(Months[t.Month - 1]).Append(' ')
              .Append(t.Year.ToString("0000", CultureInfo.InvariantCulture)).Append(' ')
              .Append(t.ToString("HH:mm:ss", CultureInfo.InvariantCulture)).Append(" GMT  #").Append(id)
              .Append("  ").Append(m.Size.ToString(CultureInfo.InvariantCulture)).Append("  <");
            AppendSafe(sb, m.RawSender);
            sb.Append("> ");
            if (m.HasBounce) sb.Append(" bouncing");
            yield return sb.ToString();
            foreach (QueueRecipient r in m.Recipients)
            {
                sb.Clear();
                sb.Append(r.Delivered ? "  done\t" : "\t").Append(r.Channel == RecipientChannel.Local ? "local" : "remote").Append('\t');
                AppendSafe(sb, r.RawAddress);
                yield return sb.ToString();
            }
        }

        /// <summary>
        /// The lines qmail-qread prints for the message, with <paramref name="names"/> (its walk of
        /// info/): once for each name in info/ that scan_ulong reads as the message's id. qmail-qread
        /// opens every file by the canonical name (fmtqfn), so an alias (info/N/0123, an overflowing
        /// number, info/ID in another split) beside the canonical info prints the same block again, and
        /// an alias without it prints the trouble line qmail-qread's open of the canonical info gives.
        /// A message Get-QmailQueueMessage read from an alias (no canonical info) is one of those names: once.
        /// </summary>
        public static IEnumerable<string> Lines(QueueMessage m, QreadNames? names)
        {
            int aliases = names?.Aliases(m.Id) ?? 0;
            if (aliases == 0) return Lines(m);
            bool viaTodo = m.FromTodo || m.State == QueueMessageState.Unprocessed;
            if (names!.HasCanonical(m.Id))
            {
                var block = new List<string>(Lines(m));
                var all = new List<string>(block.Count * (aliases + 1));
                for (int i = 0; i <= aliases; i++) all.AddRange(block);
                return all;
            }
            if (!viaTodo) return Lines(m); // listed from its alias: it is that name's line
            // In todo/ without info: qmail-qread prints nothing for the todo, but each alias name
            // makes it try, and fail to open, info/ID (or mess/ID when that is missing: same error).
            string trouble = $"warning: trouble with #{m.Id.ToString(CultureInfo.InvariantCulture)}: {Posix.Errno.QmailText(Posix.Errno.ENOENT)}";
            var lines = new List<string>(aliases);
            for (int i = 0; i < aliases; i++) lines.Add(trouble);
            return lines;
        }

        private static void AppendSafe(StringBuilder sb, byte[] bytes)
        {
            foreach (byte b in bytes) sb.Append(b >= 32 && b <= 126 ? (char)b : '_');
        }
    }

    /// <summary>
    /// qmail-qread's walk (readsubdir over info/0…split-1): every name scan_ulong reads whole, counted
    /// by the id it reads, apart from the canonical info/(id % split)/id itself.
    /// </summary>
    public sealed class QreadNames
    {
        private readonly Dictionary<ulong, int> _aliases = new Dictionary<ulong, int>();
        private readonly HashSet<ulong> _canonical = new HashSet<ulong>();

        private QreadNames() { }

        /// <summary>Lists info/0…split-1 once; a directory that cannot be listed adds no name (qmail-qread would wait on it).</summary>
        internal static QreadNames Walk(QueueLayout layout)
        {
            var names = new QreadNames();
            var scratch = new List<Posix.DirEntry>();
            for (int n = 0; n < layout.Split; n++)
            {
                scratch.Clear();
                List<Posix.DirEntry>? entries = layout.Fs.TryList(layout.SplitDir("info", n), scratch, out _);
                if (entries is null) continue;
                foreach (Posix.DirEntry e in entries)
                {
                    if (!e.IsNumeric) continue;
                    if (e.IsCanonical && layout.SplitOf(e.Id) == n) names._canonical.Add(e.Id);
                    else names._aliases[e.Id] = names._aliases.TryGetValue(e.Id, out int k) ? k + 1 : 1;
                }
            }
            return names;
        }

        /// <summary>How many names other than the canonical one qmail-qread reads as <paramref name="id"/>.</summary>
        public int Aliases(ulong id) => _aliases.TryGetValue(id, out int k) ? k : 0;

        /// <summary>info/(id % split)/id was there.</summary>
        public bool HasCanonical(ulong id) => _canonical.Contains(id);
    }
}
