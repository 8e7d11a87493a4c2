using BenchmarkDotNet.Attributes;
using HotPage.Perf.Bench;

namespace HotPage.Perf.Lab;

/// <summary>
/// The simulator's own cost: one workload draw plus the residency check, per access (what bounds
/// how many accesses a lab run can afford). In the quick run so the runner always has work.
/// </summary>
[MemoryDiagnoser]
[BenchmarkCategory(BenchRunner.SmokeCategory, "Lab")]
public class LabAccessBenchmarks
{
    private ZipfWorkload? _zipf;
    private TieredMemory? _memory;

    /// <summary>A 64 Ki-page Zipf(1.0) workload on the lab's machine.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _zipf = new ZipfWorkload(1.0, 65536, 2048, 1);
        _memory = new TieredMemory(65536, 16384);
    }

    /// <summary>Frees the machine.</summary>
    [GlobalCleanup]
    public void Cleanup() => _memory?.Dispose();

    /// <summary>One simulated access: draw a page, check where it is.</summary>
    [Benchmark]
    public bool ZipfAccess() => _memory!.Access(_zipf!.Next());
}
