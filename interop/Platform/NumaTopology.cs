using System.Collections.ObjectModel;

namespace HotPage.Interop.Platform;

/// <summary>One NUMA node as the platform reports it.</summary>
/// <param name="Id">The node id (as the kernel numbers it).</param>
/// <param name="Cpus">The CPUs on the node; empty for a memory-only node (how CXL memory appears).</param>
/// <param name="TotalBytes">Memory on the node, in bytes.</param>
/// <param name="FreeBytes">Free memory on the node when the topology was read, in bytes.</param>
/// <param name="Tier">The node's memory tier rank: 0 is the fastest tier present; larger is slower.</param>
public sealed record NumaNode(int Id, ReadOnlyCollection<int> Cpus, long TotalBytes, long FreeBytes, int Tier)
{
    /// <summary>True when the node has CPUs.</summary>
    public bool HasCpus => Cpus.Count > 0;
}

/// <summary>
/// A snapshot of the machine's NUMA layout: nodes, their distances and their memory tiers.
/// Tiers are ranks (0 = top tier). Built once by a platform and shared read-only; free memory
/// changes under it, so a promoter asks the platform for fresh free-memory figures each round.
/// </summary>
public sealed class NumaTopology
{
    /// <summary>Node ids are below this bound (the kernel's MAX_NUMNODES is 1024; one value is kept back).</summary>
    public const int MaxNodeId = 1022;

    private readonly NumaNode?[] _byId;
    private readonly int[,] _distance;
    private readonly int[] _defaultTarget;

    /// <summary>Creates a topology. <paramref name="distances"/> is indexed by position in <paramref name="nodes"/>.</summary>
    /// <exception cref="ArgumentException">The description is inconsistent (duplicate ids, bad distance matrix, no top tier).</exception>
    public NumaTopology(IReadOnlyList<NumaNode> nodes, int[,] distances)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        ArgumentNullException.ThrowIfNull(distances);
        if (nodes.Count == 0)
        {
            throw new ArgumentException("A topology needs at least one node.", nameof(nodes));
        }

        if (distances.GetLength(0) != nodes.Count || distances.GetLength(1) != nodes.Count)
        {
            throw new ArgumentException($"The distance matrix is {distances.GetLength(0)}x{distances.GetLength(1)}, but there are {nodes.Count} nodes.", nameof(distances));
        }

        int maxId = 0;
        foreach (NumaNode n in nodes)
        {
            if (n.Id < 0 || n.Id > MaxNodeId)
            {
                throw new ArgumentException($"Node id {n.Id} is outside 0..{MaxNodeId}.", nameof(nodes));
            }

            maxId = Math.Max(maxId, n.Id);
        }

        _byId = new NumaNode?[maxId + 1];
        _distance = new int[maxId + 1, maxId + 1];
        for (int i = 0; i < nodes.Count; i++)
        {
            if (_byId[nodes[i].Id] is not null)
            {
                throw new ArgumentException($"Node {nodes[i].Id} is listed twice.", nameof(nodes));
            }

            _byId[nodes[i].Id] = nodes[i];
            for (int j = 0; j < nodes.Count; j++)
            {
                _distance[nodes[i].Id, nodes[j].Id] = distances[i, j];
            }
        }

        Nodes = new ReadOnlyCollection<NumaNode>(nodes.OrderBy(n => n.Id).ToArray());
        int topRank = Nodes.Min(n => n.Tier);
        TopTierNodes = new ReadOnlyCollection<int>(Nodes.Where(n => n.Tier == topRank).Select(n => n.Id).ToArray());
        LowerTierNodes = new ReadOnlyCollection<int>(Nodes.Where(n => n.Tier != topRank).Select(n => n.Id).ToArray());

        // The default promotion target of each node: the nearest top-tier node (ties: lowest id).
        _defaultTarget = new int[maxId + 1];
        Array.Fill(_defaultTarget, -1);
        foreach (NumaNode n in Nodes)
        {
            _defaultTarget[n.Id] = TopTierNodes.OrderBy(t => _distance[n.Id, t]).ThenBy(t => t).First();
        }
    }

    /// <summary>All nodes, ordered by id.</summary>
    public ReadOnlyCollection<NumaNode> Nodes { get; }

    /// <summary>Ids of the nodes in the fastest tier present.</summary>
    public ReadOnlyCollection<int> TopTierNodes { get; }

    /// <summary>Ids of the nodes in slower tiers (empty on a single-tier machine).</summary>
    public ReadOnlyCollection<int> LowerTierNodes { get; }

    /// <summary>One past the largest node id.</summary>
    public int NodeIdLimit => _byId.Length;

    /// <summary>True when <paramref name="id"/> names a node of this machine.</summary>
    public bool Exists(int id) => (uint)id < (uint)_byId.Length && _byId[id] is not null;

    /// <summary>The node with id <paramref name="id"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such node.</exception>
    public NumaNode this[int id] => Exists(id) ? _byId[id]! : throw new ArgumentOutOfRangeException(nameof(id), id, $"There is no node {id}; nodes are {string.Join(",", Nodes.Select(n => n.Id))}.");

    /// <summary>True when <paramref name="id"/> is a node in the top tier.</summary>
    public bool IsTopTier(int id) => Exists(id) && _byId[id]!.Tier == _byId[TopTierNodes[0]]!.Tier;

    /// <summary>The SLIT distance between two nodes (10 = local).</summary>
    public int Distance(int from, int to) => Exists(from) && Exists(to) ? _distance[from, to] : throw new ArgumentOutOfRangeException(nameof(from), $"No distance between node {from} and node {to}: one of them does not exist.");

    /// <summary>
    /// Where a page accessed from <paramref name="id"/> is promoted by default: the node itself
    /// when it is top tier, else its nearest top-tier node. <c>-1</c> (NUMA_NO_NODE) maps to the
    /// first top-tier node.
    /// </summary>
    public int DefaultTarget(int id) => id == -1 ? TopTierNodes[0] : Exists(id) ? _defaultTarget[id] : -1;

    /// <summary>Top-tier nodes ordered by distance from <paramref name="preferred"/> (itself first): the fallback order.</summary>
    public IEnumerable<int> FallbackOrder(int preferred) =>
        TopTierNodes.OrderBy(t => Exists(preferred) ? _distance[preferred, t] : 0).ThenBy(t => t);

    /// <summary>The same topology with tiers replaced (configuration override): <paramref name="tierOf"/> maps node id to rank.</summary>
    public NumaTopology WithTiers(IReadOnlyDictionary<int, int> tierOf)
    {
        ArgumentNullException.ThrowIfNull(tierOf);
        foreach (int id in tierOf.Keys)
        {
            if (!Exists(id))
            {
                throw new ArgumentException($"The tier override names node {id}, which does not exist.", nameof(tierOf));
            }
        }

        NumaNode[] nodes = Nodes.Select(n => n with { Tier = tierOf.TryGetValue(n.Id, out int t) ? t : n.Tier }).ToArray();
        var d = new int[nodes.Length, nodes.Length];
        for (int i = 0; i < nodes.Length; i++)
        {
            for (int j = 0; j < nodes.Length; j++)
            {
                d[i, j] = _distance[nodes[i].Id, nodes[j].Id];
            }
        }

        return new NumaTopology(nodes, d);
    }
}
