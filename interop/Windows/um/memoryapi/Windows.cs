using System.Runtime.InteropServices;

namespace HotPage.Interop.Windows;

// memoryapi.h
public static unsafe partial class Windows
{
    /// <summary>Commit pages.</summary>
    public const uint MEM_COMMIT = 0x00001000;

    /// <summary>Reserve address space.</summary>
    public const uint MEM_RESERVE = 0x00002000;

    /// <summary>Replace a placeholder with the allocation or view.</summary>
    public const uint MEM_REPLACE_PLACEHOLDER = 0x00004000;

    /// <summary>Release a reservation.</summary>
    public const uint MEM_RELEASE = 0x00008000;

    /// <summary>Reserve a placeholder (VirtualAlloc2 with MEM_RESERVE).</summary>
    public const uint MEM_RESERVE_PLACEHOLDER = 0x00040000;

    /// <summary>VirtualFree: split a placeholder (with MEM_RELEASE).</summary>
    public const uint MEM_PRESERVE_PLACEHOLDER = 0x00000002;

    /// <summary>VirtualFree: turn an allocation into placeholders.</summary>
    public const uint MEM_COALESCE_PLACEHOLDERS = 0x00000001;

    /// <summary>A free region (VirtualQueryEx State).</summary>
    public const uint MEM_FREE = 0x00010000;

    /// <summary>No access.</summary>
    public const uint PAGE_NOACCESS = 0x01;

    /// <summary>Read and write.</summary>
    public const uint PAGE_READWRITE = 0x04;

    /// <summary>A committed section (CreateFileMapping).</summary>
    public const uint SEC_COMMIT = 0x08000000;

    /// <summary>MapViewOfFile: read and write access.</summary>
    public const uint FILE_MAP_WRITE = 0x0002;

    /// <summary>MEM_EXTENDED_PARAMETER_TYPE: the preferred node.</summary>
    public const ulong MemExtendedParameterNumaNode = 2;

    /// <summary>Allocates in a process with a preferred node; null with GetLastError on failure.</summary>
    [LibraryImport(LibraryNames.Kernel32, SetLastError = true)]
    public static partial void* VirtualAllocExNuma(HANDLE hProcess, void* lpAddress, nuint dwSize, uint flAllocationType, uint flProtect, uint nndPreferred);

    /// <summary>Releases or decommits memory.</summary>
    [LibraryImport(LibraryNames.Kernel32, SetLastError = true)]
    public static partial BOOL VirtualFree(void* lpAddress, nuint dwSize, uint dwFreeType);

    /// <summary>Describes the region holding an address in a process; returns the bytes written (0 on failure).</summary>
    [LibraryImport(LibraryNames.Kernel32, SetLastError = true)]
    public static partial nuint VirtualQueryEx(HANDLE hProcess, void* lpAddress, MEMORY_BASIC_INFORMATION* lpBuffer, nuint dwLength);

    /// <summary>Allocates or reserves (placeholders too) with extended parameters.</summary>
    [LibraryImport(LibraryNames.KernelBase, SetLastError = true)]
    public static partial void* VirtualAlloc2(HANDLE Process, void* BaseAddress, nuint Size, uint AllocationType, uint PageProtection, MEM_EXTENDED_PARAMETER* ExtendedParameters, uint ParameterCount);

    /// <summary>Maps a view of a section, replacing a placeholder with MEM_REPLACE_PLACEHOLDER.</summary>
    [LibraryImport(LibraryNames.KernelBase, SetLastError = true)]
    public static partial void* MapViewOfFile3(HANDLE FileMapping, HANDLE Process, void* BaseAddress, ulong Offset, nuint ViewSize, uint AllocationType, uint PageProtection, MEM_EXTENDED_PARAMETER* ExtendedParameters, uint ParameterCount);

    /// <summary>Unmaps a view, leaving a placeholder with MEM_PRESERVE_PLACEHOLDER.</summary>
    [LibraryImport(LibraryNames.KernelBase, SetLastError = true)]
    public static partial BOOL UnmapViewOfFile2(HANDLE Process, void* BaseAddress, uint UnmapFlags);

    /// <summary>Creates a section with a preferred node (pagefile-backed when hFile is INVALID_HANDLE_VALUE).</summary>
    [LibraryImport(LibraryNames.Kernel32, SetLastError = true)]
    public static partial HANDLE CreateFileMappingNumaW(HANDLE hFile, void* lpFileMappingAttributes, uint flProtect, uint dwMaximumSizeHigh, uint dwMaximumSizeLow, char* lpName, uint nndPreferred);
}
