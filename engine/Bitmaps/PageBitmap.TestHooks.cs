using System.Globalization;

namespace HotPage.Engine.Bitmaps;

public sealed unsafe partial class PageBitmap
{
    /// <summary>
    /// True when both summary levels are exact (invariant 2 of the class remarks) and no bit at or
    /// beyond <see cref="Length"/> is set. Meaningful at a quiescent point only; reads everything.
    /// </summary>
    public bool VerifySummary() => DescribeSummaryMismatch() is null;

    /// <summary>The first broken invariant, in words, or null when the summaries are exact.</summary>
    internal string? DescribeSummaryMismatch()
    {
        ThrowIfDisposed();
        if ((_length & BitMask) != 0 && (_words[_wordCount - 1] >> (int)(_length & BitMask)) != 0)
        {
            return "bits beyond the length are set in the last word";
        }

        string? problem = CheckLevel(_words, _wordCount, _level1, _level1Count, "level 1", "word");
        return problem ?? CheckLevel(_level1, _level1Count, _level2, _level2Count, "level 2", "level-1 word");
    }

    private static string? CheckLevel(ulong* lower, nuint lowerCount, ulong* upper, nuint upperCount, string level, string what)
    {
        for (nuint j = 0; j < upperCount; j++)
        {
            ulong expected = 0;
            for (nuint k = 0; k < 64 && (j * 64) + k < lowerCount; k++)
            {
                expected |= (lower[(j * 64) + k] != 0 ? 1UL : 0UL) << (int)k;
            }

            if (upper[j] != expected)
            {
                return string.Create(CultureInfo.InvariantCulture, $"{level} word {j} is {upper[j]:X16}, its {what}s say {expected:X16}");
            }
        }

        return null;
    }

    /// <summary>
    /// Test hook: a bitmap over caller-owned, zeroed arrays of exactly the needed sizes (words,
    /// level 1, level 2), e.g. placed against a guard page. The bitmap never frees them.
    /// </summary>
    internal static PageBitmap TestHookCreateOver(long length, ulong* words, ulong* level1, ulong* level2) =>
        new(length, words, level1, level2);

    /// <summary>Test hook: words needed for the bits, level 1 and level 2 of a bitmap of <paramref name="length"/> bits.</summary>
    internal static (nuint Words, nuint Level1, nuint Level2) TestHookSizes(long length)
    {
        nuint words = WordsFor(length);
        nuint level1 = BitmapLevels.CountAbove(words);
        return (words, level1, BitmapLevels.CountAbove(level1));
    }

    /// <summary>Test hook: the words (writable, to plant a broken summary).</summary>
    internal Span<ulong> TestHookWords => new(_words, checked((int)_wordCount));

    /// <summary>Test hook: level 1 (writable, to plant a broken summary).</summary>
    internal Span<ulong> TestHookLevel1 => new(_level1, checked((int)_level1Count));

    /// <summary>Test hook: level 2.</summary>
    internal Span<ulong> TestHookLevel2 => new(_level2, checked((int)_level2Count));

    /// <summary>
    /// Test hook, a planted bug: when true, the summary sync writes once and returns without its
    /// confirming read (step 2 of <c>SyncSummary</c>). The race harness in perf/Bitmaps turns it on
    /// to show that its check catches a broken protocol; nothing else may.
    /// </summary>
    internal bool TestHookSkipConfirmation
    {
        get => _testHookSkipConfirmation;
        set => _testHookSkipConfirmation = value;
    }

    /// <summary>
    /// Test hook: on the calling thread only, spin this many times between reading a word and
    /// writing its summary bit, so that the race harness can make the window in which another
    /// producer interferes wide enough to hit on a loaded two-core machine. Slowing one thread
    /// only matters: slowed alike, both writers keep their order. Applies to the real protocol and
    /// the planted bug alike.
    /// </summary>
    internal void TestHookDelaySyncOnThisThread(int spins)
    {
        _testHookSyncDelay = spins;
        _testHookSyncDelayThread = Environment.CurrentManagedThreadId;
    }
}
