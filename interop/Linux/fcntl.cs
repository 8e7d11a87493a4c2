using System.Runtime.InteropServices;

namespace HotPage.Interop.Linux;

// fcntl.h
public static unsafe partial class LibC
{
    /// <summary>Open for reading only.</summary>
    public const int O_RDONLY = 0;

    /// <summary>Close the descriptor on exec.</summary>
    public const int O_CLOEXEC = 0x80000;

    /// <summary>open(2) of a NUL-terminated path. Returns a descriptor, or -1 with errno.</summary>
    [LibraryImport(LibraryNames.LibC, SetLastError = true)]
    public static partial int open(byte* pathname, int flags, uint mode);
}
