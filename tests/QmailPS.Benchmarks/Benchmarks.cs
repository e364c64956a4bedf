using System;
using System.Management.Automation.Runspaces;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace QmailPS.Benchmarks
{
    /// <summary>
    /// In-process (the ProjectReference is not copied, QmailPS.dll comes from out/QmailPS through
    /// ModuleAssembly's resolver, which BenchmarkDotNet's generated project would not have), one
    /// invocation per iteration: every operation here takes from milliseconds to seconds.
    /// </summary>
    public sealed class BenchConfig : ManualConfig
    {
        public BenchConfig()
        {
            AddJob(Job.Default
                .WithToolchain(InProcessEmitToolchain.Instance)
                .WithStrategy(RunStrategy.Monitoring)
                .WithLaunchCount(1)
                .WithWarmupCount(1)
                .WithIterationCount(IntEnv("QMAILPS_BENCH_ITERATIONS", 7))
                .WithInvocationCount(1)
                .WithUnrollFactor(1)
                .WithId("InProcess"));
            WithOptions(ConfigOptions.DisableOptimizationsValidator);
        }

        internal static int IntEnv(string name, int fallback) =>
            int.TryParse(Environment.GetEnvironmentVariable(name), out int v) && v > 0 ? v : fallback;
    }

    /// <summary>
    /// (a) Get-QmailQueueMessage, (b) QueueScanner.Scan, (c) the Perl baseline, over the cached queue
    /// of QMAILPS_BENCH_N messages (default 100000). Perl is the baseline (ratio column).
    /// </summary>
    [Config(typeof(BenchConfig))]
    public class QueueScanBenchmarks
    {
        private Runspace? _rs;
        private string _queue = "";
        private int _n;

        [GlobalSetup]
        public void Setup()
        {
            _n = BenchConfig.IntEnv("QMAILPS_BENCH_N", 100000);
            _queue = QueueGenerator.Ensure(_n);
            _rs = Workloads.OpenRunspaceWithModule();
            Console.WriteLine("// " + Os.ModuleInfo());
        }

        [GlobalCleanup]
        public void Cleanup() => _rs?.Dispose();

        [Benchmark(Description = "(a) @(Get-QmailQueueMessage -QueuePath $q).Count")]
        public int Cmdlet()
        {
            int n = Workloads.Cmdlet(_rs!, _queue);
            if (n != _n) throw new InvalidOperationException($"Get-QmailQueueMessage returned {n}, expected {_n}");
            return n;
        }

        [Benchmark(Description = "(b) QueueScanner.Scan")]
        public int Scanner()
        {
            int n = Workloads.Scanner(_queue);
            if (n != _n) throw new InvalidOperationException($"QueueScanner found {n}, expected {_n}");
            return n;
        }

        [Benchmark(Baseline = true, Description = "(c) perl qread-baseline.pl")]
        public void Perl() => Workloads.Perl(_queue);
    }

    /// <summary>(d) A new runspace plus Import-Module of out/QmailPS/QmailPS.psd1 (warm: same process,
    /// so the assembly is loaded and jitted after the first time; see `import` mode for cold).</summary>
    [Config(typeof(BenchConfig))]
    public class ImportBenchmarks
    {
        [GlobalSetup]
        public void Setup() => Console.WriteLine("// " + Os.ModuleInfo());

        [Benchmark(Description = "(d) new runspace + Import-Module QmailPS.psd1")]
        public void NewRunspaceAndImport()
        {
            using Runspace rs = Workloads.OpenRunspaceWithModule();
        }
    }
}
