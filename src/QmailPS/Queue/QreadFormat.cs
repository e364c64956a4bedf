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

        private static void AppendSafe(StringBuilder sb, byte[] bytes)
        {
            foreach (byte b in bytes) sb.Append(b >= 32 && b <= 126 ? (char)b : '_');
        }
    }
}
