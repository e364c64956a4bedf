using System.Management.Automation;
using QmailPS.Posix;

namespace QmailPS
{
    /// <summary>Runs on Import-Module: make the per-architecture POSIX helper resolvable first.</summary>
    public sealed class ModuleInitializer : IModuleAssemblyInitializer
    {
        public void OnImport() => NativeDependencies.Register();
    }
}
