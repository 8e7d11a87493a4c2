using System.Runtime.InteropServices;

namespace HotPage.Engine.Tables;

/// <summary>What became of an extracted page (or a moved huge-page folio): the kind of one <see cref="PageFeedback"/> entry. 0 is no kind: a default entry is rejected, not taken as a promotion of page 0.</summary>
public enum PageOutcome
{
    /// <summary>The page now resides on a top-tier node (as <see cref="HotPageEngine.MarkPromoted"/>).</summary>
    Promoted = 1,

    /// <summary>Every registered page of a folio now resides on a top-tier node (as <see cref="HotPageEngine.MarkPromotedRange"/>).</summary>
    PromotedRange = 2,

    /// <summary>The page goes back among the candidates if still hot (as <see cref="HotPageEngine.Requeue"/>).</summary>
    Requeue = 3,

    /// <summary>The page is forgotten (as <see cref="HotPageEngine.Forget"/>).</summary>
    Forget = 4,
}

/// <summary>
/// One outcome of a promotion round for <see cref="HotPageEngine.ApplyFeedback"/>: a page by table
/// index (<see cref="PageOutcome.Promoted"/>, <see cref="PageOutcome.Requeue"/>,
/// <see cref="PageOutcome.Forget"/>) or a folio by process, base address and page count
/// (<see cref="PageOutcome.PromotedRange"/>). Made through the four factory methods; 32 bytes.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct PageFeedback
{
    private PageFeedback(PageOutcome outcome, long page, int pid, ulong address, int pages)
    {
        Outcome = outcome;
        Page = page;
        Pid = pid;
        Address = address;
        Pages = pages;
    }

    /// <summary>The page's table index; -1 for <see cref="PageOutcome.PromotedRange"/>.</summary>
    public long Page { get; }

    /// <summary>The folio's base address in <see cref="Pid"/> (<see cref="PageOutcome.PromotedRange"/>); 0 otherwise.</summary>
    public ulong Address { get; }

    /// <summary>The folio's process (<see cref="PageOutcome.PromotedRange"/>); 0 otherwise.</summary>
    public int Pid { get; }

    /// <summary>The folio's base pages (<see cref="PageOutcome.PromotedRange"/>); 1 otherwise.</summary>
    public int Pages { get; }

    /// <summary>What to do with the page or folio.</summary>
    public PageOutcome Outcome { get; }

    /// <summary>The page now resides on a top-tier node.</summary>
    public static PageFeedback Promoted(long page) => new(PageOutcome.Promoted, page, 0, 0, 1);

    /// <summary>The <paramref name="pages"/> base pages from <paramref name="baseAddress"/> in <paramref name="pid"/> (a moved folio) now reside on a top-tier node.</summary>
    public static PageFeedback PromotedRange(int pid, ulong baseAddress, int pages) => new(PageOutcome.PromotedRange, -1, pid, baseAddress, pages);

    /// <summary>The page goes back among the candidates if still hot.</summary>
    public static PageFeedback Requeue(long page) => new(PageOutcome.Requeue, page, 0, 0, 1);

    /// <summary>The page is forgotten (unmapped, gone, or of a process that may not be moved).</summary>
    public static PageFeedback Forget(long page) => new(PageOutcome.Forget, page, 0, 0, 1);
}
