using System.Runtime.InteropServices;

namespace HotPage.Interop.Linux;

// sched.h
public static unsafe partial class LibC
{
    /// <summary>
    /// getcpu(3) (glibc 2.29+, served from the vDSO): the CPU and node the calling thread runs on.
    /// Either pointer may be null. Returns 0, or -1 with errno.
    /// </summary>
    [LibraryImport(LibraryNames.LibC, SetLastError = true)]
    public static partial int getcpu(uint* cpu, uint* node);
}
