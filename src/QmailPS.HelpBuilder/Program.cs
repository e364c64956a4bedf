using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace QmailPS.HelpBuilder
{
    /// <summary>
    /// QmailPS.HelpBuilder &lt;en-US source dir&gt; &lt;output en-US dir&gt;
    ///
    /// Reads every *.md of the source directory:
    ///   about_*.md            -> about_*.help.txt
    ///   a page with 'Module Guid' in its front matter -> the module page: checked, not converted
    ///                            (a cmdlet page it does not list is a warning, QHB003)
    ///   every other page      -> a cmdlet page; all cmdlet pages naming the same
    ///                            'external help file' go into that one MAML file.
    /// Exit codes: 0 done, 1 a source file is malformed (nothing is written), 2 usage or I/O error.
    /// </summary>
    public static class Program
    {
        public static int Main(string[] args)
        {
            if (args.Length != 2)
            {
                Console.Error.WriteLine("usage: QmailPS.HelpBuilder <en-US source dir> <output en-US dir>");
                return 2;
            }
            string source = Path.GetFullPath(args[0]);
            string output = Path.GetFullPath(args[1]);
            if (!Directory.Exists(source))
            {
                Console.Error.WriteLine($"{source}: error QHB002: the source directory does not exist");
                return 2;
            }
            try
            {
                var warnings = new List<string>();
                Dictionary<string, byte[]> files = Build(source, warnings);
                foreach (string w in warnings) Console.WriteLine(w);
                Directory.CreateDirectory(output);
                foreach (var kv in files.OrderBy(k => k.Key, StringComparer.Ordinal))
                {
                    string target = Path.Combine(output, kv.Key);
                    string temp = $"{target}.{Guid.NewGuid():N}.tmp"; // concurrent builds must not share a temporary file
                    File.WriteAllBytes(temp, kv.Value);
                    File.Move(temp, target, overwrite: true);
                    Console.WriteLine($"QmailPS.HelpBuilder: wrote {target}");
                }
                return 0;
            }
            catch (HelpFormatException e)
            {
                Console.Error.WriteLine(e.ToString());
                return 1;
            }
            catch (IOException e)
            {
                Console.Error.WriteLine($"{output}: error QHB002: {e.Message}");
                return 2;
            }
            catch (UnauthorizedAccessException e)
            {
                Console.Error.WriteLine($"{output}: error QHB002: {e.Message}");
                return 2;
            }
        }

        /// <summary>Converts a source directory; returns output file name -> content. Throws on the first malformed file.</summary>
        public static Dictionary<string, byte[]> Build(string source, List<string> warnings)
        {
            var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            var commands = new List<CommandHelp>();
            var modulePages = new List<MarkdownDocument>();
            string[] mdFiles = Directory.GetFiles(source, "*.md").OrderBy(f => f, StringComparer.Ordinal).ToArray();
            if (mdFiles.Length == 0) throw new HelpFormatException(source, 0, "no *.md file to convert");
            var utf8 = new UTF8Encoding(false, true);

            foreach (string file in mdFiles)
            {
                string text;
                try { text = File.ReadAllText(file, utf8); }
                catch (DecoderFallbackException) { throw new HelpFormatException(file, 0, "the file is not valid UTF-8"); }
                MarkdownDocument doc = MarkdownDocument.Parse(file, text);
                string name = Path.GetFileNameWithoutExtension(file);
                if (name.StartsWith("about_", StringComparison.Ordinal))
                {
                    if (doc.FrontMatter != null) throw doc.Error(1, "an about topic has no front matter");
                    result[name + ".help.txt"] = utf8.GetBytes(AboutTopic.Render(doc, name));
                }
                else if (ModulePage.Is(doc))
                {
                    modulePages.Add(doc);
                }
                else
                {
                    commands.Add(CommandHelp.Parse(doc, name));
                }
            }

            if (commands.Count == 0) throw new HelpFormatException(source, 0, "no cmdlet page (Verb-Noun.md) found");
            foreach (MarkdownDocument page in modulePages) warnings.AddRange(ModulePage.Check(page, commands.Select(c => c.Name).ToList()));

            foreach (var group in commands.GroupBy(c => c.ExternalHelpFile, StringComparer.OrdinalIgnoreCase))
            {
                var list = group.OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
                string module = list[0].ModuleName;
                CommandHelp? other = list.FirstOrDefault(c => c.ModuleName != module);
                if (other != null)
                    throw new HelpFormatException(other.SourceFile, 1, $"'Module Name: {other.ModuleName}' differs from '{module}' in {Path.GetFileName(list[0].SourceFile)}, which names the same external help file");
                result[list[0].ExternalHelpFile] = MamlWriter.Write(list);
            }
            return result;
        }
    }
}
