using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using HotPage.Engine.Tables;

namespace HotPage.Perf.Engine;

/// <summary>
/// A C# model of pghot's own 2025 design, the baseline the engine is measured against: a hash
/// table of buckets, each with its own spinlock and a chain of per-page records (pfn, the packed
/// frequency|nid|time word, the record's index in its heap), and a max-heap of hot records per
/// target node under the heap's own lock. <c>pghot_record_access</c> runs synchronously on the
/// reporting thread: hash lookup under the bucket lock, a record allocated on first access, the
/// word updated with the window/frequency rules, and, when the page is (or stays) at or above the
/// threshold with a new frequency, an insert or in-place update of its heap entry under the heap lock.
/// </summary>
/// <remarks>
/// Fairness choices, all in the baseline's favour: records come from a preallocated native pool
/// (no GC, no allocator: a thread-local chunk of the pool, as a per-CPU slab would hand out);
/// the table has one bucket per tracked page, so chains hold about one record (pghot's own RFC
/// sizing puts ~1024 records on a chain, hundreds of times slower); the heap is keyed by frequency
/// only, so a saturated page that is accessed again costs no heap work; heap slots carry the key
/// next to the record index, so sifting compares without touching records (it still writes each
/// moved record's heap index, as pghot's heap must). The hash is the kernel's <c>hash_64</c>
/// (multiply by the golden ratio, keep the top bits). Semantics match the engine's: a report from
/// another node or after the window starts a new window (frequency 1), else frequency + 1
/// saturating at 7; a late report never moves time back; a page that falls below the threshold
/// leaves the heap; a full heap drops the insert. Lock order: bucket, then heap.
/// </remarks>
internal sealed unsafe class PghotBaseline : IDisposable
{
    private const ulong GoldenRatio64 = 0x61C8_8646_80B5_83EBUL;
    private const int PoolChunk = 4096;

    [ThreadStatic] private static PghotBaseline? s_poolOwner;
    [ThreadStatic] private static long s_poolNext;
    [ThreadStatic] private static long s_poolEnd;

    private readonly Bucket* _buckets;
    private readonly PageRecord* _records;
    private readonly long _poolSize;
    private readonly int _hashBits;
    private readonly NodeHeap* _heaps; // one per node id; only top-tier nodes are used
    private readonly int _nodeCount;
    private long _poolNext; // next free chunk of the record pool (one atomic per chunk)

    public PghotBaseline(long trackedPages, int nodeCount, long heapCapacity, uint windowMs, uint threshold)
    {
        Window = windowMs;
        Threshold = threshold;
        _hashBits = Math.Max(1, (int)Math.Ceiling(Math.Log2(trackedPages)));
        long buckets = 1L << _hashBits;
        _poolSize = trackedPages + (PoolChunk * 64L);
        _buckets = (Bucket*)Alloc((ulong)buckets * (ulong)sizeof(Bucket));
        for (long i = 0; i < buckets; i++)
        {
            _buckets[i].Head = -1;
        }

        _records = (PageRecord*)Alloc((ulong)_poolSize * (ulong)sizeof(PageRecord));
        _nodeCount = nodeCount;
        _heaps = (NodeHeap*)Alloc((ulong)nodeCount * (ulong)sizeof(NodeHeap));
        for (int n = 0; n < nodeCount; n++)
        {
            _heaps[n].Slots = (HeapSlot*)Alloc((ulong)heapCapacity * (ulong)sizeof(HeapSlot));
            _heaps[n].Capacity = heapCapacity;
        }
    }

    public uint Window { get; }

    public uint Threshold { get; }

    /// <summary>Heap inserts dropped because the heap was full.</summary>
    public long HeapFull;

    public long HeapCount(int node) => _heaps[node].Count;

    private static void* Alloc(ulong bytes)
    {
        void* p = NativeMemory.AlignedAlloc((nuint)bytes, 128);
        if (p == null)
        {
            throw new InvalidOperationException($"The pghot baseline could not allocate {bytes} bytes.");
        }

        NativeMemory.Clear(p, (nuint)bytes);
        return p;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Bucket* BucketOf(long pfn) => &_buckets[(long)(((ulong)pfn * GoldenRatio64) >> (64 - _hashBits))];

    /// <summary>
    /// <c>pghot_record_access(pfn, nid, src, now)</c>: the target node is the accessing node (all
    /// pages here are on the lower tier; node 0 is the top tier the benchmarks report from).
    /// </summary>
    public void RecordAccess(long pfn, int nid, uint nowMs)
    {
        Bucket* bucket = BucketOf(pfn);
        SpinLockAcquire(ref bucket->Lock);
        int index = bucket->Head;
        while (index >= 0 && _records[index].Pfn != pfn)
        {
            index = _records[index].Next;
        }

        PageRecord* r;
        uint oldFreq, oldNid, oldTime;
        if (index < 0)
        {
            index = AllocateRecord();
            r = &_records[index];
            r->Pfn = pfn;
            r->HeapIndex = -1;
            r->Next = bucket->Head;
            bucket->Head = index;
            oldFreq = 0;
            oldNid = 0;
            oldTime = 0;
        }
        else
        {
            r = &_records[index];
            uint w = r->Word;
            oldFreq = PageWord.Frequency(w);
            oldNid = PageWord.Node(w);
            oldTime = PageWord.Time(w);
        }

        uint t = nowMs & PageWord.TimeMask;
        uint freq;
        uint time = t;
        if (oldFreq == 0)
        {
            freq = 1;
        }
        else
        {
            int elapsed = PageWord.Elapsed(t, oldTime);
            if (oldNid != (uint)nid || elapsed > (int)Window)
            {
                freq = 1;
            }
            else
            {
                freq = oldFreq < PageWord.MaxFrequency ? oldFreq + 1 : oldFreq;
                if (elapsed < 0)
                {
                    time = oldTime;
                }
            }
        }

        r->Word = PageWord.Pack(freq, (uint)nid, time);
        if (freq >= Threshold)
        {
            if (r->HeapIndex < 0 || freq != oldFreq || (uint)nid != oldNid)
            {
                HeapUpdate(nid, index, freq, (int)oldNid);
            }
        }
        else if (r->HeapIndex >= 0)
        {
            NodeHeap* heap = &_heaps[oldNid];
            SpinLockAcquire(ref heap->Lock);
            HeapRemove(heap, r->HeapIndex);
            SpinLockRelease(ref heap->Lock);
        }

        SpinLockRelease(ref bucket->Lock);
    }

    private int AllocateRecord()
    {
        if (s_poolOwner != this || s_poolNext == s_poolEnd)
        {
            long first = Interlocked.Add(ref _poolNext, PoolChunk) - PoolChunk;
            if (first + PoolChunk > _poolSize)
            {
                throw new InvalidOperationException("The pghot baseline's record pool is exhausted.");
            }

            s_poolOwner = this;
            s_poolNext = first;
            s_poolEnd = first + PoolChunk;
        }

        return (int)s_poolNext++;
    }

    private void HeapUpdate(int nid, int index, uint freq, int oldNid)
    {
        PageRecord* r = &_records[index];
        if (r->HeapIndex >= 0 && oldNid != nid)
        {
            NodeHeap* old = &_heaps[oldNid];
            SpinLockAcquire(ref old->Lock);
            HeapRemove(old, r->HeapIndex);
            SpinLockRelease(ref old->Lock);
        }

        NodeHeap* heap = &_heaps[nid];
        SpinLockAcquire(ref heap->Lock);
        if (r->HeapIndex >= 0)
        {
            long i = r->HeapIndex;
            uint oldKey = heap->Slots[i].Key;
            heap->Slots[i].Key = freq;
            if (freq > oldKey)
            {
                SiftUp(heap, i);
            }
            else
            {
                SiftDown(heap, i);
            }
        }
        else if (heap->Count < heap->Capacity)
        {
            long i = heap->Count++;
            heap->Slots[i] = new HeapSlot { Key = freq, Record = index };
            r->HeapIndex = (int)i;
            SiftUp(heap, i);
        }
        else
        {
            HeapFull++;
        }

        SpinLockRelease(ref heap->Lock);
    }

    private void HeapRemove(NodeHeap* heap, long i)
    {
        _records[heap->Slots[i].Record].HeapIndex = -1;
        long last = --heap->Count;
        if (i == last)
        {
            return;
        }

        heap->Slots[i] = heap->Slots[last];
        _records[heap->Slots[i].Record].HeapIndex = (int)i;
        SiftUp(heap, i);
        SiftDown(heap, i);
    }

    private void SiftUp(NodeHeap* heap, long i)
    {
        HeapSlot* s = heap->Slots;
        HeapSlot item = s[i];
        while (i > 0)
        {
            long parent = (i - 1) >> 1;
            if (s[parent].Key >= item.Key)
            {
                break;
            }

            s[i] = s[parent];
            _records[s[i].Record].HeapIndex = (int)i;
            i = parent;
        }

        s[i] = item;
        _records[item.Record].HeapIndex = (int)i;
    }

    private void SiftDown(NodeHeap* heap, long i)
    {
        HeapSlot* s = heap->Slots;
        long n = heap->Count;
        HeapSlot item = s[i];
        while (true)
        {
            long child = (2 * i) + 1;
            if (child >= n)
            {
                break;
            }

            if (child + 1 < n && s[child + 1].Key > s[child].Key)
            {
                child++;
            }

            if (s[child].Key <= item.Key)
            {
                break;
            }

            s[i] = s[child];
            _records[s[i].Record].HeapIndex = (int)i;
            i = child;
        }

        s[i] = item;
        _records[item.Record].HeapIndex = (int)i;
    }

    /// <summary>
    /// kpromoted's batch: pops up to <paramref name="pfns"/>.Length records from the node's heap
    /// under its lock, re-checking each (still at or above the threshold, last access within the
    /// window at <paramref name="nowMs"/>); returns how many hot pages it wrote.
    /// </summary>
    public int Extract(int node, Span<long> pfns, uint nowMs)
    {
        NodeHeap* heap = &_heaps[node];
        uint now = nowMs & PageWord.TimeMask;
        int count = 0;
        SpinLockAcquire(ref heap->Lock);
        while (count < pfns.Length && heap->Count > 0)
        {
            int index = heap->Slots[0].Record;
            HeapRemove(heap, 0);
            PageRecord* r = &_records[index];
            uint w = Volatile.Read(ref r->Word);
            if (PageWord.Frequency(w) < Threshold || PageWord.Elapsed(now, PageWord.Time(w)) > (int)Window)
            {
                continue;
            }

            pfns[count++] = r->Pfn;
        }

        SpinLockRelease(ref heap->Lock);
        return count;
    }

    /// <summary>Puts an extracted page back in its heap if it is still hot (the benchmarks' re-priming).</summary>
    public bool Requeue(long pfn)
    {
        Bucket* bucket = BucketOf(pfn);
        SpinLockAcquire(ref bucket->Lock);
        int index = bucket->Head;
        while (index >= 0 && _records[index].Pfn != pfn)
        {
            index = _records[index].Next;
        }

        bool queued = false;
        if (index >= 0 && _records[index].HeapIndex < 0)
        {
            uint w = _records[index].Word;
            uint freq = PageWord.Frequency(w);
            if (freq >= Threshold)
            {
                int nid = (int)PageWord.Node(w);
                HeapUpdate(nid, index, freq, nid);
                queued = _records[index].HeapIndex >= 0;
            }
        }

        SpinLockRelease(ref bucket->Lock);
        return queued;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SpinLockAcquire(ref int word)
    {
        if (Interlocked.CompareExchange(ref word, 1, 0) != 0)
        {
            SpinLockContended(ref word);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void SpinLockContended(ref int word)
    {
        var spin = default(SpinWait);
        do
        {
            while (Volatile.Read(ref word) != 0)
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }
        }
        while (Interlocked.CompareExchange(ref word, 1, 0) != 0);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SpinLockRelease(ref int word) => Volatile.Write(ref word, 0);

    public void Dispose()
    {
        for (int n = 0; n < _nodeCount; n++)
        {
            NativeMemory.AlignedFree(_heaps[n].Slots);
        }

        NativeMemory.AlignedFree(_heaps);
        NativeMemory.AlignedFree(_records);
        NativeMemory.AlignedFree(_buckets);
    }

    /// <summary>A hash bucket: <c>spinlock_t</c> + <c>hlist_head</c> (index of the first record, −1 when empty).</summary>
    private struct Bucket
    {
        public int Lock;
        public int Head;
    }

    /// <summary>pghot's per-page record: pfn, packed word, chain link, heap index (24 bytes; the kernel's is 32 with pointers).</summary>
    private struct PageRecord
    {
        public long Pfn;
        public uint Word;
        public int Next;
        public int HeapIndex;
        public int Reserved;
    }

    private struct HeapSlot
    {
        public uint Key;
        public int Record;
    }

    /// <summary>A per-node max-heap with its lock; the lock sits on its own cache lines.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    private struct NodeHeap
    {
        [FieldOffset(0)] public int Lock;
        [FieldOffset(128)] public HeapSlot* Slots;
        [FieldOffset(136)] public long Count;
        [FieldOffset(144)] public long Capacity;
    }
}
