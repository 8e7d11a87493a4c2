using System.Runtime.InteropServices;

namespace HotPage.Engine.Tables;

/// <summary>A page selected for promotion: where it is, how hot it was at selection, and where it should go.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct PromotionCandidate
{
    /// <summary>The page's table index (stable while its region stays registered).</summary>
    public long Page;

    /// <summary>The page's address in <see cref="Pid"/>.</summary>
    public ulong Address;

    /// <summary>The process (0 = this one).</summary>
    public int Pid;

    /// <summary>The top-tier node to promote to.</summary>
    public int TargetNode;

    /// <summary>The access frequency in the current window when selected.</summary>
    public uint Frequency;

    /// <summary>The last update time (ms modulo 2^19) when selected.</summary>
    public uint TimeMs;
}
