using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using HotPage.Engine.Native;
using HotPage.Engine.Records;

namespace HotPage.Engine.Rings;

/// <summary>The producer ring's shared words: the producer's line (tail, its counters, its cached limit) apart from the consumer's (head).</summary>
[StructLayout(LayoutKind.Explicit, Size = 3 * CacheLine)]
internal struct ProducerRingHeader
{
    public const int CacheLine = 128;

    /// <summary>Next position the producer writes; equals the number of records ever enqueued. Written by the producer only.</summary>
    [FieldOffset(1 * CacheLine)] public long Tail;
    /// <summary>Records dropped because the ring was full. Producer only.</summary>
    [FieldOffset((1 * CacheLine) + 8)] public long Dropped;
    /// <summary>Records rejected by cause. Producer only.</summary>
    [FieldOffset((1 * CacheLine) + 16)] public long RejectedSource;
    [FieldOffset((1 * CacheLine) + 24)] public long RejectedNode;
    [FieldOffset((1 * CacheLine) + 32)] public long RejectedAddress;
    /// <summary>The producer's private copy of <c>Head + Capacity</c>: it writes below this without reading <see cref="Head"/>.</summary>
    [FieldOffset((1 * CacheLine) + 40)] public long Limit;
    /// <summary>Next position the consumer reads; equals the number of records ever dequeued. Written by the consumer only.</summary>
    [FieldOffset(2 * CacheLine)] public long Head;
}

/// <summary>
/// A bounded single-producer, single-consumer ring of access records in native memory: the
/// record ring of one producer thread. The producer writes a record with plain stores and
/// publishes it with one release store of <c>Tail</c>: no compare-and-swap, no processor id, no
/// per-slot sequence. A full ring makes <see cref="TryEnqueue"/> return false and counts the drop.
/// </summary>
/// <remarks>
/// Invariants (native memory owned here, freed once by <see cref="Dispose"/>): <c>_slots</c> has
/// <c>Capacity</c> (a power of two) records; <c>_header</c> points to one <see cref="ProducerRingHeader"/>.
/// At most one thread produces at a time (the engine hands a ring to one live thread, and to
/// another only after the first has exited; or to one <see cref="RecordProducer"/> handle, and to
/// another thread or handle only after it was disposed); one consumer at a time (the engine's
/// consumer lock). Protocol:
/// <list type="number">
/// <item>The producer owns <c>Tail</c>, <c>Limit</c>, <c>Dropped</c> and the rejection counters; the consumer owns <c>Head</c>.</item>
/// <item>Positions <c>Head ≤ p &lt; Tail</c> hold published records; <c>Tail − Head ≤ Capacity</c>.</item>
/// <item>The producer writes position <c>p</c> only when <c>p &lt; Limit ≤ Head + Capacity</c> (<c>Limit</c> is an
///   old <c>Head + Capacity</c>, refreshed with an acquire read of <c>Head</c> when reached), then publishes
///   with a release store of <c>Tail</c> (after the record's stores).</item>
/// <item>The consumer reads <c>Tail</c> (acquire), reads the records below it in place, and only then
///   publishes <c>Head</c> (release), handing their slots back to the producer.</item>
/// <item>Counters are written by their single writer with release stores and read by anyone with acquire loads.</item>
/// </list>
/// Hence <c>Tail</c> counts records enqueued, <c>Head</c> records dequeued, <c>Tail − Head</c> those in flight,
/// exactly as for <see cref="RecordRing"/>: the engine's conservation identity sums both kinds.
/// Two producers at once (a <see cref="RecordProducer"/> used from two threads, against its
/// contract) break the protocol but not memory safety: every producer store goes to
/// <c>_slots + (position &amp; mask)</c> or into a <see cref="Window"/> span clamped to the slot array, or
/// to the header's fixed words; each slot is written as two aligned 8-byte stores (each atomic), the
/// page word only ever holding an index the region map returned (below the table's capacity, fixed
/// for the engine's life) and the other word a valid target and source, so a torn slot mixes two
/// valid records; <see cref="Peek"/> never returns more than <c>Capacity − offset</c> slots and
/// nothing when <c>Tail ≤ Head</c>. On a weakly ordered CPU the consumer could also read a slot
/// before another thread's stores to it are visible: an earlier lap's record, or zeros (page 0,
/// target 0) in a slot never written, which the table applies without faulting (a push for a node
/// without candidates is refused and counted). What can go wrong: records lost, duplicated or
/// applied from an older lap, <c>Tail</c> moving backwards, counters off (lost increments, a negative in-flight
/// count for a while), so conservation no longer balances. Freeing the ring (the engine's
/// <c>Dispose</c>) while a producer still writes is a use after free: producers must have stopped.
/// </remarks>
internal sealed unsafe class ProducerRing : IDisposable, IRingCounters
{
    private readonly NativeArray<ProducerRingHeader> _headerArray;
    private readonly NativeArray<StagedRecord> _slotArray;
    private readonly ProducerRingHeader* _header;
    private readonly StagedRecord* _slots;
    private readonly long _mask;

    public ProducerRing(object owner, int capacity, NativeMemoryCounter counter)
    {
        if (capacity < 2 || !System.Numerics.BitOperations.IsPow2(capacity))
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(capacity), capacity, "A record ring's capacity must be a power of two of at least 2.");
        }

        Owner = owner;
        Capacity = capacity;
        _mask = capacity - 1;
        _headerArray = new NativeArray<ProducerRingHeader>(1, counter, "a producer ring header");
        _slotArray = new NativeArray<StagedRecord>(capacity, counter, "producer ring slots");
        _header = _headerArray.Pointer;
        _slots = _slotArray.Pointer;
        _header->Limit = capacity;
    }

    /// <summary>The engine the ring belongs to (a thread's cached ring is used only by that engine).</summary>
    public object Owner { get; }

    /// <summary>The thread producing into the ring now; null while the ring is free. Changed only under the engine's registration lock.</summary>
    public Thread? Producer { get; set; }

    // Weak, so that a handle dropped without Dispose frees its ring once collected (as an exited thread's ring is freed).
    private WeakReference<RecordProducer>? _handle;

    /// <summary>
    /// The handle producing into the ring now; null while none does, or once the handle that did
    /// was collected without being disposed (nothing can produce through it any more). Set only
    /// under the engine's registration lock.
    /// </summary>
    public RecordProducer? Handle
    {
        get => _handle is not null && _handle.TryGetTarget(out RecordProducer? h) ? h : null;
        set => _handle = value is null ? null : new WeakReference<RecordProducer>(value);
    }

    /// <summary>True while neither a live thread nor a handle produces into the ring: free to be taken. Under the engine's registration lock.</summary>
    public bool IsFree => Handle is null && Producer is not { IsAlive: true };

    /// <summary>Slots in the ring.</summary>
    public int Capacity { get; }

    /// <summary>Records ever enqueued.</summary>
    public long Enqueued => Volatile.Read(ref _header->Tail);

    /// <summary>Records ever dequeued by the consumer.</summary>
    public long Dequeued => Volatile.Read(ref _header->Head);

    /// <summary>Records dropped because the ring was full.</summary>
    public long Dropped => Volatile.Read(ref _header->Dropped);

    public long RejectedSource => Volatile.Read(ref _header->RejectedSource);

    public long RejectedNode => Volatile.Read(ref _header->RejectedNode);

    public long RejectedAddress => Volatile.Read(ref _header->RejectedAddress);

    // Producer only: single writer, so a plain increment published with a release store.
    public void CountRejectedSource() => Volatile.Write(ref _header->RejectedSource, _header->RejectedSource + 1);

    public void CountRejectedNode() => Volatile.Write(ref _header->RejectedNode, _header->RejectedNode + 1);

    public void CountRejectedAddress() => Volatile.Write(ref _header->RejectedAddress, _header->RejectedAddress + 1);

    /// <summary>Counts one rejected record by its cause (<see cref="RecordResult.InvalidSource"/>, <c>InvalidNode</c> or <c>OutsideTrackedMemory</c>).</summary>
    public void CountRejected(RecordResult cause) => RingCounters.CountRejected(this, cause);

    public void CountDropped(long count) => Volatile.Write(ref _header->Dropped, _header->Dropped + count);

    /// <summary>Producer only: enqueues one record; false (and counted as dropped) when the ring is full. Never blocks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryEnqueue(long page, uint timeMs, ushort target, byte source)
    {
        ProducerRingHeader* header = _header;
        long tail = header->Tail;
        if (tail >= header->Limit && !Refresh(header, tail))
        {
            return false;
        }

        StagedRecord.Store(_slots + (tail & _mask), page, timeMs, target, source);
        Volatile.Write(ref header->Tail, tail + 1);
        return true;
    }

    // Reads the consumer's head (the one producer read of the consumer's line); false and counted when still full.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool Refresh(ProducerRingHeader* header, long tail)
    {
        long limit = Volatile.Read(ref header->Head) + Capacity;
        header->Limit = limit;
        if (tail < limit)
        {
            return true;
        }

        Volatile.Write(ref header->Dropped, header->Dropped + 1);
        return false;
    }

    /// <summary>Producer only: the first unpublished position.</summary>
    public long Tail
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _header->Tail;
    }

    /// <summary>
    /// Producer only: the slots a batch writer may fill from <paramref name="tail"/> on without
    /// reading the consumer's head again: contiguous in memory, at most <c>Limit − tail</c>, never
    /// past the end of the slot array (the window after a wrap starts at slot 0). Empty when the
    /// known room is used up. Positions <c>tail + i</c> are <c>window[i]</c>; publish with <see cref="Publish"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<StagedRecord> Window(long tail)
    {
        long offset = tail & _mask;
        // Clamped to 0..Capacity-offset whatever Limit and tail hold, so the span never leaves the slot array
        // even when two threads misuse one ring (see the invariants above).
        long n = Math.Clamp(_header->Limit - tail, 0, Capacity - offset);
        return new Span<StagedRecord>(_slots + offset, (int)n);
    }

    /// <summary>
    /// Producer only: publishes the records written below <paramref name="tail"/>, reads the
    /// consumer's head once and returns the window from <paramref name="tail"/> (empty when the ring is full).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public Span<StagedRecord> PublishAndWindow(long tail)
    {
        Volatile.Write(ref _header->Tail, tail);
        _header->Limit = Volatile.Read(ref _header->Head) + Capacity;
        return Window(tail);
    }

    /// <summary>Producer only: publishes the records written below <paramref name="tail"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Publish(long tail) => Volatile.Write(ref _header->Tail, tail);

    /// <summary>
    /// Consumer only: the published records from the head that are contiguous in memory, at most
    /// <paramref name="max"/>, read in place. They stay the consumer's until <see cref="Release"/>.
    /// </summary>
    public ReadOnlySpan<StagedRecord> Peek(int max)
    {
        long head = _header->Head;
        long available = Volatile.Read(ref _header->Tail) - head;
        long offset = head & _mask;
        int n = (int)Math.Min(Math.Min(available, max), Capacity - offset);
        return n > 0 ? new ReadOnlySpan<StagedRecord>(_slots + offset, n) : default;
    }

    /// <summary>Consumer only: hands the first <paramref name="count"/> peeked slots back to the producer.</summary>
    public void Release(int count) => Volatile.Write(ref _header->Head, _header->Head + count);

    public void Dispose()
    {
        _slotArray.Dispose();
        _headerArray.Dispose();
    }
}
