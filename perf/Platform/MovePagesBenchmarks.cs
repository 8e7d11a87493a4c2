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
[SupportedOSPlatform("linux")]
public unsafe class MovePagesBenchmarks : PlatformCallBenchmarks
{
    [Benchmark(Baseline = true)]
    public long DirectSyscall()
    {
        fixed (nint* p = Addresses)
        fixed (int* n = Nodes)
        fixed (PageStatus* s = Status)
        {
            return LibC.syscall((nint)LibC.SYS_move_pages, 0, Pages, (nint)p, (nint)n, (nint)s, LibC.MPOL_MF_MOVE);
        }
    }

    [Benchmark]
    public PlatformResult PlatformMovePages() => Platform.MovePages(0, Addresses, Nodes, Status);
}
