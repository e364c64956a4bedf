using System;

namespace QmailPS
{
    /// <summary>qmail-qstat's two figures, plus what a postmaster asks next.</summary>
    public sealed class QueueSummary
    {
        internal QueueSummary(string queuePath) { QueuePath = queuePath; }

        public string QueuePath { get; }
        /// <summary>qmail-qstat "messages in queue": regular files under mess/* (notqmail's count: junk and orphans included).</summary>
        public long MessagesInQueue { get; internal set; }
        /// <summary>qmail-qstat "messages in queue but not yet preprocessed": regular files under todo/.</summary>
        public long NotYetPreprocessed { get; internal set; }
        /// <summary>Messages Get-QmailQueueMessage lists (preprocessed and unprocessed).</summary>
        public long Messages { get; internal set; }
        public long Unprocessed { get; internal set; }
        public long PendingLocal { get; internal set; }
        public long PendingRemote { get; internal set; }
        /// <summary>Messages with the empty sender (bounces qmail-send made).</summary>
        public long Bounces { get; internal set; }
        public long DoubleBounces { get; internal set; }
        /// <summary>Messages with a bounce/ file: some recipient failed permanently.</summary>
        public long Bouncing { get; internal set; }
        /// <summary>
        /// Messages in state Damaged (Get-QmailQueueMessage -State Damaged): qmail cannot deliver them as
        /// they are. Test-QmailQueue lists more: damage to the queue itself (owners, modes, lock files)
        /// and findings on messages qmail still delivers (IdNotInode after a copy), which are not counted here.
        /// </summary>
        public long Damaged { get; internal set; }
        /// <summary>QueuedAt of the oldest listed message, in local time.</summary>
        public DateTime? OldestQueuedAt => OldestQueuedAtUtc?.ToLocalTime();
        /// <summary>OldestQueuedAt in UTC.</summary>
        public DateTime? OldestQueuedAtUtc { get; internal set; }
        /// <summary>Bytes of all mess files of the listed messages.</summary>
        public long TotalBytes { get; internal set; }
        public int Split { get; internal set; }
        public bool BigTodo { get; internal set; }
        /// <summary>Made by -CountOnly: only MessagesInQueue and NotYetPreprocessed were counted; the other figures were not.</summary>
        public bool IsCountOnly { get; internal set; }
    }
}
