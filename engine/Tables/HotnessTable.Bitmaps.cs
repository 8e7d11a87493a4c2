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

    /// <summary>The selection strategy in use.</summary>
    public CandidateSelection Selection =>
        _bitmaps is not null ? CandidateSelection.Bitmap : _stacks is not null ? CandidateSelection.Stacks : CandidateSelection.Heap;

    /// <summary>Bytes of table per tracked page with <paramref name="selection"/>, for <paramref name="topTierNodes"/> target nodes (heaps and stacks excluded: they scale with <c>max_candidates</c>, not pages).</summary>
    public static double BytesPerPageWith(CandidateSelection selection, int topTierNodes) =>
        BytesPerPage + (selection == CandidateSelection.Bitmap ? topTierNodes * CandidateBitmaps.BytesPerPagePerNode : 0);

    private static CandidateBitmaps CreateBitmaps(long capacity, IReadOnlyList<int> topTierNodes, int nodeIdLimit, NativeMemoryCounter counter) =>
        new(capacity, topTierNodes, nodeIdLimit, counter);

    private long BitmapCandidates(int node) =>
        unchecked((uint)node) < (uint)_candidatesOfNode.Length ? _candidatesOfNode[node] : 0;

    private bool MarkInBitmap(int target, uint freq, long page)
    {
        if (!_bitmaps!.TryAdd(target, freq, page))
        {
            return RefuseTarget();
        }

        RecordsHeap++; // pghot_records_heap: records that reached the candidate structure
        return true;
    }

    /// <summary>
    /// <see cref="Extract"/> for bitmaps: levels from the highest frequency down, pages in address
    /// order from each level's cursor, each unmarked and re-checked as the heap path does (a level
    /// below a raised threshold holds only pages to drop, as the heap's lower keys do). The batch
    /// is written into <paramref name="pages"/> directly: the bitmap copies a run of marked pages
    /// there and the re-check compacts the survivors in place, so nothing else is needed.
    /// The batch comes out ordered by frequency (highest first) by construction; within one
    /// frequency it stays in address order. It is not sorted by recency as the heap's batch is:
    /// an introsort of 512 (key, page) pairs measured 14 µs of a 34 µs extraction (the in-process
    /// probe in perf/RESULTS.md), and recency within a level only decides which pages of the lowest
    /// level taken move first when the rate limit cuts a batch.
    /// </summary>
    private int ExtractFromBitmaps(int target, Span<long> pages, Span<uint> wordsOut, ulong nowMs)
    {
        CandidateBitmaps bitmaps = _bitmaps!;
        if (!bitmaps.HasNode(target))
        {
            return 0;
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
                // overlaps (nothing in it depends on an earlier miss), and prefetch the candidate
                // bits the clear will need; then clear and re-check in a second pass.
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
        return count;
    }
}
