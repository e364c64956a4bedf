using System.Management.Automation;
using QmailPS.Queue;

namespace QmailPS.Commands
{
    /// <summary>Writes qmail-qread's exact text for messages from Get-QmailQueueMessage, one line per string.</summary>
    [Cmdlet(VerbsData.ConvertTo, "QmailQread")]
    [OutputType(typeof(string))]
    public sealed class ConvertToQmailQreadCommand : PSCmdlet
    {
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
        public QueueMessage[] InputObject { get; set; } = new QueueMessage[0];

        protected override void ProcessRecord()
        {
            foreach (QueueMessage m in InputObject)
            {
                if (m is null) continue;
                if ((m.FromTodo || m.State == QueueMessageState.Unprocessed) && m.QreadView is null)
                {
                    WriteVerbose($"Message {m.Id} is not yet preprocessed; qmail-qread does not list it.");
                    continue;
                }
                foreach (string line in QreadFormat.Lines(m)) WriteObject(line);
            }
        }
    }
}
