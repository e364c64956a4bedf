using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;
using System.Text;

namespace QmailPS.Host
{
    /// <summary>
    /// A minimal console PSHost: what Out-Default, -WhatIf and -Confirm need, written to the real
    /// console the way pwsh does (output to stdout; errors, warnings, verbose and debug to stderr).
    /// </summary>
    internal sealed class ConsoleHost : PSHost
    {
        private readonly Guid _id = Guid.NewGuid();
        private readonly ConsoleUI _ui = new ConsoleUI();

        public override PSHostUserInterface UI => _ui;
        public override CultureInfo CurrentCulture => CultureInfo.CurrentCulture;
        public override CultureInfo CurrentUICulture => CultureInfo.CurrentUICulture;
        public override Guid InstanceId => _id;
        public override string Name => "qmailps";
        public override Version Version => typeof(ConsoleHost).Assembly.GetName().Version ?? new Version(0, 0);

        /// <summary>The code of an <c>exit</c> statement at the top of the command, if one ran.</summary>
        public int? ShouldExit { get; private set; }

        public override void SetShouldExit(int exitCode) => ShouldExit = exitCode;
        public override void EnterNestedPrompt() => throw new NotSupportedException("qmailps has no nested prompt.");
        public override void ExitNestedPrompt() => throw new NotSupportedException("qmailps has no nested prompt.");
        public override void NotifyBeginApplication() { }
        public override void NotifyEndApplication() { }
    }

    internal sealed class ConsoleUI : PSHostUserInterface
    {
        private static readonly bool s_stdoutVT = !Console.IsOutputRedirected;
        private static readonly bool s_stderrVT = !Console.IsErrorRedirected;
        private readonly ConsoleRawUI _raw = new ConsoleRawUI();

        public override PSHostRawUserInterface RawUI => _raw;
        public override bool SupportsVirtualTerminal => s_stdoutVT;

        // The formatter decorates (table headers, errors) with ANSI; as in pwsh, the host drops it
        // when $PSStyle.OutputRendering says so (PlainText, or Host and a redirected stream).
        private static string Out(string text) => GetOutputString(text, s_stdoutVT);
        private static string Err(string text) => GetOutputString(text, s_stderrVT);

        public override void Write(string value) => Console.Out.Write(Out(value));
        public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) => Console.Out.Write(Out(value));
        public override void WriteLine(string value) => Console.Out.WriteLine(Out(value));
        public override void WriteLine() => Console.Out.WriteLine();

        public override void WriteErrorLine(string value) => Console.Error.WriteLine(Err(value));
        public override void WriteWarningLine(string message) => Console.Error.WriteLine(Err(Styled(PSStyle.Instance.Formatting.Warning, "WARNING: " + message)));
        public override void WriteVerboseLine(string message) => Console.Error.WriteLine(Err(Styled(PSStyle.Instance.Formatting.Verbose, "VERBOSE: " + message)));
        public override void WriteDebugLine(string message) => Console.Error.WriteLine(Err(Styled(PSStyle.Instance.Formatting.Debug, "DEBUG: " + message)));
        public override void WriteProgress(long sourceId, ProgressRecord record) { }

        private static string Styled(string style, string text) => string.IsNullOrEmpty(style) ? text : style + text + PSStyle.Instance.Reset;

        public override string ReadLine() => Console.In.ReadLine() ?? "";

        public override SecureString ReadLineAsSecureString()
        {
            var s = new SecureString();
            foreach (char c in Console.In.ReadLine() ?? "") s.AppendChar(c);
            s.MakeReadOnly();
            return s;
        }

        public override Dictionary<string, PSObject> Prompt(string caption, string message, Collection<FieldDescription> descriptions)
        {
            if (!string.IsNullOrEmpty(caption)) Console.Out.WriteLine(caption);
            if (!string.IsNullOrEmpty(message)) Console.Out.WriteLine(message);
            var result = new Dictionary<string, PSObject>();
            foreach (FieldDescription d in descriptions)
            {
                Console.Out.Write(d.Name + ": ");
                string? line = Console.In.ReadLine();
                if (line is null)
                {
                    Console.Out.WriteLine();
                    throw new PSInvalidOperationException($"No input for '{d.Name}': standard input is closed.");
                }
                result[d.Name] = PSObject.AsPSObject(line);
            }
            return result;
        }

        /// <summary>
        /// Confirm prompts (-Confirm, ConfirmImpact): one line from stdin; an empty line or end of
        /// input (stdin redirected from nothing) takes the default, as the prompt says.
        /// </summary>
        public override int PromptForChoice(string caption, string message, Collection<ChoiceDescription> choices, int defaultChoice)
        {
            if (!string.IsNullOrEmpty(caption)) Console.Out.WriteLine(caption);
            if (!string.IsNullOrEmpty(message)) Console.Out.WriteLine(message);
            var keys = new List<string>();
            var line = new StringBuilder();
            for (int i = 0; i < choices.Count; i++)
            {
                string label = choices[i].Label;
                int amp = label.IndexOf('&');
                string key = amp >= 0 && amp + 1 < label.Length ? label.Substring(amp + 1, 1).ToUpperInvariant() : label;
                keys.Add(key);
                line.Append('[').Append(key).Append("] ").Append(label.Replace("&", "")).Append("  ");
            }
            line.Append("[?] Help");
            if (defaultChoice >= 0 && defaultChoice < choices.Count) line.Append(" (default is \"").Append(keys[defaultChoice]).Append("\")");
            line.Append(": ");
            while (true)
            {
                Console.Out.Write(line.ToString());
                string? answer = Console.In.ReadLine();
                if (answer is null || Console.IsInputRedirected) Console.Out.WriteLine(answer); // what a terminal would echo
                if (answer is null)
                {
                    // Standard input is closed (a cron job, </dev/null): nobody said yes. Confirmation
                    // prompts default to Yes, so taking the default would delete mail unasked.
                    int no = keys.IndexOf("N");
                    if (no >= 0) return no;
                    throw new PSInvalidOperationException("No answer to the prompt: standard input is closed. Use -Confirm:$false to run without asking.");
                }
                answer = answer.Trim();
                if (answer.Length == 0)
                {
                    if (defaultChoice >= 0 && defaultChoice < choices.Count) return defaultChoice;
                    continue;
                }
                if (answer == "?")
                {
                    for (int i = 0; i < choices.Count; i++) Console.Out.WriteLine(keys[i] + " - " + choices[i].HelpMessage);
                    continue;
                }
                for (int i = 0; i < choices.Count; i++)
                {
                    if (string.Equals(answer, keys[i], StringComparison.OrdinalIgnoreCase) ||
                        string.Equals(answer, choices[i].Label.Replace("&", ""), StringComparison.OrdinalIgnoreCase))
                        return i;
                }
            }
        }

        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) =>
            PromptForCredential(caption, message, userName, targetName, PSCredentialTypes.Default, PSCredentialUIOptions.Default);

        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName,
            PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options)
        {
            if (!string.IsNullOrEmpty(caption)) Console.Out.WriteLine(caption);
            if (!string.IsNullOrEmpty(message)) Console.Out.WriteLine(message);
            if (string.IsNullOrEmpty(userName))
            {
                Console.Out.Write("User: ");
                userName = Console.In.ReadLine() ?? "";
            }
            Console.Out.Write("Password for user " + userName + ": ");
            return new PSCredential(userName, ReadLineAsSecureString());
        }
    }

    /// <summary>The console's size (formatting uses its width) and colours; 120 columns when redirected.</summary>
    internal sealed class ConsoleRawUI : PSHostRawUserInterface
    {
        public const int RedirectedWidth = 120;

        private static int Width()
        {
            if (Console.IsOutputRedirected) return RedirectedWidth;
            try { int w = Console.WindowWidth; return w > 0 ? w : RedirectedWidth; }
            catch (Exception e) when (e is System.IO.IOException || e is PlatformNotSupportedException || e is InvalidOperationException) { return RedirectedWidth; }
        }

        private static int Height()
        {
            if (Console.IsOutputRedirected) return 50;
            try { int h = Console.WindowHeight; return h > 0 ? h : 50; }
            catch (Exception e) when (e is System.IO.IOException || e is PlatformNotSupportedException || e is InvalidOperationException) { return 50; }
        }

        public override ConsoleColor BackgroundColor { get; set; } = ConsoleColor.Black;
        public override ConsoleColor ForegroundColor { get; set; } = ConsoleColor.Gray;
        public override Size BufferSize { get => new Size(Width(), 9001); set { } }
        public override Size WindowSize { get => new Size(Width(), Height()); set { } }
        public override Size MaxWindowSize => WindowSize;
        public override Size MaxPhysicalWindowSize => WindowSize;
        public override Coordinates CursorPosition { get; set; }
        public override Coordinates WindowPosition { get; set; }
        public override int CursorSize { get; set; } = 25;
        public override string WindowTitle { get; set; } = "qmailps";

        public override bool KeyAvailable
        {
            get
            {
                if (Console.IsInputRedirected) return false;
                try { return Console.KeyAvailable; } catch (InvalidOperationException) { return false; }
            }
        }

        public override KeyInfo ReadKey(ReadKeyOptions options)
        {
            ConsoleKeyInfo k = Console.ReadKey((options & ReadKeyOptions.NoEcho) != 0);
            ControlKeyStates state = 0;
            if ((k.Modifiers & ConsoleModifiers.Shift) != 0) state |= ControlKeyStates.ShiftPressed;
            if ((k.Modifiers & ConsoleModifiers.Control) != 0) state |= ControlKeyStates.LeftCtrlPressed;
            if ((k.Modifiers & ConsoleModifiers.Alt) != 0) state |= ControlKeyStates.LeftAltPressed;
            return new KeyInfo((int)k.Key, k.KeyChar, state, true);
        }

        public override void FlushInputBuffer() { }
        public override BufferCell[,] GetBufferContents(Rectangle rectangle) => throw new NotSupportedException("qmailps cannot read the console buffer.");
        public override void ScrollBufferContents(Rectangle source, Coordinates destination, Rectangle clip, BufferCell fill) { }
        public override void SetBufferContents(Coordinates origin, BufferCell[,] contents) { }
        public override void SetBufferContents(Rectangle rectangle, BufferCell fill) { }
    }
}
