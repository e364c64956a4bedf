using System;
using System.IO;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace QmailPS.Host
{
    /// <summary>
    /// Where the QmailPS module is: $env:QMAILPS_MODULE (a .psd1, or the folder holding
    /// QmailPS.psd1), else out/QmailPS/QmailPS.psd1 of the repository this host was built in (the
    /// first folder above the binary that holds QmailPS.sln).
    /// </summary>
    internal static class ModuleLocation
    {
        private static readonly Lazy<(string? Manifest, string? Problem)> s_found = new Lazy<(string?, string?)>(Find);

        public static string? Manifest => s_found.Value.Manifest;
        public static string? Problem => s_found.Value.Problem;
        public static string? Directory => Manifest is null ? null : Path.GetDirectoryName(Manifest);

        private static (string?, string?) Find()
        {
            string? env = Environment.GetEnvironmentVariable("QMAILPS_MODULE");
            if (!string.IsNullOrEmpty(env))
            {
                string path = Path.GetFullPath(env);
                if (System.IO.Directory.Exists(path)) path = Path.Combine(path, "QmailPS.psd1");
                return File.Exists(path)
                    ? (path, null)
                    : (null, $"QMAILPS_MODULE is '{env}', but there is no module manifest at '{path}'.");
            }
            string? dir = AppContext.BaseDirectory;
            while (!string.IsNullOrEmpty(dir))
            {
                if (File.Exists(Path.Combine(dir, "QmailPS.sln")))
                {
                    // The module staged by the same configuration as this host (Debug never stages out/QmailPS).
#if DEBUG
                    string manifest = Path.Combine(dir, "out", "Debug", "QmailPS", "QmailPS.psd1");
#else
                    string manifest = Path.Combine(dir, "out", "QmailPS", "QmailPS.psd1");
#endif
                    return File.Exists(manifest)
                        ? (manifest, null)
                        : (null, $"The QmailPS module is not staged at '{manifest}'. Build it first: dotnet build \"{Path.Combine(dir, "src", "QmailPS")}\".");
                }
                string trimmed = dir.TrimEnd('/');
                if (trimmed.Length == 0) break;
                dir = Path.GetDirectoryName(trimmed);
            }
            return (null, $"Cannot find the QmailPS repository (a folder with QmailPS.sln) above '{AppContext.BaseDirectory}'. Set QMAILPS_MODULE to the path of QmailPS.psd1.");
        }
    }

    /// <summary>
    /// This host compiles against QmailPS but does not copy it: the one QmailPS.dll in the process
    /// is the staged module's, the file Import-Module loads, so the sample-queue writer and the
    /// cmdlets share one assembly (and its Mono.Posix comes through the module's own resolver).
    /// Registered before Main, so before any QmailPS type is touched.
    /// </summary>
    internal static class ModuleAssembly
    {
        [ModuleInitializer]
        internal static void Init()
        {
            AppDomain.CurrentDomain.AssemblyResolve += (_, args) =>
            {
                if (new AssemblyName(args.Name).Name != "QmailPS") return null;
                string? dir = ModuleLocation.Directory;
                if (dir is null) return null;
                string path = Path.Combine(dir, "QmailPS.dll");
                return File.Exists(path) ? Assembly.LoadFrom(path) : null;
            };
        }
    }
}
