using System.Runtime.InteropServices;

namespace HotPage.Interop.Windows;

// sysinfoapi.h
public static unsafe partial class Windows
{
    /// <summary>Fills <paramref name="lpSystemInfo"/> (page size, allocation granularity, ...).</summary>
    [LibraryImport(LibraryNames.Kernel32)]
    public static partial void GetSystemInfo(SYSTEM_INFO* lpSystemInfo);
}

/// <summary>sysinfoapi.h <c>SYSTEM_INFO</c> (48 bytes on x64).</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct SYSTEM_INFO
{
    /// <summary>The processor architecture (union with the OEM id).</summary>
    public uint dwOemId;

    /// <summary>The page size.</summary>
    public uint dwPageSize;

    /// <summary>The lowest application address.</summary>
    public void* lpMinimumApplicationAddress;

    /// <summary>The highest application address.</summary>
    public void* lpMaximumApplicationAddress;

    /// <summary>The active processors.</summary>
    public nuint dwActiveProcessorMask;

    /// <summary>The number of processors.</summary>
    public uint dwNumberOfProcessors;

    /// <summary>Obsolete.</summary>
    public uint dwProcessorType;

    /// <summary>The granularity of virtual allocations and view bases (64 KiB).</summary>
    public uint dwAllocationGranularity;

    /// <summary>The processor level.</summary>
    public ushort wProcessorLevel;

    /// <summary>The processor revision.</summary>
    public ushort wProcessorRevision;
}
