namespace HotPage.Interop;

/// <summary>
/// The native libraries the bindings load, named once (rather than in each attribute) so that a
/// platform or a packaging change edits one line.
/// </summary>
internal static class LibraryNames
{
    /// <summary>The C library on Linux (glibc exports <c>syscall</c>, <c>getcpu</c>, <c>pread</c>, <c>mmap</c>).</summary>
    public const string LibC = "libc";

    /// <summary>kernel32.dll on Windows (NUMA queries, VirtualAlloc2, MapViewOfFile3, QueryWorkingSetEx as K32QueryWorkingSetEx).</summary>
    public const string Kernel32 = "kernel32";

    /// <summary>KernelBase.dll on Windows: the placeholder APIs (VirtualAlloc2, MapViewOfFile3) live here.</summary>
    public const string KernelBase = "kernelbase";
}
