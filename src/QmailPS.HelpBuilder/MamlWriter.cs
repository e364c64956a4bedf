using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Xml;

namespace QmailPS.HelpBuilder
{
    /// <summary>
    /// Writes MAML the way platyPS's New-ExternalHelp does (powershell-conventions.md §3.4):
    /// one helpItems root, one command:command per cmdlet. XmlWriter does all the escaping.
    /// </summary>
    public static class MamlWriter
    {
        public const string NsMsh = "http://msh";
        public const string NsMaml = "http://schemas.microsoft.com/maml/2004/10";
        public const string NsCommand = "http://schemas.microsoft.com/maml/dev/command/2004/10";
        public const string NsDev = "http://schemas.microsoft.com/maml/dev/2004/10";

        public static byte[] Write(IEnumerable<CommandHelp> commands)
        {
            var settings = new XmlWriterSettings
            {
                Encoding = new UTF8Encoding(false),
                Indent = true,
                IndentChars = "  ",
                NewLineChars = "\n",
                NewLineHandling = NewLineHandling.Replace,
                CheckCharacters = true,
            };
            using var stream = new MemoryStream();
            using (XmlWriter w = XmlWriter.Create(stream, settings))
            {
                w.WriteStartDocument();
                w.WriteStartElement("helpItems", NsMsh);
                w.WriteAttributeString("schema", "maml");
                foreach (CommandHelp c in commands)
                {
                    try { WriteCommand(w, c); }
                    catch (ArgumentException e) // XmlWriter: a character XML cannot hold (a control character, a lone surrogate)
                    {
                        throw new HelpFormatException(c.SourceFile, 0, "text cannot be written to XML: " + e.Message);
                    }
                }
                w.WriteEndElement();
                w.WriteEndDocument();
            }
            return stream.ToArray();
        }

        private static void WriteCommand(XmlWriter w, CommandHelp c)
        {
            w.WriteStartElement("command", "command", NsCommand);
            w.WriteAttributeString("xmlns", "maml", null, NsMaml);
            w.WriteAttributeString("xmlns", "dev", null, NsDev);

            w.WriteStartElement("command", "details", NsCommand);
            w.WriteElementString("command", "name", NsCommand, c.Name);
            w.WriteElementString("command", "verb", NsCommand, c.Verb);
            w.WriteElementString("command", "noun", NsCommand, c.Noun);
            Paras(w, "maml", "description", NsMaml, c.Synopsis);
            w.WriteEndElement();

            Paras(w, "maml", "description", NsMaml, c.Description);

            w.WriteStartElement("command", "syntax", NsCommand);
            foreach (string set in c.SyntaxSets)
            {
                w.WriteStartElement("command", "syntaxItem", NsCommand);
                w.WriteElementString("maml", "name", NsMaml, c.Name);
                // Positional parameters first, by position, then the named ones in page order, as Get-Command -Syntax lists them.
                var inSet = c.Parameters
                    .Select((p, index) => (p, index, md: p.Metadata.FirstOrDefault(m => m.AppliesTo(set))))
                    .Where(x => x.md != null)
                    .OrderBy(x => x.md!.Position == "named" ? int.MaxValue : int.Parse(x.md.Position, System.Globalization.CultureInfo.InvariantCulture))
                    .ThenBy(x => x.index);
                foreach (var x in inSet) Parameter(w, x.p, x.md!, inSyntax: true);
                w.WriteEndElement();
            }
            w.WriteEndElement();

            w.WriteStartElement("command", "parameters", NsCommand);
            foreach (ParameterHelp p in c.Parameters) Parameter(w, p, p.Metadata[0], inSyntax: false);
            w.WriteEndElement();

            Types(w, "inputTypes", "inputType", c.Inputs);
            Types(w, "returnValues", "returnValue", c.Outputs);

            w.WriteStartElement("maml", "alertSet", NsMaml);
            Paras(w, "maml", "alert", NsMaml, c.Notes);
            w.WriteEndElement();

            w.WriteStartElement("command", "examples", NsCommand);
            foreach (ExampleHelp e in c.Examples)
            {
                w.WriteStartElement("command", "example", NsCommand);
                // Get-Help prints titles as they are; the dashes are the usual MAML banner that sets examples apart.
                w.WriteElementString("maml", "title", NsMaml, "---------- " + e.Title + " ----------");
                w.WriteElementString("dev", "code", NsDev, e.Code);
                // A trailing empty paragraph puts a blank line between these remarks and the next title, as in platyPS output.
                Paras(w, "dev", "remarks", NsDev, e.Remarks.Concat(new[] { "" }).ToList());
                w.WriteEndElement();
            }
            w.WriteEndElement();

            w.WriteStartElement("command", "relatedLinks", NsCommand);
            foreach (LinkHelp l in c.Links)
            {
                w.WriteStartElement("maml", "navigationLink", NsMaml);
                w.WriteElementString("maml", "linkText", NsMaml, l.Text);
                w.WriteElementString("maml", "uri", NsMaml, l.Uri);
                w.WriteEndElement();
            }
            w.WriteEndElement();

            w.WriteEndElement(); // command:command
        }

        private static void Parameter(XmlWriter w, ParameterHelp p, ParameterMetadata md, bool inSyntax)
        {
            w.WriteStartElement("command", "parameter", NsCommand);
            w.WriteAttributeString("required", md.Required ? "true" : "false");
            w.WriteAttributeString("variableLength", "true");
            w.WriteAttributeString("globbing", md.Globbing ? "true" : "false");
            w.WriteAttributeString("pipelineInput", md.PipelineInput);
            w.WriteAttributeString("position", md.Position);
            w.WriteAttributeString("aliases", md.Aliases.Count > 0 ? string.Join(", ", md.Aliases) : "none");
            w.WriteElementString("maml", "name", NsMaml, p.Name);
            Paras(w, "maml", "description", NsMaml, p.Description);
            if (inSyntax && md.AcceptedValues.Count > 0)
            {
                w.WriteStartElement("command", "parameterValueGroup", NsCommand);
                foreach (string v in md.AcceptedValues) ParameterValue(w, v, required: false);
                w.WriteEndElement();
            }
            // A switch shows no value in the syntax ("[-IncludeHeader]"), as with platyPS.
            if (!(inSyntax && md.IsSwitch)) ParameterValue(w, md.Type, required: !md.IsSwitch);
            w.WriteStartElement("dev", "type", NsDev);
            w.WriteElementString("maml", "name", NsMaml, md.Type);
            w.WriteElementString("maml", "uri", NsMaml, "");
            w.WriteEndElement();
            w.WriteElementString("dev", "defaultValue", NsDev, md.DefaultValue);
            w.WriteEndElement();
        }

        private static void ParameterValue(XmlWriter w, string text, bool required)
        {
            w.WriteStartElement("command", "parameterValue", NsCommand);
            w.WriteAttributeString("required", required ? "true" : "false");
            w.WriteAttributeString("variableLength", "false");
            w.WriteString(text);
            w.WriteEndElement();
        }

        private static void Types(XmlWriter w, string listName, string itemName, List<TypeHelp> types)
        {
            w.WriteStartElement("command", listName, NsCommand);
            foreach (TypeHelp t in types)
            {
                w.WriteStartElement("command", itemName, NsCommand);
                w.WriteStartElement("dev", "type", NsDev);
                w.WriteElementString("maml", "name", NsMaml, t.TypeName);
                w.WriteEndElement();
                Paras(w, "maml", "description", NsMaml, t.Description);
                w.WriteEndElement();
            }
            w.WriteEndElement();
        }

        private static void Paras(XmlWriter w, string prefix, string name, string ns, List<string> paras)
        {
            w.WriteStartElement(prefix, name, ns);
            foreach (string p in paras) w.WriteElementString("maml", "para", NsMaml, p);
            w.WriteEndElement();
        }
    }
}
