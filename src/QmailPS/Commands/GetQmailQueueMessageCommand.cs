using System;
using System.Management.Automation;
using QmailPS.Queue;

namespace QmailPS.Commands
{
    /// <summary>Lists the messages of a qmail queue, including those qmail-qread hides (not yet preprocessed).</summary>
    [Cmdlet(VerbsCommon.Get, "QmailQueueMessage")]
    [OutputType(typeof(QueueMessage))]
    public sealed class GetQmailQueueMessageCommand : QmailCmdletBase
    {
        [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("MessageId")]
        [ArgumentCompleter(typeof(QueueIdCompleter))]
        public ulong[]? Id { get; set; }

        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(QueuePathCompleter))]
        public string? QueuePath { get; set; }

        /// <summary>conf-split of the qmail binaries, when the queue's directories cannot tell it.</summary>
        [Parameter]
        [ValidateRange(1, 100000)]
        public int? Split { get; set; }

        [Parameter]
        [SupportsWildcards]
        [AllowEmptyString]
        [NullSender]
        [ArgumentCompleter(typeof(QueueSenderCompleter))]
        public string[]? Sender { get; set; }

        [Parameter]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(QueueRecipientCompleter))]
        public string[]? Recipient { get; set; }

        [Parameter]
        [AgeTransformation]
        public TimeSpan? OlderThan { get; set; }

        [Parameter]
        [AgeTransformation]
        public TimeSpan? NewerThan { get; set; }

        [Parameter]
        public QueueMessageState[]? State { get; set; }

        [Parameter]
        public SwitchParameter IncludeHeader { get; set; }

        private WildcardPattern[]? _senders, _recipients;
        private DateTime _now;

        protected override void BeginProcessing()
        {
            _now = DateTime.UtcNow;
            _senders = Patterns(Sender);
            _recipients = Patterns(Recipient);
        }

        private static WildcardPattern[]? Patterns(string[]? values)
        {
            if (values is null) return null;
            var p = new WildcardPattern[values.Length];
            for (int i = 0; i < values.Length; i++)
            {
                string v = values[i] ?? "";
                p[i] = WildcardPattern.Get(v, WildcardOptions.IgnoreCase);
                // '#@[]' (the double-bounce sender) is not a valid wildcard: take such a value literally.
                try { p[i].IsMatch(""); }
                catch (WildcardPatternException) { p[i] = WildcardPattern.Get(WildcardPattern.Escape(v), WildcardOptions.IgnoreCase); }
            }
            return p;
        }

        protected override void ProcessRecord()
        {
            QueueLayout layout = ResolveQueue(QueuePath, Split);
            var scanner = new QueueScanner(layout, IncludeHeader.IsPresent);
            foreach (string problem in scanner.Control.Problems) WriteVerbose(problem);

            if (Id != null)
            {
                foreach (ulong id in Id)
                {
                    if (Stopping) return;
                    ScanEvent? e = scanner.Read(id);
                    if (e is null || e.Kind == ScanEventKind.Vanished) { WriteError(QmailErrors.MessageNotFound(id, layout.Root)); continue; }
                    Emit(Route(e, ""));
                }
                return;
            }

            string activity = $"Reading qmail queue {layout.Root}";
            int count = 0;
            try
            {
                foreach (ScanEvent e in scanner.Scan(CancelToken))
                {
                    QueueMessage? m = Route(e, activity);
                    if (m != null && Emit(m)) count++;
                }
            }
            catch (OperationCanceledException) when (Stopping) { return; }
            finally { CompleteProgress(); }
            WriteVerbose($"{count} message(s) matched in {layout.Root}.");
        }

        private bool Emit(QueueMessage? m)
        {
            if (m is null || !Matches(m)) return false;
            if (m.State == QueueMessageState.Damaged) WriteWarning($"Message {m.Id} is damaged: {m.Damage}");
            WriteObject(m);
            return true;
        }

        private bool Matches(QueueMessage m)
        {
            if (State != null && Array.IndexOf(State, m.State) < 0) return false;
            // Both sides UTC: DateTime comparison ignores Kind.
            if (OlderThan.HasValue && !(m.QueuedAtUtc < _now - OlderThan.Value)) return false;
            if (NewerThan.HasValue && !(m.QueuedAtUtc > _now - NewerThan.Value)) return false;
            if (_senders != null && !AnyMatch(_senders, m.Sender)) return false;
            if (_recipients != null)
            {
                bool hit = false;
                foreach (QueueRecipient r in m.Recipients) if (AnyMatch(_recipients, r.Address)) { hit = true; break; }
                if (!hit) return false;
            }
            return true;
        }

        private static bool AnyMatch(WildcardPattern[] patterns, string value)
        {
            foreach (WildcardPattern p in patterns) if (p.IsMatch(value)) return true;
            return false;
        }
    }
}
