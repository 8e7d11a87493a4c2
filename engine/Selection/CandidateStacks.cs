using System.Diagnostics;
using System.Numerics;
using System.Runtime.Intrinsics.X86;
using HotPage.Engine.Native;

namespace HotPage.Engine.Selection;

/// <summary>
/// The candidate stacks of one top-tier target node (<see cref="CandidateSelection.Stacks"/>): a
/// LIFO stack of <see cref="CandidateHeap"/> keys per frequency level 1..7, every level cut from one
/// pool of fixed-size segments, so the node's entries are bounded by <see cref="Capacity"/>
/// (<c>max_candidates</c>) whatever the levels hold.
/// </summary>
/// <remarks>
/// <para>Why: a heap pop walks ~7 levels of an 8 MiB heap whose deep levels miss the caches, and
/// each frequency step of a candidate pays a sift-up. Keys only ever need "highest frequency
/// first, then most recent", and a page's entry is pushed when it reaches a frequency, so the
/// push order within one level is already the recency order when time does not go back: a push
/// appends to its level's top segment (sequential, cache-hot) and a pop takes runs from the top
/// of the highest non-empty level (one bit scan over a 7-bit mask, then a copy).</para>
/// <para>Order compared with the heap: identical by frequency. Within a level a heap pops by key
/// (time of the push, then page index, both descending); the stacks pop by push order, latest
/// first. The two agree whenever the keys of one level were pushed in increasing time; they
/// differ when a key with an earlier time is pushed after one with a later time (a requeued page
/// carries its word's time, older than pages that reached the level since; a late record raises a
/// page's frequency without moving its word's time, so its push carries a time older than pushes
/// before it) and when times tie (the heap then orders by page index, the stacks by push order).
/// The extracted batch is re-sorted by frequency, then recency, either way: what differs is which
/// pages of the lowest level taken make the batch.</para>
/// <para>Memory: <see cref="SegmentKeys"/>-key segments, <c>ceil(Capacity / SegmentKeys) + 6</c>
/// of them (every level's top segment may be partly filled, so six spare segments guarantee that
/// any push below <see cref="Capacity"/> finds room), plus a 4-byte link per segment and a 4-byte
/// scratch slot per segment for compaction: 8 MiB + 24 KiB + 16 KiB for 1 Mi entries with 512-key
/// segments, against the heap's 8 MiB + 120 B.</para>
/// <para>Invariants: <c>_keys</c> holds <c>_segments × SegmentKeys</c> slots; segment <c>s</c> is
/// slots <c>s·SegmentKeys ..</c>. Every segment is either on the free list (linked through
/// <c>_below</c> from <c>_free</c>, −1 ends it) or in exactly one level's chain (linked through
/// <c>_below</c> from <c>_top[level]</c>, top to bottom). In a chain every segment below the top is
/// full and the top holds <c>_fill[level]</c> keys, 1..<see cref="SegmentKeys"/>; an empty level has
/// <c>_top = −1</c>, <c>_fill = 0</c> and its bit clear in <c>_nonEmpty</c> (set exactly for non-empty
/// levels). A level's keys all have that frequency. <c>_count</c> is the sum of the levels' keys
/// and never exceeds <see cref="Capacity"/>. Slots are read and written only through
/// <see cref="NativeArray{T}"/> (checked in Debug); the one raw pointer is a push's prefetch hint,
/// <c>_keys.Pointer + slot + 16</c>, formed only when <c>fill + 16 &lt; SegmentKeys</c>, so it stays
/// inside the pushed segment; the storage is owned here and freed once.</para>
/// </remarks>
internal sealed unsafe class CandidateStacks : IDisposable
{
    /// <summary>Frequency levels (1..7; level 0 is never used: no key has frequency 0).</summary>
    public const int Levels = 7;

    /// <summary>Keys per segment (4 KiB): a page of the pool, so a level's top segment stays in one TLB entry.</summary>
    public const int SegmentKeys = 512;

    private const int SegmentShift = 9;
    private const int PrefetchDistance = 32; // compaction reads the table at random: issue its loads ahead
    private const int PushPrefetchKeys = 16; // a push prefetches the line two ahead in its segment

    private readonly NativeArray<ulong> _keys;
    private readonly NativeArray<int> _below;
    private readonly NativeArray<int> _chain; // compaction's scratch: one level's chain, top to bottom
    private readonly int[] _top = new int[Levels + 1];
    private readonly int[] _fill = new int[Levels + 1];
    private readonly int _segments;
    private int _free;
    private uint _nonEmpty;
    private long _count;

    public CandidateStacks(long capacity, NativeMemoryCounter counter)
    {
        Debug.Assert(1 << SegmentShift == SegmentKeys, "SegmentShift matches SegmentKeys");
        if (capacity <= 0 || capacity > int.MaxValue * (long)SegmentKeys / 2)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(capacity), capacity, "The candidate stacks' capacity is out of range.");
        }

        Capacity = capacity;
        _segments = (int)((capacity + SegmentKeys - 1) / SegmentKeys) + Levels - 1;
        _keys = new NativeArray<ulong>((long)_segments * SegmentKeys, counter, "candidate stacks");
        try
        {
            _below = new NativeArray<int>(_segments, counter, "candidate stack links");
            _chain = new NativeArray<int>(_segments, counter, "candidate stack scratch");
        }
        catch
        {
            _below?.Dispose();
            _keys.Dispose();
            throw;
        }

        for (int s = 0; s < _segments; s++)
        {
            _below[s] = s + 1 < _segments ? s + 1 : -1;
        }

        _free = 0;
        Array.Fill(_top, -1);
    }

    /// <summary>Most keys held at once (all levels together).</summary>
    public long Capacity { get; }

    /// <summary>Keys held (valid and stale).</summary>
    public long Count => _count;

    /// <summary>Native bytes held for <paramref name="capacity"/> keys (the pool, its links and the compaction scratch).</summary>
    public static long BytesFor(long capacity)
    {
        long segments = ((capacity + SegmentKeys - 1) / SegmentKeys) + Levels - 1;
        return (segments * SegmentKeys * sizeof(ulong)) + (2 * segments * sizeof(int));
    }

    /// <summary>Keys held at <paramref name="frequency"/> (for tests and diagnostics: walks the level's chain).</summary>
    public long CountAt(uint frequency)
    {
        int l = (int)frequency;
        int seg = _top[l];
        if (seg < 0)
        {
            return 0;
        }

        long n = _fill[l];
        for (seg = _below[seg]; seg >= 0; seg = _below[seg])
        {
            n += SegmentKeys;
        }

        return n;
    }

    /// <summary>Pushes a key on its frequency's stack; false when <see cref="Capacity"/> keys are held.</summary>
    public bool TryPush(ulong key)
    {
        if (_count == Capacity)
        {
            return false;
        }

        int l = (int)CandidateHeap.KeyFrequency(key);
        Debug.Assert(l is >= 1 and <= Levels, "a candidate key has a frequency of 1..7");
        int seg = _top[l];
        int fill = _fill[l];
        if (fill == SegmentKeys || seg < 0)
        {
            // Below Capacity keys at most ceil(Capacity / SegmentKeys) + 6 segments are in use with
            // this one (only the seven tops may be partial), which is what the pool holds.
            int fresh = _free;
            Debug.Assert(fresh >= 0, "a push below capacity always finds a free segment");
            _free = _below[fresh];
            _below[fresh] = seg;
            _top[l] = seg = fresh;
            fill = 0;
            _nonEmpty |= 1u << l;
        }

        long slot = ((long)seg << SegmentShift) + fill;
        _keys[slot] = key;
        if ((fill & 7) == 0 && fill + PushPrefetchKeys < SegmentKeys && Sse.IsSupported)
        {
            // Starting a line: ask for the one two lines on. A segment taken from the free list was
            // last written long ago, and the seven levels' appends interleave, so without this each
            // new line's fill waited on memory (selection-apply-probe, Zipf: stacks/heap 1.05 → 1.00–1.03).
            Sse.Prefetch0(_keys.Pointer + slot + PushPrefetchKeys);
        }

        _fill[l] = fill + 1;
        _count++;
        return true;
    }

    /// <summary>
    /// Pops up to <paramref name="destination"/>.Length keys: the highest non-empty level first,
    /// each level latest push first. Costs in proportion to the keys popped (a run per segment).
    /// </summary>
    public int Pop(Span<ulong> destination)
    {
        int n = 0;
        while (n < destination.Length && _nonEmpty != 0)
        {
            int l = 31 - BitOperations.LeadingZeroCount(_nonEmpty);
            int seg = _top[l];
            int fill = _fill[l];
            int take = Math.Min(fill, destination.Length - n);
            Span<ulong> run = _keys.Slice(((long)seg << SegmentShift) + fill - take, take);
            Span<ulong> to = destination.Slice(n, take);
            run.CopyTo(to);
            to.Reverse(); // the top of the stack is the end of the run
            n += take;
            _count -= take;
            fill -= take;
            if (fill > 0)
            {
                _fill[l] = fill;
                continue;
            }

            int below = _below[seg];
            _below[seg] = _free;
            _free = seg;
            _top[l] = below;
            if (below < 0)
            {
                _fill[l] = 0;
                _nonEmpty &= ~(1u << l);
            }
            else
            {
                _fill[l] = SegmentKeys;
            }
        }

        return n;
    }

    /// <summary>
    /// Keeps only the keys <paramref name="keep"/> accepts, every level in its order, and returns
    /// the segments freed to the pool; returns how many keys were removed. One pass over the keys,
    /// segment by segment from each level's bottom, prefetching what the filter reads
    /// <see cref="PrefetchDistance"/> keys ahead.
    /// </summary>
    public long Compact<TFilter>(ref TFilter keep) where TFilter : struct, IKeyFilter
    {
        long removed = 0;
        for (int l = 1; l <= Levels; l++)
        {
            if (_top[l] < 0)
            {
                continue;
            }

            int chain = 0;
            for (int seg = _top[l]; seg >= 0; seg = _below[seg])
            {
                _chain[chain++] = seg; // top first: the bottom segment is _chain[chain - 1]
            }

            // Read from the bottom segment up; write the kept keys from the bottom up too (the
            // writer never passes the reader, so nothing unread is overwritten).
            int wi = chain - 1, wj = 0;
            Span<ulong> write = Segment(_chain[wi], SegmentKeys);
            long kept = 0, read = 0;
            for (int ri = chain - 1; ri >= 0; ri--)
            {
                Span<ulong> seg = Segment(_chain[ri], ri == 0 ? _fill[l] : SegmentKeys);
                Span<ulong> next = ri > 0 ? Segment(_chain[ri - 1], ri == 1 ? _fill[l] : SegmentKeys) : default;
                // The prefetch runs PrefetchDistance keys ahead: in this segment, then into the next.
                int inSegment = Math.Max(0, seg.Length - PrefetchDistance);
                for (int j = 0; j < seg.Length; j++)
                {
                    if (j < inSegment)
                    {
                        keep.Prefetch(seg[j + PrefetchDistance]);
                    }
                    else if (j + PrefetchDistance - seg.Length < next.Length)
                    {
                        keep.Prefetch(next[j + PrefetchDistance - seg.Length]);
                    }

                    ulong k = seg[j];
                    if (keep.Keep(k))
                    {
                        write[wj] = k;
                        kept++;
                        if (++wj == SegmentKeys)
                        {
                            wj = 0;
                            wi--;
                            write = wi >= 0 ? Segment(_chain[wi], SegmentKeys) : default; // wi < 0: every key was kept, none is left to write
                        }
                    }
                }

                read += seg.Length;
            }

            removed += read - kept;
            int used = (int)((kept + SegmentKeys - 1) >> SegmentShift);
            for (int i = 0; i < chain - used; i++)
            {
                int seg = _chain[i]; // the upper segments, now empty
                _below[seg] = _free;
                _free = seg;
            }

            if (used == 0)
            {
                _top[l] = -1;
                _fill[l] = 0;
                _nonEmpty &= ~(1u << l);
            }
            else
            {
                _top[l] = _chain[chain - used];
                _fill[l] = (int)(kept - ((long)(used - 1) << SegmentShift));
            }
        }

        _count -= removed;
        return removed;
    }

    private Span<ulong> Segment(int segment, int length) => _keys.Slice((long)segment << SegmentShift, length);

    public void Dispose()
    {
        _keys.Dispose();
        _below.Dispose();
        _chain.Dispose();
    }
}
