using System.Runtime.InteropServices;

namespace HotPage.Interop.Windows;

/// <summary>
/// psapi.h <c>PSAPI_WORKING_SET_EX_INFORMATION</c> (16 bytes on x64): the caller fills
/// <see cref="VirtualAddress"/>, <c>QueryWorkingSetEx</c> fills <see cref="VirtualAttributes"/>.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct PSAPI_WORKING_SET_EX_INFORMATION
{
    /// <summary>The page asked about.</summary>
    public void* VirtualAddress;

    /// <summary>The answer (a <c>PSAPI_WORKING_SET_EX_BLOCK</c>).</summary>
    public PSAPI_WORKING_SET_EX_BLOCK VirtualAttributes;
}

/// <summary>
/// psapi.h <c>PSAPI_WORKING_SET_EX_BLOCK</c>: a pointer-sized bit field. Bit 0 Valid, 1-3 ShareCount,
/// 4-14 Win32Protection, 15 Shared, 16-21 Node, 22 Locked, 23 LargePage, 31 Bad.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct PSAPI_WORKING_SET_EX_BLOCK
{
    /// <summary>The raw bits.</summary>
    public nuint Flags;

    /// <summary>The page is in the working set (then the other fields are meaningful).</summary>
    public readonly bool Valid => (Flags & 1) != 0;

    /// <summary>How many processes share the page (saturating at 7).</summary>
    public readonly uint ShareCount => (uint)(Flags >> 1) & 0x7;

    /// <summary>The page's protection (PAGE_*).</summary>
    public readonly uint Win32Protection => (uint)(Flags >> 4) & 0x7FF;

    /// <summary>The page can be shared.</summary>
    public readonly bool Shared => ((Flags >> 15) & 1) != 0;

    /// <summary>The NUMA node of the page.</summary>
    public readonly uint Node => (uint)(Flags >> 16) & 0x3F;

    /// <summary>The page is locked in physical memory.</summary>
    public readonly bool Locked => ((Flags >> 22) & 1) != 0;

    /// <summary>The page is a large page.</summary>
    public readonly bool LargePage => ((Flags >> 23) & 1) != 0;

    /// <summary>The page has a hardware error.</summary>
    public readonly bool Bad => ((Flags >> 31) & 1) != 0;
}
