using System.Runtime.Versioning;
using BenchmarkDotNet.Attributes;
using HotPage.Interop.Linux;
using HotPage.Interop.Platform;

namespace HotPage.Perf.Platform;

/// <summary>
/// The cost of the platform layer over a bare <c>move_pages(2)</c>: the same batch of pages, all on
/// node 0, moved to node 0 (the kernel walks every page and writes its status, no copy), through
/// <see cref="LinuxPlatform.MovePages"/> and through the syscall directly. Goal: at most 1.05x the
/// direct call at 512 pages, and 0 B allocated.
/// </summary>
[MemoryDiagnoser]
[SupportedOSPlatform("linux")]
public unsafe class MovePagesBenchmarks
{
    private LinuxPlatform _platform = null!;
    private NodeMemory _memory;
    private nint[] _pages = null!;
    private int[] _nodes = null!;
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
        _nodes = GC.AllocateArray<int>(Pages, pinned: true);
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
        fixed (int* n = _nodes)
        fixed (PageStatus* s = _status)
        {
            return LibC.syscall((nint)LibC.SYS_move_pages, 0, Pages, (nint)p, (nint)n, (nint)s, LibC.MPOL_MF_MOVE);
        }
    }

    [Benchmark]
    public PlatformResult PlatformMovePages() => _platform.MovePages(0, _pages, _nodes, _status);
}
