using HotPage.Interop.Linux;

namespace HotPage.Interop.Platform;

/// <summary>
/// Hints about the engine's own native memory, the one OS service the engine uses outside
/// <see cref="IMemoryPlatform"/> (which is about the tracked processes' pages): asking for
/// transparent huge pages on its large tables, so that random updates in a table of hundreds of
/// MiB miss the caches without also missing the TLB on every access. Hints only: failure (another
/// OS, THP set to <c>never</c>, an old kernel) changes nothing but speed.
/// </summary>
internal static unsafe class MemoryAdvice
{
    /// <summary>The transparent huge page size the hint aims at (x86-64 and arm64 with 4 KiB pages).</summary>
    public const long HugePageSize = 2 << 20;

    /// <summary>
    /// Asks for transparent huge pages on <paramref name="length"/> bytes at <paramref name="address"/>
    /// (both multiples of <see cref="HugePageSize"/>), before the memory is first touched. True when the kernel accepted the hint.
    /// </summary>
    public static bool AdviseHugePages(void* address, nuint length)
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        return LibC.madvise(address, length, LibC.MADV_HUGEPAGE) == 0; // a hint: errno is not needed
    }
}
