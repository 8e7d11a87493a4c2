using System.Runtime.InteropServices;

namespace HotPage.Interop.Linux;

public static unsafe partial class LibC
{
    // NOTE: syscall(2) is variadic in C. It is declared here with register-width arguments (nint),
    // never int: on x86-64 every integer argument travels in a 64-bit register, and an int would
    // leave the upper half undefined for pointer and size arguments. glibc's syscall only moves
    // registers, so the fixed-arity declaration is ABI-compatible. Returns -1 and sets errno on failure.

    /// <summary>Invokes system call <paramref name="number"/> with no arguments.</summary>
    [LibraryImport(LibraryNames.LibC, SetLastError = true)]
    public static partial nint syscall(nint number);

    /// <summary>Invokes system call <paramref name="number"/> with three arguments.</summary>
    [LibraryImport(LibraryNames.LibC, SetLastError = true)]
    public static partial nint syscall(nint number, nint arg1, nint arg2, nint arg3);

    /// <summary>Invokes system call <paramref name="number"/> with five arguments.</summary>
    [LibraryImport(LibraryNames.LibC, SetLastError = true)]
    public static partial nint syscall(nint number, nint arg1, nint arg2, nint arg3, nint arg4, nint arg5);

    /// <summary>Invokes system call <paramref name="number"/> with six arguments.</summary>
    [LibraryImport(LibraryNames.LibC, SetLastError = true)]
    public static partial nint syscall(nint number, nint arg1, nint arg2, nint arg3, nint arg4, nint arg5, nint arg6);
}
