using System.Runtime.Versioning;
using BenchmarkDotNet.Attributes;
using HotPage.Interop.Platform;

namespace HotPage.Perf.Platform;

/// <summary>
/// What the platform-layer pairs share (<see cref="MovePagesBenchmarks"/>, <see cref="QueryPagesBenchmarks"/>):
/// <see cref="Pages"/> pages allocated on node 0, their addresses, the nodes to move them to (node 0)
/// and a status buffer, all pinned, so a direct syscall and the platform call see the same memory.
/// </summary>
[MemoryDiagnoser]
[SupportedOSPlatform("linux")]
public abstract class PlatformCallBenchmarks
{
    private NodeMemory _memory;

    /// <summary>Pages per call.</summary>
    [Params(1, 64, 512, 4096)]
    public int Pages { get; set; }

    protected LinuxPlatform Platform { get; private set; } = null!;

    protected nint[] Addresses { get; private set; } = null!;

    protected int[] Nodes { get; private set; } = null!;

    protected PageStatus[] Status { get; private set; } = null!;

    [GlobalSetup]
    public void Setup()
    {
        Platform = new LinuxPlatform(new LinuxPlatformOptions { BatchSize = 4096 });
        _memory = Platform.AllocateOnNode((nuint)(Pages * Platform.PageSize), 0);
        Addresses = GC.AllocateArray<nint>(Pages, pinned: true);
        Nodes = GC.AllocateArray<int>(Pages, pinned: true);
        Status = GC.AllocateArray<PageStatus>(Pages, pinned: true);
        for (int i = 0; i < Pages; i++)
        {
            Addresses[i] = _memory.Address + (i * Platform.PageSize);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        Platform.Free(_memory);
        Platform.Dispose();
    }
}
