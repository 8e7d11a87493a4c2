using System.Collections.ObjectModel;
using System.Globalization;

namespace HotPage.Interop.Platform;

/// <summary>
/// Reads a Linux machine's NUMA topology from sysfs: nodes from
/// <c>devices/system/node/node*</c> (<c>cpulist</c>, <c>meminfo</c>, <c>distance</c>) and tiers
/// from <c>devices/virtual/memory_tiering/memory_tierN/nodelist</c> (a smaller N is a faster tier).
/// The root is a parameter so that fixture trees laid out like sysfs parse the same way.
/// </summary>
/// <remarks>
/// <para>Tiers. When the kernel lists the nodes in two or more tiers, those tiers are ranked by N
/// (rank 0 = smallest N). When every node sits in one tier, or the memory_tiering directory is
/// missing (older kernels), the fallback ranks nodes with CPUs as tier 0 and CPU-less nodes as
/// tier 1: that is how CXL memory appears before firmware describes it as slower. A node no tier
/// lists gets the fallback rank too. An explicit override (configuration) wins over both.</para>
/// <para>Node meminfo is a snapshot and may under-report (on some VMs it disagrees with
/// /proc/meminfo): it is not checked against anything.</para>
/// </remarks>
public sealed class LinuxTopologyReader
{
    private readonly string _root;

    /// <summary>Creates a reader of the sysfs tree at <paramref name="sysfsRoot"/> ("/sys" on a live machine).</summary>
    public LinuxTopologyReader(string sysfsRoot = "/sys")
    {
        ArgumentException.ThrowIfNullOrEmpty(sysfsRoot);
        _root = sysfsRoot;
    }

    /// <summary>The directory holding <c>node0</c>, <c>node1</c>, ...</summary>
    public string NodeDirectory => Path.Combine(_root, "devices", "system", "node");

    /// <summary>The directory holding <c>memory_tierN</c>.</summary>
    public string TieringDirectory => Path.Combine(_root, "devices", "virtual", "memory_tiering");

    /// <summary>Reads the topology; <paramref name="tierOverride"/> (node id → rank) replaces the tiers it names.</summary>
    /// <exception cref="IOException">A file is missing or does not parse; the message names the file.</exception>
    public NumaTopology Read(IReadOnlyDictionary<int, int>? tierOverride = null)
    {
        if (!Directory.Exists(NodeDirectory))
        {
            throw new DirectoryNotFoundException($"Reading the NUMA topology: {NodeDirectory} does not exist.");
        }

        var ids = new List<int>();
        foreach (string dir in Directory.EnumerateDirectories(NodeDirectory, "node*"))
        {
            string suffix = Path.GetFileName(dir)["node".Length..];
            if (int.TryParse(suffix, NumberStyles.None, CultureInfo.InvariantCulture, out int id))
            {
                ids.Add(id);
            }
        }

        if (ids.Count == 0)
        {
            throw new IOException($"Reading the NUMA topology: {NodeDirectory} lists no node directories.");
        }

        ids.Sort();
        var cpus = new List<int>[ids.Count];
        var total = new long[ids.Count];
        var free = new long[ids.Count];
        var distances = new int[ids.Count, ids.Count];
        for (int i = 0; i < ids.Count; i++)
        {
            string dir = Path.Combine(NodeDirectory, "node" + ids[i].ToString(CultureInfo.InvariantCulture));
            string cpulist = Path.Combine(dir, "cpulist");
            cpus[i] = File.Exists(cpulist) ? ParseList(File.ReadAllText(cpulist), cpulist) : [];
            (total[i], free[i]) = ParseMeminfo(Path.Combine(dir, "meminfo"));
            ParseDistance(Path.Combine(dir, "distance"), i, distances);
        }

        Dictionary<int, int> tierOf = ReadTiers(ids);
        var nodes = new NumaNode[ids.Count];
        for (int i = 0; i < ids.Count; i++)
        {
            int fallback = cpus[i].Count > 0 || cpus.All(c => c.Count == 0) ? 0 : 1;
            int tier = tierOf.TryGetValue(ids[i], out int t) ? t : fallback;
            nodes[i] = new NumaNode(ids[i], new ReadOnlyCollection<int>(cpus[i]), total[i], free[i], tier);
        }

        var topology = new NumaTopology(nodes, distances);
        return tierOverride is null ? topology : topology.WithTiers(tierOverride);
    }

    /// <summary>
    /// Parses a kernel list ("0-3,8,10-11", possibly empty) into ascending ids.
    /// </summary>
    /// <exception cref="IOException">The text does not parse; the message names <paramref name="source"/>.</exception>
    public static List<int> ParseList(string text, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = new List<int>();
        foreach (string part in text.Trim().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int dash = part.IndexOf('-', StringComparison.Ordinal);
            if (dash < 0)
            {
                result.Add(ParseInt(part, source));
                continue;
            }

            int lo = ParseInt(part[..dash], source);
            int hi = ParseInt(part[(dash + 1)..], source);
            if (hi < lo || hi - lo > 1 << 20)
            {
                throw new IOException($"{source}: the range \"{part}\" is reversed or too large.");
            }

            for (int v = lo; v <= hi; v++)
            {
                result.Add(v);
            }
        }

        result.Sort();
        return result;
    }

    /// <summary>
    /// Ranks tiers: when the nodes span two or more memory_tierN directories, rank by N; else empty
    /// (the caller falls back to CPUs/CPU-less).
    /// </summary>
    private Dictionary<int, int> ReadTiers(List<int> ids)
    {
        var tierOf = new Dictionary<int, int>();
        if (!Directory.Exists(TieringDirectory))
        {
            return tierOf;
        }

        var tiers = new List<(int N, List<int> Nodes)>();
        foreach (string dir in Directory.EnumerateDirectories(TieringDirectory, "memory_tier*"))
        {
            string suffix = Path.GetFileName(dir)["memory_tier".Length..];
            string nodelist = Path.Combine(dir, "nodelist");
            if (!int.TryParse(suffix, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || !File.Exists(nodelist))
            {
                continue;
            }

            // The kernel may list node ids that are possible but not online (seen: "0-1" with one node).
            List<int> members = ParseList(File.ReadAllText(nodelist), nodelist).Where(ids.Contains).ToList();
            if (members.Count > 0)
            {
                tiers.Add((n, members));
            }
        }

        if (tiers.Count < 2)
        {
            return tierOf;
        }

        tiers.Sort((a, b) => a.N.CompareTo(b.N));
        for (int rank = 0; rank < tiers.Count; rank++)
        {
            foreach (int node in tiers[rank].Nodes)
            {
                tierOf.TryAdd(node, rank);
            }
        }

        return tierOf;
    }

    private static (long Total, long Free) ParseMeminfo(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Reading the NUMA topology: {path} does not exist.", path);
        }

        long total = -1, free = -1;
        foreach (string line in File.ReadLines(path))
        {
            // "Node 0 MemTotal:        4286240 kB"
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 4)
            {
                continue;
            }

            if (f[2] == "MemTotal:")
            {
                total = ParseLong(f[3], path) * 1024;
            }
            else if (f[2] == "MemFree:")
            {
                free = ParseLong(f[3], path) * 1024;
            }
        }

        if (total < 0 || free < 0)
        {
            throw new IOException($"{path}: no MemTotal or MemFree line.");
        }

        return (total, free);
    }

    private static void ParseDistance(string path, int row, int[,] distances)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Reading the NUMA topology: {path} does not exist.", path);
        }

        // One distance per online node, in ascending node order: the same order as the node directories.
        string[] f = File.ReadAllText(path).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        int n = distances.GetLength(0);
        if (f.Length != n)
        {
            throw new IOException($"{path}: {f.Length} distances for {n} nodes.");
        }

        for (int j = 0; j < n; j++)
        {
            distances[row, j] = ParseInt(f[j], path);
        }
    }

    private static int ParseInt(string s, string source) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v : throw new IOException($"{source}: \"{s}\" is not a number.");

    private static long ParseLong(string s, string source) =>
        long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? v : throw new IOException($"{source}: \"{s}\" is not a number.");
}
