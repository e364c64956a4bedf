using System;
using System.IO;
using System.Management.Automation;

[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

namespace QmailPS.Host
{
    /// <summary>
    /// qmailps: the QmailPS cmdlets on machines without pwsh.
    ///   qmailps -Command '&lt;PowerShell&gt;' [-QueuePath &lt;dir&gt;]   run a command line, output as pwsh shows it
    ///   qmailps                                            build a sample queue and tour the module on it
    /// </summary>
    public static class Program
    {
        public const int ExitOk = 0, ExitFailed = 1, ExitUsage = 64, ExitCancelled = 130;

        private const string Usage =
            "Usage: qmailps -Command '<PowerShell command line>' [-QueuePath <queue directory>]\n" +
            "       qmailps -Command - [-QueuePath <dir>]    read the command line from standard input\n" +
            "       qmailps                                 build a sample queue and show a short tour\n" +
            "\n" +
            "Runs PowerShell with the QmailPS module imported (QMAILPS_MODULE=<QmailPS.psd1> to choose it).\n" +
            "-QueuePath becomes the default -QueuePath of every QmailPS cmdlet and the variable $QueuePath.\n" +
            "Only PowerShell's core cmdlets are available (Where-Object, ForEach-Object, Out-Default, ...).\n" +
            "Exit code: 0, or 1 when the command wrote an error, 130 after Ctrl+C, 64 for bad arguments.";

        public static int Main(string[] args)
        {
            string? command = null, queuePath = null;
            for (int i = 0; i < args.Length; i++)
            {
                string a = args[i];
                string name = a.StartsWith("--", StringComparison.Ordinal) ? a.Substring(1) : a;
                if (Is(name, "-Command", "-c"))
                {
                    if (++i >= args.Length) return Bad("-Command needs a value.");
                    command = args[i];
                }
                else if (Is(name, "-QueuePath", "-q"))
                {
                    if (++i >= args.Length) return Bad("-QueuePath needs a value.");
                    queuePath = args[i];
                }
                else if (Is(name, "-Help", "-h", "-?"))
                {
                    Console.Out.WriteLine(Usage);
                    return ExitOk;
                }
                else return Bad($"Unknown argument '{a}'.");
            }
            if (command is null && queuePath != null) return Bad("-QueuePath goes with -Command.");
            if (command == "-") command = Console.In.ReadToEnd();

            string? manifest = ModuleLocation.Manifest;
            if (manifest is null)
            {
                Console.Error.WriteLine("qmailps: " + ModuleLocation.Problem);
                return ExitFailed;
            }

            HostSession session;
            try { session = new HostSession(manifest); }
            catch (RuntimeException e)
            {
                Console.Error.WriteLine($"qmailps: cannot import the QmailPS module from '{manifest}': {e.Message}");
                return ExitFailed;
            }
            using (session)
            {
                if (command is null) return Tour.Run(session);
                if (queuePath != null) session.UseQueue(queuePath);
                bool ok = session.Run(command);
                if (session.Cancelled) return ExitCancelled;
                if (session.ExitRequested is int code) return code;
                return ok ? ExitOk : ExitFailed;
            }
        }

        private static bool Is(string arg, params string[] names)
        {
            foreach (string n in names) if (string.Equals(arg, n, StringComparison.OrdinalIgnoreCase)) return true;
            return false;
        }

        private static int Bad(string message)
        {
            Console.Error.WriteLine("qmailps: " + message);
            Console.Error.WriteLine(Usage);
            return ExitUsage;
        }
    }
}
