using System.Runtime.Versioning;
using BenchmarkDotNet.Attributes;
using HotPage.Interop.Linux;
using HotPage.Interop.Platform;

namespace HotPage.Perf.Platform;

/// <summary>
/// The platform layer's own overhead without the kernel's move cost: <c>move_pages(2)</c> in query
/// mode (nodes = NULL: no LRU drain, no migration) through <see cref="LinuxPlatform.QueryPages"/>
/// and through the syscall directly. A move call is dominated by the kernel's
/// <c>lru_add_drain_all</c>, whose cost depends on what the other CPUs are doing; this pair isolates
/// what the layer adds (pinning, chunking, the result value).
/// </summary>
[MemoryDiagnoser]
[SupportedOSPlatform("linux")]
public unsafe class QueryPagesBenchmarks
{
    private LinuxPlatform _platform = null!;
    private NodeMemory _memory;
    private nint[] _pages = null!;
    private PageStatus[] _status = null!;

    /// <summary>Pages per call.</summary>
    [Params(1, 64, 512, 4096)]
    public int Pages { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _platform = new LinuxPlatform(new LinuxPlatformOptions { BatchSize = 4096 });
        _memory = _platform.AllocateOnNode((nuint)(Pages * _platform.PageSize), 0);
        _pages = GC.AllocateArray<nint>(Pages, pinned: true);
        _status = GC.AllocateArray<PageStatus>(Pages, pinned: true);
        for (int i = 0; i < Pages; i++)
        {
            _pages[i] = _memory.Address + (i * _platform.PageSize);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _platform.Free(_memory);
        _platform.Dispose();
    }

    [Benchmark(Baseline = true)]
    public long DirectSyscall()
    {
        fixed (nint* p = _pages)
        fixed (PageStatus* s = _status)
        {
            return LibC.syscall((nint)LibC.SYS_move_pages, 0, Pages, (nint)p, 0, (nint)s, 0);
        }
    }

    [Benchmark]
    public PlatformResult PlatformQueryPages() => _platform.QueryPages(0, _pages, _status);
}
