using System.Collections.Generic;
using System.Management.Automation;
using QmailPS.Queue;

namespace QmailPS
{
    /// <summary>Code behind the module's QmailPS.Types.ps1xml members.</summary>
    public static class Ets
    {
        /// <summary>
        /// QueueMessage.QreadLines (hidden): the lines qmail-qread prints for the message. Serialized
        /// with the message (jobs, remoting, Export-Clixml), so ConvertTo-QmailQread prints the same
        /// text from a deserialized message as from a live one.
        /// </summary>
        public static string[] QreadLines(PSObject instance)
        {
            if (!(instance?.BaseObject is QueueMessage m)) return new string[0];
            return new List<string>(QreadFormat.Lines(m)).ToArray();
        }
    }
}
