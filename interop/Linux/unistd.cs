using System.Runtime.InteropServices;

namespace HotPage.Interop.Linux;

// unistd.h
public static unsafe partial class LibC
{
    /// <summary>close(2). Returns 0, or -1 with errno.</summary>
    [LibraryImport(LibraryNames.LibC, SetLastError = true)]
    public static partial int close(int fd);

    /// <summary>pread(2): reads at <paramref name="offset"/> without moving the file position. Returns bytes read, or -1 with errno.</summary>
    /// <remarks>NOTE: for /proc/PID/pagemap the offset is (virtual address / page size) * 8; offsets above 2^63 do not fit an off_t.</remarks>
    [LibraryImport(LibraryNames.LibC, SetLastError = true)]
    public static partial nint pread(int fd, void* buf, nuint count, long offset);

    /// <summary>ftruncate(2): sets the size of the file behind <paramref name="fd"/>. Returns 0, or -1 with errno.</summary>
    [LibraryImport(LibraryNames.LibC, SetLastError = true)]
    public static partial int ftruncate(int fd, long length);
}
