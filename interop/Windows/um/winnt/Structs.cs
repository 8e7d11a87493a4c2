using System.Runtime.InteropServices;

namespace HotPage.Interop.Windows;

/// <summary>winnt.h <c>GROUP_AFFINITY</c>: a processor group and a mask of its processors (16 bytes on x64).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct GROUP_AFFINITY
{
    /// <summary>One bit per processor of the group.</summary>
    public nuint Mask;

    /// <summary>The processor group.</summary>
    public ushort Group;

    /// <summary>Reserved.</summary>
    public unsafe fixed ushort Reserved[3];
}

/// <summary>winnt.h <c>PROCESSOR_NUMBER</c>: a processor group and the number within it (4 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct PROCESSOR_NUMBER
{
    /// <summary>The processor group.</summary>
    public ushort Group;

    /// <summary>The processor within the group.</summary>
    public byte Number;

    /// <summary>Reserved.</summary>
    public byte Reserved;
}

/// <summary>winnt.h <c>MEM_EXTENDED_PARAMETER</c> (16 bytes): an 8-bit type in a 64-bit header, then a 64-bit value.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct MEM_EXTENDED_PARAMETER
{
    /// <summary>Bits 0-7: the <c>MEM_EXTENDED_PARAMETER_TYPE</c>; the rest reserved.</summary>
    public ulong _bitfield;

    /// <summary>The value (ULong64, Pointer, Size, Handle or ULong, by type).</summary>
    public ulong ULong64;

    /// <summary>The parameter type (<c>Type : MEM_EXTENDED_PARAMETER_TYPE_BITS</c>).</summary>
    public ulong Type
    {
        readonly get => _bitfield & 0xFF;
        set => _bitfield = (_bitfield & ~0xFFUL) | (value & 0xFF);
    }
}

/// <summary>winnt.h <c>MEMORY_BASIC_INFORMATION</c> (48 bytes on x64).</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct MEMORY_BASIC_INFORMATION
{
    /// <summary>The base of the region of pages with the same attributes.</summary>
    public void* BaseAddress;

    /// <summary>The base of the allocation the region belongs to.</summary>
    public void* AllocationBase;

    /// <summary>The protection of the allocation.</summary>
    public uint AllocationProtect;

    /// <summary>The partition (x64 only).</summary>
    public ushort PartitionId;

    /// <summary>The size of the region.</summary>
    public nuint RegionSize;

    /// <summary>MEM_COMMIT, MEM_FREE or MEM_RESERVE.</summary>
    public uint State;

    /// <summary>The region's protection.</summary>
    public uint Protect;

    /// <summary>MEM_IMAGE, MEM_MAPPED or MEM_PRIVATE.</summary>
    public uint Type;
}
