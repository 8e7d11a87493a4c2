using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using HotPage.Engine.Native;
using HotPage.Engine.Records;

namespace HotPage.Engine.Rings;

/// <summary>A record as it sits in a ring and in the consumer's staging buffer: the page's table index, time, target node and source.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct StagedRecord
{
    public long Page;
    public uint TimeMs;
    public ushort Target;
    public byte Source;
    public byte Reserved;

    /// <summary>Writes a record with two 8-byte stores (the producer's hot path): the page, then time | target | source packed as the layout above lays them out in a little-endian word.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Store(StagedRecord* slot, long page, uint timeMs, ushort target, byte source)
    {
        if (BitConverter.IsLittleEndian)
        {
            ulong* words = (ulong*)slot;
            words[0] = unchecked((ulong)page);
            words[1] = timeMs | ((ulong)target << 32) | ((ulong)source << 48);
        }
        else
        {
            slot->Page = page;
            slot->TimeMs = timeMs;
            slot->Target = target;
            slot->Source = source;
            slot->Reserved = 0;
        }
    }

    /// <summary>The same two 8-byte stores into a slot of a span (a producer ring's window): the page, then <paramref name="meta"/> = <c>timeMs | target &lt;&lt; 32 | source &lt;&lt; 48</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(ref StagedRecord slot, long page, ulong meta)
    {
        if (BitConverter.IsLittleEndian)
        {
            ref ulong words = ref Unsafe.As<StagedRecord, ulong>(ref slot);
            words = unchecked((ulong)page);
            Unsafe.Add(ref words, 1) = meta;
        }
        else
        {
            slot.Page = page;
            slot.TimeMs = unchecked((uint)meta);
            slot.Target = unchecked((ushort)(meta >> 32));
            slot.Source = unchecked((byte)(meta >> 48));
            slot.Reserved = 0;
        }
    }
}

/// <summary>One ring slot: a sequence number (the slot protocol) and the record.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct RingSlot
{
    public long Sequence;
    public StagedRecord Record;
}

/// <summary>The ring's shared words, each group on its own cache lines (no false sharing between producers and the consumer).</summary>
[StructLayout(LayoutKind.Explicit, Size = 3 * CacheLine)]
internal struct RingHeader
{
    public const int CacheLine = 128;

    /// <summary>Next position producers reserve; equals the number of records ever enqueued.</summary>
    [FieldOffset(1 * CacheLine)] public long Tail;
    /// <summary>Records dropped because the ring was full (written by producers, rare path).</summary>
    [FieldOffset((1 * CacheLine) + 8)] public long Dropped;
    /// <summary>Records rejected by cause, counted on the ring of the producer's CPU (rare path).</summary>
    [FieldOffset((1 * CacheLine) + 16)] public long RejectedSource;
    [FieldOffset((1 * CacheLine) + 24)] public long RejectedNode;
    [FieldOffset((1 * CacheLine) + 32)] public long RejectedAddress;
    /// <summary>Next position the consumer reads; equals the number of records ever dequeued.</summary>
    [FieldOffset(2 * CacheLine)] public long Head;
}

/// <summary>
/// A bounded multi-producer, single-consumer ring of access records in native memory. Producers
/// never block and never allocate: a full ring makes <see cref="TryEnqueue"/> return false and
/// the drop is counted. One ring per CPU keeps producers on different CPUs off each other's
/// cache lines; several threads can still share a CPU's ring (preemption, migration), hence the
/// multi-producer protocol.
/// </summary>
/// <remarks>
/// Invariants (native memory owned here, freed once by <see cref="Dispose"/>): <c>_slots</c> has
/// <c>Capacity</c> (a power of two) entries; <c>_header</c> points to one <see cref="RingHeader"/>.
/// Slot protocol (Vyukov's bounded queue, as in the runtime's ConcurrentQueueSegment):
/// <list type="number">
/// <item>Slot <c>i</c> starts with <c>Sequence = i</c>: free for the producer that reserves position <c>i</c>.</item>
/// <item>A producer reads <c>Tail = p</c>; if slot <c>p</c>'s sequence is <c>p</c> it CASes <c>Tail</c> to <c>p+1</c>;
///   a sequence below <c>p</c> means the consumer has not released the slot yet: the ring is full.</item>
/// <item>The producer writes the record, then publishes it with <c>Sequence = p+1</c> (release).</item>
/// <item>The consumer at <c>Head = h</c> reads slot <c>h</c> when its sequence is <c>h+1</c> (acquire), copies the record,
///   releases the slot for the next lap with <c>Sequence = h+Capacity</c>, and finally publishes <c>Head</c>.</item>
/// <item>A batch producer reserves <c>n</c> positions with one CAS after checking <c>n ≤ Capacity − (Tail − Head)</c>;
///   because the consumer releases slots before it publishes <c>Head</c>, all <c>n</c> slots are free.</item>
/// </list>
/// Hence <c>Tail</c> counts records enqueued, <c>Head</c> records dequeued, and <c>Tail − Head</c> those in flight.
/// </remarks>
internal sealed unsafe class RecordRing : IDisposable, IRingCounters
{
    private readonly NativeArray<RingHeader> _headerArray;
    private readonly NativeArray<RingSlot> _slotArray;
    private readonly RingHeader* _header;
    private readonly RingSlot* _slots;
    private readonly long _mask;

    public RecordRing(int capacity, NativeMemoryCounter counter)
    {
        if (capacity < 2 || !BitOperations_IsPow2(capacity))
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(capacity), capacity, "A record ring's capacity must be a power of two of at least 2.");
        }

        Capacity = capacity;
        _mask = capacity - 1;
        _headerArray = new NativeArray<RingHeader>(1, counter, "a record ring header");
        _slotArray = new NativeArray<RingSlot>(capacity, counter, "record ring slots");
        _header = _headerArray.Pointer;
        _slots = _slotArray.Pointer;
        for (long i = 0; i < capacity; i++)
        {
            _slots[i].Sequence = i;
        }
    }

    private static bool BitOperations_IsPow2(int value) => System.Numerics.BitOperations.IsPow2(value);

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

    public void CountRejectedSource() => Interlocked.Increment(ref _header->RejectedSource);

    public void CountRejectedNode() => Interlocked.Increment(ref _header->RejectedNode);

    public void CountRejectedAddress() => Interlocked.Increment(ref _header->RejectedAddress);

    /// <summary>Counts one rejected record by its cause (<see cref="RecordResult.InvalidSource"/>, <c>InvalidNode</c> or <c>OutsideTrackedMemory</c>).</summary>
    public void CountRejected(RecordResult cause) => RingCounters.CountRejected(this, cause);

    public void CountDropped(long count) => Interlocked.Add(ref _header->Dropped, count);

    /// <summary>Enqueues one record; false (and counted as dropped) when the ring is full. Lock-free, never blocks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryEnqueue(long page, uint timeMs, ushort target, byte source)
    {
        RingHeader* header = _header;
        long pos = Volatile.Read(ref header->Tail);
        while (true)
        {
            RingSlot* slot = &_slots[pos & _mask];
            long diff = Volatile.Read(ref slot->Sequence) - pos;
            if (diff == 0)
            {
                long seen = Interlocked.CompareExchange(ref header->Tail, pos + 1, pos);
                if (seen == pos)
                {
                    slot->Record.Page = page;
                    slot->Record.TimeMs = timeMs;
                    slot->Record.Target = target;
                    slot->Record.Source = source;
                    Volatile.Write(ref slot->Sequence, pos + 1);
                    return true;
                }

                pos = seen;
            }
            else if (diff < 0)
            {
                Interlocked.Increment(ref header->Dropped);
                return false;
            }
            else
            {
                pos = Volatile.Read(ref header->Tail);
            }
        }
    }

    /// <summary>
    /// Reserves up to <paramref name="count"/> consecutive positions with one CAS. Returns the
    /// number reserved (0 when full) and the first position; the caller writes each with
    /// <see cref="Publish"/>. The caller counts what it could not reserve as dropped.
    /// </summary>
    public int TryReserve(int count, out long first)
    {
        RingHeader* header = _header;
        while (true)
        {
            long pos = Volatile.Read(ref header->Tail);
            long head = Volatile.Read(ref header->Head);
            long free = Capacity - (pos - head);
            if (free <= 0)
            {
                first = pos;
                return 0;
            }

            int n = (int)Math.Min(count, free);
            if (Interlocked.CompareExchange(ref header->Tail, pos + n, pos) == pos)
            {
                first = pos;
                return n;
            }
        }
    }

    /// <summary>Writes and publishes the record at a reserved position.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Publish(long position, long page, uint timeMs, ushort target, byte source)
    {
        RingSlot* slot = &_slots[position & _mask];
        System.Diagnostics.Debug.Assert(Volatile.Read(ref slot->Sequence) == position, "publishing into a slot that is not free");
        slot->Record.Page = page;
        slot->Record.TimeMs = timeMs;
        slot->Record.Target = target;
        slot->Record.Source = source;
        Volatile.Write(ref slot->Sequence, position + 1);
    }

    /// <summary>
    /// Consumer only (one at a time): copies up to <paramref name="destination"/>.Length published
    /// records in order, releases their slots and advances the head. Stops at the first position
    /// whose producer has reserved but not yet published it.
    /// </summary>
    public int Drain(Span<StagedRecord> destination)
    {
        RingHeader* header = _header;
        long head = header->Head;
        int n = 0;
        while (n < destination.Length)
        {
            RingSlot* slot = &_slots[head & _mask];
            if (Volatile.Read(ref slot->Sequence) != head + 1)
            {
                break;
            }

            destination[n++] = slot->Record;
            Volatile.Write(ref slot->Sequence, head + Capacity);
            head++;
        }

        if (n > 0)
        {
            Volatile.Write(ref header->Head, head);
        }

        return n;
    }

    public void Dispose()
    {
        _slotArray.Dispose();
        _headerArray.Dispose();
    }
}
