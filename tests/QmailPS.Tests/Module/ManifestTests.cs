using System;
using System.Collections;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Reflection;
using QmailPS.Tests.Support;
using Xunit;

namespace QmailPS.Tests.Module
{
    public sealed class ManifestTests : IClassFixture<ManifestTests.Session>
    {
        public sealed class Session : IDisposable
        {
            public PsSession Ps { get; } = new PsSession();
            public void Dispose() => Ps.Dispose();
        }

        private readonly PsSession _ps;
        public ManifestTests(Session s) { _ps = s.Ps; }

        private static Type[] CmdletTypes => typeof(QueueMessage).Assembly.GetTypes()
            .Where(t => t.GetCustomAttribute<CmdletAttribute>() != null).ToArray();

        private static string NameOf(Type t) { var a = t.GetCustomAttribute<CmdletAttribute>()!; return a.VerbName + "-" + a.NounName; }

        [Fact]
        public void Test_ModuleManifest_accepts_the_staged_manifest()
        {
            var r = _ps.Run("Test-ModuleManifest -Path $q", Repo.Manifest).AssertClean();
            var info = (PSModuleInfo)r.Output.Single().BaseObject;
            Assert.Equal("QmailPS", info.Name);
            Assert.Contains("Core", info.CompatiblePSEditions);
            Assert.Equal(new Version(7, 2), info.PowerShellVersion);
            Assert.NotEqual(Guid.Empty, info.Guid);
            Assert.False(string.IsNullOrWhiteSpace(info.Description));
            // No URI that points nowhere: the licence ships as a file beside the manifest.
            Assert.Null(info.ProjectUri);
            Assert.Null(info.LicenseUri);
            Assert.StartsWith("MIT License", File.ReadAllText(Path.Combine(Repo.ModuleDir, "LICENSE")));
            var tags = ((IEnumerable)((Hashtable)((Hashtable)info.PrivateData)["PSData"]!)["Tags"]!).Cast<object>().Select(o => o.ToString());
            Assert.Contains("qmail", tags);
        }

        [Fact]
        public void Exports_exactly_the_cmdlets_the_assembly_defines()
        {
            var r = _ps.Run("(Get-Module QmailPS).ExportedCmdlets.Keys").AssertClean();
            Assert.Equal(CmdletTypes.Select(NameOf).OrderBy(n => n), r.Output.Select(o => (string)o.BaseObject).OrderBy(n => n));
        }

        [Fact]
        public void Import_writes_no_warnings_so_every_verb_is_approved()
        {
            Assert.Empty(_ps.ImportWarnings);
            foreach (Type t in CmdletTypes)
            {
                string verb = t.GetCustomAttribute<CmdletAttribute>()!.VerbName;
                bool approved = new[] { typeof(VerbsCommon), typeof(VerbsData), typeof(VerbsLifecycle), typeof(VerbsDiagnostic), typeof(VerbsCommunications), typeof(VerbsSecurity), typeof(VerbsOther) }
                    .SelectMany(v => v.GetFields()).Any(f => (string?)f.GetValue(null) == verb);
                Assert.True(approved, $"{NameOf(t)} uses an unapproved verb");
            }
        }

        [Fact]
        public void Manifest_version_equals_assembly_version()
        {
            var r = _ps.Run("(Get-Module QmailPS).Version.ToString()").AssertClean();
            Version asm = typeof(QueueMessage).Assembly.GetName().Version!;
            Assert.Equal(new Version(asm.Major, asm.Minor, asm.Build).ToString(), (string)r.Output.Single().BaseObject);
        }

        [Fact]
        public void Every_cmdlet_declares_OutputType_and_changing_ones_support_ShouldProcess()
        {
            string[] changing = { "Remove", "Set", "Repair", "Stop", "Clear", "New", "Add", "Send", "Move", "Reset" };
            foreach (Type t in CmdletTypes)
            {
                Assert.True(t.GetCustomAttributes<OutputTypeAttribute>().Any(), $"{NameOf(t)} has no [OutputType]");
                var c = t.GetCustomAttribute<CmdletAttribute>()!;
                if (changing.Contains(c.VerbName)) Assert.True(c.SupportsShouldProcess, $"{NameOf(t)} changes state but lacks SupportsShouldProcess");
                Assert.True(t.IsSealed, $"{t.Name} should be sealed");
                Assert.Equal("QmailPS.Commands", t.Namespace);
            }
        }

        [Fact]
        public void The_cmdlets_run_from_the_staged_module_not_a_copy_in_the_test_bin()
        {
            var r = _ps.Run("(Get-Command Get-QmailQueueMessage).ImplementingType.Assembly.Location").AssertClean();
            Assert.Equal(Path.Combine(Repo.ModuleDir, "QmailPS.dll"), (string)r.Output.Single().BaseObject);
            // and the POSIX helper came through the module's own runtimes/<rid> resolver
            _ = QmailPS.Tests.Support.TestFs.Raw.EffectiveUserId;
            var mono = AppDomain.CurrentDomain.GetAssemblies().Single(a => a.GetName().Name == "Mono.Posix.NETStandard");
            Assert.StartsWith(Path.Combine(Repo.ModuleDir, "runtimes") + "/", mono.Location);
        }
    }

    /// <summary>What pwsh needs in out/QmailPS (pitfall 2: pwsh ignores a module's deps.json).</summary>
    public sealed class PackagingTests
    {
        [Theory]
        [InlineData("linux-x64", 62)]     // EM_X86_64
        [InlineData("linux-arm64", 183)]  // EM_AARCH64
        public void Both_architectures_carry_their_own_posix_helper(string rid, int elfMachine)
        {
            string dir = Path.Combine(Repo.ModuleDir, "runtimes", rid);
            Assert.True(File.Exists(Path.Combine(dir, "Mono.Posix.NETStandard.dll")), rid + " managed helper missing");
            byte[] so = File.ReadAllBytes(Path.Combine(dir, "libMonoPosixHelper.so"));
            Assert.Equal(new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F' }, so.Take(4));
            Assert.Equal(elfMachine, BitConverter.ToUInt16(so, 18));
        }

        [Fact]
        public void Module_folder_has_what_import_needs_and_nothing_of_PowerShell_itself()
        {
            foreach (string f in new[] { "QmailPS.psd1", "QmailPS.dll", "QmailPS.Format.ps1xml" })
                Assert.True(File.Exists(Path.Combine(Repo.ModuleDir, f)), f + " missing from out/QmailPS");
            var all = Directory.GetFiles(Repo.ModuleDir, "*", SearchOption.AllDirectories).Select(Path.GetFileName).ToList();
            Assert.DoesNotContain("System.Management.Automation.dll", all);
            Assert.False(File.Exists(Path.Combine(Repo.ModuleDir, "Mono.Posix.NETStandard.dll")), "a flat Mono.Posix would be the x64 one on every machine");
        }
    }
}
