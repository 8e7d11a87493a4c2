namespace HotPage.Interop.Platform;

/// <summary>One node of a simulated machine.</summary>
/// <param name="Id">The node id (0..<see cref="NumaTopology.MaxNodeId"/>).</param>
/// <param name="Cpus">The node's CPUs; empty for a memory-only (CXL-like) node.</param>
/// <param name="CapacityPages">How many pages the node holds; moves beyond it fail with <c>-ENOMEM</c>.</param>
/// <param name="Tier">The tier rank: 0 is the fastest.</param>
public sealed record SimulatedNode(int Id, IReadOnlyList<int> Cpus, long CapacityPages, int Tier);

/// <summary>
/// The description a <see cref="SimulatedPlatform"/> is built from: nodes, distances (indexed by
/// position in <see cref="Nodes"/>; null means 10 on the diagonal and 20 elsewhere), a seed for
/// every random choice, and the fault injection knobs.
/// </summary>
public sealed record SimulatedMachine
{
    /// <summary>The nodes.</summary>
    public required IReadOnlyList<SimulatedNode> Nodes { get; init; }

    /// <summary>SLIT distances indexed by position in <see cref="Nodes"/>; null for 10 local, 20 remote.</summary>
    public int[,]? Distances { get; init; }

    /// <summary>The seed of the platform's random source (busy pages). Same seed and calls, same answers.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>The probability, in [0, 1], that a page is busy (<c>-EBUSY</c>) at any one move attempt.</summary>
    public double BusyProbability { get; init; }

    /// <summary>The page size in bytes (a power of two, at least 4096).</summary>
    public int PageSize { get; init; } = 4096;

    /// <summary>
    /// A two-node machine the way CXL memory appears: node 0 with <paramref name="cpus"/> CPUs in
    /// the top tier, node 1 memory-only in the tier below, distances 10/20.
    /// </summary>
    public static SimulatedMachine TwoTier(long topPages, long lowerPages, int cpus = 2, ulong seed = 1) => new()
    {
        Nodes =
        [
            new SimulatedNode(0, Enumerable.Range(0, cpus).ToArray(), topPages, 0),
            new SimulatedNode(1, [], lowerPages, 1),
        ],
        Seed = seed,
    };
}
