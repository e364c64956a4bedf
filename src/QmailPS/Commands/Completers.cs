using System;
using System.Collections;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Threading;
using QmailPS.Posix;
using QmailPS.Queue;

namespace QmailPS.Commands
{
    /// <summary>
    /// Tab completion for -Id, -Sender, -Recipient and -QueuePath. Completers are fast and total: they
    /// read the queue named by -QueuePath on the command line (else the default queue), stop after a
    /// bounded number of results or a short time, and never throw.
    /// </summary>
    internal static class CompletionSupport
    {
        internal const int MaxResults = 200;
        internal const int MaxMessages = 5000;
        internal static readonly TimeSpan Budget = TimeSpan.FromSeconds(2);

        /// <summary>The queue root for the command being completed, or null when there is none.</summary>
        internal static string? QueueRoot(IDictionary fakeBoundParameters)
        {
            try
            {
                object? given = fakeBoundParameters?["QueuePath"];
                if (given is PSObject p) given = p.BaseObject;
                string? path = given as string;
                if (string.IsNullOrEmpty(path)) return QueueLayout.FindDefaultRoot(Environment.GetEnvironmentVariable);
                return Absolute(path!);
            }
            catch (Exception) { return null; }
        }

        /// <summary>A path as PowerShell's current file-system location resolves it.</summary>
        internal static string Absolute(string path)
        {
            if (path.StartsWith("~", StringComparison.Ordinal))
                path = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) + path.Substring(1);
            if (Path.IsPathRooted(path)) return Path.GetFullPath(path);
            string cwd = Environment.CurrentDirectory;
            try
            {
                string? loc = System.Management.Automation.Runspaces.Runspace.DefaultRunspace?.SessionStateProxy.Path.CurrentFileSystemLocation.ProviderPath;
                if (!string.IsNullOrEmpty(loc)) cwd = loc!;
            }
            catch (Exception) { }
            return Path.GetFullPath(Path.Combine(cwd, path));
        }

        internal static QueueLayout? Layout(IDictionary fakeBoundParameters)
        {
            string? root = QueueRoot(fakeBoundParameters);
            if (root is null) return null;
            try { return QueueLayout.Detect(root); }
            catch (Exception) { return null; }
        }

        /// <summary>Messages of the queue, at most MaxMessages and for at most Budget.</summary>
        internal static IEnumerable<QueueMessage> Messages(QueueLayout layout)
        {
            using var cts = new CancellationTokenSource(Budget);
            var clock = Stopwatch.StartNew();
            IEnumerator<ScanEvent>? e = null;
            try { e = new QueueScanner(layout).Scan(cts.Token).GetEnumerator(); }
            catch (Exception) { yield break; }
            using (e)
            {
                int n = 0;
                while (n < MaxMessages && clock.Elapsed < Budget)
                {
                    bool more;
                    try { more = e.MoveNext(); }
                    catch (Exception) { yield break; }
                    if (!more) yield break;
                    if (e.Current.Kind != ScanEventKind.Message || e.Current.Message is null) continue;
                    n++;
                    yield return e.Current.Message;
                }
            }
        }

        private static readonly char[] Special = { ' ', '\'', '"', '#', '[', ']', '(', ')', '{', '}', '<', '>', '&', '|', ';', ',', '$', '`', '*', '?' };

        /// <summary>The text as a command-line word: in single quotes when PowerShell would read it otherwise.</summary>
        internal static string Quote(string text) =>
            text.Length == 0 || text.IndexOfAny(Special) >= 0 || text[0] == '@' || text[0] == '-'
                ? "'" + text.Replace("'", "''") + "'"
                : text;

        internal static string Unquote(string word)
        {
            string w = word ?? "";
            if (w.Length > 0 && (w[0] == '\'' || w[0] == '"')) w = w.Substring(1);
            if (w.Length > 0 && (w[w.Length - 1] == '\'' || w[w.Length - 1] == '"')) w = w.Substring(0, w.Length - 1);
            return w;
        }
    }

    /// <summary>-Id: the ids of the messages in the queue (todo/ and info/), in numeric order, bounded.</summary>
    public sealed class QueueIdCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            var results = new List<CompletionResult>();
            try
            {
                QueueLayout? layout = CompletionSupport.Layout(fakeBoundParameters);
                if (layout is null) return results;
                string prefix = CompletionSupport.Unquote(wordToComplete);
                var ids = new SortedSet<ulong>();
                var dirs = new List<string> { layout.Dir("todo") };
                for (int n = 0; n < layout.Split; n++) { dirs.Add(layout.SplitDir("info", n)); if (layout.BigTodo) dirs.Add(layout.SplitDir("todo", n)); }
                var clock = Stopwatch.StartNew();
                foreach (string dir in dirs)
                {
                    if (clock.Elapsed > CompletionSupport.Budget) break;
                    List<DirEntry>? entries = layout.Fs.TryList(dir, new List<DirEntry>(), out _);
                    if (entries is null) continue;
                    foreach (DirEntry e in entries)
                        if (e.IsCanonical && e.Kind != FileKind.Directory && e.Id.ToString(System.Globalization.CultureInfo.InvariantCulture).StartsWith(prefix, StringComparison.Ordinal))
                            ids.Add(e.Id);
                }
                foreach (ulong id in ids)
                {
                    if (results.Count >= CompletionSupport.MaxResults) break;
                    string s = id.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    results.Add(new CompletionResult(s, s, CompletionResultType.ParameterValue, $"queued message {s} in {layout.Root}"));
                }
            }
            catch (Exception) { }
            return results;
        }
    }

    /// <summary>-Sender: the envelope senders of the queue's messages ('&lt;&gt;' for the null sender), bounded.</summary>
    public sealed class QueueSenderCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
            => AddressCompletion.Complete(fakeBoundParameters, wordToComplete, m => new[] { m.Sender.Length == 0 ? NullSenderAttribute.Typed : m.Sender }, "sender");
    }

    /// <summary>-Recipient: the recipient addresses of the queue's messages, bounded.</summary>
    public sealed class QueueRecipientCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
            => AddressCompletion.Complete(fakeBoundParameters, wordToComplete, RecipientsOf, "recipient");

        private static IEnumerable<string> RecipientsOf(QueueMessage m)
        {
            foreach (QueueRecipient r in m.Recipients) yield return r.Address;
        }
    }

    internal static class AddressCompletion
    {
        internal static List<CompletionResult> Complete(IDictionary fakeBoundParameters, string wordToComplete, Func<QueueMessage, IEnumerable<string>> addresses, string what)
        {
            var results = new List<CompletionResult>();
            try
            {
                QueueLayout? layout = CompletionSupport.Layout(fakeBoundParameters);
                if (layout is null) return results;
                string prefix = CompletionSupport.Unquote(wordToComplete);
                var counts = new SortedDictionary<string, int>(StringComparer.OrdinalIgnoreCase);
                foreach (QueueMessage m in CompletionSupport.Messages(layout))
                    foreach (string a in addresses(m))
                    {
                        if (a.Length == 0 || !a.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) continue;
                        if (counts.TryGetValue(a, out int c)) counts[a] = c + 1;
                        else if (counts.Count < CompletionSupport.MaxResults) counts[a] = 1;
                    }
                foreach (var kv in counts)
                    results.Add(new CompletionResult(CompletionSupport.Quote(kv.Key), kv.Key, CompletionResultType.ParameterValue, $"{what} of {kv.Value} message(s) in {layout.Root}"));
            }
            catch (Exception) { }
            return results;
        }
    }

    /// <summary>
    /// -QueuePath: directories that are qmail queues (mess/ and info/ or todo/), and the queue/ of a qmail
    /// home; with nothing typed, the usual places that exist.
    /// </summary>
    public sealed class QueuePathCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            var results = new List<CompletionResult>();
            try
            {
                string word = CompletionSupport.Unquote(wordToComplete);
                var seen = new HashSet<string>(StringComparer.Ordinal);
                if (word.Length == 0)
                {
                    string? home = Environment.GetEnvironmentVariable("QMAIL_HOME");
                    var places = new List<string>();
                    if (!string.IsNullOrEmpty(home)) places.Add(Path.Combine(home, "queue"));
                    places.AddRange(QueueLayout.DefaultCandidates);
                    foreach (string p in places) if (QueueLayout.LooksLikeQueue(p)) Add(results, seen, p, p);
                }
                // The directory being typed in, and the start of the name in it.
                int slash = word.LastIndexOf('/');
                string typedDir = slash >= 0 ? word.Substring(0, slash + 1) : "";
                string namePrefix = slash >= 0 ? word.Substring(slash + 1) : word;
                string dir = CompletionSupport.Absolute(typedDir.Length == 0 ? "." : typedDir);
                if (typedDir.Length > 0 || word.Length > 0)
                {
                    if (word.Length > 0 && QueueLayout.LooksLikeQueue(CompletionSupport.Absolute(word.TrimEnd('/')))) Add(results, seen, word.TrimEnd('/'), CompletionSupport.Absolute(word.TrimEnd('/')));
                    List<DirEntry>? entries;
                    using (var fs = new LinuxFileSystem()) entries = fs.TryList(dir, new List<DirEntry>(), out _);
                    if (entries != null)
                    {
                        var names = new List<string>();
                        foreach (DirEntry e in entries)
                            if ((e.Kind == FileKind.Directory || e.Kind == FileKind.Symlink || e.Kind == FileKind.Unknown) && e.Name.StartsWith(namePrefix, StringComparison.Ordinal))
                                names.Add(e.Name);
                        names.Sort(StringComparer.Ordinal);
                        foreach (string name in names)
                        {
                            if (results.Count >= CompletionSupport.MaxResults) break;
                            string full = Path.Combine(dir, name);
                            if (QueueLayout.LooksLikeQueue(full)) Add(results, seen, typedDir + name, full);
                            else if (QueueLayout.LooksLikeQueue(full + "/queue")) Add(results, seen, typedDir + name + "/queue", full + "/queue");
                        }
                    }
                }
            }
            catch (Exception) { }
            return results;
        }

        private static void Add(List<CompletionResult> results, HashSet<string> seen, string text, string full)
        {
            if (!seen.Add(text)) return;
            results.Add(new CompletionResult(CompletionSupport.Quote(text), text, CompletionResultType.ProviderContainer, $"qmail queue {full}"));
        }
    }
}
