using System.Runtime.CompilerServices;
using HotPage.Engine.Records;
using HotPage.Engine.Rings;
using HotPage.Engine.Tables;

namespace HotPage.Engine;

/// <summary>
/// A producer session on a <see cref="HotPageEngine"/> (<see cref="HotPageEngine.OpenProducer"/>),
/// as FASTER, Tsavorite and Garnet hand out sessions: it holds a record ring of its own, so a
/// report goes straight to it, without the engine's per-call search for the calling thread's ring
/// (a thread-static read). Results, validation, counters, drops and conservation are those of
/// <see cref="HotPageEngine.RecordAccess(int, ulong, int, AccessSource, ulong)"/> and
/// <see cref="HotPageEngine.RecordAccesses(int, ReadOnlySpan{AccessRecord})"/>: bad input returns
/// its <see cref="RecordResult"/> and is counted by cause, a full ring drops and counts, nothing
/// blocks, nothing allocates, nothing throws for bad input.
/// </summary>
/// <remarks>
/// <para><b>Contract: one thread at a time.</b> A handle is not thread-safe: use it from one thread,
/// or hand it from one thread to another with a happens-before between them (a lock, a queue, a
/// task continuation); it is not tied to a thread. Each thread that reports concurrently opens its own.</para>
/// <para><b>Misuse</b> (two threads calling one handle at once) is not detected, and cannot corrupt memory:
/// the ring's producer stores stay inside its slot array and header, each slot holds two 8-byte
/// words each written whole, the page word always a table index the region map returned, so the
/// consumer applies valid records, or on a weakly ordered CPU an unwritten slot that it applies
/// without faulting (see <see cref="ProducerRing"/>'s invariants). What the
/// misuse costs: records lost, duplicated or applied twice, and counters off, so the conservation
/// identity no longer balances.</para>
/// <para><b>Ring.</b> The ring comes from the engine's pool of producer rings (<c>producer_rings</c>, shared
/// with the threads that report through the engine's own methods). When none is free the handle
/// records on the shared per-CPU rings (one compare-and-swap per record or per 128 in a batch), as a
/// thread beyond the limit does; <see cref="HasOwnRing"/> tells which. <see cref="Dispose"/> frees the
/// ring for another handle or thread; records queued on it are still drained and counted, as an
/// exited thread's are. A handle dropped without <see cref="Dispose"/> frees its ring once the
/// garbage collector has collected it (the ring holds it weakly). After <see cref="Dispose"/>, or after the engine's own <c>Dispose</c>, the record
/// methods throw <see cref="ObjectDisposedException"/>. As with the engine's methods, the engine must
/// not be disposed while a report is in progress.</para>
/// <para>Invariants: <c>_ring</c> is non-null exactly while the handle holds a ring (from
/// <see cref="Attach"/> until <see cref="Detach"/>, both under the engine's registration lock), and
/// then that ring's <see cref="ProducerRing.Handle"/> is this handle; <c>_shared</c> is true only for a
/// handle opened without a ring; <c>_closed</c> is set by <see cref="Dispose"/>. No pointer lives here.</para>
/// </remarks>
public sealed class RecordProducer : IDisposable
{
    private readonly HotPageEngine _engine;
    private readonly short[] _targets;
    private readonly long[] _targetBits;
    private readonly RegionMap _regions;
    private ProducerRing? _ring;
    private bool _shared = true;
    private bool _closed;

    internal RecordProducer(HotPageEngine engine, short[] targets, long[] targetBits, RegionMap regions)
    {
        _engine = engine;
        _targets = targets;
        _targetBits = targetBits;
        _regions = regions;
    }

    /// <summary>True while the handle records on a ring of its own; false when it was opened with every producer ring held (it then uses the per-CPU rings), or after it or its engine was disposed.</summary>
    public bool HasOwnRing => Volatile.Read(ref _ring) is not null;

    /// <summary>The engine the handle records into.</summary>
    public HotPageEngine Engine => _engine;

    internal void Attach(ProducerRing ring)
    {
        _shared = false;
        Volatile.Write(ref _ring, ring);
    }

    // Under the engine's registration lock: the handle gives its ring up (its own Dispose or the engine's) and refuses reports from here on.
    internal ProducerRing? Detach()
    {
        ProducerRing? ring = _ring;
        _closed = true;
        _shared = false;
        Volatile.Write(ref _ring, null);
        return ring;
    }

    /// <summary>Reports one access to a page of this process (see <see cref="Record(int, ulong, int, AccessSource, ulong)"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public RecordResult Record(ulong address, int nid, AccessSource source, ulong timeMs = 0) => Record(0, address, nid, source, timeMs);

    /// <summary>
    /// Reports one access to a page of process <paramref name="pid"/> (0 = this one): the same
    /// result, validation and counting as <see cref="HotPageEngine.RecordAccess(int, ulong, int, AccessSource, ulong)"/>.
    /// Never blocks, never allocates, never throws for bad input.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The handle or its engine was disposed.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public RecordResult Record(int pid, ulong address, int nid, AccessSource source, ulong timeMs = 0)
    {
        ProducerRing? ring = _ring;
        if (ring is null)
        {
            return RecordShared(pid, address, nid, source, timeMs);
        }

        RecordResult result = HotPageEngine.RecordOn(ring, _targets, _regions, _engine, pid, address, nid, source, timeMs);
        GC.KeepAlive(this); // the ring holds its handle weakly: a handle collected mid-call would free the ring under its own write
        return result;
    }

    /// <summary>Reports a batch of accesses to pages of this process (see <see cref="RecordBatch(int, ReadOnlySpan{AccessRecord})"/>).</summary>
    public BatchResult RecordBatch(ReadOnlySpan<AccessRecord> records) => RecordBatch(0, records);

    /// <summary>
    /// Reports a batch of accesses to pages of process <paramref name="pid"/>: the same results,
    /// validation and counting as <see cref="HotPageEngine.RecordAccesses(int, ReadOnlySpan{AccessRecord})"/>;
    /// records are written in place and published once per call (and whenever the ring's known room runs out).
    /// </summary>
    /// <exception cref="ObjectDisposedException">The handle or its engine was disposed.</exception>
    public BatchResult RecordBatch(int pid, ReadOnlySpan<AccessRecord> records)
    {
        ProducerRing? ring = _ring;
        if (ring is null)
        {
            return RecordBatchShared(pid, records);
        }

        BatchResult result = HotPageEngine.RecordBatchOn(ring, _targetBits, _regions, _engine, pid, records);
        GC.KeepAlive(this); // as in Record: alive until the batch is published
        return result;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private RecordResult RecordShared(int pid, ulong address, int nid, AccessSource source, ulong timeMs)
    {
        ThrowIfClosed();
        return _engine.RecordAccessShared(pid, address, nid, source, timeMs);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private BatchResult RecordBatchShared(int pid, ReadOnlySpan<AccessRecord> records)
    {
        ThrowIfClosed();
        return _engine.RecordAccessesShared(pid, records);
    }

    private void ThrowIfClosed()
    {
        if (_closed || !_shared || _engine.IsDisposed)
        {
            ThrowHelper.ThrowObjectDisposed(nameof(RecordProducer));
        }
    }

    /// <summary>Gives the handle's ring back to the engine: its queued records are still drained and counted. Idempotent; safe after the engine's own Dispose.</summary>
    public void Dispose()
    {
        if (!_closed)
        {
            _engine.CloseProducer(this);
        }
    }
}
