using System.Runtime.Intrinsics.X86;
using HotPage.Engine.Native;
using HotPage.Engine.Selection;

namespace HotPage.Engine.Tables;

/// <summary>
/// The bitmap selection strategy (<see cref="CandidateSelection.Bitmap"/>): candidates marked in
/// per-frequency <see cref="CandidateBitmaps"/> instead of pushed on heaps. The candidate bits,
/// <c>_candidatesOfNode</c> and every counter keep their meaning; the protocol becomes: a page is a
/// candidate while its candidate bit is set, and then exactly its word's (target node, frequency)
/// bitmap has its bit set. Whoever changes a candidate's word or candidacy moves or clears that
/// bit in the same step (<c>UpdateCandidate</c>, <c>ClearCandidate</c>, which runs before any word
/// change), so there are no stale entries, no compaction and no capacity limit
/// (<c>kpromoted_dropped</c> stays 0).
/// </summary>
internal sealed unsafe partial class HotnessTable
{
    // Null unless the table selects with bitmaps (then there are no heaps).
    private readonly CandidateBitmaps? _bitmaps;

    // Sort keys of one extracted batch (bitmap selection only; a batch is at most 65536 pages, the
    // engine's extraction buffers).
    private readonly ulong[] _sortKeys = [];

    /// <summary>The selection strategy in use.</summary>
    public CandidateSelection Selection => _bitmaps is null ? CandidateSelection.Heap : CandidateSelection.Bitmap;

    /// <summary>Bytes of table per tracked page with <paramref name="selection"/>, for <paramref name="topTierNodes"/> target nodes (heaps excluded).</summary>
    public static double BytesPerPageWith(CandidateSelection selection, int topTierNodes) =>
        BytesPerPage + (selection == CandidateSelection.Bitmap ? topTierNodes * CandidateBitmaps.BytesPerPagePerNode : 0);

    private static CandidateBitmaps CreateBitmaps(long capacity, IReadOnlyList<int> topTierNodes, int nodeIdLimit, NativeMemoryCounter counter) =>
        new(capacity, topTierNodes, nodeIdLimit, counter);

    /// <summary>The most pages one bitmap extraction may return (the engine's extraction buffers hold as many).</summary>
    public const int MaxBitmapBatch = 65536;

    private long BitmapCandidates(int node) =>
        unchecked((uint)node) < (uint)_candidatesOfNode.Length ? _candidatesOfNode[node] : 0;

    private bool MarkInBitmap(int target, uint freq, long page)
    {
        _bitmaps!.Add(target, freq, page);
        RecordsHeap++; // pghot_records_heap: records that reached the candidate structure
        return true;
    }

    /// <summary>
    /// <see cref="Extract"/> for bitmaps: levels from the highest frequency down, pages in address
    /// order from each level's cursor, each unmarked and re-checked as the heap path does (a level
    /// below a raised threshold holds only pages to drop, as the heap's lower keys do). The batch
    /// is written into <paramref name="pages"/> directly: the bitmap copies a run of marked pages
    /// there and the re-check compacts the survivors in place, so nothing else is needed.
    /// </summary>
    private int ExtractFromBitmaps(int target, Span<long> pages, Span<uint> wordsOut, ulong nowMs)
    {
        CandidateBitmaps bitmaps = _bitmaps!;
        if (!bitmaps.HasNode(target))
        {
            return 0;
        }

        if (pages.Length > MaxBitmapBatch)
        {
            pages = pages[..MaxBitmapBatch];
        }

        uint now = unchecked((uint)nowMs) & PageWord.TimeMask;
        int count = 0;
        for (uint freq = PageWord.MaxFrequency; freq >= 1 && count < pages.Length && _candidatesOfNode[target] > 0; freq--)
        {
            while (count < pages.Length)
            {
                int got = bitmaps.Peek(target, freq, pages[count..]);
                if (got == 0)
                {
                    break;
                }

                int end = count + got;
                // The marked pages are spread over a table far larger than the caches and the TLB.
                // Read every word of the run first, in a loop of independent loads that the CPU
                // overlaps; the loop below clears bits with locked instructions, which are full
                // fences on x86, so a load placed between them would wait for the one before. The
                // candidate bits, needed only by the clear, are prefetched.
                bool prefetch = Sse.IsSupported;
                for (int i = count; i < end; i++)
                {
                    long page = pages[i];
                    wordsOut[i] = _wordBase[page];
                    if (prefetch)
                    {
                        Sse.Prefetch0(_candidateBase + (page >> 6));
                    }
                }

                for (int i = count; i < end; i++)
                {
                    long page = pages[i];
                    uint w = wordsOut[i];
                    ClearCandidate(page);
                    if (freq < _threshold || PageWord.Elapsed(now, PageWord.Time(w)) > (int)_window)
                    {
                        ColdAtExtraction++;
                        continue;
                    }

                    pages[count] = page;
                    wordsOut[count] = w;
                    count++;
                }
            }
        }

        Extracted += count;
        SortByKey(pages[..count], wordsOut[..count], now);
        return count;
    }

    /// <summary>
    /// Orders the batch hottest first (frequency down, then age up), as <c>SortHottestFirst</c> does
    /// for the heap's batch. The heap's batch comes out of the heap almost ordered, so an insertion
    /// sort suits it; this batch is in address order within each level, for which an insertion sort
    /// is quadratic (512 pages: about 65 thousand moves). So: one 64-bit key per page, (7 - frequency)
    /// in bits 60..62, the age biased by 2^18 (it may be negative for a late report) in bits 32..50,
    /// the word in bits 0..31, sorted with the pages by an introsort (no allocation), the words
    /// read back from the keys.
    /// </summary>
    private void SortByKey(Span<long> pages, Span<uint> words, uint now)
    {
        Span<ulong> keys = _sortKeys.AsSpan(0, pages.Length);
        for (int i = 0; i < pages.Length; i++)
        {
            uint w = words[i];
            ulong age = (ulong)(PageWord.Elapsed(now, PageWord.Time(w)) + (1 << (PageWord.TimeBits - 1)));
            keys[i] = ((ulong)(PageWord.MaxFrequency - PageWord.Frequency(w)) << 60) | (age << 32) | w;
        }

        keys.Sort(pages);
        for (int i = 0; i < pages.Length; i++)
        {
            words[i] = unchecked((uint)keys[i]);
        }
    }
}
