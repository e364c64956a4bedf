using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace QmailPS.HelpBuilder
{
    /// <summary>
    /// An about topic (platyPS templates/aboutTemplate.md) rendered to the plain text Get-Help shows,
    /// laid out as platyPS's TextRenderer does: "TOPIC", the topic name indented, H1 headings in
    /// capitals at the margin, other headings as written, text indented 4 and wrapped at 80 columns,
    /// code blocks indented 4 and kept as they are.
    /// </summary>
    public static class AboutTopic
    {
        public const int Width = 80;
        private const string Indent = "    ";

        public static readonly string[] RequiredSections = { "SHORT DESCRIPTION", "LONG DESCRIPTION" };

        public static string Render(MarkdownDocument doc, string expectedTopic)
        {
            List<Block> blocks = doc.Blocks;
            // platyPS's rule: the second heading names the topic and starts with "about".
            if (blocks.Count < 2 || blocks[0].Kind != BlockKind.Heading || blocks[0].Level != 1)
                throw doc.Error(blocks.Count > 0 ? blocks[0].Line : 0, "an about topic starts with '# <Title>' then '## about_<Name>'");
            if (blocks[1].Kind != BlockKind.Heading || blocks[1].Level != 2 || !blocks[1].Text.StartsWith("about_", StringComparison.Ordinal))
                throw doc.Error(blocks[1].Line, "the second heading of an about topic must be '## about_<Name>'");
            string topic = blocks[1].Text;
            if (topic != expectedTopic) throw doc.Error(blocks[1].Line, $"the topic '## {topic}' does not match the file name '{expectedTopic}.md'");

            var h1 = blocks.Skip(2).Where(b => b.Kind == BlockKind.Heading && b.Level == 1).Select(b => b.Text).ToList();
            foreach (string required in RequiredSections)
                if (!h1.Contains(required, StringComparer.Ordinal))
                    throw doc.Error(0, $"missing section '# {required}'");
            if (h1.IndexOf("SHORT DESCRIPTION") > h1.IndexOf("LONG DESCRIPTION"))
                throw doc.Error(0, "'# SHORT DESCRIPTION' must come before '# LONG DESCRIPTION'");
            if (blocks.Count > 2 && !(blocks[2].Kind == BlockKind.Heading && blocks[2].Level == 1 && blocks[2].Text == "SHORT DESCRIPTION"))
                throw doc.Error(blocks[2].Line, "'# SHORT DESCRIPTION' must follow the topic heading");

            var sb = new StringBuilder();
            sb.Append("TOPIC\n").Append(Indent).Append(topic).Append("\n\n");
            for (int i = 2; i < blocks.Count; i++)
            {
                Block b = blocks[i];
                switch (b.Kind)
                {
                    case BlockKind.Heading:
                        if (b.Level == 1) sb.Append(b.Text.ToUpperInvariant()).Append('\n');
                        else if (b.Level == 2) sb.Append(Inline.ToText(b.Text, doc.File, b.Line)).Append('\n');
                        else sb.Append(Indent).Append(Inline.ToText(b.Text, doc.File, b.Line).ToUpperInvariant()).Append('\n');
                        bool nextIsText = i + 1 < blocks.Count && blocks[i + 1].Kind != BlockKind.Heading;
                        if (!nextIsText && b.Level > 1) sb.Append('\n');
                        break;
                    case BlockKind.Code:
                        foreach (string l in b.Lines) sb.Append(l.Length == 0 ? "" : Indent + l).Append('\n');
                        sb.Append('\n');
                        break;
                    default:
                        foreach (string para in Inline.Paragraphs(b, s => Inline.ToText(s, doc.File, b.Line)))
                            Wrap(sb, para);
                        sb.Append('\n');
                        break;
                }
            }
            return sb.ToString().TrimEnd('\n') + "\n";
        }

        /// <summary>Appends one paragraph wrapped at <see cref="Width"/>; a list item gets a hanging indent.</summary>
        private static void Wrap(StringBuilder sb, string text)
        {
            string hanging = Indent;
            if (Inline.IsListItem(text))
            {
                int marker = text.IndexOf(' ');
                hanging = Indent + new string(' ', marker + 1);
            }
            string prefix = Indent;
            var line = new StringBuilder();
            foreach (string word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (line.Length > 0 && prefix.Length + line.Length + 1 + word.Length > Width)
                {
                    sb.Append(prefix).Append(line).Append('\n');
                    line.Clear();
                    prefix = hanging;
                }
                if (line.Length > 0) line.Append(' ');
                line.Append(word);
            }
            if (line.Length > 0) sb.Append(prefix).Append(line).Append('\n');
        }
    }

    /// <summary>The module page (QmailPS.md): not converted, but checked against the cmdlet pages.</summary>
    public static class ModulePage
    {
        public static bool Is(MarkdownDocument doc) => doc.FrontMatter != null && doc.FrontMatter.ContainsKey("Module Guid");

        /// <summary>
        /// Errors for what is malformed (structure, an entry without its page); returns warnings for
        /// cmdlet pages the module page does not list yet (Get-Help does not use the module page).
        /// </summary>
        public static List<string> Check(MarkdownDocument doc, ICollection<string> commandNames)
        {
            Dictionary<string, string> front = doc.FrontMatter!;
            foreach (string key in new[] { "Module Name", "Module Guid", "Download Help Link", "Help Version", "Locale" })
                if (!front.ContainsKey(key)) throw doc.Error(doc.FrontMatterLine, $"module page front matter has no '{key}:' line");
            if (!Guid.TryParse(front["Module Guid"], out _)) throw doc.Error(doc.FrontMatterLine, $"'Module Guid: {front["Module Guid"]}' is not a GUID");
            string module = front["Module Name"];
            if (doc.Blocks.Count == 0 || doc.Blocks[0].Kind != BlockKind.Heading || doc.Blocks[0].Level != 1 || doc.Blocks[0].Text != module + " Module")
                throw doc.Error(doc.Blocks.Count > 0 ? doc.Blocks[0].Line : 0, $"the module page starts with '# {module} Module'");

            var listed = new List<string>();
            bool inCmdlets = false;
            foreach (Block b in doc.Blocks.Skip(1))
            {
                if (b.Kind == BlockKind.Heading && b.Level == 2) { inCmdlets = b.Text == module + " Cmdlets"; continue; }
                if (!inCmdlets || b.Kind != BlockKind.Heading) continue;
                if (b.Level != 3) throw doc.Error(b.Line, "cmdlet entries are '### [Verb-Noun](Verb-Noun.md)' headings");
                var m = System.Text.RegularExpressions.Regex.Match(b.Text, @"^\[([A-Za-z]+-[A-Za-z0-9]+)\]\(([A-Za-z]+-[A-Za-z0-9]+)\.md\)$");
                if (!m.Success || m.Groups[1].Value != m.Groups[2].Value)
                    throw doc.Error(b.Line, $"'### {b.Text}' is not '### [Verb-Noun](Verb-Noun.md)'");
                if (!commandNames.Contains(m.Groups[1].Value))
                    throw doc.Error(b.Line, $"the module page lists {m.Groups[1].Value}, which has no {m.Groups[1].Value}.md");
                listed.Add(m.Groups[1].Value);
            }
            return commandNames.Where(n => !listed.Contains(n))
                .Select(n => $"{doc.File}: warning QHB003: the module page does not list {n} under '## {module} Cmdlets'").ToList();
        }
    }
}
