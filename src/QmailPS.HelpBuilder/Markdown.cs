using System;
using System.Collections.Generic;
using System.Text;
using System.Text.RegularExpressions;

namespace QmailPS.HelpBuilder
{
    /// <summary>A problem in a source file; printed in MSBuild's canonical error format.</summary>
    public sealed class HelpFormatException : Exception
    {
        public HelpFormatException(string file, int line, string message) : base(message)
        {
            File = file;
            Line = line;
        }

        public string File { get; }

        /// <summary>1-based; 0 when the problem is the file as a whole.</summary>
        public int Line { get; }

        public override string ToString() => Line > 0 ? $"{File}({Line}): error QHB001: {Message}" : $"{File}: error QHB001: {Message}";
    }

    public enum BlockKind { Heading, Paragraph, Code }

    /// <summary>One block of a markdown document: a heading, a paragraph (its lines), or a fenced code block.</summary>
    public sealed class Block
    {
        public Block(BlockKind kind, int line, int level, string language, List<string> lines)
        {
            Kind = kind; Line = line; Level = level; Language = language; Lines = lines;
        }

        public BlockKind Kind { get; }
        /// <summary>1-based line of the block's first line in the file.</summary>
        public int Line { get; }
        /// <summary>Heading level (1…6); 0 for other blocks.</summary>
        public int Level { get; }
        /// <summary>Info string of a code fence ("powershell", "yaml", ""); empty for other blocks.</summary>
        public string Language { get; }
        /// <summary>Heading: one line, its text. Paragraph: its lines. Code: its lines, verbatim.</summary>
        public List<string> Lines { get; }
        public string Text => Kind == BlockKind.Heading ? Lines[0] : string.Join("\n", Lines);

        public override string ToString() => Kind == BlockKind.Heading ? new string('#', Level) + " " + Lines[0] : Kind + " at line " + Line;
    }

    /// <summary>
    /// The subset of markdown that platyPS's schema 2.0.0 uses: YAML front matter between '---'
    /// lines, ATX headings, paragraphs, and ``` fenced code blocks. Nothing else is needed, and
    /// anything this reader cannot place exactly is an error rather than a guess.
    /// </summary>
    public sealed class MarkdownDocument
    {
        private static readonly Regex Heading = new Regex(@"^(#{1,6})[ \t]+(.*?)[ \t]*$", RegexOptions.CultureInvariant);
        private static readonly Regex FenceOpen = new Regex(@"^```[ \t]*([A-Za-z0-9_+.-]*)[ \t]*$", RegexOptions.CultureInvariant);
        private static readonly Regex FenceClose = new Regex(@"^```[ \t]*$", RegexOptions.CultureInvariant);
        private static readonly Regex Placeholder = new Regex(@"\{\{.*?\}\}", RegexOptions.CultureInvariant);

        private MarkdownDocument(string file, Dictionary<string, string>? frontMatter, int frontMatterLine, List<Block> blocks)
        {
            File = file; FrontMatter = frontMatter; FrontMatterLine = frontMatterLine; Blocks = blocks;
        }

        public string File { get; }
        /// <summary>The front matter's keys and values (keys as written), or null when the file has none.</summary>
        public Dictionary<string, string>? FrontMatter { get; }
        public int FrontMatterLine { get; }
        public List<Block> Blocks { get; }

        public HelpFormatException Error(int line, string message) => new HelpFormatException(File, line, message);

        public static MarkdownDocument Parse(string file, string text)
        {
            if (text.Length > 0 && text[0] == '\uFEFF') text = text.Substring(1);
            string[] lines = text.Replace("\r\n", "\n").Replace('\r', '\n').Split('\n');
            int i = 0;
            Dictionary<string, string>? front = null;
            int frontLine = 0;
            if (lines.Length > 0 && lines[0].TrimEnd() == "---")
            {
                frontLine = 1;
                front = new Dictionary<string, string>(StringComparer.Ordinal);
                i = 1;
                bool closed = false;
                for (; i < lines.Length; i++)
                {
                    string l = lines[i];
                    if (l.TrimEnd() == "---") { closed = true; i++; break; }
                    if (l.Trim().Length == 0) continue;
                    int colon = l.IndexOf(':');
                    if (colon <= 0 || char.IsWhiteSpace(l[0]))
                        throw new HelpFormatException(file, i + 1, $"front matter line is not 'key: value': '{l}'");
                    string key = l.Substring(0, colon).Trim();
                    string value = l.Substring(colon + 1).Trim();
                    if (front.ContainsKey(key)) throw new HelpFormatException(file, i + 1, $"front matter key '{key}' appears twice");
                    front[key] = value;
                }
                if (!closed) throw new HelpFormatException(file, 1, "the front matter opened by '---' on line 1 is never closed by a '---' line");
            }

            var blocks = new List<Block>();
            List<string>? para = null;
            int paraLine = 0;
            void EndParagraph()
            {
                if (para != null) blocks.Add(new Block(BlockKind.Paragraph, paraLine, 0, "", para));
                para = null;
            }

            for (; i < lines.Length; i++)
            {
                string line = lines[i];
                if (line.IndexOf('\t') >= 0 && line.TrimStart(' ').StartsWith("\t", StringComparison.Ordinal))
                    throw new HelpFormatException(file, i + 1, "a line outside a code block starts with a tab (indented code blocks are not part of the schema; use a ``` fence)");
                if (Placeholder.IsMatch(line))
                    throw new HelpFormatException(file, i + 1, $"unfilled platyPS placeholder '{Placeholder.Match(line).Value}'");
                if (line.StartsWith("```", StringComparison.Ordinal))
                {
                    Match open = FenceOpen.Match(line);
                    if (!open.Success) throw new HelpFormatException(file, i + 1, $"malformed code fence '{line}'");
                    EndParagraph();
                    int start = i + 1;
                    var code = new List<string>();
                    bool closed = false;
                    for (i++; i < lines.Length; i++)
                    {
                        if (FenceClose.IsMatch(lines[i])) { closed = true; break; }
                        if (lines[i].StartsWith("```", StringComparison.Ordinal))
                            throw new HelpFormatException(file, start, $"the code fence opened here is never closed: line {i + 1} opens another ('{lines[i]}')");
                        code.Add(lines[i]);
                    }
                    if (!closed) throw new HelpFormatException(file, start, "the code fence opened here is never closed");
                    blocks.Add(new Block(BlockKind.Code, start, 0, open.Groups[1].Value, code));
                    continue;
                }
                if (line.Trim().Length == 0) { EndParagraph(); continue; }
                Match h = Heading.Match(line);
                if (h.Success)
                {
                    EndParagraph();
                    string htext = h.Groups[2].Value;
                    if (htext.Length == 0) throw new HelpFormatException(file, i + 1, "empty heading");
                    blocks.Add(new Block(BlockKind.Heading, i + 1, h.Groups[1].Value.Length, "", new List<string> { htext }));
                    continue;
                }
                if (line.StartsWith("#", StringComparison.Ordinal))
                    throw new HelpFormatException(file, i + 1, $"'{line}' looks like a heading but has no space after the '#' characters");
                if (line.TrimStart().StartsWith("|", StringComparison.Ordinal))
                    throw new HelpFormatException(file, i + 1, "tables are not part of the schema (Get-Help cannot show them); use a list");
                if (line.TrimStart().StartsWith("<!--", StringComparison.Ordinal))
                    throw new HelpFormatException(file, i + 1, "HTML comments are not part of the schema");
                if (para is null) { para = new List<string>(); paraLine = i + 1; }
                para.Add(line);
            }
            EndParagraph();
            return new MarkdownDocument(file, front, frontLine, blocks);
        }
    }

    /// <summary>Markdown paragraph text to the plain text Get-Help shows.</summary>
    public static class Inline
    {
        private static readonly Regex ListItem = new Regex(@"^\s*([-*+]|\d{1,3}[.)])\s+", RegexOptions.CultureInvariant);

        public static bool IsListItem(string line) => ListItem.IsMatch(line);

        /// <summary>
        /// Splits a paragraph block into display paragraphs: prose lines are joined with spaces;
        /// each list item (with its continuation lines) becomes a paragraph of its own, marker kept.
        /// </summary>
        public static List<string> Paragraphs(Block block, Func<string, string> render)
        {
            var result = new List<string>();
            StringBuilder? current = null;
            foreach (string raw in block.Lines)
            {
                string line = raw.Trim();
                if (IsListItem(raw) || current is null)
                {
                    if (current != null) result.Add(render(current.ToString()));
                    current = new StringBuilder(line);
                }
                else
                {
                    // A markdown hard break (two trailing spaces or a backslash) is a soft one here.
                    current.Append(' ').Append(line);
                }
            }
            if (current != null) result.Add(render(current.ToString()));
            return result;
        }

        /// <summary>
        /// Inline markdown to text: backslash escapes removed, [text](url) becomes text (with the
        /// URL in parentheses when it is absolute), code spans kept with their backticks (platyPS
        /// keeps them too). Emphasis markers are kept as written.
        /// </summary>
        public static string ToText(string s, string file, int line)
        {
            var sb = new StringBuilder(s.Length);
            int i = 0;
            while (i < s.Length)
            {
                char c = s[i];
                if (c == '`')
                {
                    int run = 0;
                    while (i + run < s.Length && s[i + run] == '`') run++;
                    string fence = new string('`', run);
                    int close = s.IndexOf(fence, i + run, StringComparison.Ordinal);
                    if (close < 0) throw new HelpFormatException(file, line, $"unclosed code span (an opening {fence} without its closing one) in '{s}'");
                    if (run == 1) sb.Append(s, i, close + 1 - i); // `Name`, kept as platyPS keeps it
                    else sb.Append(s.Substring(i + run, close - i - run).Trim()); // ``a`b``: a span that holds backticks; show its content
                    i = close + run;
                    continue;
                }
                if (c == '\\' && i + 1 < s.Length && IsEscapable(s[i + 1]))
                {
                    sb.Append(s[i + 1]);
                    i += 2;
                    continue;
                }
                if (c == '[')
                {
                    int closeText = FindClosing(s, i + 1, '[', ']');
                    if (closeText > 0 && closeText + 1 < s.Length && s[closeText + 1] == '(')
                    {
                        int closeUrl = FindClosing(s, closeText + 2, '(', ')');
                        if (closeUrl < 0) throw new HelpFormatException(file, line, $"link without its closing ')' in '{s}'");
                        string text = ToText(s.Substring(i + 1, closeText - i - 1), file, line);
                        string url = s.Substring(closeText + 2, closeUrl - closeText - 2).Trim();
                        sb.Append(text);
                        if (IsAbsoluteUri(url) && url != text) sb.Append(" (").Append(url).Append(')');
                        i = closeUrl + 1;
                        continue;
                    }
                }
                sb.Append(c);
                i++;
            }
            return sb.ToString();
        }

        public static bool IsAbsoluteUri(string s) =>
            Uri.TryCreate(s, UriKind.Absolute, out Uri? u) && (u.Scheme == Uri.UriSchemeHttp || u.Scheme == Uri.UriSchemeHttps);

        private static bool IsEscapable(char c) => "\\`*_{}[]()#+-.!<>|~\"'".IndexOf(c) >= 0;

        private static int FindClosing(string s, int from, char open, char close)
        {
            int depth = 0;
            for (int i = from; i < s.Length; i++)
            {
                if (s[i] == '\\') { i++; continue; }
                if (s[i] == open) depth++;
                else if (s[i] == close)
                {
                    if (depth == 0) return i;
                    depth--;
                }
            }
            return -1;
        }
    }
}
