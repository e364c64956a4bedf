using System;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;

namespace QmailPS.Posix
{
    /// <summary>
    /// Loads Mono.Posix.NETStandard and its native helper for the running architecture.
    /// The package ships a different managed dll and libMonoPosixHelper.so per RID, and pwsh ignores
    /// a module's deps.json, so the module carries runtimes/linux-x64 and runtimes/linux-arm64 and
    /// picks one here. The helper is found because .NET probes the directory of the assembly that
    /// declares the DllImport, which is the RID folder the managed dll was loaded from.
    /// </summary>
    internal static class NativeDependencies
    {
        private const string MonoPosixName = "Mono.Posix.NETStandard";
        private static int s_registered;

        public static string ModuleDirectory =>
            Path.GetDirectoryName(typeof(NativeDependencies).Assembly.Location) ?? AppContext.BaseDirectory;

        public static string RuntimeIdentifier => RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => "linux-x64",
            Architecture.Arm64 => "linux-arm64",
            Architecture.Arm => "linux-arm",
            Architecture.X86 => "linux-x86",
            var a => "linux-" + a.ToString().ToLowerInvariant(),
        };

        public static void Register()
        {
            if (System.Threading.Interlocked.Exchange(ref s_registered, 1) == 1) return;
            AppDomain.CurrentDomain.AssemblyResolve += OnAssemblyResolve;
        }

        private static Assembly? OnAssemblyResolve(object? sender, ResolveEventArgs args)
        {
            var name = new AssemblyName(args.Name);
            if (!string.Equals(name.Name, MonoPosixName, StringComparison.Ordinal)) return null;
            string path = Path.Combine(ModuleDirectory, "runtimes", RuntimeIdentifier, MonoPosixName + ".dll");
            if (!File.Exists(path))
            {
                throw new PlatformNotSupportedException(
                    $"QmailPS has no POSIX helper for {RuntimeIdentifier} (looked for '{path}'). Supported: linux-x64, linux-arm64 with glibc.");
            }
            return Assembly.LoadFrom(path);
        }
    }
}
