using System;
using System.IO;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace QmailPS.Tests.Support
{
    /// <summary>Paths of the repository, the staged module and tests/golden (a copy of real qmail's output, never edited), found from the test binary.</summary>
    public static class Repo
    {
        public static readonly string Root = FindRoot();
        /// <summary>The module this configuration staged: out/QmailPS (Release) or out/Debug/QmailPS (Debug).</summary>
        public static string ModuleDir => Path.Combine(Root, StagedModule);
#if DEBUG
        public const string StagedModule = "out/Debug/QmailPS";
#else
        public const string StagedModule = "out/QmailPS";
#endif
        public static string Manifest => Path.Combine(ModuleDir, "QmailPS.psd1");
        public static string Golden => Path.Combine(Root, "tests", "golden");

        private static string FindRoot()
        {
            string? dir = AppContext.BaseDirectory;
            while (dir != null)
            {
                if (File.Exists(Path.Combine(dir, "QmailPS.sln")) && File.Exists(Path.Combine(dir, "QmailPS.psd1"))) return dir;
                dir = Path.GetDirectoryName(dir.TrimEnd('/'));
            }
            throw new InvalidOperationException("Cannot find the repository root above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>
    /// The tests compile against QmailPS but do not copy it: the one QmailPS.dll in this process is
    /// out/QmailPS/QmailPS.dll, the file Import-Module loads, so the tests see exactly what pwsh sees
    /// (and its Mono.Posix comes through the module's own runtimes/ resolver).
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
