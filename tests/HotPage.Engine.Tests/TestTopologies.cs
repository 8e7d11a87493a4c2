using System.Collections.ObjectModel;
using HotPage.Interop.Platform;

namespace HotPage.Engine.Tests;

/// <summary>Topologies the engine tests use.</summary>
internal static class TestTopologies
{
    /// <summary>Node 0: CPUs, top tier. Node 1: CPU-less, lower tier (how CXL memory appears).</summary>
    public static NumaTopology TwoTier() => new(
        [Node(0, [0, 1], 0), Node(1, [], 1)],
        new[,] { { 10, 20 }, { 20, 10 } });

    /// <summary>Nodes 0 and 1: top tier with CPUs; 2 (near 0) and 3 (near 1): CPU-less lower tier.</summary>
    public static NumaTopology FourNodes() => new(
        [Node(0, [0], 0), Node(1, [1], 0), Node(2, [], 1), Node(3, [], 1)],
        new[,] { { 10, 21, 17, 28 }, { 21, 10, 28, 17 }, { 17, 28, 10, 28 }, { 28, 17, 28, 10 } });

    private static NumaNode Node(int id, int[] cpus, int tier) =>
        new(id, new ReadOnlyCollection<int>(cpus), 1L << 30, 1L << 29, tier);
}

/// <summary>A clock tests move by hand.</summary>
internal sealed class ManualClock : TimeProvider
{
    private long _ticks;

    public override long TimestampFrequency => 1000;

    public override long GetTimestamp() => Volatile.Read(ref _ticks);

    public void Advance(long ms) => Interlocked.Add(ref _ticks, ms);
}

/// <summary>A platform that answers residency queries from a map; moves are not used by these tests.</summary>
internal sealed class ResidencyOnlyPlatform(NumaTopology topology, Func<nint, int> nodeOf) : IMemoryPlatform
{
    public string Name => "residency-only";

    public int PageSize => 4096;

    public NumaTopology GetTopology() => topology;

    public int GetCurrentCpu() => 0;

    public int GetCurrentNode() => 0;

    public long GetFreeBytes(int node) => topology.Exists(node) ? topology[node].FreeBytes : -1;

    public PlatformResult QueryPages(int pid, ReadOnlySpan<nint> pages, Span<PageStatus> status)
    {
        for (int i = 0; i < pages.Length; i++)
        {
            status[i] = PageStatus.OnNode(nodeOf(pages[i]));
        }

        return PlatformResult.Ok;
    }

    public PlatformResult MovePages(int pid, ReadOnlySpan<nint> pages, ReadOnlySpan<int> nodes, Span<PageStatus> status) =>
        throw new NotSupportedException("these tests do not move pages");

    public NodeMemory AllocateOnNode(nuint bytes, int node) => throw new NotSupportedException("these tests do not allocate");

    public void Free(NodeMemory memory) => throw new NotSupportedException("these tests do not allocate");

    public void Dispose()
    {
    }
}
