using System;
using System.IO;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace QmailPS.Benchmarks
{
    /// <summary>Paths of the repository and the staged module, found from the benchmark binary.</summary>
    public static class Repo
    {
        public static readonly string Root = FindRoot();
        /// <summary>out/QmailPS, or QMAILPS_MODULE_DIR (a module staged elsewhere, e.g. a Release build of
        /// one commit, so that concurrent Debug builds into out/ do not change what is measured).</summary>
        public static string ModuleDir =>
            Environment.GetEnvironmentVariable("QMAILPS_MODULE_DIR") is string d && d.Length > 0 ? Path.GetFullPath(d) : Path.Combine(Root, Staged);
#if DEBUG
        private const string Staged = "out/Debug/QmailPS";
#else
        private const string Staged = "out/QmailPS";
#endif
        public static string Manifest => Path.Combine(ModuleDir, "QmailPS.psd1");
        public static string BenchDir => Path.Combine(Root, "tests", "QmailPS.Benchmarks");
        public static string PerlBaseline
        {
            get
            {
                string beside = Path.Combine(AppContext.BaseDirectory, "qread-baseline.pl");
                return File.Exists(beside) ? beside : Path.Combine(BenchDir, "qread-baseline.pl");
            }
        }

        private static string FindRoot()
        {
            string? dir = AppContext.BaseDirectory;
            while (dir != null)
            {
                if (File.Exists(Path.Combine(dir, "QmailPS.sln")) && File.Exists(Path.Combine(dir, "QmailPS.psd1"))) return dir;
                dir = Path.GetDirectoryName(dir.TrimEnd('/'));
            }
            // A published copy (e.g. a ReadyToRun build under /tmp): the checkout this file was compiled from.
            string fromSource = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(SourceFile())!, "..", ".."));
            if (File.Exists(Path.Combine(fromSource, "QmailPS.psd1"))) return fromSource;
            throw new InvalidOperationException("Cannot find the repository root above " + AppContext.BaseDirectory);
        }

        private static string SourceFile([CallerFilePath] string path = "") => path;
    }

    /// <summary>
    /// Same trick as the tests (tests/QmailPS.Tests/Support/Repo.cs): the benchmarks compile against
    /// QmailPS but do not copy it, so the QmailPS.dll used directly here (QueueWriter, QueueScanner)
    /// is the very assembly Import-Module loads from out/QmailPS.
    /// </summary>
    internal static class ModuleAssembly
    {
        [ModuleInitializer]
        internal static void Init()
        {
            AppDomain.CurrentDomain.AssemblyResolve += (_, args) =>
            {
                if (new AssemblyName(args.Name).Name != "QmailPS") return null;
                string path = Path.Combine(Repo.ModuleDir, "QmailPS.dll");
                return File.Exists(path) ? Assembly.LoadFrom(path) : null;
            };
        }
    }
}
