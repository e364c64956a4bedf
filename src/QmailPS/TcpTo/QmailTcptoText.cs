using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace QmailPS.TcpTo
{
    /// <summary>qmail-tcpto's output, byte for byte (qmail-tcpto.c; queue-format.md §5.3).</summary>
    internal static class QmailTcptoText
    {
        /// <summary>
        /// "&lt;address&gt; timed out &lt;now − time&gt; seconds ago; # recent timeouts: &lt;count&gt;", without
        /// the newline. now − time is computed and printed as an unsigned 64-bit number, as
        /// fmt_ulong does on LP64: a time 100 s in the future prints 18446744073709551516. No plural
        /// handling ("1 seconds ago"). The count is the unsigned byte.
        /// </summary>
        public static string Line(TcpToRecord record, long nowSeconds) =>
            Line(record.Address, record.Time, record.Count, nowSeconds);

        public static string Line(IPAddress address, ulong time, byte count, long nowSeconds)
        {
            ulong ago = unchecked((ulong)nowSeconds - time);
            return new StringBuilder(80)
                .Append(FormatAddress(address))
                .Append(" timed out ")
                .Append(ago.ToString(CultureInfo.InvariantCulture))
                .Append(" seconds ago; # recent timeouts: ")
                .Append(count.ToString(CultureInfo.InvariantCulture))
                .ToString();
        }

        /// <summary>
        /// ip_fmt: dotted decimal without padding. IPv6 (struct format) uses .NET's RFC 5952 text,
        /// which is what the patches' ip6_fmt prints for ordinary addresses (zero runs compressed,
        /// lower-case hex); exotic forms (IPv4-mapped, scope ids) may be spelled differently.
        /// </summary>
        public static string FormatAddress(IPAddress address)
        {
            if (address.AddressFamily != AddressFamily.InterNetwork) return address.ToString();
            byte[] b = address.GetAddressBytes();
            return string.Concat(b[0].ToString(CultureInfo.InvariantCulture), ".", b[1].ToString(CultureInfo.InvariantCulture), ".",
                b[2].ToString(CultureInfo.InvariantCulture), ".", b[3].ToString(CultureInfo.InvariantCulture));
        }
    }
}
