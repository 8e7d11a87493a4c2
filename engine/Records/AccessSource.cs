namespace HotPage.Engine.Records;

/// <summary>
/// Where an access report comes from (pghot's temperature sources). The numbers are part of the
/// C ABI (<c>HOTPAGE_SOURCE_*</c> in <c>hotpage.h</c>): never renumber.
/// </summary>
public enum AccessSource : uint
{
    /// <summary>Not a source: rejected.</summary>
    None = 0,
    /// <summary>The application reports its own accesses (the embedding API).</summary>
    Application = 1,
    /// <summary>A page-table scan found the page accessed (Accessed bit, idle page tracking).</summary>
    PageTableScan = 2,
    /// <summary>Soft-dirty found the page written.</summary>
    SoftDirty = 3,
    /// <summary>A DAMON region with a high access frequency.</summary>
    Damon = 4,
    /// <summary>A perf sample (PEBS, IBS, or a software event) with the data address.</summary>
    PerfSample = 5,
    /// <summary>A NUMA hint fault.</summary>
    HintFault = 6,
    /// <summary>A hardware hint (CXL hotness monitoring unit and the like).</summary>
    HardwareHint = 7,
}

/// <summary>Facts about <see cref="AccessSource"/> values.</summary>
public static class AccessSources
{
    /// <summary>The largest valid source number.</summary>
    public const uint Max = (uint)AccessSource.HardwareHint;

    /// <summary>True for a source the engine knows.</summary>
    public static bool IsValid(AccessSource source) => unchecked((uint)source - 1) < Max; // 0 wraps to uint.MaxValue

    /// <summary>The counter name for records applied from <paramref name="source"/> (kernel style).</summary>
    public static string CounterName(AccessSource source) => source switch
    {
        AccessSource.Application => "pghot_recorded_appreports",
        AccessSource.PageTableScan => "pghot_recorded_pgtscans",
        AccessSource.SoftDirty => "pghot_recorded_softdirty",
        AccessSource.Damon => "pghot_recorded_damon",
        AccessSource.PerfSample => "pghot_recorded_perfsamples",
        AccessSource.HintFault => "pghot_recorded_hintfaults",
        AccessSource.HardwareHint => "pghot_recorded_hwhints",
        _ => throw new ArgumentOutOfRangeException(nameof(source), source, $"Source {(uint)source} is not one of 1..{Max}."),
    };
}
