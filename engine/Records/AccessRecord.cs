using System.Runtime.InteropServices;

namespace HotPage.Engine.Records;

/// <summary>
/// One access report: the address of the accessed byte (any byte of the page), the node that
/// accessed it (-1 = NUMA_NO_NODE, "promote to the default top-tier node"), the source, and the
/// time in milliseconds (0 = now, by the engine's clock).
/// </summary>
/// <remarks>The layout is <c>hotpage_record_t</c> of <c>hotpage.h</c> (24 bytes): the C ABI passes arrays of it as they are.</remarks>
[StructLayout(LayoutKind.Sequential)]
public struct AccessRecord
{
    /// <summary>The accessed address.</summary>
    public ulong Address;

    /// <summary>The accessing node, or -1 (NUMA_NO_NODE).</summary>
    public int Nid;

    /// <summary>The temperature source.</summary>
    public AccessSource Source;

    /// <summary>The time of the access in milliseconds; 0 means "now".</summary>
    public ulong TimeMs;

    /// <summary>Creates a record.</summary>
    public AccessRecord(ulong address, int nid, AccessSource source, ulong timeMs)
    {
        Address = address;
        Nid = nid;
        Source = source;
        TimeMs = timeMs;
    }
}

/// <summary>What became of one access report.</summary>
public enum RecordResult
{
    /// <summary>Queued on a record ring; it will be applied at the next drain.</summary>
    Recorded = 0,
    /// <summary>The ring was full: dropped and counted (<c>pghot_ring_dropped</c>). Producers never block.</summary>
    Dropped = 1,
    /// <summary>The source is not one the engine knows: rejected, nothing changed.</summary>
    InvalidSource = 2,
    /// <summary>The node is neither -1 nor a node of this machine: rejected, nothing changed.</summary>
    InvalidNode = 3,
    /// <summary>The address is outside every registered region: rejected, nothing changed.</summary>
    OutsideTrackedMemory = 4,
}

/// <summary>What a batch of access reports became.</summary>
/// <param name="Recorded">Reports queued.</param>
/// <param name="Dropped">Reports dropped because the ring was full.</param>
/// <param name="Rejected">Reports rejected as bad input (by any cause).</param>
public readonly record struct BatchResult(int Recorded, int Dropped, int Rejected);
