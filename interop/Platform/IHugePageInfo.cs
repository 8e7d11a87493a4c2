namespace HotPage.Interop.Platform;

/// <summary>The folio a page belongs to: where it starts and how many base pages it spans (1 for an ordinary page).</summary>
/// <param name="Base">The virtual address of the folio's first page in the process.</param>
/// <param name="Pages">Base pages in the folio: 1, or 512 for a 2 MiB transparent huge page on x86-64.</param>
public readonly record struct FolioInfo(nint Base, int Pages)
{
    /// <summary>True when a move of any page of it moves more than that page.</summary>
    public bool IsLarge => Pages > 1;
}

/// <summary>
/// An optional platform capability: the granularity the kernel moves a page at. A base page of a
/// transparent huge page moves with its whole folio (2 MiB), so a promoter that decides per 4 KiB
/// page needs to know which pages share a folio. Platforms that can tell implement this.
/// </summary>
public interface IHugePageInfo
{
    /// <summary>Whether folio information is available (for example <c>/proc/kpageflags</c> readable); when not, every page reads as its own folio.</summary>
    bool IsAvailable { get; }

    /// <summary>Why folio information is not available (empty when it is).</summary>
    string UnavailableReason { get; }

    /// <summary>
    /// The folio of each page of <paramref name="pages"/> in process <paramref name="pid"/>.
    /// Pages that are not present, or whose folio cannot be determined, read as one-page folios.
    /// Allocation-free after the first call for a pid.
    /// </summary>
    PlatformResult QueryFolios(int pid, ReadOnlySpan<nint> pages, Span<FolioInfo> folios);
}
