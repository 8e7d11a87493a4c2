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
[SupportedOSPlatform("linux")]
public unsafe class QueryPagesBenchmarks : PlatformCallBenchmarks
{
    [Benchmark(Baseline = true)]
    public long DirectSyscall()
    {
        fixed (nint* p = Addresses)
        fixed (PageStatus* s = Status)
        {
            return LibC.syscall((nint)LibC.SYS_move_pages, 0, Pages, (nint)p, 0, (nint)s, 0);
        }
    }

    [Benchmark]
    public PlatformResult PlatformQueryPages() => Platform.QueryPages(0, Addresses, Status);
}
