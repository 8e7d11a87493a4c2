using System.Runtime.CompilerServices;
using HotPage.Engine.Native;

namespace HotPage.Engine.Selection;

/// <summary>
/// A bounded binary max-heap of candidate keys in native memory, one per top-tier target node
/// (kpromoted's per-node heap). A key packs frequency (3 bits), the time the page reached that
/// frequency (19 bits) and the table index (42 bits), so ordering by key is "hottest first,
/// then most recent" and each entry is 8 bytes.
/// </summary>
/// <remarks>
/// Entries are never updated in place: when a candidate's frequency or target changes the engine
/// pushes a fresh entry and the old one becomes stale; <c>HotnessTable</c> decides whether a
/// popped entry is still valid. Invariants: <c>_keys</c> holds <c>Capacity</c> slots, the first
/// <c>Count</c> of which form a heap; the storage is owned here and freed once.
/// </remarks>
internal sealed class CandidateHeap : IDisposable
{
    /// <summary>Bits of table index in a key.</summary>
    public const int PageBits = 42;
    /// <summary>Mask of the table index.</summary>
    public const ulong PageMask = (1UL << PageBits) - 1;

    private readonly NativeArray<ulong> _keys;
    private long _count;

    public CandidateHeap(long capacity, NativeMemoryCounter counter)
    {
        _keys = new NativeArray<ulong>(capacity, counter, "a candidate heap");
        Capacity = capacity;
    }

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
            long parent = (i - 1) >> 1;
            ulong p = _keys[parent];
            if (p >= key)
            {
                break;
            }

            _keys[i] = p;
            i = parent;
        }

        _keys[i] = key;
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

        key = _keys[0];
        long n = --_count;
        if (n > 0)
        {
            SiftDown(0, _keys[n], n);
        }

        return true;
    }

    private void SiftDown(long i, ulong item, long n)
    {
        while (true)
        {
            long child = (2 * i) + 1;
            if (child >= n)
            {
                break;
            }

            ulong c = _keys[child];
            if (child + 1 < n)
            {
                ulong r = _keys[child + 1];
                if (r > c)
                {
                    child++;
                    c = r;
                }
            }

            if (c <= item)
            {
                break;
            }

            _keys[i] = c;
            i = child;
        }

        _keys[i] = item;
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
                keep.Prefetch(_keys[r + PrefetchDistance]);
            }

            ulong k = _keys[r];
            if (keep.Keep(k))
            {
                _keys[w++] = k;
            }
        }

        _count = w;
        for (long i = (w / 2) - 1; i >= 0; i--)
        {
            SiftDown(i, _keys[i], w);
        }

        return n - w;
    }

    /// <summary>Removes every key.</summary>
    public void Clear() => _count = 0;

    public void Dispose() => _keys.Dispose();
}

/// <summary>A predicate over heap keys, as a struct so that compaction inlines it.</summary>
internal interface IKeyFilter
{
    bool Keep(ulong key);

    /// <summary>Starts loading what <see cref="Keep"/> will read for <paramref name="key"/> (a hint; may do nothing).</summary>
    void Prefetch(ulong key);
}
