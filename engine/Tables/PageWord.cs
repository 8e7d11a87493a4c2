using System.Runtime.CompilerServices;

namespace HotPage.Engine.Tables;

/// <summary>
/// pghot's per-page word: frequency (3 bits) | target node (10 bits) | last update time (19 bits,
/// milliseconds modulo 2^19 ≈ 8.7 minutes), packed in one <c>uint</c>.
/// </summary>
/// <remarks>
/// Three values are reserved: <c>0</c> is "no access recorded in this table" (frequency 0 never
/// occurs otherwise), <see cref="TopTier"/> (all ones, node 1023 which no machine has) is "the
/// page is resident on a top-tier node: not tracked", and <see cref="PromotedUnused"/> (frequency
/// 0, node 1023) is "resident on a top-tier node, moved there by the promoter, and not reported
/// since": the first report turns it into <see cref="TopTier"/>, and a residency refresh that
/// finds it on a lower tier knows the move was wasted. That is how the table knows residency
/// (and whether a promotion was used) without a second array, keeping the cost at 4 bytes per page.
/// Time arithmetic is modulo 2^19: a difference is read as a signed 19-bit value, so comparisons
/// are exact while the two times are within ±2^18 ms (≈ 4.4 minutes) of each other. A page left
/// untouched for longer can alias as recent; <c>freq_window_ms</c> is capped below 2^18 and the
/// promoter re-checks residency and hotness before moving anything.
/// </remarks>
public static class PageWord
{
    /// <summary>Bits of frequency.</summary>
    public const int FreqBits = 3;
    /// <summary>Bits of node id.</summary>
    public const int NidBits = 10;
    /// <summary>Bits of time.</summary>
    public const int TimeBits = 19;
    /// <summary>The largest frequency (saturating: the field's real maximum, not 1 &lt;&lt; 3).</summary>
    public const uint MaxFrequency = (1u << FreqBits) - 1;
    /// <summary>Mask of the time field once shifted down.</summary>
    public const uint TimeMask = (1u << TimeBits) - 1;
    /// <summary>Largest window that time arithmetic compares exactly.</summary>
    public const uint MaxWindowMs = (1u << (TimeBits - 1)) - 1;
    /// <summary>The reserved word meaning "resident on the top tier, not tracked".</summary>
    public const uint TopTier = uint.MaxValue;
    /// <summary>The empty word: no access recorded.</summary>
    public const uint Empty = 0;
    /// <summary>The reserved word meaning "resident on the top tier, promoted, no access reported since" (frequency 0, node 1023).</summary>
    public const uint PromotedUnused = NidMask << NidShift;

    /// <summary>True for the two words that mean "resident on a top-tier node" (<see cref="TopTier"/>, <see cref="PromotedUnused"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsTopTier(uint word) => word is TopTier or PromotedUnused;

    private const int NidShift = FreqBits;
    private const int TimeShift = FreqBits + NidBits;
    private const uint NidMask = (1u << NidBits) - 1;

    /// <summary>Packs a word.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Pack(uint frequency, uint node, uint timeMs) =>
        frequency | (node << NidShift) | ((timeMs & TimeMask) << TimeShift);

    /// <summary>The frequency field.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Frequency(uint word) => word & MaxFrequency;

    /// <summary>The node field.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Node(uint word) => (word >> NidShift) & NidMask;

    /// <summary>The time field (ms modulo 2^19).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Time(uint word) => word >> TimeShift;

    /// <summary><paramref name="later"/> − <paramref name="earlier"/> in ms, read as a signed 19-bit difference.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Elapsed(uint later, uint earlier) => unchecked((int)((later - earlier) << (32 - TimeBits)) >> (32 - TimeBits));
}
