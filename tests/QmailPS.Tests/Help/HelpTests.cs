using System;
using System.Collections;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Text.RegularExpressions;
using System.Xml;
using QmailPS.Tests.Support;
using Xunit;

namespace QmailPS.Tests.Help
{
    /// <summary>One runspace with the staged module, and the cmdlets it exports, for all help tests.</summary>
    public sealed class HelpFixture : IDisposable
    {
        public HelpFixture()
        {
            Ps = new PsSession();
            Cmdlets = Ps.Run("Get-Command -Module QmailPS").AssertClean().Objects<CmdletInfo>().OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
        }

        public PsSession Ps { get; }
        public List<CmdletInfo> Cmdlets { get; }

        /// <summary>Get-Help -Full for one command.</summary>
        public PSObject Help(string name)
        {
            var r = Ps.Run($"Get-Help -Name '{name}' -Full").AssertClean();
            Assert.True(r.Output.Count == 1, $"Get-Help {name} returned {r.Output.Count} objects");
            return r.Output[0];
        }

        public void Dispose() => Ps.Dispose();
    }

    /// <summary>
    /// powershell-conventions.md §3.5: every exported cmdlet has MAML help (generated from en-US/*.md by
    /// QmailPS.HelpBuilder at build time), and that help agrees with the cmdlet's metadata.
    /// Each test checks all cmdlets and reports every problem at once.
    /// </summary>
    public sealed class HelpTests : IClassFixture<HelpFixture>
    {
        private static readonly HashSet<string> CommonParameters = new HashSet<string>(Cmdlet.CommonParameters, StringComparer.OrdinalIgnoreCase);

        private readonly HelpFixture _f;
        public HelpTests(HelpFixture f) { _f = f; }

        private static bool IsMaml(PSObject help) => help.TypeNames.Any(t => t.StartsWith("MamlCommandHelpInfo", StringComparison.Ordinal));

        /// <summary>Runs a check on every cmdlet's help; a cmdlet without MAML help is one problem, not a cascade of them.</summary>
        private void ForEachCmdlet(Action<CmdletInfo, PSObject, List<string>> check, bool requireMaml = true)
        {
            Assert.NotEmpty(_f.Cmdlets);
            var problems = new List<string>();
            foreach (CmdletInfo c in _f.Cmdlets)
            {
                var mine = new List<string>();
                PSObject help = _f.Help(c.Name);
                if (requireMaml && !IsMaml(help)) mine.Add("no MAML help (is there an en-US/" + c.Name + ".md?)");
                else check(c, help, mine);
                problems.AddRange(mine.Select(p => c.Name + ": " + p));
            }
            Assert.True(problems.Count == 0, string.Join("\n", problems));
        }

        [Fact]
        public void Every_exported_cmdlet_gets_its_help_from_the_MAML_file()
        {
            ForEachCmdlet((c, h, problems) =>
            {
                if (!IsMaml(h))
                    problems.Add("Get-Help returned " + string.Join(", ", h.TypeNames) + ", not MamlCommandHelpInfo: no MAML help was found");
                if (Str(h, "ModuleName") != "QmailPS") problems.Add($"help is for module '{Str(h, "ModuleName")}'");
                if (Str(h, "Category") != "Cmdlet") problems.Add($"help category is '{Str(h, "Category")}'");
                // HelpFile is the bare name until Get-Help has resolved it, then the full path under en-US/.
                string expected = Path.Combine(Repo.ModuleDir, "en-US", "QmailPS.dll-Help.xml");
                if (Path.GetFileName(c.HelpFile) != "QmailPS.dll-Help.xml") problems.Add($"HelpFile is '{c.HelpFile}', expected QmailPS.dll-Help.xml");
                if (!File.Exists(expected)) problems.Add(expected + " does not exist");
            }, requireMaml: false);
        }

        [Fact]
        public void Synopsis_is_written_not_generated()
        {
            ForEachCmdlet((c, h, problems) =>
            {
                string synopsis = Str(h, "Synopsis").Trim();
                if (synopsis.Length == 0) problems.Add("empty synopsis");
                // Without MAML the synopsis is the generated syntax: "Verb-Noun [-Param] <type> ... [<CommonParameters>]".
                else if (synopsis.StartsWith(c.Name, StringComparison.OrdinalIgnoreCase) || synopsis.Contains("[<CommonParameters>]", StringComparison.Ordinal))
                    problems.Add($"synopsis looks generated: '{synopsis}'");
                else if (synopsis.Length < 20) problems.Add($"synopsis is too short to help anyone: '{synopsis}'");
            });
        }

        [Fact]
        public void Description_is_not_empty()
        {
            ForEachCmdlet((c, h, problems) =>
            {
                if (Text(Prop(h, "description")).Trim().Length == 0) problems.Add("empty description");
            });
        }

        [Fact]
        public void Every_cmdlet_has_examples_with_title_code_and_remarks()
        {
            ForEachCmdlet((c, h, problems) =>
            {
                List<PSObject> examples = Items(Prop(Prop(h, "examples"), "example")).ToList();
                if (examples.Count == 0) { problems.Add("no example"); return; }
                for (int i = 0; i < examples.Count; i++)
                {
                    PSObject e = examples[i];
                    string title = Text(Prop(e, "title")).Trim('-', ' ');
                    string code = Text(Prop(e, "code"));
                    if (title.Length == 0) problems.Add($"example {i + 1} has no title");
                    if (code.Trim().Length == 0) problems.Add($"example {i + 1} ({title}) has no code");
                    else if (!code.Contains(c.Name, StringComparison.Ordinal)) problems.Add($"example {i + 1} ({title}) does not use {c.Name}");
                    if (Text(Prop(e, "remarks")).Trim().Length == 0) problems.Add($"example {i + 1} ({title}) has no remarks");
                }
            });
        }

        [Fact]
        public void Every_cmdlet_has_related_links()
        {
            ForEachCmdlet((c, h, problems) =>
            {
                var links = Items(Prop(Prop(h, "relatedLinks"), "navigationLink")).Select(l => Text(Prop(l, "linkText")).Trim()).ToList();
                if (links.Count == 0) problems.Add("no related link");
                // A link to a Verb-Noun must name a command of this module (a renamed cmdlet leaves dead links behind).
                foreach (string l in links.Where(l => Regex.IsMatch(l, @"^[A-Za-z]+-[A-Za-z0-9]+$")))
                    if (!_f.Cmdlets.Any(x => x.Name == l)) problems.Add($"related link '{l}' names no exported command");
            });
        }

        [Fact]
        public void Documented_parameters_are_exactly_the_cmdlets_parameters_each_with_a_description()
        {
            ForEachCmdlet((c, h, problems) =>
            {
                var code = c.Parameters.Keys.Where(k => !CommonParameters.Contains(k)).ToHashSet(StringComparer.OrdinalIgnoreCase);
                var help = HelpParameters(h);
                foreach (string p in code.Where(p => !help.ContainsKey(p))) problems.Add($"-{p} is not documented");
                foreach (string p in help.Keys.Where(p => !code.Contains(p))) problems.Add($"-{p} is documented but the cmdlet has no such parameter");
                foreach (var kv in help)
                    if (Text(Prop(kv.Value, "description")).Trim().Length == 0) problems.Add($"-{kv.Key} has no description");
            });
        }

        [Fact]
        public void Documented_parameter_metadata_matches_the_cmdlet()
        {
            ForEachCmdlet((c, h, problems) =>
            {
                foreach (var kv in HelpParameters(h))
                {
                    if (!c.Parameters.TryGetValue(kv.Key, out ParameterMetadata? md)) continue; // reported by the test above
                    // The PARAMETERS section has one entry per parameter: it must describe the parameter in (one of) its sets.
                    var inSets = c.ParameterSets.SelectMany(s => s.Parameters.Where(p => p.Name.Equals(kv.Key, StringComparison.OrdinalIgnoreCase))).ToList();
                    CompareParameter(kv.Key, kv.Value, md, inSets, problems);
                }
            });
        }

        [Fact]
        public void Syntax_items_match_the_parameter_sets()
        {
            ForEachCmdlet((c, h, problems) =>
            {
                List<PSObject> items = Items(Prop(Prop(h, "syntax"), "syntaxItem")).ToList();
                if (items.Count != c.ParameterSets.Count)
                    problems.Add($"help has {items.Count} syntax item(s), the cmdlet {c.ParameterSets.Count} parameter set(s)");
                foreach (PSObject item in items)
                {
                    var documented = Items(Prop(item, "parameter")).ToDictionary(p => Text(Prop(p, "name")).Trim(), p => p, StringComparer.OrdinalIgnoreCase);
                    CommandParameterSetInfo? set = c.ParameterSets.FirstOrDefault(s =>
                        s.Parameters.Where(p => !CommonParameters.Contains(p.Name)).Select(p => p.Name).ToHashSet(StringComparer.OrdinalIgnoreCase).SetEquals(documented.Keys));
                    if (set is null)
                    {
                        problems.Add($"syntax item ({string.Join(", ", documented.Keys)}) matches no parameter set of the cmdlet");
                        continue;
                    }
                    foreach (var kv in documented)
                        CompareParameter(kv.Key, kv.Value, c.Parameters[kv.Key], set.Parameters.Where(p => p.Name.Equals(kv.Key, StringComparison.OrdinalIgnoreCase)).ToList(), problems, "syntax: ");
                }
            });
        }

        [Fact]
        public void Markdown_syntax_blocks_equal_Get_Command_Syntax()
        {
            var problems = new List<string>();
            foreach (CmdletInfo c in _f.Cmdlets)
            {
                string md = Path.Combine(Repo.Root, "en-US", c.Name + ".md");
                if (!File.Exists(md)) { problems.Add($"{c.Name}: no {md}"); continue; }
                List<string> documented = SyntaxBlocks(File.ReadAllLines(md)).Select(Normalize).OrderBy(s => s, StringComparer.Ordinal).ToList();
                var r = _f.Ps.Run($"Get-Command -Name '{c.Name}' -Syntax").AssertClean();
                List<string> actual = string.Join("\n", r.Output.Select(o => o.ToString())).Split('\n')
                    .Where(l => l.Trim().Length > 0).Select(Normalize).OrderBy(s => s, StringComparer.Ordinal).ToList();
                if (!documented.SequenceEqual(actual))
                    problems.Add($"{c.Name}: SYNTAX in {Path.GetFileName(md)} is\n    {string.Join("\n    ", documented)}\n  but Get-Command -Syntax gives\n    {string.Join("\n    ", actual)}");
            }
            Assert.True(problems.Count == 0, string.Join("\n", problems));
        }

        [Fact]
        public void Markdown_cmdlet_pages_are_exactly_the_exported_cmdlets()
        {
            string dir = Path.Combine(Repo.Root, "en-US");
            var pages = Directory.GetFiles(dir, "*.md").Select(Path.GetFileNameWithoutExtension)
                .Where(n => !n!.StartsWith("about_", StringComparison.Ordinal) && n != "QmailPS").Select(n => n!).ToHashSet(StringComparer.Ordinal);
            var exported = _f.Cmdlets.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
            Assert.NotEmpty(exported);
            Assert.True(pages.SetEquals(exported),
                $"pages without an exported cmdlet: {string.Join(", ", pages.Except(exported))}; exported cmdlets without a page: {string.Join(", ", exported.Except(pages))}");
        }

        [Fact]
        public void Module_page_lists_exactly_the_exported_cmdlets()
        {
            string page = Path.Combine(Repo.Root, "en-US", "QmailPS.md");
            var listed = File.ReadAllLines(page).Select(l => Regex.Match(l, @"^### \[([^\]]+)\]\(")).Where(m => m.Success)
                .Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
            var exported = _f.Cmdlets.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
            Assert.NotEmpty(exported);
            Assert.True(listed.SetEquals(exported),
                $"QmailPS.md lists without an exported cmdlet: {string.Join(", ", listed.Except(exported))}; exported but not listed: {string.Join(", ", exported.Except(listed))}");
        }

        [Fact]
        public void About_QmailPS_is_the_generated_about_topic()
        {
            var r = _f.Ps.Run("Get-Help -Name about_QmailPS").AssertClean();
            Assert.Single(r.Output);
            string text = (r.Output[0].BaseObject as string ?? "").Replace("\r\n", "\n");
            Assert.StartsWith("TOPIC\n    about_QmailPS\n\nSHORT DESCRIPTION\n    ", text, StringComparison.Ordinal);
            Assert.Contains("\nLONG DESCRIPTION\n    ", text, StringComparison.Ordinal);
            string staged = File.ReadAllText(Path.Combine(Repo.ModuleDir, "en-US", "about_QmailPS.help.txt"));
            Assert.Equal(staged.TrimEnd('\n'), text.TrimEnd('\n'));
            Assert.Equal("HelpFile", r.Output[0].Properties["Category"]?.Value?.ToString());
        }

        // ---- comparison of one documented parameter with the metadata ------------------------------------------

        private static void CompareParameter(string name, PSObject doc, ParameterMetadata md, List<CommandParameterInfo> inSets, List<string> problems, string where = "")
        {
            string required = Str(doc, "required");
            string position = Str(doc, "position");
            string pipeline = Str(doc, "pipelineInput");
            bool byValue = pipeline.Contains("ByValue", StringComparison.Ordinal);
            bool byName = pipeline.Contains("ByPropertyName", StringComparison.Ordinal);
            bool pipelineTrue = pipeline.StartsWith("True", StringComparison.OrdinalIgnoreCase);

            if (pipelineTrue != (byValue || byName)) problems.Add($"{where}-{name}: pipelineInput '{pipeline}' is malformed");
            bool anySetMatches = inSets.Any(s =>
                required == (s.IsMandatory ? "true" : "false") &&
                position == (s.Position == int.MinValue ? "named" : s.Position.ToString(System.Globalization.CultureInfo.InvariantCulture)) &&
                byValue == s.ValueFromPipeline && byName == s.ValueFromPipelineByPropertyName);
            if (!anySetMatches)
            {
                string actual = string.Join(" | ", inSets.Select(s =>
                    $"required={(s.IsMandatory ? "true" : "false")} position={(s.Position == int.MinValue ? "named" : s.Position.ToString(System.Globalization.CultureInfo.InvariantCulture))} " +
                    $"byValue={s.ValueFromPipeline} byPropertyName={s.ValueFromPipelineByPropertyName}"));
                problems.Add($"{where}-{name}: documented required={required} position={position} pipelineInput='{pipeline}', but the cmdlet has {actual}");
            }

            string docType = Text(Prop(Prop(doc, "type"), "name")).Trim();
            Type t = Nullable.GetUnderlyingType(md.ParameterType) ?? md.ParameterType;
            if (!string.Equals(docType, t.Name, StringComparison.Ordinal))
                problems.Add($"{where}-{name}: documented type '{docType}', the parameter is {t.Name}");

            var docAliases = Str(doc, "aliases").Split(',').Select(a => a.Trim()).Where(a => a.Length > 0 && a != "none").OrderBy(a => a, StringComparer.Ordinal);
            if (!docAliases.SequenceEqual(md.Aliases.OrderBy(a => a, StringComparer.Ordinal)))
                problems.Add($"{where}-{name}: documented aliases '{string.Join(", ", docAliases)}', the parameter has '{string.Join(", ", md.Aliases)}'");

            bool wildcards = md.Attributes.OfType<SupportsWildcardsAttribute>().Any();
            if (Str(doc, "globbing") != (wildcards ? "true" : "false"))
                problems.Add($"{where}-{name}: documented globbing '{Str(doc, "globbing")}', but [SupportsWildcards] is {(wildcards ? "present" : "absent")}");
        }

        private static Dictionary<string, PSObject> HelpParameters(PSObject h)
        {
            var result = new Dictionary<string, PSObject>(StringComparer.OrdinalIgnoreCase);
            foreach (PSObject p in Items(Prop(Prop(h, "parameters"), "parameter")))
            {
                string name = Text(Prop(p, "name")).Trim();
                if (name.Length > 0) result[name] = p; // a name documented twice cannot survive the HelpBuilder
            }
            return result;
        }

        /// <summary>The code blocks of the '## SYNTAX' section of a platyPS page, each joined to one line.</summary>
        private static IEnumerable<string> SyntaxBlocks(string[] lines)
        {
            bool inSyntax = false, inCode = false;
            var block = new List<string>();
            foreach (string l in lines)
            {
                if (!inCode && l.StartsWith("## ", StringComparison.Ordinal)) { inSyntax = l == "## SYNTAX"; continue; }
                if (!inSyntax) continue;
                if (l.StartsWith("```", StringComparison.Ordinal))
                {
                    if (inCode) { yield return string.Join(" ", block); block.Clear(); }
                    inCode = !inCode;
                    continue;
                }
                if (inCode) block.Add(l);
            }
        }

        private static string Normalize(string s) => Regex.Replace(s, @"\s+", " ").Trim();

        // ---- reading the help objects: MAML nodes become PSObjects, lists become arrays -----------------------

        private static object? Prop(object? o, string name) => o is null ? null : PSObject.AsPSObject(o).Properties[name]?.Value;

        private static string Str(object? o, string name) => Prop(o, name)?.ToString() ?? "";

        private static IEnumerable<PSObject> Items(object? v)
        {
            if (v is null) yield break;
            object b = v is PSObject p ? p.BaseObject : v;
            if (b is IEnumerable e && b is not string)
            {
                foreach (object? x in e) if (x != null) yield return PSObject.AsPSObject(x);
            }
            else yield return PSObject.AsPSObject(v);
        }

        /// <summary>The text of a MAML node: a string, or paragraphs with a Text property, joined with newlines.</summary>
        private static string Text(object? v) => string.Join("\n", Items(v).Select(p =>
        {
            if (p.BaseObject is string s) return s;
            object? t = p.Properties["Text"]?.Value;
            return t?.ToString() ?? "";
        }));
    }

    /// <summary>The build-time tool itself: it converts the real pages, escapes XML, and fails loudly on malformed input.</summary>
    public sealed class HelpBuilderTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "qmailps-helpbuilder-" + Guid.NewGuid().ToString("N").Substring(0, 12));
        private string Src => Path.Combine(_dir, "src");
        private string Out => Path.Combine(_dir, "out");

        public HelpBuilderTests() { Directory.CreateDirectory(Src); }

        public void Dispose()
        {
            try { Directory.Delete(_dir, true); } catch (IOException) { }
        }

        /// <summary>
        /// The tool as the build made it: src/QmailPS.HelpBuilder/bin/&lt;this test's configuration&gt;/net10.0, or,
        /// when a solution build that does not list the tool built it in its default configuration, the newest build.
        /// </summary>
        private static string ToolPath()
        {
            string bin = Path.Combine(Repo.Root, "src", "QmailPS.HelpBuilder", "bin");
            string configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent!.Name;
            string path = Path.Combine(bin, configuration, "net10.0", "QmailPS.HelpBuilder.dll");
            if (File.Exists(path)) return path;
            string? newest = Directory.Exists(bin)
                ? Directory.GetFiles(bin, "QmailPS.HelpBuilder.dll", SearchOption.AllDirectories).OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault()
                : null;
            Assert.True(newest != null, $"{path} is missing: the test project's reference to QmailPS.HelpBuilder should have built it");
            return newest!;
        }

        private static (int Exit, string Stdout, string Stderr) RunTool(params string[] args)
        {
            var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            psi.ArgumentList.Add(ToolPath());
            foreach (string a in args) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            string stdout = p.StandardOutput.ReadToEnd();
            Assert.True(p.WaitForExit(60_000), "QmailPS.HelpBuilder did not finish within 60 s");
            return (p.ExitCode, stdout, stderr.Result);
        }

        private const string ValidPage = """
            ---
            external help file: Test.dll-Help.xml
            Module Name: Test
            online version:
            schema: 2.0.0
            ---

            # Get-Thing

            ## SYNOPSIS
            Gets things & <stuff> from "somewhere".

            ## SYNTAX

            ### __AllParameterSets
            ```
            Get-Thing [[-Name] <string>] [<CommonParameters>]
            ```

            ## DESCRIPTION
            A description with `code`, a [link](https://example.test/a?b=1&c=2) and a \<escaped\> bracket.

            - first item
            - second item

            ## EXAMPLES

            ### Example 1: One
            ```powershell
            Get-Thing -Name 'a<b>&c' | Where-Object { $_.Size -gt 1 }
            ```

            The remark.

            ## PARAMETERS

            ### -Name
            The name.

            ```yaml
            Type: String
            Parameter Sets: (All)
            Aliases: N

            Required: False
            Position: 0
            Default value: None
            Accept pipeline input: True (ByPropertyName)
            Accept wildcard characters: True
            ```

            ### CommonParameters
            This cmdlet supports the common parameters.

            ## INPUTS

            ### System.String

            ## OUTPUTS

            ### System.Object
            A thing.

            ## NOTES

            ## RELATED LINKS

            [Online](https://example.test/thing)

            [Other-Thing](Other-Thing.md)
            """;

        private const string ValidAbout = """
            # Test
            ## about_Test

            # SHORT DESCRIPTION
            Short.

            # LONG DESCRIPTION
            Long text that is long enough to be wrapped by the builder because it is longer than eighty columns in all.

            ```powershell
            Get-Thing
            ```
            """;

        private void Write(string name, string text) => File.WriteAllText(Path.Combine(Src, name), text.Replace("\r\n", "\n") + "\n");

        [Fact]
        public void Converts_the_repository_pages_to_exactly_the_staged_help()
        {
            (int exit, _, string err) = RunTool(Path.Combine(Repo.Root, "en-US"), Out);
            Assert.True(exit == 0, err);
            foreach (string name in new[] { "QmailPS.dll-Help.xml", "about_QmailPS.help.txt" })
            {
                string staged = Path.Combine(Repo.ModuleDir, "en-US", name);
                Assert.True(File.Exists(staged), staged + " is missing: the build did not run QmailPS.HelpBuilder");
                Assert.True(File.ReadAllBytes(staged).SequenceEqual(File.ReadAllBytes(Path.Combine(Out, name))),
                    $"{staged} differs from what en-US/*.md gives now: rebuild");
            }
            var xml = new XmlDocument();
            xml.Load(Path.Combine(Out, "QmailPS.dll-Help.xml"));
            Assert.Equal("helpItems", xml.DocumentElement!.LocalName);
            Assert.Equal("maml", xml.DocumentElement.GetAttribute("schema"));
            var ns = new XmlNamespaceManager(xml.NameTable);
            ns.AddNamespace("command", "http://schemas.microsoft.com/maml/dev/command/2004/10");
            ns.AddNamespace("maml", "http://schemas.microsoft.com/maml/2004/10");
            ns.AddNamespace("dev", "http://schemas.microsoft.com/maml/dev/2004/10");
            var names = xml.SelectNodes("//command:command/command:details/command:name", ns)!.Cast<XmlNode>().Select(n => n.InnerText).ToList();
            var pages = Directory.GetFiles(Path.Combine(Repo.Root, "en-US"), "*-*.md").Select(f => Path.GetFileNameWithoutExtension(f)!).OrderBy(n => n, StringComparer.Ordinal).ToList();
            Assert.Equal(pages, names);
            Assert.All(xml.SelectNodes("//command:example/dev:code", ns)!.Cast<XmlNode>(), n => Assert.False(string.IsNullOrWhiteSpace(n.InnerText)));
        }

        [Fact]
        public void Escapes_markup_and_renders_inline_markdown()
        {
            Write("Get-Thing.md", ValidPage);
            Write("about_Test.md", ValidAbout);
            (int exit, _, string err) = RunTool(Src, Out);
            Assert.True(exit == 0, err);
            var xml = new XmlDocument();
            xml.Load(Path.Combine(Out, "Test.dll-Help.xml")); // throws if the escaping is wrong
            var ns = new XmlNamespaceManager(xml.NameTable);
            ns.AddNamespace("command", "http://schemas.microsoft.com/maml/dev/command/2004/10");
            ns.AddNamespace("maml", "http://schemas.microsoft.com/maml/2004/10");
            ns.AddNamespace("dev", "http://schemas.microsoft.com/maml/dev/2004/10");
            Assert.Equal("Gets things & <stuff> from \"somewhere\".", xml.SelectSingleNode("//command:details/maml:description/maml:para", ns)!.InnerText);
            var description = xml.SelectNodes("/*/command:command/maml:description/maml:para", ns)!.Cast<XmlNode>().Select(n => n.InnerText).ToList();
            Assert.Equal(new[]
            {
                "A description with `code`, a link (https://example.test/a?b=1&c=2) and a <escaped> bracket.",
                "- first item",
                "- second item",
            }, description);
            Assert.Equal("Get-Thing -Name 'a<b>&c' | Where-Object { $_.Size -gt 1 }", xml.SelectSingleNode("//dev:code", ns)!.InnerText);
            XmlElement p = (XmlElement)xml.SelectSingleNode("//command:parameters/command:parameter", ns)!;
            Assert.Equal("false", p.GetAttribute("required"));
            Assert.Equal("0", p.GetAttribute("position"));
            Assert.Equal("True (ByPropertyName)", p.GetAttribute("pipelineInput"));
            Assert.Equal("true", p.GetAttribute("globbing"));
            Assert.Equal("N", p.GetAttribute("aliases"));
            var links = xml.SelectNodes("//maml:navigationLink", ns)!.Cast<XmlNode>()
                .Select(n => n.SelectSingleNode("maml:linkText", ns)!.InnerText + "=" + n.SelectSingleNode("maml:uri", ns)!.InnerText).ToList();
            Assert.Equal(new[] { "Online=https://example.test/thing", "Other-Thing=" }, links);

            string about = File.ReadAllText(Path.Combine(Out, "about_Test.help.txt"));
            Assert.StartsWith("TOPIC\n    about_Test\n\nSHORT DESCRIPTION\n    Short.\n\nLONG DESCRIPTION\n    Long text", about, StringComparison.Ordinal);
            Assert.Contains("\n    Get-Thing\n", about, StringComparison.Ordinal);
            Assert.All(about.Split('\n'), l => Assert.True(l.Length <= 80, l));
        }

        public static TheoryData<string, string, string, string> Malformed => new TheoryData<string, string, string, string>
        {
            // file, text to replace, replacement, expected message fragment
            { "Get-Thing.md", "schema: 2.0.0\n", "", "front matter has no 'schema:' line" },
            { "Get-Thing.md", "schema: 2.0.0", "schema: 3.0.0", "not supported" },
            { "Get-Thing.md", "# Get-Thing\n", "# Get-Other\n", "does not match the file name" },
            { "Get-Thing.md", "Gets things & <stuff> from \"somewhere\".", "", "SYNOPSIS is empty" },
            { "Get-Thing.md", "Gets things & <stuff> from \"somewhere\".", "{{ Fill in the Synopsis }}", "unfilled platyPS placeholder" },
            { "Get-Thing.md", "## DESCRIPTION\n", "## DESCRIPTON\n", "unknown section '## DESCRIPTON'" },
            { "Get-Thing.md", "## NOTES\n\n", "", "expected '## NOTES'" },
            { "Get-Thing.md", "```powershell\nGet-Thing -Name 'a<b>&c' | Where-Object { $_.Size -gt 1 }\n```\n", "", "has no code block" },
            { "Get-Thing.md", "```\n\n## DESCRIPTION", "\n## DESCRIPTION", "is never closed" },
            { "Get-Thing.md", "The remark.", "The remark.\n\n```powershell\nGet-Thing", "is never closed" },
            { "Get-Thing.md", "Position: 0", "Position: First", "'Position: First' must be 'Named' or a number" },
            { "Get-Thing.md", "Required: False", "Required: no", "'Required: no' must be True or False" },
            { "Get-Thing.md", "Accept pipeline input: True (ByPropertyName)", "Accept pipeline input: Yes", "'Accept pipeline input: Yes' must be" },
            { "Get-Thing.md", "Aliases: N\n", "Aliases: N\nMandatory: True\n", "unknown yaml key 'Mandatory'" },
            { "Get-Thing.md", "Default value: None\n", "", "has no 'Default value:' line" },
            { "Get-Thing.md", "### -Name\nThe name.\n", "### -Name\n", "-Name has no description" },
            { "Get-Thing.md", "Parameter Sets: (All)", "Parameter Sets: ByPath", "parameter set 'ByPath' is not one of SYNTAX's" },
            { "Get-Thing.md", "## OUTPUTS\n\n### System.Object\n", "## OUTPUTS\n\n", "OUTPUTS: text before the first '### TypeName' heading" },
            { "Get-Thing.md", "[Online](https://example.test/thing)", "see Online", "is not a '[text](uri)' line" },
            { "Get-Thing.md", "The remark.", "The remark.\n\n| a | b |", "tables are not part of the schema" },
            { "Get-Thing.md", "Gets things", "Gets \u0001 things", "cannot be written to XML" },
            { "about_Test.md", "## about_Test", "## Test", "must be '## about_<Name>'" },
            { "about_Test.md", "# LONG DESCRIPTION", "# DETAILS", "missing section '# LONG DESCRIPTION'" },
        };

        [Theory]
        [MemberData(nameof(Malformed))]
        public void Rejects_a_malformed_file_with_its_name_and_writes_nothing(string file, string find, string replace, string expected)
        {
            string page = ValidPage.Replace("\r\n", "\n"), about = ValidAbout.Replace("\r\n", "\n");
            string original = file == "about_Test.md" ? about : page;
            Assert.Contains(find, original, StringComparison.Ordinal); // the case must really change the file
            string broken = original.Replace(find, replace, StringComparison.Ordinal);
            Write("Get-Thing.md", file == "Get-Thing.md" ? broken : page);
            Write("about_Test.md", file == "about_Test.md" ? broken : about);

            (int exit, _, string err) = RunTool(Src, Out);

            Assert.Equal(1, exit);
            Assert.Contains(Path.Combine(Src, file), err, StringComparison.Ordinal);
            Assert.Contains("error QHB001", err, StringComparison.Ordinal);
            Assert.Contains(expected, err, StringComparison.Ordinal);
            Assert.False(Directory.Exists(Out) && Directory.EnumerateFileSystemEntries(Out).Any(), "output was written for a malformed source");
        }

        private const string ModulePageText = """
            ---
            Module Name: Test
            Module Guid: 3f1c1b7e-8a52-4d8e-9d43-2f6f1f0c2a11
            Download Help Link:
            Help Version: 1.0.0
            Locale: en-US
            ---

            # Test Module
            ## Description
            A test module.

            ## Test Cmdlets
            """;

        [Fact]
        public void Module_page_without_an_entry_warns_and_with_a_dangling_entry_fails()
        {
            Write("Get-Thing.md", ValidPage);
            Write("Test.md", ModulePageText);
            (int exit, string stdout, string err) = RunTool(Src, Out);
            Assert.True(exit == 0, err);
            Assert.Contains("warning QHB003: the module page does not list Get-Thing", stdout, StringComparison.Ordinal);

            Write("Test.md", ModulePageText + "\n### [Get-Thing](Get-Thing.md)\nGets things.\n\n### [Get-Gone](Get-Gone.md)\nGone.\n");
            (exit, _, err) = RunTool(Src, Path.Combine(_dir, "out2"));
            Assert.Equal(1, exit);
            Assert.Contains("lists Get-Gone, which has no Get-Gone.md", err, StringComparison.Ordinal);
            Assert.False(Directory.Exists(Path.Combine(_dir, "out2")));
        }

        [Fact]
        public void Usage_errors_exit_2()
        {
            Assert.Equal(2, RunTool().Exit);
            (int exit, _, string err) = RunTool(Path.Combine(_dir, "does-not-exist"), Out);
            Assert.Equal(2, exit);
            Assert.Contains("does not exist", err, StringComparison.Ordinal);
        }
    }
}
