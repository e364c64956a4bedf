using System;
using System.Collections.Generic;
using System.Text;

namespace QmailPS.Queue
{
    /// <summary>One header field of a message: name and unfolded, RFC 2047-decoded value.</summary>
    public sealed class MessageHeader
    {
        public MessageHeader(string name, string value, string raw) { Name = name; Value = value; RawValue = raw; }
        public string Name { get; }
        public string Value { get; }
        /// <summary>The value as in the message (folded lines joined, encoded words kept).</summary>
        public string RawValue { get; }
        /// <summary>The message the field is from (binds to -Id of the message cmdlets); 0 when parsed from bytes alone.</summary>
        public ulong Id { get; internal set; }
        /// <summary>The queue of that message (binds to -QueuePath); '' when parsed from bytes alone.</summary>
        public string QueuePath { get; internal set; } = "";
        public override string ToString() => Name + ": " + Value;
    }

    /// <summary>Reads the header block of a message (RFC 5322): stops at the first empty line.</summary>
    public static class MessageHeaders
    {
        private static readonly Encoding Latin1 = Encoding.GetEncoding(28591);

        public static List<MessageHeader> Parse(byte[] data, int length)
        {
            var headers = new List<MessageHeader>();
            string? name = null;
            var value = new StringBuilder();
            int pos = 0;
            while (pos < length)
            {
                int eol = Array.IndexOf(data, (byte)'\n', pos, length - pos);
                int end = eol < 0 ? length : eol;
                int lineEnd = end > pos && data[end - 1] == '\r' ? end - 1 : end;
                if (lineEnd == pos) break; // empty line: end of the header
                string line = DecodeLine(data, pos, lineEnd - pos);
                if ((line[0] == ' ' || line[0] == '\t') && name != null)
                {
                    value.Append(line); // folded continuation
                }
                else
                {
                    if (name != null) headers.Add(Make(name, value.ToString()));
                    int colon = line.IndexOf(':');
                    if (colon <= 0) { name = null; value.Clear(); }
                    else { name = line.Substring(0, colon).Trim(); value.Clear().Append(line.Substring(colon + 1)); }
                }
                if (eol < 0) break;
                pos = eol + 1;
            }
            if (name != null) headers.Add(Make(name, value.ToString()));
            return headers;
        }

        private static MessageHeader Make(string name, string raw)
        {
            string trimmed = raw.Trim();
            return new MessageHeader(name, DecodeWords(trimmed), trimmed);
        }

        private static string DecodeLine(byte[] data, int offset, int count)
        {
            try { return new UTF8Encoding(false, true).GetString(data, offset, count); }
            catch (DecoderFallbackException) { return Latin1.GetString(data, offset, count); }
        }

        /// <summary>Decodes RFC 2047 encoded words (=?charset?B|Q?text?=); whitespace between two
        /// adjacent encoded words is dropped, as the RFC says. Unknown charsets fall back to Latin-1.</summary>
        public static string DecodeWords(string text)
        {
            if (text.IndexOf("=?", StringComparison.Ordinal) < 0) return text;
            var sb = new StringBuilder(text.Length);
            int pos = 0;
            bool lastWasEncoded = false;
            while (pos < text.Length)
            {
                int start = text.IndexOf("=?", pos, StringComparison.Ordinal);
                if (start < 0) break;
                if (!TryDecodeWord(text, start, out string decoded, out int next))
                {
                    sb.Append(text, pos, start + 2 - pos);
                    pos = start + 2;
                    lastWasEncoded = false;
                    continue;
                }
                string between = text.Substring(pos, start - pos);
                if (!(lastWasEncoded && between.Trim().Length == 0)) sb.Append(between);
                sb.Append(decoded);
                pos = next;
                lastWasEncoded = true;
            }
            sb.Append(text, pos, text.Length - pos);
            return sb.ToString();
        }

        private static bool TryDecodeWord(string text, int start, out string decoded, out int next)
        {
            decoded = ""; next = start;
            int q1 = text.IndexOf('?', start + 2);
            if (q1 < 0) return false;
            int q2 = q1 + 2 < text.Length && text[q1 + 2] == '?' ? q1 + 2 : -1;
            if (q2 < 0) return false;
            int end = text.IndexOf("?=", q2 + 1, StringComparison.Ordinal);
            if (end < 0) return false;
            string charset = text.Substring(start + 2, q1 - start - 2);
            int star = charset.IndexOf('*'); // RFC 2231 language suffix
            if (star >= 0) charset = charset.Substring(0, star);
            char enc = char.ToUpperInvariant(text[q1 + 1]);
            string payload = text.Substring(q2 + 1, end - q2 - 1);
            byte[] bytes;
            try
            {
                if (enc == 'B') bytes = Convert.FromBase64String(PadBase64(payload));
                else if (enc == 'Q') bytes = DecodeQ(payload);
                else return false;
            }
            catch (FormatException) { return false; }
            decoded = GetEncoding(charset).GetString(bytes);
            next = end + 2;
            return true;
        }

        private static string PadBase64(string s)
        {
            s = s.Trim();
            int mod = s.Length % 4;
            return mod == 0 ? s : s + new string('=', 4 - mod);
        }

        private static byte[] DecodeQ(string s)
        {
            var bytes = new List<byte>(s.Length);
            for (int i = 0; i < s.Length; i++)
            {
                char c = s[i];
                if (c == '_') bytes.Add((byte)' ');
                else if (c == '=' && i + 2 < s.Length && IsHex(s[i + 1]) && IsHex(s[i + 2]))
                {
                    bytes.Add(Convert.ToByte(s.Substring(i + 1, 2), 16));
                    i += 2;
                }
                else bytes.Add((byte)c);
            }
            return bytes.ToArray();
        }

        private static bool IsHex(char c) => (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');

        private static bool s_codePagesTried;

        private static Encoding GetEncoding(string charset)
        {
            try { return Encoding.GetEncoding(charset); }
            catch (ArgumentException) { }
            if (!s_codePagesTried)
            {
                s_codePagesTried = true;
                // .NET Core ships windows-125x, koi8-r, … in System.Text.Encoding.CodePages, registered on demand.
                var type = Type.GetType("System.Text.CodePagesEncodingProvider, System.Text.Encoding.CodePages");
                if (type?.GetProperty("Instance")?.GetValue(null) is EncodingProvider provider)
                    Encoding.RegisterProvider(provider);
                try { return Encoding.GetEncoding(charset); }
                catch (ArgumentException) { }
            }
            return Latin1;
        }
    }
}
