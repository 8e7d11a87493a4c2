using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using HotPage.Engine.Native;
using HotPage.Engine.Records;
using HotPage.Engine.Rings;
using HotPage.Engine.Selection;

namespace HotPage.Engine.Tables;

/// <summary>
/// The hotness table: pghot's packed word per tracked page, a candidate bit per page and a
/// candidate heap per top-tier target node, in struct-of-arrays native memory sized once. Only
/// the consumer (the thread holding the engine's consumer lock) reads or writes it.
/// </summary>
/// <remarks>
/// Memory per tracked page: 4 bytes of <see cref="PageWord"/> + 1 bit of candidate flag = 4.125 B,
/// plus 8 B per heap or stack entry (bounded by <c>max_candidates</c> per target node, independent
/// of the number of pages).
/// Candidate protocol: a page is a candidate while its candidate bit is set; then exactly one heap
/// entry for it is valid, the one whose frequency and heap (target node) match the page's word.
/// When the frequency or target changes the engine pushes a fresh entry and the old one goes
/// stale; a popped entry is discarded unless the bit is set and the entry matches the word.
/// Selection therefore costs O(log candidates) per extracted page, never a walk over pages.
/// Stack selection (<c>HotnessTable.Stacks.cs</c>) keeps the same keys and the same protocol in
/// per-frequency stacks instead of a heap: O(1) per push and per extracted page.
/// Invariants: <c>_words</c> and <c>_candidates</c> cover <c>Capacity</c> pages; <c>_heaps[n]</c> is
/// non-null exactly for top-tier nodes with heap selection (with stack selection <c>_stacks[n]</c>
/// is, instead; neither with bitmap selection, whose protocol and memory <c>HotnessTable.Bitmaps.cs</c>
/// states); all native memory is owned here and freed once.
/// </remarks>
internal sealed unsafe partial class HotnessTable : IDisposable
{
    private const int PrefetchDistance = 32;
    private const int CompactionFraction = 16;

    private readonly NativeArray<uint> _words;
    private readonly NativeArray<ulong> _candidates;
    private readonly CandidateHeap?[] _heaps;
    // Candidates per target node. A candidate has exactly one entry in its node's heap (or stacks)
    // that matches its word; compaction keeps every entry that matches a candidate's word (an old
    // entry can match again after the page's window restarted), so it keeps at least
    // _candidatesOfNode[n] entries and can free a slot only when the heap holds more.
    private readonly long[] _candidatesOfNode;
    private readonly uint* _wordBase;
    private readonly ulong* _candidateBase;
    private uint _window;
    private uint _threshold;

    // Consumer-side counters (single writer: the consumer).
    public long Applied;
    public long SkippedTopTier;
    public long PromotedUsed;
    public long RecordsHash;
    public long RecordsHeap;
    public long CandidatesAdded;
    public long CandidatesRemoved;
    public long HeapFullDropped;
    public long ColdAtExtraction;
    public long Extracted;
    public long StaleDiscarded;
    public readonly long[] AppliedBySource = new long[AccessSources.Max + 1];

    public HotnessTable(long capacity, IReadOnlyList<int> topTierNodes, int nodeIdLimit, long maxCandidates, NativeMemoryCounter counter)
        : this(capacity, topTierNodes, nodeIdLimit, maxCandidates, counter, CandidateSelection.Heap)
    {
    }

    public HotnessTable(long capacity, IReadOnlyList<int> topTierNodes, int nodeIdLimit, long maxCandidates, NativeMemoryCounter counter, CandidateSelection selection)
    {
        if (capacity <= 0 || capacity > (long)CandidateHeap.PageMask)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(capacity), capacity, $"The table capacity must be in 1..{CandidateHeap.PageMask} pages.");
        }

        Capacity = capacity;
        _heaps = new CandidateHeap?[nodeIdLimit];
        _candidatesOfNode = new long[nodeIdLimit];
        // Each allocation below can fail (out of memory, or a candidate structure refusing its
        // size): free what was allocated before it, or the engine's native memory leaks.
        try
        {
            _words = new NativeArray<uint>(capacity, counter, "the hotness table");
            _candidates = new NativeArray<ulong>((capacity + 63) / 64, counter, "the candidate bits");
            _wordBase = _words.Pointer;
            _candidateBase = _candidates.Pointer;
            if (selection == CandidateSelection.Bitmap)
            {
                _bitmaps = CreateBitmaps(capacity, topTierNodes, nodeIdLimit, counter);
            }
            else if (selection == CandidateSelection.Stacks)
            {
                _stacks = CreateStacks(topTierNodes, nodeIdLimit, maxCandidates, counter);
            }
            else
            {
                foreach (int node in topTierNodes)
                {
                    _heaps[node] = new CandidateHeap(maxCandidates, counter);
                }
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public long Capacity { get; }

    /// <summary>Bytes of table per tracked page, excluding heaps (which scale with candidates).</summary>
    public static double BytesPerPage => sizeof(uint) + (1.0 / 8);

    public uint Window { get => _window; set => _window = value; }

    public uint Threshold { get => _threshold; set => _threshold = value; }

    public long CandidateCount => CandidatesAdded - CandidatesRemoved;

    public uint Word(long page) => _words[page];

    public bool IsCandidate(long page) => (_candidates[page >> 6] & (1UL << (int)(page & 63))) != 0;

    public long HeapCount(int node) =>
        _bitmaps is not null ? BitmapCandidates(node)
        : _stacks is not null ? StackEntries(node)
        : unchecked((uint)node) < (uint)_heaps.Length && _heaps[node] is { } h ? h.Count : 0;

    /// <summary>
    /// Applies drained records, prefetching the word and the candidate bits of the record
    /// <see cref="PrefetchDistance"/> places ahead: random pages of a large table miss the caches
    /// and the TLB, and one record's work is far shorter than a miss, so the loads must be issued
    /// that far ahead to overlap.
    /// </summary>
    public void Apply(ReadOnlySpan<StagedRecord> records)
    {
        int n = records.Length;
        int i = 0;
        if (Sse.IsSupported)
        {
            for (int p = 0; p < Math.Min(PrefetchDistance, n); p++)
            {
                Prefetch(records[p].Page);
            }

            for (; i + PrefetchDistance < n; i++)
            {
                Prefetch(records[i + PrefetchDistance].Page);
                ApplyOne(in records[i]);
            }
        }

        for (; i < n; i++)
        {
            ApplyOne(in records[i]);
        }

        Applied += n;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Prefetch(long page)
    {
        Sse.Prefetch0(_wordBase + page);
        Sse.Prefetch0(_candidateBase + (page >> 6));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ApplyOne(in StagedRecord r)
    {
        ref uint word = ref _wordBase[r.Page];
        uint old = word;
        AppliedBySource[r.Source]++;
        if (old == PageWord.TopTier)
        {
            SkippedTopTier++;
            return;
        }

        uint target = r.Target;
        uint t = r.TimeMs & PageWord.TimeMask;
        uint oldFreq = PageWord.Frequency(old);
        uint oldTarget = PageWord.Node(old);
        uint freq;
        uint time = t;
        if (oldFreq == 0)
        {
            if (old != PageWord.Empty)
            {
                // PromotedUnused: the first report since the promoter moved the page (a top-tier page
                // is otherwise untracked). Tested here, on the first access of a window, and not
                // beside the TopTier test above, so the common record pays nothing for it.
                word = PageWord.TopTier;
                PromotedUsed++;
                SkippedTopTier++;
                return;
            }

            RecordsHash++;
            freq = 1;
        }
        else
        {
            int elapsed = PageWord.Elapsed(t, PageWord.Time(old));
            if (oldTarget != target || elapsed > (int)_window)
            {
                freq = 1;
            }
            else
            {
                freq = oldFreq < PageWord.MaxFrequency ? oldFreq + 1 : oldFreq;
                if (elapsed < 0)
                {
                    time = PageWord.Time(old); // an earlier report arriving late never moves time back
                }
            }
        }

        word = PageWord.Pack(freq, target, time);
        UpdateCandidate(r.Page, freq, target, time, oldFreq, oldTarget);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void UpdateCandidate(long page, uint freq, uint target, uint time, uint oldFreq, uint oldTarget)
    {
        ref ulong bits = ref _candidates[page >> 6];
        ulong mask = 1UL << (int)(page & 63);
        bool was = (bits & mask) != 0;
        if (freq >= _threshold)
        {
            if (was && freq == oldFreq && target == oldTarget)
            {
                return; // its heap entry is still the valid one
            }

            if (was)
            {
                _candidatesOfNode[oldTarget]--; // its old entry is stale from here on (the word changed)
                _bitmaps?.Remove((int)oldTarget, oldFreq, page);
            }

            if (PushEntry((int)target, freq, time, page))
            {
                _candidatesOfNode[target]++;
                if (!was)
                {
                    bits |= mask;
                    CandidatesAdded++;
                }
            }
            else if (was)
            {
                bits &= ~mask; // its old entry is stale now and there is no room for a fresh one
                CandidatesRemoved++;
            }
        }
        else if (was)
        {
            _candidatesOfNode[oldTarget]--;
            _bitmaps?.Remove((int)oldTarget, oldFreq, page);
            bits &= ~mask;
            CandidatesRemoved++;
        }
    }

    private bool PushEntry(int target, uint freq, uint time, long page)
    {
        // Every record's target is a top-tier node (the producers map each node to one). A slot the
        // consumer reads before its producer's stores are visible could say otherwise (page 0,
        // target 0: possible only with a producer handle used from two threads at once on a weakly
        // ordered CPU). A target without a candidate structure is refused as a full structure is
        // (RefuseTarget), instead of faulting the consumer; the page is then not a candidate.
        if (_bitmaps is not null)
        {
            return MarkInBitmap(target, freq, page);
        }

        ulong key = CandidateHeap.MakeKey(freq, time, page);
        if (_stacks is not null)
        {
            return PushOnStacks(target, key);
        }

        CandidateHeap? heap = _heaps[target];
        if (heap is null)
        {
            return RefuseTarget();
        }

        if (heap.TryPush(key))
        {
            RecordsHeap++;
            return true;
        }

        // Full. Compaction is a pass over the whole heap with a random table read per entry, so it
        // runs only when it frees at least 1/16 of the heap: amortised, a push then pays a bounded
        // share of it. Compaction keeps at least one entry per candidate of this node, so the heap
        // holds at most Count - candidates stale entries. Compacting whenever any entry might be
        // stale made apply thrash once a heap filled with candidates: each push paid a full pass
        // (200 ms over a 64 Mi-page table) to free a handful of slots. Below the bar the push is
        // dropped (kpromoted_dropped), as it is when nothing is stale.
        if (CompactionPays(heap.Count, heap.Capacity, target))
        {
            var filter = new ValidEntry(this, target);
            StaleDiscarded += heap.Compact(ref filter);
            if (heap.TryPush(key))
            {
                RecordsHeap++;
                return true;
            }
        }

        HeapFullDropped++;
        return false;
    }

    // A push for a node that has no candidate structure (not a top-tier node): see PushEntry.
    private bool RefuseTarget()
    {
        HeapFullDropped++;
        return false;
    }

    // The heap and the stacks compact under one rule: when at least 1/16 of the capacity can be
    // stale (entries beyond one per candidate of the node).
    private bool CompactionPays(long count, long capacity, int target) =>
        count - _candidatesOfNode[target] >= Math.Max(1, capacity / CompactionFraction);

    private bool IsValidEntry(ulong key, int target)
    {
        long page = CandidateHeap.KeyPage(key);
        uint w = _wordBase[page];
        return !PageWord.IsTopTier(w) && IsCandidate(page)
            && PageWord.Frequency(w) == CandidateHeap.KeyFrequency(key)
            && PageWord.Node(w) == (uint)target;
    }

    /// <summary>
    /// Pops up to <paramref name="pages"/>.Length valid candidates for <paramref name="target"/>,
    /// hottest first; re-checks each (still at or above the threshold, last access within the
    /// window at <paramref name="nowMs"/>) as kpromoted does; a page that went cold is dropped and
    /// counted. Extracted pages stop being candidates. The batch is ordered by frequency, then recency.
    /// </summary>
    public int Extract(int target, Span<long> pages, Span<uint> wordsOut, ulong nowMs)
    {
        if (_bitmaps is not null)
        {
            return ExtractFromBitmaps(target, pages, wordsOut, nowMs);
        }

        CandidateHeap? heap = null;
        CandidateStacks? stacks = null;
        if (_stacks is not null ? !TryGetStacks(target, out stacks)
            : unchecked((uint)target) >= (uint)_heaps.Length || (heap = _heaps[target]) is null)
        {
            return 0;
        }

        uint now = unchecked((uint)nowMs) & PageWord.TimeMask;
        int count = 0;
        // Pop in rounds: first as many keys as places are left (parked in the output span), then
        // validate them, having issued every table load of the round at once, so the random reads
        // of a large table overlap instead of queueing behind each other. Never more keys than places:
        // every valid one is taken, so the result is the same as popping and validating one by one.
        Span<ulong> keys = MemoryMarshal.Cast<long, ulong>(pages);
        while (count < pages.Length)
        {
            int popped = stacks is not null ? PopFromStacks(stacks, keys, count) : PopFromHeap(heap!, keys, count);
            if (popped == count)
            {
                break;
            }

            count = AcceptRound(target, keys, count, popped, pages, wordsOut, now, stacks is not null ? StackPrefetchDistance : 0);
        }

        Extracted += count;
        SortBatch(target, pages[..count], wordsOut[..count], now);
        return count;
    }

    // Pops keys into keys[count..] until it is full or the heap is empty, prefetching each key's
    // word and candidate bits as it comes; returns the end of the round.
    private int PopFromHeap(CandidateHeap heap, Span<ulong> keys, int count)
    {
        int popped = count;
        while (popped < keys.Length && heap.TryPop(out ulong key))
        {
            keys[popped++] = key;
            if (Sse.IsSupported)
            {
                Prefetch(CandidateHeap.KeyPage(key));
            }
        }

        return popped;
    }

    // Validates and re-checks the round keys[count..popped] in pop order, moving the pages taken to
    // pages[count..] (the same memory: count <= i, so a key is read before its place is written);
    // returns the new count. With ahead > 0 it prefetches the table lines of the key that many
    // places ahead (the heap's pops prefetched theirs already: it passes 0).
    private int AcceptRound(int target, Span<ulong> keys, int count, int popped, Span<long> pages, Span<uint> wordsOut, uint now, int ahead)
    {
        bool prefetch = ahead > 0 && Sse.IsSupported;
        for (int i = count; i < popped; i++)
        {
            if (prefetch && i + ahead < popped)
            {
                Prefetch(CandidateHeap.KeyPage(keys[i + ahead]));
            }

            ulong key = keys[i];
            if (!IsValidEntry(key, target))
            {
                StaleDiscarded++;
                continue;
            }

            long page = CandidateHeap.KeyPage(key);
            uint w = _wordBase[page];
            ClearCandidate(page);
            if (PageWord.Frequency(w) < _threshold || PageWord.Elapsed(now, PageWord.Time(w)) > (int)_window)
            {
                ColdAtExtraction++;
                continue;
            }

            pages[count] = page; // count <= i: never overwrites a key not yet read
            wordsOut[count] = w;
            count++;
        }

        return count;
    }

    /// <summary>
    /// Sorts an extracted batch hottest first (frequency, then recency at <paramref name="now"/>,
    /// then page index, all descending), for every strategy that sorts (heap and stacks). A heap
    /// batch comes nearly ordered; a stack batch need not: pages requeued in batch order (hottest
    /// first) come back from the stack in reverse, and pages that reached a level out of time order
    /// come as a few sorted runs (an insertion sort measured 300 µs per 512-page batch on the
    /// requeue benchmark). So each
    /// (page, word) becomes one key whose descending order is the wanted order (frequency | 2^18 − 1 −
    /// age at <paramref name="now"/> | page: the age is within ±2^18 ms, see <see cref="PageWord"/>),
    /// the keys are sorted by natural merge (ascending runs reversed, then adjacent runs merged:
    /// linear for one or a few runs, n log n at worst), and decoded back: every word of the batch
    /// has target <paramref name="target"/> (it was validated against it), so the word is exactly
    /// Pack(frequency, target, now − age).
    /// </summary>
    [SkipLocalsInit]
    private static void SortBatch(int target, Span<long> pages, Span<uint> words, uint now)
    {
        const int MaxAge = (1 << (PageWord.TimeBits - 1)) - 1;
        const int StackScratch = 1024;
        Span<ulong> keys = MemoryMarshal.Cast<long, ulong>(pages);
        for (int i = 0; i < keys.Length; i++)
        {
            uint w = words[i];
            int age = PageWord.Elapsed(now, PageWord.Time(w));
            keys[i] = CandidateHeap.MakeKey(PageWord.Frequency(w), (uint)(MaxAge - age), pages[i]);
        }

        if (keys.Length <= StackScratch)
        {
            Span<ulong> scratch = stackalloc ulong[StackScratch];
            KeySort.SortDescending(keys, scratch[..keys.Length]);
        }
        else
        {
            keys.Sort(); // batches above 1024 pages: introsort, no scratch needed
            keys.Reverse();
        }

        for (int i = 0; i < keys.Length; i++)
        {
            ulong k = keys[i];
            int age = MaxAge - (int)((k >> CandidateHeap.PageBits) & PageWord.TimeMask);
            words[i] = PageWord.Pack(CandidateHeap.KeyFrequency(k), (uint)target, unchecked(now - (uint)age));
            pages[i] = CandidateHeap.KeyPage(k);
        }
    }

    private void ClearCandidate(long page)
    {
        ref ulong bits = ref _candidates[page >> 6];
        ulong mask = 1UL << (int)(page & 63);
        if ((bits & mask) != 0)
        {
            uint w = _wordBase[page]; // callers clear before they change the word
            _candidatesOfNode[PageWord.Node(w)]--;
            _bitmaps?.Remove((int)PageWord.Node(w), PageWord.Frequency(w), page);
            bits &= ~mask;
            CandidatesRemoved++;
        }
    }

    /// <summary>Puts an extracted page back in its heap if it is still hot (a busy page to retry later). False when it is not, or the heap is full.</summary>
    public bool Requeue(long page)
    {
        uint w = _wordBase[page];
        if (PageWord.IsTopTier(w) || w == PageWord.Empty || IsCandidate(page) || PageWord.Frequency(w) < _threshold)
        {
            return false;
        }

        int target = (int)PageWord.Node(w);
        if (!PushEntry(target, PageWord.Frequency(w), PageWord.Time(w), page))
        {
            return false;
        }

        _candidates[page >> 6] |= 1UL << (int)(page & 63);
        _candidatesOfNode[target]++;
        CandidatesAdded++;
        return true;
    }

    /// <summary>The page is resident on a top-tier node: stop tracking it (a page the promoter moved keeps its "not reported since" mark).</summary>
    public void MarkTopTier(long page)
    {
        ClearCandidate(page);
        if (_wordBase[page] != PageWord.PromotedUnused)
        {
            _wordBase[page] = PageWord.TopTier;
        }
    }

    /// <summary>The promoter moved the page to a top-tier node: stop tracking it until it is reported again or found demoted.</summary>
    public void MarkPromotedUnused(long page)
    {
        ClearCandidate(page);
        _wordBase[page] = PageWord.PromotedUnused;
    }

    /// <summary>The page is (again) on a lower tier: track it from scratch.</summary>
    public void MarkLowerTier(long page)
    {
        if (PageWord.IsTopTier(_wordBase[page]))
        {
            _wordBase[page] = PageWord.Empty;
        }
    }

    /// <summary>Forgets the page (unmapped, gone): its state returns to empty.</summary>
    public void Forget(long page)
    {
        ClearCandidate(page);
        _wordBase[page] = PageWord.Empty;
    }

    /// <summary>Resets a range of pages (a region unregistered or reused).</summary>
    public void ResetRange(long first, long count)
    {
        for (long p = first; p < first + count; p++)
        {
            ClearCandidate(p);
        }

        _words.Clear(first, count);
    }

    public void Dispose()
    {
        _words?.Dispose(); // null only when the constructor failed before allocating them
        _candidates?.Dispose();
        _bitmaps?.Dispose();
        DisposeStacks();
        foreach (CandidateHeap? h in _heaps)
        {
            h?.Dispose();
        }
    }

    private readonly struct ValidEntry(HotnessTable table, int target) : IKeyFilter
    {
        public bool Keep(ulong key) => table.IsValidEntry(key, target);

        public void Prefetch(ulong key)
        {
            if (Sse.IsSupported)
            {
                table.Prefetch(CandidateHeap.KeyPage(key));
            }
        }
    }
}
