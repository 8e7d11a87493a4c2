using System.Globalization;

namespace HotPage.Engine.Sources;

/// <summary>
/// Maps a page frame number to its NUMA node through the memory block directories of sysfs:
/// <c>devices/system/memory/block_size_bytes</c> (hex) and the <c>memoryN</c> links under
/// <c>devices/system/node/nodeK/</c>. A PFN in no known block maps to -1.
/// </summary>
public sealed class PfnNodeMap
{
    private readonly short[] _nodeOfBlock;
    private readonly int _pfnShift; // pfn >> _pfnShift = block number

    private PfnNodeMap(short[] nodeOfBlock, int pfnShift)
    {
        _nodeOfBlock = nodeOfBlock;
        _pfnShift = pfnShift;
    }

    /// <summary>Bytes per memory block.</summary>
    public long BlockBytes => 4096L << _pfnShift;

    /// <summary>The node of <paramref name="pfn"/>, or -1 when unknown.</summary>
    public int NodeOf(ulong pfn)
    {
        ulong block = pfn >> _pfnShift;
        return block < (ulong)_nodeOfBlock.Length ? _nodeOfBlock[block] : -1;
    }

    /// <summary>Reads the map from sysfs (tests pass a fixture root).</summary>
    /// <returns>The map, or null with a reason when sysfs does not describe memory blocks.</returns>
    public static PfnNodeMap? TryRead(string sysfsRoot, out string reason)
    {
        string sizeFile = Path.Combine(sysfsRoot, "devices", "system", "memory", "block_size_bytes");
        string nodeDir = Path.Combine(sysfsRoot, "devices", "system", "node");
        if (!File.Exists(sizeFile) || !Directory.Exists(nodeDir))
        {
            reason = $"{sizeFile} or {nodeDir} is missing: PFNs cannot be mapped to nodes";
            return null;
        }

        if (!ulong.TryParse(File.ReadAllText(sizeFile).Trim(), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong blockBytes) ||
            blockBytes < 4096 || (blockBytes & (blockBytes - 1)) != 0)
        {
            reason = $"{sizeFile} does not hold a power-of-two hex size";
            return null;
        }

        var pairs = new List<(long Block, short Node)>();
        long maxBlock = -1;
        foreach (string dir in Directory.EnumerateDirectories(nodeDir, "node*"))
        {
            if (!int.TryParse(Path.GetFileName(dir).AsSpan(4), NumberStyles.None, CultureInfo.InvariantCulture, out int node))
            {
                continue;
            }

            foreach (string entry in Directory.EnumerateFileSystemEntries(dir, "memory*"))
            {
                if (long.TryParse(Path.GetFileName(entry).AsSpan(6), NumberStyles.None, CultureInfo.InvariantCulture, out long block))
                {
                    pairs.Add((block, (short)node));
                    maxBlock = Math.Max(maxBlock, block);
                }
            }
        }

        var nodeOf = new short[maxBlock + 1];
        Array.Fill(nodeOf, (short)-1);
        foreach ((long block, short node) in pairs)
        {
            nodeOf[block] = node;
        }

        reason = string.Empty;
        return new PfnNodeMap(nodeOf, System.Numerics.BitOperations.Log2(blockBytes) - 12);
    }
}
