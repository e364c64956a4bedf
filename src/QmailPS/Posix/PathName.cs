using System;
using System.Text;

namespace QmailPS.Posix
{
    /// <summary>
    /// File names are bytes; .NET strings are UTF-16. A name that is not valid UTF-8 (a stray file
    /// dropped in the queue by a broken script) must still be named exactly, or Repair-QmailQueue
    /// could not move it. Such names use Mono.Unix's escape: each byte that is not part of the
    /// UTF-8 text becomes U+0000 followed by the character of that byte's value. Mono.Posix calls
    /// decode that form themselves; <see cref="ToBytesZ"/> does the same for the libc calls.
    /// </summary>
    internal static class PathName
    {
        private static readonly UTF8Encoding s_strict = new UTF8Encoding(false, throwOnInvalidBytes: true);

        public static string FromBytes(byte[] name, int length)
        {
            try { return s_strict.GetString(name, 0, length); }
            catch (ArgumentException) { }
            var sb = new StringBuilder(length * 2);
            for (int i = 0; i < length; i++)
            {
                byte b = name[i];
                if (b < 0x80) sb.Append((char)b);
                else sb.Append('\0').Append((char)b);
            }
            return sb.ToString();
        }

        public static string FromBytesZ(byte[] nameZ)
        {
            int n = Array.IndexOf(nameZ, (byte)0);
            return FromBytes(nameZ, n < 0 ? nameZ.Length : n);
        }

        /// <summary>The NUL-terminated bytes of a path, undoing the escape of <see cref="FromBytes"/>.</summary>
        public static byte[] ToBytesZ(string path)
        {
            if (path.IndexOf('\0') < 0)
            {
                var b = new byte[Encoding.UTF8.GetByteCount(path) + 1];
                Encoding.UTF8.GetBytes(path, 0, path.Length, b, 0);
                return b;
            }
            var bytes = new System.Collections.Generic.List<byte>(path.Length + 1);
            for (int i = 0; i < path.Length; i++)
            {
                if (path[i] == '\0' && i + 1 < path.Length && path[i + 1] <= 0xFF) { bytes.Add((byte)path[++i]); continue; }
                int run = i;
                while (i + 1 < path.Length && path[i + 1] != '\0') i++;
                bytes.AddRange(Encoding.UTF8.GetBytes(path.Substring(run, i - run + 1)));
            }
            bytes.Add(0);
            return bytes.ToArray();
        }

        private static readonly char[] Unprintable = { '\0', '\\', '\t', '\n', '\r' };

        /// <summary>A path for a line of text (the quarantine manifest): escaped bytes as \xHH, and
        /// backslash, tab, CR and LF escaped, so every name stays on its line and can be read back.</summary>
        public static string Printable(string path)
        {
            if (path.IndexOfAny(Unprintable) < 0) return path; // the usual name: nothing to show differently
            var sb = new StringBuilder(path.Length);
            for (int i = 0; i < path.Length; i++)
            {
                char c = path[i];
                if (c == '\0' && i + 1 < path.Length && path[i + 1] <= 0xFF) sb.Append("\\x").Append(((int)path[++i]).ToString("x2"));
                else if (c == '\\') sb.Append("\\\\");
                else if (c == '\t') sb.Append("\\t");
                else if (c == '\n') sb.Append("\\n");
                else if (c == '\r') sb.Append("\\r");
                else sb.Append(c);
            }
            return sb.ToString();
        }
    }
}
