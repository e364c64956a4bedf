using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;

namespace QmailPS
{
    /// <summary>Where a message stands, as qmail-send sees it.</summary>
    public enum QueueMessageState : long
    {
        /// <summary>Preprocessed (info/ exists); recipients pending or waiting for the end of the message.</summary>
        Queued,
        /// <summary>Only in todo/: qmail-send has not preprocessed it yet (qmail-qread does not list these).</summary>
        Unprocessed,
        /// <summary>Preprocessed, and bounce/ID exists: at least one recipient failed permanently.</summary>
        Bouncing,
        /// <summary>qmail cannot deliver it as it is; Damage says why. Test-QmailQueue/Repair-QmailQueue deal with it.</summary>
        Damaged,
    }

    /// <summary>qmail's two delivery channels: local/ (qmail-lspawn) and remote/ (qmail-rspawn).</summary>
    public enum RecipientChannel : long { Local, Remote }

    /// <summary>
    /// One recipient record of a channel file (or of todo/ for an unprocessed message). A value
    /// type, stored inside its message's array: a listing of 100,000 messages keeps 200,000 fewer
    /// objects alive for the garbage collector to trace and copy.
    /// </summary>
    public readonly struct QueueRecipient
    {
        internal QueueRecipient(string address, RecipientChannel channel, bool delivered, byte[]? rawIfLossy = null)
        {
            _address = address; Channel = channel; Delivered = delivered; _raw = rawIfLossy;
        }

        private readonly string? _address;
        private readonly byte[]? _raw;

        public string Address => _address ?? "";
        public RecipientChannel Channel { get; }
        /// <summary>True for a D record: delivered, or failed permanently (then it is in bounce/ID).</summary>
        public bool Delivered { get; }

        /// <summary>The address bytes as on disk (addresses are bytes to qmail, not text).</summary>
        internal byte[] RawAddress => Queue.QueueRecords.RawOf(Address, _raw);

        public override string ToString() => Address;
    }

    /// <summary>
    /// A message's recipients. A collection rather than an array: PowerShell gives arrays an
    /// Address() method (multi-dimensional arrays' accessor) that wins over member enumeration,
    /// so <c>.Recipients.Address</c> printed "…Address(int )"; on this type it lists the addresses.
    /// ToString is what Export-Csv and string expansion write: "a@x, b@y".
    /// </summary>
    public sealed class QueueRecipientCollection : ReadOnlyCollection<QueueRecipient>
    {
        internal static readonly QueueRecipientCollection Empty = new QueueRecipientCollection(new QueueRecipient[0]);

        internal QueueRecipientCollection(IList<QueueRecipient> recipients) : base(recipients) { }

        /// <summary>The recipients not yet delivered (T records).</summary>
        public IEnumerable<QueueRecipient> Pending()
        {
            foreach (QueueRecipient r in this) if (!r.Delivered) yield return r;
        }

        /// <summary>The addresses, comma-separated ("a@x, b@y").</summary>
        public override string ToString()
        {
            var sb = new System.Text.StringBuilder();
            foreach (QueueRecipient r in this) { if (sb.Length > 0) sb.Append(", "); sb.Append(r.Address); }
            return sb.ToString();
        }
    }

    /// <summary>One message of a qmail queue.</summary>
    public sealed class QueueMessage
    {
        internal QueueMessage(ulong id, string queuePath) { Id = id; QueuePath = queuePath; }

        /// <summary>The message number: the inode number of mess/N/ID when it was queued.</summary>
        public ulong Id { get; }
        /// <summary>Envelope sender; '' for a bounce, '#@[]' for a double bounce.</summary>
        public string Sender { get; internal set; } = "";
        public bool IsBounce => Sender.Length == 0 && !SenderMissing;
        public bool IsDoubleBounce => Sender == "#@[]";
        /// <summary>Every recipient, in the order qmail-qread lists them; <c>.Recipients.Address</c> gives the addresses.</summary>
        public QueueRecipientCollection Recipients { get; private set; } = QueueRecipientCollection.Empty;

        internal void SetRecipients(QueueRecipient[] recipients) =>
            Recipients = recipients.Length == 0 ? QueueRecipientCollection.Empty : new QueueRecipientCollection(recipients);
        /// <summary>Recipients not yet delivered (T records).</summary>
        public int PendingCount { get; internal set; }
        /// <summary>Bytes of mess/N/ID (the message with qmail-queue's Received line); -1 when it is missing.</summary>
        public long Size { get; internal set; } = -1;
        /// <summary>
        /// Birth as qmail-send uses it, in local time (as FileInfo.LastWriteTime): mtime of info/N/ID;
        /// for an unprocessed message, mtime of todo/ID. QueuedAtUtc is the same instant in UTC.
        /// </summary>
        public DateTime QueuedAt { get => QueuedAtUtc.ToLocalTime(); internal set => QueuedAtUtc = AsUtc(value); }
        /// <summary>QueuedAt in UTC (Kind Utc).</summary>
        public DateTime QueuedAtUtc { get; internal set; }
        /// <summary>
        /// Earliest next delivery attempt (local time) from the pending channel files' mtimes. qmail-send
        /// stamps them with the schedule only when it stops cleanly; while it runs they hold the
        /// time of the last change, and the attempt may come sooner.
        /// </summary>
        public DateTime? NextAttempt => NextAttemptUtc?.ToLocalTime();
        /// <summary>NextAttempt in UTC (Kind Utc).</summary>
        public DateTime? NextAttemptUtc { get; internal set; }
        public QueueMessageState State { get; internal set; }
        /// <summary>Why the message is Damaged, in qmail's terms; null otherwise.</summary>
        public string? Damage { get => _x?.Damage; internal set => X.Damage = value; }
        /// <summary>The queue directory the message is in.</summary>
        public string QueuePath { get; }

        // Filled only with -IncludeHeader.
        public string? Subject { get => _x?.Subject; internal set => X.Subject = value; }
        public string? From { get => _x?.From; internal set => X.From = value; }
        public string? To { get => _x?.To; internal set => X.To = value; }
        public string? Date { get => _x?.Date; internal set => X.Date = value; }
        public string? MessageId { get => _x?.MessageId; internal set => X.MessageId = value; }

        /// <summary>Sender bytes as on disk (for qmail-qread's exact text).</summary>
        internal byte[] RawSender => Queue.QueueRecords.RawOf(Sender, RawSenderIfLossy);
        /// <summary>The sender's bytes, kept only when they are not valid UTF-8.</summary>
        internal byte[]? RawSenderIfLossy { get => _x?.RawSender; set { if (value != null || _x != null) X.RawSender = value; } }
        /// <summary>True when info has no usable F record (sender unknown to qmail-send).</summary>
        internal bool SenderMissing { get; set; }
        /// <summary>bounce/ID exists (qmail-qread's "bouncing"), whatever the State.</summary>
        internal bool HasBounce { get; set; }
        /// <summary>Read from todo/ (qmail-qread does not list it).</summary>
        internal bool FromTodo { get; set; }
        /// <summary>What qmail-qread prints instead of the message ("file does not exist"), or null.</summary>
        internal string? QreadTrouble { get => _x?.QreadTrouble; set { if (value != null || _x != null) X.QreadTrouble = value; } }
        /// <summary>
        /// For a message read from todo/ that also has info/N/ID: the message as read from info, which
        /// is what qmail-qread lists (it walks info/ only). Null otherwise.
        /// </summary>
        internal QueueMessage? QreadView { get => _x?.QreadView; set { if (value != null || _x != null) X.QreadView = value; } }

        /// <summary>
        /// What most messages do not have (damage, headers, odd bytes) lives apart: a listing keeps
        /// every message alive, and a smaller object is less for the garbage collector to copy.
        /// </summary>
        private sealed class Extras
        {
            public string? Damage, Subject, From, To, Date, MessageId, QreadTrouble;
            public byte[]? RawSender;
            public QueueMessage? QreadView;
        }

        private Extras? _x;
        private Extras X => _x ??= new Extras();

        /// <summary>The scanner sets file times, which are UTC: only a Local value is converted.</summary>
        private static DateTime AsUtc(DateTime t) => t.Kind == DateTimeKind.Local ? t.ToUniversalTime() : DateTime.SpecifyKind(t, DateTimeKind.Utc);

        internal void AddDamage(string text) => Damage = Damage is null ? text : Damage + "; " + text;

        public override string ToString() => Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
