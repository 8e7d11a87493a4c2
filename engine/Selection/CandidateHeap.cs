using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using HotPage.Engine.Native;

namespace HotPage.Engine.Selection;

/// <summary>
/// A bounded 8-ary max-heap of candidate keys in native memory, one per top-tier target node
/// (kpromoted's per-node heap). A key packs frequency (3 bits), the time the page reached that
/// frequency (19 bits) and the table index (42 bits), so ordering by key is "hottest first,
/// then most recent" and each entry is 8 bytes.
/// </summary>
/// <remarks>
/// Entries are never updated in place: when a candidate's frequency or target changes the engine
/// pushes a fresh entry and the old one becomes stale; <c>HotnessTable</c> decides whether a
/// popped entry is still valid. Eight children per node, stored at physical slots
/// <c>8(i+1) .. 8(i+1)+7</c> (logical <c>8i+1 .. 8i+8</c> shifted by <see cref="Pad"/>), so one
/// node's children fill exactly one 64-byte line: a pop walks ~7 lines for a million entries
/// instead of a binary heap's ~20 scattered ones (an 8 MiB heap misses the caches below its top
/// levels). Keys are unique (they hold the page), so the pop order does not depend on the arity.
/// A sift-down prefetches the child groups of all eight children before it picks one, so the
/// lines of the next level are in flight while this level is compared.
/// Invariants: <c>_keys</c> holds <c>Capacity + Pad + Arity</c> slots; logical slots <c>0 .. Count−1</c>
/// form a heap and every slot after them holds 0 (no key is 0: a candidate's frequency is at least 1),
/// so a sift-down reads whole sibling groups; the storage is owned here and freed once.
/// </remarks>
internal sealed unsafe class CandidateHeap : IDisposable
{
    /// <summary>Bits of table index in a key.</summary>
    public const int PageBits = 42;
    /// <summary>Mask of the table index.</summary>
    public const ulong PageMask = (1UL << PageBits) - 1;

    /// <summary>Children per node.</summary>
    public const int Arity = 8;

    // Logical slot i lives at physical slot i + Pad: the children of i then start on a 64-byte line.
    private const int Pad = Arity - 1;

    private readonly NativeArray<ulong> _keys;
    private long _count;

    public CandidateHeap(long capacity, NativeMemoryCounter counter)
    {
        _keys = new NativeArray<ulong>(capacity + Pad + Arity, counter, "a candidate heap"); // + one group: a last sibling group is read whole
        Capacity = capacity;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref ulong Slot(long i) => ref _keys[i + Pad];

    public long Capacity { get; }

    public long Count => _count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong MakeKey(uint frequency, uint time, long page) =>
        ((ulong)frequency << 61) | ((ulong)time << PageBits) | ((ulong)page & PageMask);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint KeyFrequency(ulong key) => (uint)(key >> 61);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long KeyPage(ulong key) => (long)(key & PageMask);

    /// <summary>Adds a key; false when the heap is full.</summary>
    public bool TryPush(ulong key)
    {
        long i = _count;
        if (i == Capacity)
        {
            return false;
        }

        _count = i + 1;
        while (i > 0)
        {
            long parent = (i - 1) / Arity;
            ulong p = Slot(parent);
            if (p >= key)
            {
                break;
            }

            Slot(i) = p;
            i = parent;
        }

        Slot(i) = key;
        return true;
    }

    /// <summary>Removes and returns the largest key; false when empty.</summary>
    public bool TryPop(out ulong key)
    {
        if (_count == 0)
        {
            key = 0;
            return false;
        }

        key = Slot(0);
        long n = --_count;
        ulong last = Slot(n);
        Slot(n) = 0; // slots from Count on hold 0 (SiftDown reads whole sibling groups)
        if (n > 0)
        {
            SiftDown(0, last, n);
        }

        return true;
    }

    private void SiftDown(long i, ulong item, long n)
    {
        while (true)
        {
            long first = (Arity * i) + 1;
            if (first >= n)
            {
                break;
            }

            long end = Math.Min(first + Arity, n);
            if (Sse.IsSupported)
            {
                // The next level's line is one of the eight children's child groups: ask for all
                // of them now, so the descent waits for at most one miss instead of one per level.
                for (long j = first; j < end && (Arity * j) + 1 < n; j++)
                {
                    Sse.Prefetch0(_keys.Pointer + (Arity * j) + 1 + Pad);
                }
            }

            long child;
            ulong c;
            if (Avx2.IsSupported)
            {
                child = first + MaxOfGroup(_keys.Pointer + first + Pad, out c);
            }
            else
            {
                child = first;
                c = Slot(first);
                for (long j = first + 1; j < end; j++)
                {
                    ulong k = Slot(j);
                    if (k > c)
                    {
                        child = j;
                        c = k;
                    }
                }
            }

            if (c <= item)
            {
                break;
            }

            Slot(i) = c;
            i = child;
        }

        Slot(i) = item;
    }

    /// <summary>
    /// The largest of the eight keys of a sibling group (one 64-byte line; slots past the count hold
    /// 0, below every key) and its position, without a branch: picking the largest of eight random
    /// keys with compares mispredicts about twice per level, which cost more than the loads.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int MaxOfGroup(ulong* group, out ulong max)
    {
        // Unsigned order through signed compares: flip the sign bit of both sides.
        Vector256<long> bias = Vector256.Create(long.MinValue);
        Vector256<long> a = Avx.LoadVector256((long*)group) ^ bias;
        Vector256<long> b = Avx.LoadVector256((long*)group + 4) ^ bias;
        Vector256<long> m = Vector256.ConditionalSelect(Avx2.CompareGreaterThan(a, b), a, b);
        Vector256<long> swapped = Avx2.Permute4x64(m, 0b01_00_11_10);
        m = Vector256.ConditionalSelect(Avx2.CompareGreaterThan(m, swapped), m, swapped);
        swapped = Avx2.Permute4x64(m, 0b10_11_00_01);
        m = Vector256.ConditionalSelect(Avx2.CompareGreaterThan(m, swapped), m, swapped);
        uint mask = Vector256.Equals(a, m).ExtractMostSignificantBits() | (Vector256.Equals(b, m).ExtractMostSignificantBits() << 4);
        max = unchecked((ulong)(m.ToScalar() ^ long.MinValue));
        return BitOperations.TrailingZeroCount(mask);
    }

    /// <summary>Keeps only the keys <paramref name="keep"/> accepts and re-heapifies (O(n)); returns how many were removed.</summary>
    public long Compact<TFilter>(ref TFilter keep) where TFilter : struct, IKeyFilter
    {
        const int PrefetchDistance = 32; // the filter reads the table at random: issue its loads ahead
        long w = 0;
        long n = _count;
        for (long r = 0; r < n; r++)
        {
            if (r + PrefetchDistance < n)
            {
                keep.Prefetch(Slot(r + PrefetchDistance));
            }

            ulong k = Slot(r);
            if (keep.Keep(k))
            {
                Slot(w++) = k;
            }
        }

        for (long r = w; r < n; r++)
        {
            Slot(r) = 0;
        }

        _count = w;
        for (long i = (w - 2) / Arity; i >= 0; i--)
        {
            SiftDown(i, Slot(i), w);
        }

        return n - w;
    }

    /// <summary>Removes every key.</summary>
    public void Clear()
    {
        _keys.Clear(0, _count + Pad);
        _count = 0;
    }

    public void Dispose() => _keys.Dispose();
}

/// <summary>A predicate over heap keys, as a struct so that compaction inlines it.</summary>
internal interface IKeyFilter
{
    bool Keep(ulong key);

    /// <summary>Starts loading what <see cref="Keep"/> will read for <paramref name="key"/> (a hint; may do nothing).</summary>
    void Prefetch(ulong key);
}
