using System.Collections.Generic;
using System.Management.Automation;
using QmailPS.Queue;

namespace QmailPS.Commands
{
    /// <summary>
    /// Writes qmail-qread's exact text for messages from Get-QmailQueueMessage, one line per string.
    /// Takes deserialized messages too (Start-Job, remoting, Import-Clixml): they carry the lines
    /// in their hidden QreadLines property, computed where the message was read. For a live message
    /// it lists the queue's info/ directories once, as qmail-qread walks them, so a message that
    /// qmail-qread prints more than once (an info alias such as info/N/0123) prints as often here.
    /// </summary>
    [Cmdlet(VerbsData.ConvertTo, "QmailQread")]
    [OutputType(typeof(string))]
    public sealed class ConvertToQmailQreadCommand : QmailCmdletBase
    {
        private readonly Dictionary<string, QreadNames?> _names = new Dictionary<string, QreadNames?>(System.StringComparer.Ordinal);
        internal const string DeserializedMessage = "Deserialized.QmailPS.QueueMessage";

        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
        public PSObject[] InputObject { get; set; } = new PSObject[0];

        /// <summary>qmail-qread's names in the queue's info/, listed once per queue and command.</summary>
        private QreadNames? Names(string root)
        {
            if (_names.TryGetValue(root, out QreadNames? names)) return names;
            try { names = QreadNames.Walk(QueueLayout.Detect(Fs, root)); }
            catch (System.Exception e) when (e is NotAQueueException || e is QueueAccessException || e is System.IO.IOException || e is System.UnauthorizedAccessException)
            {
                WriteVerbose($"Cannot list the info/ directories of {root} ({e.Message}): each message prints once.");
                names = null;
            }
            _names[root] = names;
            return names;
        }

        protected override void ProcessRecord()
        {
            foreach (PSObject o in InputObject)
            {
                if (o is null) continue;
                if (o.BaseObject is QueueMessage m)
                {
                    if ((m.FromTodo || m.State == QueueMessageState.Unprocessed) && m.QreadView is null && (Names(m.QueuePath)?.Aliases(m.Id) ?? 0) == 0)
                    {
                        WriteVerbose($"Message {m.Id} is not yet preprocessed; qmail-qread does not list it.");
                        continue;
                    }
                    foreach (string line in QreadFormat.Lines(m, Names(m.QueuePath))) WriteObject(line);
                }
                else if (o.TypeNames.Contains(DeserializedMessage))
                {
                    object? lines = o.Properties["QreadLines"]?.Value;
                    if (lines is PSObject p) lines = p.BaseObject;
                    if (lines is null)
                    {
                        WriteError(new ErrorRecord(new PSArgumentException($"The deserialized message {o.Properties["Id"]?.Value} has no QreadLines: it was serialized without QmailPS's type data (import QmailPS where it is read)."),
                            "QmailQreadLinesMissing", ErrorCategory.InvalidData, o));
                        continue;
                    }
                    bool any = false;
                    foreach (object? line in LanguagePrimitives.GetEnumerable(lines) ?? new object[] { lines })
                    {
                        any = true;
                        WriteObject(line is PSObject lp ? lp.BaseObject : line);
                    }
                    if (!any) WriteVerbose($"Message {o.Properties["Id"]?.Value} is not yet preprocessed; qmail-qread does not list it.");
                }
                else
                {
                    WriteError(new ErrorRecord(new PSArgumentException($"ConvertTo-QmailQread takes messages from Get-QmailQueueMessage (QmailPS.QueueMessage, live or deserialized), not {o.BaseObject?.GetType().FullName ?? "null"}."),
                        "QmailNotAQueueMessage", ErrorCategory.InvalidType, o));
                }
            }
        }
    }
}
