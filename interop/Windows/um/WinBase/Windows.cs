using System.Runtime.InteropServices;

namespace HotPage.Interop.Windows;

// WinBase.h / systemtopologyapi.h: NUMA topology
public static unsafe partial class Windows
{
    /// <summary>No preferred node (VirtualAllocExNuma, CreateFileMappingNuma).</summary>
    public const uint NUMA_NO_PREFERRED_NODE = 0xFFFFFFFF;

    /// <summary>The highest node number (nodes may be missing below it).</summary>
    [LibraryImport(LibraryNames.Kernel32, SetLastError = true)]
    public static partial BOOL GetNumaHighestNodeNumber(uint* HighestNodeNumber);

    /// <summary>The processors of a node (its first group on machines with more than 64 processors per node).</summary>
    [LibraryImport(LibraryNames.Kernel32, SetLastError = true)]
    public static partial BOOL GetNumaNodeProcessorMaskEx(ushort Node, GROUP_AFFINITY* ProcessorMask);

    /// <summary>The memory available (free) on a node, in bytes.</summary>
    [LibraryImport(LibraryNames.Kernel32, SetLastError = true)]
    public static partial BOOL GetNumaAvailableMemoryNodeEx(ushort Node, ulong* AvailableBytes);

    /// <summary>The node of a processor.</summary>
    [LibraryImport(LibraryNames.Kernel32, SetLastError = true)]
    public static partial BOOL GetNumaProcessorNodeEx(PROCESSOR_NUMBER* Processor, ushort* NodeNumber);
}
