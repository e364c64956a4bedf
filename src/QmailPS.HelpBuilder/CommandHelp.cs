using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;

namespace QmailPS.HelpBuilder
{
    public sealed class ExampleHelp
    {
        public string Title = "";
        public string Code = "";
        public List<string> Remarks = new List<string>();
    }

    /// <summary>One ```yaml block of a parameter: its metadata in one or more parameter sets.</summary>
    public sealed class ParameterMetadata
    {
        public int Line;
        public string Type = "";
        /// <summary>Null for "(All)".</summary>
        public List<string>? Sets;
        public List<string> Aliases = new List<string>();
        public List<string> AcceptedValues = new List<string>();
        public bool Required;
        /// <summary>"named" or a non-negative integer, as MAML writes it.</summary>
        public string Position = "named";
        public string DefaultValue = "None";
        /// <summary>"False" or "True (ByValue, ByPropertyName)" as written.</summary>
        public string PipelineInput = "False";
        public bool Globbing;

        public bool AppliesTo(string set) => Sets is null || Sets.Contains(set, StringComparer.OrdinalIgnoreCase);
        public bool IsSwitch => Type == "SwitchParameter";
    }

    public sealed class ParameterHelp
    {
        public string Name = "";
        public int Line;
        public List<string> Description = new List<string>();
        public List<ParameterMetadata> Metadata = new List<ParameterMetadata>();
    }

    public sealed class TypeHelp
    {
        public string TypeName = "";
        public List<string> Description = new List<string>();
    }

    public sealed class LinkHelp
    {
        public string Text = "";
        public string Uri = "";
    }

    /// <summary>One cmdlet's help, read from a classic platyPS (schema 2.0.0) markdown file.</summary>
    public sealed class CommandHelp
    {
        public const string AllSets = "__AllParameterSets";

        public string SourceFile = "";
        public string ExternalHelpFile = "";
        public string ModuleName = "";
        public string OnlineVersion = "";
        public string Name = "";
        public string Verb = "";
        public string Noun = "";
        public List<string> Synopsis = new List<string>();
        public List<string> SyntaxSets = new List<string>();
        public List<string> Description = new List<string>();
        public List<ExampleHelp> Examples = new List<ExampleHelp>();
        public List<ParameterHelp> Parameters = new List<ParameterHelp>();
        public bool CommonParameters;
        public List<TypeHelp> Inputs = new List<TypeHelp>();
        public List<TypeHelp> Outputs = new List<TypeHelp>();
        public List<string> Notes = new List<string>();
        public List<LinkHelp> Links = new List<LinkHelp>();

        /// <summary>The H2 sections of a cmdlet page, in the order platyPS writes and requires them.</summary>
        public static readonly string[] Sections =
            { "SYNOPSIS", "SYNTAX", "DESCRIPTION", "EXAMPLES", "PARAMETERS", "INPUTS", "OUTPUTS", "NOTES", "RELATED LINKS" };

        private static readonly string[] YamlKeys =
            { "Type", "Parameter Sets", "Aliases", "Accepted values", "Applicable", "Required", "Position", "Default value", "Accept pipeline input", "Accept wildcard characters" };

        private static readonly string[] RequiredYamlKeys =
            { "Type", "Parameter Sets", "Aliases", "Required", "Position", "Default value", "Accept pipeline input", "Accept wildcard characters" };

        private static readonly Regex CommandName = new Regex(@"^([A-Za-z]+)-([A-Za-z0-9]+)$", RegexOptions.CultureInvariant);
        private static readonly Regex ParameterName = new Regex(@"^-([A-Za-z][A-Za-z0-9_]*)$", RegexOptions.CultureInvariant);
        private static readonly Regex PipelineInput = new Regex(@"^(False|True \((ByValue|ByPropertyName|FromRemainingArguments)(, (ByValue|ByPropertyName|FromRemainingArguments))*\))$", RegexOptions.CultureInvariant);
        private static readonly Regex LinkLine = new Regex(@"^\[([^\]]+)\]\(([^)\s]*)\)$", RegexOptions.CultureInvariant);

        public static CommandHelp Parse(MarkdownDocument doc, string expectedName)
        {
            var help = new CommandHelp { SourceFile = doc.File };
            Dictionary<string, string> front = doc.FrontMatter ?? throw doc.Error(1, "a cmdlet page must start with front matter ('---' lines) holding 'external help file', 'Module Name', 'online version' and 'schema: 2.0.0'");
            help.ExternalHelpFile = FrontValue(doc, front, "external help file", required: true);
            help.ModuleName = FrontValue(doc, front, "Module Name", required: true);
            help.OnlineVersion = FrontValue(doc, front, "online version", required: false);
            string schema = FrontValue(doc, front, "schema", required: true);
            if (schema != "2.0.0") throw doc.Error(doc.FrontMatterLine, $"'schema: {schema}' is not supported; this builder reads classic platyPS markdown, schema 2.0.0");
            if (!help.ExternalHelpFile.EndsWith("-Help.xml", StringComparison.OrdinalIgnoreCase) || help.ExternalHelpFile.IndexOfAny(new[] { '/', '\\' }) >= 0)
                throw doc.Error(doc.FrontMatterLine, $"'external help file: {help.ExternalHelpFile}' must be a file name ending in -Help.xml (the module's dll name + -Help.xml)");
            if (help.OnlineVersion.Length > 0 && !Inline.IsAbsoluteUri(help.OnlineVersion))
                throw doc.Error(doc.FrontMatterLine, $"'online version: {help.OnlineVersion}' must be empty or an absolute http(s) URI");
            foreach (string key in front.Keys)
                if (!new[] { "external help file", "Module Name", "online version", "schema", "Locale", "ms.date", "title", "Download Help Link", "Help Version" }.Contains(key, StringComparer.Ordinal))
                    throw doc.Error(doc.FrontMatterLine, $"unknown front matter key '{key}'");

            List<Block> blocks = doc.Blocks;
            if (blocks.Count == 0 || blocks[0].Kind != BlockKind.Heading || blocks[0].Level != 1)
                throw doc.Error(blocks.Count > 0 ? blocks[0].Line : 0, "the page must begin (after the front matter) with '# Verb-Noun'");
            help.Name = blocks[0].Text;
            Match m = CommandName.Match(help.Name);
            if (!m.Success) throw doc.Error(blocks[0].Line, $"'# {help.Name}' is not a Verb-Noun command name");
            if (!string.Equals(help.Name, expectedName, StringComparison.Ordinal))
                throw doc.Error(blocks[0].Line, $"the heading '# {help.Name}' does not match the file name '{expectedName}.md'");
            help.Verb = m.Groups[1].Value;
            help.Noun = m.Groups[2].Value;

            // Cut into H2 sections, which must be exactly the schema's, in its order.
            var sections = new List<(Block Heading, List<Block> Body)>();
            for (int i = 1; i < blocks.Count; i++)
            {
                Block b = blocks[i];
                if (b.Kind == BlockKind.Heading && b.Level == 1) throw doc.Error(b.Line, $"second H1 heading '# {b.Text}'; a cmdlet page has one");
                if (b.Kind == BlockKind.Heading && b.Level == 2) { sections.Add((b, new List<Block>())); continue; }
                if (sections.Count == 0) throw doc.Error(b.Line, "content between '# " + help.Name + "' and '## SYNOPSIS'");
                if (b.Kind == BlockKind.Heading && b.Level > 3) throw doc.Error(b.Line, $"heading level {b.Level} ('{b}') is not part of the schema");
                sections[sections.Count - 1].Body.Add(b);
            }
            for (int i = 0; i < Sections.Length; i++)
            {
                if (i >= sections.Count)
                    throw doc.Error(0, $"missing section '## {Sections[i]}' (a cmdlet page has, in order: {string.Join(", ", Sections)})");
                if (sections[i].Heading.Text != Sections[i])
                {
                    bool known = Sections.Contains(sections[i].Heading.Text);
                    throw doc.Error(sections[i].Heading.Line, known
                        ? $"section '## {sections[i].Heading.Text}' is out of place: expected '## {Sections[i]}' here (order: {string.Join(", ", Sections)})"
                        : $"unknown section '## {sections[i].Heading.Text}' (expected '## {Sections[i]}')");
                }
            }
            if (sections.Count > Sections.Length)
                throw doc.Error(sections[Sections.Length].Heading.Line, $"unknown section '## {sections[Sections.Length].Heading.Text}' after '## RELATED LINKS'");

            help.Synopsis = Prose(doc, sections[0].Body, "SYNOPSIS", allowCode: false);
            if (help.Synopsis.Count == 0) throw doc.Error(sections[0].Heading.Line, "SYNOPSIS is empty");
            ParseSyntax(doc, help, sections[1].Heading, sections[1].Body);
            help.Description = Prose(doc, sections[2].Body, "DESCRIPTION", allowCode: true);
            if (help.Description.Count == 0) throw doc.Error(sections[2].Heading.Line, "DESCRIPTION is empty");
            ParseExamples(doc, help, sections[3].Heading, sections[3].Body);
            ParseParameters(doc, help, sections[4].Body);
            help.Inputs = ParseTypes(doc, sections[5].Heading, sections[5].Body);
            help.Outputs = ParseTypes(doc, sections[6].Heading, sections[6].Body);
            help.Notes = Prose(doc, sections[7].Body, "NOTES", allowCode: true);
            ParseLinks(doc, help, sections[8].Body);
            return help;
        }

        private static string FrontValue(MarkdownDocument doc, Dictionary<string, string> front, string key, bool required)
        {
            if (front.TryGetValue(key, out string? v))
            {
                if (required && v.Length == 0) throw doc.Error(doc.FrontMatterLine, $"front matter '{key}:' is empty");
                return v;
            }
            string? other = front.Keys.FirstOrDefault(k => string.Equals(k, key, StringComparison.OrdinalIgnoreCase));
            if (other != null) throw doc.Error(doc.FrontMatterLine, $"front matter key '{other}' must be spelled '{key}'");
            throw doc.Error(doc.FrontMatterLine, $"front matter has no '{key}:' line");
        }

        /// <summary>Paragraphs (and, where allowed, code blocks, indented) to display paragraphs.</summary>
        private static List<string> Prose(MarkdownDocument doc, List<Block> body, string section, bool allowCode)
        {
            var paras = new List<string>();
            foreach (Block b in body)
            {
                switch (b.Kind)
                {
                    case BlockKind.Heading:
                        throw doc.Error(b.Line, $"heading '{b}' inside {section}, which holds only text");
                    case BlockKind.Code:
                        if (!allowCode) throw doc.Error(b.Line, $"code block inside {section}, which holds only text");
                        paras.Add(string.Join("\n", b.Lines.Select(l => l.Length == 0 ? "" : "    " + l)));
                        break;
                    default:
                        paras.AddRange(Inline.Paragraphs(b, s => Inline.ToText(s, doc.File, b.Line)));
                        break;
                }
            }
            return paras;
        }

        private static void ParseSyntax(MarkdownDocument doc, CommandHelp help, Block heading, List<Block> body)
        {
            // Either one bare code block (one parameter set), or '### SetName[ (Default)]' + code block per set.
            bool headed = body.Count > 0 && body[0].Kind == BlockKind.Heading;
            for (int i = 0; i < body.Count; i++)
            {
                Block b = body[i];
                if (headed)
                {
                    if (b.Kind != BlockKind.Heading || b.Level != 3) throw doc.Error(b.Line, "SYNTAX: expected '### <ParameterSetName>' followed by one code block");
                    if (i + 1 >= body.Count || body[i + 1].Kind != BlockKind.Code) throw doc.Error(b.Line, $"SYNTAX: '### {b.Text}' is not followed by a code block");
                    string set = b.Text.EndsWith(" (Default)", StringComparison.Ordinal) ? b.Text.Substring(0, b.Text.Length - " (Default)".Length) : b.Text;
                    if (help.SyntaxSets.Contains(set, StringComparer.OrdinalIgnoreCase)) throw doc.Error(b.Line, $"SYNTAX: parameter set '{set}' appears twice");
                    help.SyntaxSets.Add(set);
                    i++;
                    CheckSyntaxBlock(doc, help, body[i]);
                }
                else
                {
                    if (b.Kind != BlockKind.Code) throw doc.Error(b.Line, "SYNTAX holds code blocks only (with '### <ParameterSetName>' headings when there are several sets)");
                    if (help.SyntaxSets.Count > 0) throw doc.Error(b.Line, "SYNTAX: several parameter sets need a '### <ParameterSetName>' heading each");
                    help.SyntaxSets.Add(AllSets);
                    CheckSyntaxBlock(doc, help, b);
                }
            }
            if (help.SyntaxSets.Count == 0) throw doc.Error(heading.Line, "SYNTAX has no code block");
        }

        private static void CheckSyntaxBlock(MarkdownDocument doc, CommandHelp help, Block code)
        {
            // platyPS ignores this text when it builds MAML (the syntax comes from PARAMETERS); it must still name the command.
            string first = code.Lines.FirstOrDefault(l => l.Trim().Length > 0) ?? "";
            if (!first.TrimStart().StartsWith(help.Name, StringComparison.Ordinal))
                throw doc.Error(code.Line, $"SYNTAX: the code block must start with the command name '{help.Name}'");
        }

        private static void ParseExamples(MarkdownDocument doc, CommandHelp help, Block heading, List<Block> body)
        {
            ExampleHelp? current = null;
            int currentLine = 0;
            void Finish()
            {
                if (current != null && current.Code.Length == 0)
                    throw doc.Error(currentLine, $"example '{current.Title}' has no code block");
                if (current != null) help.Examples.Add(current);
            }
            foreach (Block b in body)
            {
                if (b.Kind == BlockKind.Heading)
                {
                    if (b.Level != 3) throw doc.Error(b.Line, "EXAMPLES: each example starts with a '### Example N: title' heading");
                    Finish();
                    current = new ExampleHelp { Title = Inline.ToText(b.Text, doc.File, b.Line) };
                    currentLine = b.Line;
                    continue;
                }
                if (current is null) throw doc.Error(b.Line, "EXAMPLES: text before the first '### Example' heading");
                if (b.Kind == BlockKind.Code)
                {
                    if (b.Lines.All(l => l.Trim().Length == 0)) throw doc.Error(b.Line, $"example '{current.Title}' has an empty code block");
                    string code = string.Join("\n", b.Lines);
                    current.Code = current.Code.Length == 0 ? code : current.Code + "\n\n" + code;
                }
                else
                {
                    current.Remarks.AddRange(Inline.Paragraphs(b, s => Inline.ToText(s, doc.File, b.Line)));
                }
            }
            Finish();
            if (help.Examples.Count == 0) throw doc.Error(heading.Line, "EXAMPLES has no example");
        }

        private static void ParseParameters(MarkdownDocument doc, CommandHelp help, List<Block> body)
        {
            ParameterHelp? current = null;
            bool sawCommon = false;
            void Finish()
            {
                if (current is null) return;
                if (current.Metadata.Count == 0) throw doc.Error(current.Line, $"parameter -{current.Name} has no ```yaml metadata block");
                if (current.Description.Count == 0) throw doc.Error(current.Line, $"parameter -{current.Name} has no description");
                help.Parameters.Add(current);
                current = null;
            }
            foreach (Block b in body)
            {
                if (b.Kind == BlockKind.Heading)
                {
                    if (b.Level != 3) throw doc.Error(b.Line, "PARAMETERS: each parameter starts with a '### -Name' heading");
                    Finish();
                    if (sawCommon) throw doc.Error(b.Line, "'### CommonParameters' must be the last entry of PARAMETERS");
                    if (b.Text == "CommonParameters") { sawCommon = true; help.CommonParameters = true; continue; }
                    Match m = ParameterName.Match(b.Text);
                    if (!m.Success) throw doc.Error(b.Line, $"PARAMETERS: '### {b.Text}' is neither '### -Name' nor '### CommonParameters'");
                    string name = m.Groups[1].Value;
                    if (help.Parameters.Any(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)))
                        throw doc.Error(b.Line, $"parameter -{name} is documented twice");
                    current = new ParameterHelp { Name = name, Line = b.Line };
                    continue;
                }
                if (sawCommon)
                {
                    if (b.Kind != BlockKind.Paragraph) throw doc.Error(b.Line, "CommonParameters holds only its standard sentence");
                    continue;
                }
                if (current is null) throw doc.Error(b.Line, "PARAMETERS: text before the first '### -Name' heading");
                if (b.Kind == BlockKind.Code && b.Language == "yaml")
                {
                    current.Metadata.Add(ParseYaml(doc, help, current, b));
                    continue;
                }
                if (current.Metadata.Count > 0) throw doc.Error(b.Line, $"parameter -{current.Name}: text after the ```yaml block (the description goes before it)");
                if (b.Kind == BlockKind.Code) current.Description.Add(string.Join("\n", b.Lines.Select(l => l.Length == 0 ? "" : "    " + l)));
                else current.Description.AddRange(Inline.Paragraphs(b, s => Inline.ToText(s, doc.File, b.Line)));
            }
            Finish();

            // Every set a parameter names must exist, and no set may be covered twice by one parameter.
            foreach (ParameterHelp p in help.Parameters)
            {
                foreach (ParameterMetadata md in p.Metadata)
                    foreach (string set in md.Sets ?? new List<string>())
                        if (!help.SyntaxSets.Contains(set, StringComparer.OrdinalIgnoreCase))
                            throw doc.Error(md.Line, $"parameter -{p.Name}: parameter set '{set}' is not one of SYNTAX's ({string.Join(", ", help.SyntaxSets)})");
                foreach (string set in help.SyntaxSets)
                    if (p.Metadata.Count(md => md.AppliesTo(set)) > 1)
                        throw doc.Error(p.Line, $"parameter -{p.Name} has more than one ```yaml block for parameter set '{set}'");
            }
        }

        private static ParameterMetadata ParseYaml(MarkdownDocument doc, CommandHelp help, ParameterHelp p, Block b)
        {
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            var lines = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < b.Lines.Count; i++)
            {
                string l = b.Lines[i];
                int line = b.Line + 1 + i;
                if (l.Trim().Length == 0) continue;
                int colon = l.IndexOf(':');
                if (colon <= 0) throw doc.Error(line, $"parameter -{p.Name}: yaml line is not 'Key: value': '{l}'");
                string key = l.Substring(0, colon).Trim();
                string value = l.Substring(colon + 1).Trim();
                if (!YamlKeys.Contains(key, StringComparer.Ordinal)) throw doc.Error(line, $"parameter -{p.Name}: unknown yaml key '{key}' (known: {string.Join(", ", YamlKeys)})");
                if (values.ContainsKey(key)) throw doc.Error(line, $"parameter -{p.Name}: yaml key '{key}' appears twice");
                values[key] = value;
                lines[key] = line;
            }
            foreach (string key in RequiredYamlKeys)
                if (!values.ContainsKey(key)) throw doc.Error(b.Line, $"parameter -{p.Name}: the yaml block has no '{key}:' line");

            var md = new ParameterMetadata { Line = b.Line };
            md.Type = values["Type"];
            if (md.Type.Length == 0) throw doc.Error(lines["Type"], $"parameter -{p.Name}: 'Type:' is empty");
            if (string.Equals(md.Type, "switch", StringComparison.OrdinalIgnoreCase)) md.Type = "SwitchParameter";
            string sets = values["Parameter Sets"];
            if (sets.Length == 0) throw doc.Error(lines["Parameter Sets"], $"parameter -{p.Name}: 'Parameter Sets:' is empty (use '(All)')");
            md.Sets = sets == "(All)" ? null : List(sets);
            md.Aliases = List(values["Aliases"]);
            if (values.TryGetValue("Accepted values", out string? accepted)) md.AcceptedValues = List(accepted);
            md.Required = Bool(doc, lines["Required"], p, "Required", values["Required"]);
            string position = values["Position"];
            if (position == "Named") md.Position = "named";
            else if (int.TryParse(position, NumberStyles.None, CultureInfo.InvariantCulture, out int pos)) md.Position = pos.ToString(CultureInfo.InvariantCulture);
            else throw doc.Error(lines["Position"], $"parameter -{p.Name}: 'Position: {position}' must be 'Named' or a number from 0");
            md.DefaultValue = values["Default value"].Length == 0 ? "None" : values["Default value"];
            md.PipelineInput = values["Accept pipeline input"];
            if (!PipelineInput.IsMatch(md.PipelineInput))
                throw doc.Error(lines["Accept pipeline input"], $"parameter -{p.Name}: 'Accept pipeline input: {md.PipelineInput}' must be 'False' or 'True (ByValue)', 'True (ByPropertyName)', 'True (ByPropertyName, ByValue)'");
            md.Globbing = Bool(doc, lines["Accept wildcard characters"], p, "Accept wildcard characters", values["Accept wildcard characters"]);
            return md;
        }

        private static List<string> List(string value) =>
            value.Split(',').Select(s => s.Trim()).Where(s => s.Length > 0).ToList();

        private static bool Bool(MarkdownDocument doc, int line, ParameterHelp p, string key, string value) => value switch
        {
            "True" => true,
            "False" => false,
            _ => throw doc.Error(line, $"parameter -{p.Name}: '{key}: {value}' must be True or False"),
        };

        private static List<TypeHelp> ParseTypes(MarkdownDocument doc, Block heading, List<Block> body)
        {
            var types = new List<TypeHelp>();
            foreach (Block b in body)
            {
                if (b.Kind == BlockKind.Heading)
                {
                    if (b.Level != 3) throw doc.Error(b.Line, $"{heading.Text}: each type is a '### TypeName' heading");
                    types.Add(new TypeHelp { TypeName = Inline.ToText(b.Text, doc.File, b.Line) });
                    continue;
                }
                if (types.Count == 0) throw doc.Error(b.Line, $"{heading.Text}: text before the first '### TypeName' heading");
                if (b.Kind == BlockKind.Code) throw doc.Error(b.Line, $"{heading.Text}: code block (only text describes a type)");
                types[types.Count - 1].Description.AddRange(Inline.Paragraphs(b, s => Inline.ToText(s, doc.File, b.Line)));
            }
            if (types.Count == 0) throw doc.Error(heading.Line, $"{heading.Text} has no '### TypeName' entry (write '### None' when there is none)");
            return types;
        }

        private static void ParseLinks(MarkdownDocument doc, CommandHelp help, List<Block> body)
        {
            if (help.OnlineVersion.Length > 0) help.Links.Add(new LinkHelp { Text = "Online Version:", Uri = help.OnlineVersion });
            foreach (Block b in body)
            {
                if (b.Kind != BlockKind.Paragraph) throw doc.Error(b.Line, "RELATED LINKS holds only '[text](uri)' lines");
                for (int i = 0; i < b.Lines.Count; i++)
                {
                    string l = b.Lines[i].Trim();
                    Match m = LinkLine.Match(l);
                    if (!m.Success) throw doc.Error(b.Line + i, $"RELATED LINKS: '{l}' is not a '[text](uri)' line");
                    string uri = m.Groups[2].Value;
                    // A relative link (Other-Command.md) means something on the docs site only; Get-Help gets the text.
                    help.Links.Add(new LinkHelp { Text = m.Groups[1].Value, Uri = Inline.IsAbsoluteUri(uri) ? uri : "" });
                }
            }
        }
    }
}
