using System.Numerics;
using System.Runtime.CompilerServices;
using HotPage.Engine.Counters;
using HotPage.Engine.Native;
using HotPage.Engine.Records;
using HotPage.Engine.Rings;
using HotPage.Engine.Selection;
using HotPage.Engine.Tables;
using HotPage.Engine.Tunables;
using HotPage.Interop.Platform;

namespace HotPage.Engine;

/// <summary>
/// HotPage's engine: the record path (pghot_record_access semantics on lock-free per-thread and per-CPU rings),
/// the hotness table, candidate selection, counters and tunables. Producers on any thread call
/// <see cref="RecordAccess(ulong, int, AccessSource, ulong)"/>; one consumer at a time drains
/// the rings into the table (<see cref="Drain"/>) and extracts candidates
/// (<see cref="ExtractCandidates(int, Span{PromotionCandidate})"/>).
/// </summary>
/// <remarks>
/// Record semantics, per page: a report from node <c>n</c> is first mapped to its target, the
/// nearest top-tier node of <c>n</c> (NUMA_NO_NODE, -1, maps to the default top-tier node). A
/// report whose target differs from the page's, or that comes more than <c>freq_window_ms</c>
/// after the page's last update, starts a new window (frequency 1); otherwise the frequency
/// grows by one, saturating at 7, and the last update time moves forward. A page at or above
/// <c>freq_threshold</c> is a candidate for its target node. Pages known to be resident on the
/// top tier are not tracked: reports for them are counted (<c>pghot_skipped_toptier</c>) and ignored.
/// Conservation: <c>pghot_recorded_accesses = applied + inflight + dropped + rejected</c> holds in
/// every snapshot, by construction; at a quiescent point after a drain, inflight is 0.
/// </remarks>
public sealed class HotPageEngine : IDisposable
{
    private const int PageShift = 12;
    private const int StagingSize = 1024;
    private const int BatchChunk = 128;
    private const int ProducerChunk = 4096;

    private readonly object _consumerLock = new();
    private readonly object _producerLock = new();
    private readonly RecordRing[] _rings;
    private readonly int _ringMask;
    private readonly int _ringCapacity;
    private readonly int _maxProducerRings;
    // Rings of producer threads; replaced (copy on write, under _producerLock), never mutated once published.
    private ProducerRing[] _producerRings = [];
    // Threads and handles that found every producer ring held and report through the per-CPU rings.
    private long _sharedRingProducers;

    // The calling thread's ring, valid for the engine it belongs to (ProducerRing.Owner); a thread
    // that found no ring free caches the engine in s_sharedFor and uses the per-CPU rings.
    [ThreadStatic] private static ProducerRing? s_ring;
    [ThreadStatic] private static HotPageEngine? s_sharedFor;
    private readonly short[] _targetOfNid; // index nid + 1; -1 = invalid node
    // The same as a ring record's second word carries it (target << 32), or -1 for an invalid node: the batch loop's table.
    private readonly long[] _targetBitsOfNid;
    private readonly RegionMap _regions;
    private readonly HotnessTable _table;
    private readonly NativeArray<StagedRecord> _staging;
    private readonly long[] _extractPages;
    private readonly uint[] _extractWords;
    private readonly IMemoryPlatform? _platform;
    private readonly TimeProvider _time;
    private readonly long _epoch;
    private bool _disposed;

    /// <summary>Creates an engine for a machine's topology.</summary>
    /// <param name="topology">Nodes and tiers (from a platform, or a description).</param>
    /// <param name="tunables">Tunables; defaults when null. Start-only tunables are fixed from here on.</param>
    /// <param name="platform">Used to learn where registered pages reside; when null every registered page is treated as lower tier.</param>
    /// <param name="time">The clock for reports that carry time 0 and for re-checks; the system clock when null.</param>
    public HotPageEngine(NumaTopology topology, EngineTunables? tunables = null, IMemoryPlatform? platform = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(topology);
        Topology = topology;
        Tunables = tunables ?? new EngineTunables();
        _platform = platform;
        _time = time ?? TimeProvider.System;
        _epoch = _time.GetTimestamp();
        Memory = new NativeMemoryCounter();

        _targetOfNid = new short[topology.NodeIdLimit + 1];
        _targetOfNid[0] = (short)topology.DefaultTarget(-1);
        for (int nid = 0; nid < topology.NodeIdLimit; nid++)
        {
            _targetOfNid[nid + 1] = (short)(topology.Exists(nid) ? topology.DefaultTarget(nid) : -1);
        }

        _targetBitsOfNid = Array.ConvertAll(_targetOfNid, t => t < 0 ? -1L : (long)t << 32);

        long capacity = Tunables["max_tracked_pages"];
        if (capacity == 0)
        {
            long lowerBytes = topology.LowerTierNodes.Sum(n => topology[n].TotalBytes);
            capacity = Math.Max(lowerBytes >> PageShift, 1L << 20);
        }

        int ringCount = (int)BitOperations.RoundUpToPowerOf2((uint)Environment.ProcessorCount);
        int ringCapacity = (int)BitOperations.RoundUpToPowerOf2((ulong)Tunables["ring_capacity"]);
        _ringMask = ringCount - 1;
        _ringCapacity = ringCapacity;
        _maxProducerRings = (int)Tunables["producer_rings"];
        _rings = new RecordRing[ringCount];
        try
        {
            for (int i = 0; i < ringCount; i++)
            {
                _rings[i] = new RecordRing(ringCapacity, Memory);
            }

            _table = new HotnessTable(capacity, topology.TopTierNodes, topology.NodeIdLimit, Tunables["max_candidates"], Memory, (CandidateSelection)Tunables["selection"]);
            _staging = new NativeArray<StagedRecord>(StagingSize, Memory, "the drain staging buffer");
        }
        catch
        {
            foreach (RecordRing? r in _rings)
            {
                r?.Dispose();
            }

            _table?.Dispose();
            throw;
        }

        _regions = new RegionMap(capacity);
        _extractPages = GC.AllocateArray<long>(65536, pinned: true);
        _extractWords = GC.AllocateArray<uint>(65536, pinned: true);
        ApplyTunables();
        Tunables.Changed += (_, _, _) => ApplyTunables();
        Tunables.MarkStarted();
    }

    /// <summary>The topology the engine targets.</summary>
    public NumaTopology Topology { get; }

    /// <summary>The tunables (changes take effect at the next drain or extraction).</summary>
    public EngineTunables Tunables { get; }

    /// <summary>Native bytes the engine holds (tables, rings, heaps).</summary>
    public NativeMemoryCounter Memory { get; }

    /// <summary>Table capacity in pages (<c>max_tracked_pages</c>, resolved).</summary>
    public long Capacity => _table.Capacity;

    /// <summary>Bytes of table per tracked page (candidate heaps excluded: they scale with candidates, not pages).</summary>
    public static double TableBytesPerPage => HotnessTable.BytesPerPage;

    /// <summary>How candidates are kept and extracted (the <c>selection</c> tunable, read at start).</summary>
    public CandidateSelection Selection => _table.Selection;

    /// <summary>Number of record rings now: the per-CPU rings plus the rings of producer threads.</summary>
    public int RingCount => _rings.Length + Volatile.Read(ref _producerRings).Length;

    /// <summary>Rings owned by producer threads now (at most <c>producer_rings</c>).</summary>
    public int ProducerRingCount => Volatile.Read(ref _producerRings).Length;

    /// <summary>Milliseconds since the engine started, by its clock; never 0.</summary>
    public ulong NowMs => (ulong)_time.GetElapsedTime(_epoch).TotalMilliseconds + 1;

    /// <summary>The regions registered now.</summary>
    public IReadOnlyList<Region> Regions => _regions.Regions;

    private void ApplyTunables()
    {
        lock (_consumerLock)
        {
            _table.Window = (uint)Tunables["freq_window_ms"];
            _table.Threshold = (uint)Tunables["freq_threshold"];
        }
    }

    /// <summary>
    /// Starts tracking the pages of <paramref name="length"/> bytes at <paramref name="baseAddress"/>
    /// in process <paramref name="pid"/> (0 = this process). With a platform, pages found on a
    /// top-tier node start untracked. Throws with a message naming the problem (misaligned,
    /// overlapping, no room in the table) and changes nothing then.
    /// </summary>
    public Region RegisterRegion(int pid, ulong baseAddress, ulong length)
    {
        ThrowIfDisposed();
        Region region = _regions.Add(pid, baseAddress, length);
        lock (_consumerLock)
        {
            _table.ResetRange(region.FirstPage, region.PageCount);
        }

        if (_platform is not null)
        {
            try
            {
                RefreshResidency(region);
            }
            catch
            {
                // Registration is all or nothing: a region whose residency cannot be read is not kept.
                _regions.Remove(region.Id, out _);
                lock (_consumerLock)
                {
                    _table.ResetRange(region.FirstPage, region.PageCount);
                }

                throw;
            }
        }

        return region;
    }

    /// <summary>Registers a region of this process (see <see cref="RegisterRegion(int, ulong, ulong)"/>).</summary>
    public Region RegisterRegion(ulong baseAddress, ulong length) => RegisterRegion(0, baseAddress, length);

    /// <summary>Stops tracking a region; records already queued for it are applied first, then its pages are forgotten.</summary>
    public bool UnregisterRegion(int regionId)
    {
        ThrowIfDisposed();
        lock (_consumerLock)
        {
            DrainLocked(long.MaxValue);
            if (!_regions.Remove(regionId, out Region removed))
            {
                return false;
            }

            _table.ResetRange(removed.FirstPage, removed.PageCount);
            return true;
        }
    }

    /// <summary>
    /// Asks the platform where each page of <paramref name="region"/> is and marks top-tier pages
    /// untracked and lower-tier pages tracked. Returns the number of pages on lower tiers.
    /// </summary>
    public long RefreshResidency(Region region)
    {
        ThrowIfDisposed();
        if (_platform is null)
        {
            return region.PageCount;
        }

        const int Chunk = 4096;
        nint[] pages = new nint[Chunk];
        PageStatus[] status = new PageStatus[Chunk];
        long lower = 0;
        for (long first = 0; first < region.PageCount; first += Chunk)
        {
            int n = (int)Math.Min(Chunk, region.PageCount - first);
            ResidencyRefresh r = RefreshResidency(region, first, pages.AsSpan(0, n), status.AsSpan(0, n));
            if (r.Error != Errno.None)
            {
                throw new InvalidOperationException($"Querying where the pages of region {region.Id} (pid {region.Pid}, 0x{region.Base:x}+{region.Length}) reside failed: {r.Error}.");
            }

            lower += r.LowerTier;
        }

        return lower;
    }

    /// <summary>
    /// Re-reads where <paramref name="pages"/>.Length pages of <paramref name="region"/> from page
    /// <paramref name="firstPage"/> reside, using the caller's buffers (no allocation): pages now
    /// on the top tier stop being tracked, pages found on a lower tier again are tracked from
    /// scratch (a demotion). Pages that are not present keep their state.
    /// </summary>
    public ResidencyRefresh RefreshResidency(Region region, long firstPage, Span<nint> pages, Span<PageStatus> status)
    {
        ThrowIfDisposed();
        if (_platform is null)
        {
            return default;
        }

        int n = (int)Math.Min(pages.Length, Math.Max(0, region.PageCount - firstPage));
        for (int i = 0; i < n; i++)
        {
            pages[i] = (nint)(region.Base + ((ulong)(firstPage + i) << PageShift));
        }

        PlatformResult result = _platform.QueryPages(region.Pid, pages[..n], status[..n]);
        if (!result.IsSuccess)
        {
            return new ResidencyRefresh(n, 0, 0, 0, result.Error);
        }

        int top = 0, lowerCount = 0, demoted = 0, demotedUnused = 0;
        lock (_consumerLock)
        {
            for (int i = 0; i < n; i++)
            {
                long page = region.FirstPage + firstPage + i;
                PageStatus st = status[i];
                if (!st.IsOnNode)
                {
                    continue;
                }

                if (Topology.IsTopTier(st.Node))
                {
                    _table.MarkTopTier(page);
                    top++;
                }
                else
                {
                    uint w = _table.Word(page);
                    if (PageWord.IsTopTier(w))
                    {
                        demoted++;
                        demotedUnused += w == PageWord.PromotedUnused ? 1 : 0;
                    }

                    _table.MarkLowerTier(page);
                    lowerCount++;
                }
            }
        }

        return new ResidencyRefresh(n, top, lowerCount, demoted, Errno.None, demotedUnused);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private RecordRing CurrentRing() => _rings[Thread.GetCurrentProcessorId() & _ringMask];

    /// <summary>
    /// Opens a producer handle: a session for one thread at a time that records on a ring of its
    /// own, with the same results, validation, counters, drops and conservation as
    /// <see cref="RecordAccess(int, ulong, int, AccessSource, ulong)"/> and
    /// <see cref="RecordAccesses(int, ReadOnlySpan{AccessRecord})"/>, but without finding the
    /// calling thread's ring on every call (see <see cref="RecordProducer"/> for the contract).
    /// </summary>
    /// <remarks>
    /// The handle's ring comes from the same pool as the threads' rings (<c>producer_rings</c>, the
    /// same accounting, drained by the same consumer): a free ring (its thread exited or its handle was
    /// disposed, queued records and counters kept) or a new one. When <c>producer_rings</c> rings are
    /// all held, the handle records on the shared per-CPU rings instead, as a thread beyond the limit
    /// does (<see cref="RecordProducer.HasOwnRing"/> is false then): opening never fails for lack of a ring.
    /// Allocates (the handle, and a ring when it creates one); the record calls do not.
    /// </remarks>
    public RecordProducer OpenProducer()
    {
        ThrowIfDisposed();
        var producer = new RecordProducer(this, _targetOfNid, _targetBitsOfNid, _regions);
        lock (_producerLock)
        {
            ThrowIfDisposed(); // Dispose sets the flag before it takes this lock to free the rings
            ProducerRing? ring = TakeRingLocked();
            if (ring is not null)
            {
                ring.Producer = null;
                ring.Handle = producer;
                producer.Attach(ring);
            }
            else
            {
                Interlocked.Increment(ref _sharedRingProducers);
            }
        }

        return producer;
    }

    /// <summary>Called by <see cref="RecordProducer.Dispose"/>: the handle's ring is free again (its records stay queued, its counters kept).</summary>
    internal void CloseProducer(RecordProducer producer)
    {
        lock (_producerLock)
        {
            ProducerRing? ring = producer.Detach();
            if (ring is not null && ReferenceEquals(ring.Handle, producer))
            {
                ring.Handle = null;
            }
        }
    }

    /// <summary>
    /// The calling thread's own ring in this engine: found among the producer rings (a thread that
    /// reported to another engine in between), taken over from a thread that exited or a handle
    /// that was disposed, or created while fewer than <c>producer_rings</c> exist. Null when none is
    /// free: the thread then uses the per-CPU rings from here on. Allocates only when it creates a
    /// ring (a thread's first report).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ProducerRing? AcquireThreadRing()
    {
        if (ReferenceEquals(s_sharedFor, this))
        {
            return null;
        }

        Thread current = Thread.CurrentThread;
        foreach (ProducerRing r in Volatile.Read(ref _producerRings))
        {
            if (ReferenceEquals(r.Producer, current))
            {
                s_ring = r;
                return r;
            }
        }

        ProducerRing? ring;
        lock (_producerLock)
        {
            ring = TakeRingLocked();
            if (ring is not null)
            {
                ring.Producer = current;
            }
        }

        if (ring is null)
        {
            s_sharedFor = this;
            Interlocked.Increment(ref _sharedRingProducers);
        }
        else
        {
            s_ring = ring;
        }

        return ring;
    }

    // Under _producerLock: a free ring (a ring whose thread exited or whose handle was disposed keeps
    // its records and counters; the consumer drains them as before, and the new producer appends
    // after them: one producer at a time), else a new one while fewer than producer_rings exist; null when none.
    private ProducerRing? TakeRingLocked()
    {
        ProducerRing[] rings = _producerRings;
        foreach (ProducerRing r in rings)
        {
            if (r.IsFree)
            {
                return r;
            }
        }

        if (_disposed || rings.Length >= _maxProducerRings)
        {
            return null;
        }

        var ring = new ProducerRing(this, _ringCapacity, Memory);
        var next = new ProducerRing[rings.Length + 1];
        rings.CopyTo(next, 0);
        next[^1] = ring;
        Volatile.Write(ref _producerRings, next);
        return ring;
    }

    /// <summary>Reports one access to a page of this process. Never blocks, never allocates, never throws for bad input.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public RecordResult RecordAccess(ulong address, int nid, AccessSource source, ulong timeMs = 0) =>
        RecordAccess(0, address, nid, source, timeMs);

    /// <summary>
    /// Reports one access to a page of process <paramref name="pid"/> (0 = this one). The record
    /// goes to the calling thread's own ring (no atomic instruction), or to the current CPU's ring
    /// when <c>producer_rings</c> rings are already held. A thread that reports often can skip
    /// finding its ring on every call through a handle (<see cref="OpenProducer"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public RecordResult RecordAccess(int pid, ulong address, int nid, AccessSource source, ulong timeMs = 0)
    {
        ProducerRing? ring = s_ring;
        if (ring is null || !ReferenceEquals(ring.Owner, this))
        {
            ring = AcquireThreadRing();
            if (ring is null)
            {
                return RecordAccessShared(pid, address, nid, source, timeMs);
            }
        }

        return RecordOn(ring, _targetOfNid, _regions, this, pid, address, nid, source, timeMs);
    }

    /// <summary>
    /// One report on a ring this thread produces into (its own, or a handle's): the record path
    /// both <see cref="RecordAccess(int, ulong, int, AccessSource, ulong)"/> and
    /// <see cref="RecordProducer.Record(int, ulong, int, AccessSource, ulong)"/> run.
    /// <paramref name="targets"/> and <paramref name="regions"/> are the engine's <c>_targetOfNid</c> and <c>_regions</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static RecordResult RecordOn(ProducerRing ring, short[] targets, RegionMap regions, HotPageEngine engine, int pid, ulong address, int nid, AccessSource source, ulong timeMs)
    {
        int target = TargetOf(targets, nid);
        if (!IsValid(target, source))
        {
            return Reject(ring, target, source);
        }

        long page = regions.Lookup(pid, address);
        if (page < 0)
        {
            ring.CountRejectedAddress();
            return RecordResult.OutsideTrackedMemory;
        }

        if (timeMs == 0)
        {
            timeMs = engine.NowMs;
        }

        // The table keeps time modulo 2^19: the low 32 bits are all the ring carries.
        return ring.TryEnqueue(page, unchecked((uint)timeMs), (ushort)target, (byte)source) ? RecordResult.Recorded : RecordResult.Dropped;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static RecordResult Reject(ProducerRing ring, int target, AccessSource source)
    {
        RecordResult cause = Cause(target, source);
        ring.CountRejected(cause);
        return cause;
    }

    // The same on the current CPU's multi-producer ring (threads beyond producer_rings, and handles opened then).
    internal RecordResult RecordAccessShared(int pid, ulong address, int nid, AccessSource source, ulong timeMs)
    {
        RecordRing ring = CurrentRing();
        int target = TargetOf(_targetOfNid, nid);
        if (!IsValid(target, source))
        {
            RecordResult cause = Cause(target, source);
            ring.CountRejected(cause);
            return cause;
        }

        long page = _regions.Lookup(pid, address);
        if (page < 0)
        {
            ring.CountRejectedAddress();
            return RecordResult.OutsideTrackedMemory;
        }

        if (timeMs == 0)
        {
            timeMs = NowMs;
        }

        return ring.TryEnqueue(page, unchecked((uint)timeMs), (ushort)target, (byte)source) ? RecordResult.Recorded : RecordResult.Dropped;
    }

    /// <summary>The promotion target of node <paramref name="nid"/> (<paramref name="targets"/> is <c>_targetOfNid</c>, indexed nid + 1), or -1 when the node is not one of this machine's or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int TargetOf(short[] targets, int nid)
    {
        uint i = unchecked((uint)(nid + 1));
        return i < (uint)targets.Length ? targets[i] : -1;
    }

    /// <summary>
    /// The validation every record path shares, as one test (a single branch on the hot path):
    /// the source is known and the node maps to a promotion target. <see cref="Cause"/> names the
    /// rejection when it fails.
    /// </summary>
    /// <remarks>
    /// <c>source − 1</c> is below <see cref="AccessSources.Max"/> for a known source (0 wraps to the
    /// top); a target is a short, so a negative one has its top four bits set and, shifted down by
    /// 28, is 15, at least <c>Max</c>: or-ed together, one unsigned comparison tests both.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsValid(int target, AccessSource source) => ((unchecked((uint)source - 1)) | (unchecked((uint)target) >> 28)) < AccessSources.Max;

    /// <summary>The target of node <paramref name="nid"/> as a record's second word carries it (<c>target &lt;&lt; 32</c>), or -1 (<paramref name="targetBits"/> is <c>_targetBitsOfNid</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long TargetBitsOf(long[] targetBits, int nid)
    {
        uint i = unchecked((uint)(nid + 1));
        return i < (uint)targetBits.Length ? targetBits[i] : -1;
    }

    /// <summary><see cref="IsValid(int, AccessSource)"/> on a <see cref="TargetBitsOf"/> value: -1 shifted down by 60 is 15, a target's bits (32..47) give 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsValid(long targetBits, AccessSource source) => ((unchecked((uint)source - 1)) | (uint)(unchecked((ulong)targetBits) >> 60)) < AccessSources.Max;

    /// <summary>A record's second word as <see cref="StagedRecord.Store(ref StagedRecord, long, ulong)"/> takes it, from a valid <see cref="TargetBitsOf"/> value: the table keeps time modulo 2^19, so the low 32 bits are all the ring carries.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Meta(ulong timeMs, long targetBits, AccessSource source) =>
        unchecked((uint)timeMs) | unchecked((ulong)targetBits) | ((ulong)source << 48);

    /// <summary>Why a report that failed <see cref="IsValid(int, AccessSource)"/> is rejected: an unknown source first, else its node.</summary>
    private static RecordResult Cause(int target, AccessSource source) =>
        !AccessSources.IsValid(source) ? RecordResult.InvalidSource
        : target < 0 ? RecordResult.InvalidNode
        : RecordResult.Recorded;

    /// <summary>Reports a batch of accesses to pages of this process; one ring publication per batch.</summary>
    public BatchResult RecordAccesses(ReadOnlySpan<AccessRecord> records) => RecordAccesses(0, records);

    /// <summary>
    /// Reports a batch of accesses to pages of process <paramref name="pid"/>. Bad records are
    /// rejected one by one; the rest go on. On the thread's own ring the records are written in
    /// place and published once (and whenever the ring's known room runs out); consecutive
    /// records in the same region skip the region search.
    /// </summary>
    public BatchResult RecordAccesses(int pid, ReadOnlySpan<AccessRecord> records)
    {
        ProducerRing? ring = s_ring;
        if (ring is null || !ReferenceEquals(ring.Owner, this))
        {
            ring = AcquireThreadRing();
            if (ring is null)
            {
                return RecordAccessesShared(pid, records);
            }
        }

        return RecordBatchOn(ring, _targetBitsOfNid, _regions, this, pid, records);
    }

    /// <summary>
    /// A batch on a ring this thread produces into (its own, or a handle's): the records are
    /// written in place, in the ring's window (the slots below its known limit, up to the end of
    /// the slot array), and published once, or whenever the window runs out. The batch sees the
    /// regions as they are when it starts (as a single report sees them between its lookup and its
    /// enqueue), and skips the region search while consecutive records stay in the last region hit.
    /// </summary>
    /// <remarks><paramref name="targetBits"/> is the engine's <c>_targetBitsOfNid</c>.</remarks>
    internal static BatchResult RecordBatchOn(ProducerRing ring, long[] targetBits, RegionMap regionMap, HotPageEngine engine, int pid, ReadOnlySpan<AccessRecord> records)
    {
        Region[] regions = regionMap.Published;
        var run = new BatchRun { TargetBits = targetBits };
        long start = ring.Tail;
        long tail = start; // the position of window[0]
        Span<StagedRecord> window = ring.Window(tail);
        int w = 0;
        int dropped = 0;
        int i = 0;
        while (true)
        {
            // The common case runs in a loop of its own, without calls, so its values stay in registers.
            int written = run.Write(records[i..], window[w..]);
            i += written;
            w += written;
            if (i >= records.Length)
            {
                break;
            }

            // Record i needs more than the common case: a rejection, another region, the clock, or a new window.
            ref readonly AccessRecord r = ref records[i++];
            long bits = TargetBitsOf(targetBits, r.Nid);
            if (!IsValid(bits, r.Source))
            {
                ring.CountRejected(Cause((int)bits, r.Source));
                continue;
            }

            ulong offset = unchecked(r.Address - run.RegionBase);
            if (offset >= run.RegionLength)
            {
                int found = RegionMap.Find(regions, pid, r.Address);
                if (found < 0)
                {
                    run.RegionLength = 0;
                    ring.CountRejectedAddress();
                    continue;
                }

                ref readonly Region region = ref regions[found];
                run.RegionBase = region.Base;
                run.RegionLength = region.Length;
                run.RegionFirst = region.FirstPage;
                offset = r.Address - region.Base;
            }

            ulong t = r.TimeMs;
            if (t == 0)
            {
                t = run.Now != 0 ? run.Now : (run.Now = engine.NowMs);
            }

            if (w >= window.Length)
            {
                tail += w;
                w = 0;
                window = ring.PublishAndWindow(tail);
                if (window.Length == 0)
                {
                    dropped++;
                    continue;
                }
            }

            // The table keeps time modulo 2^19: the low 32 bits are all the ring carries.
            StagedRecord.Store(ref window[w++], run.RegionFirst + (long)(offset >> PageShift), Meta(t, bits, r.Source));
        }

        tail += w;
        ring.Publish(tail);
        if (dropped > 0)
        {
            ring.CountDropped(dropped);
        }

        int recorded = (int)(tail - start);
        return new BatchResult(recorded, dropped, records.Length - recorded - dropped);
    }

    /// <summary>A batch's state between its common-case runs: the last region hit (an empty length matches nothing) and the clock once read.</summary>
    private struct BatchRun
    {
        public long[] TargetBits;
        public ulong RegionBase;
        public ulong RegionLength;
        public long RegionFirst;
        public ulong Now; // 0 until a record with time 0 needed it

        /// <summary>
        /// Writes <paramref name="records"/> from the first on into <paramref name="window"/>, one
        /// slot each, while they are the common case: valid, in the last region hit, with a time or
        /// the clock already read, and the window has room. Returns how many it wrote (= took); the
        /// caller deals with the next record, if any is left.
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining)] // inlined, the caller's calls would spill its values
        public readonly int Write(ReadOnlySpan<AccessRecord> records, Span<StagedRecord> window)
        {
            ReadOnlySpan<long> targetBits = TargetBits;
            ulong regionBase = RegionBase, regionLength = RegionLength, now = Now;
            long regionFirst = RegionFirst;
            records = records[..Math.Min(records.Length, window.Length)];
            window = window[..records.Length];
            int j = 0;
            // Two records per turn: half the loop overhead; the stores of one overlap the loads of the next.
            for (; j + 1 < records.Length; j += 2)
            {
                if (!WriteOne(in records[j], ref window[j], targetBits, regionBase, regionLength, regionFirst, now))
                {
                    return j;
                }

                if (!WriteOne(in records[j + 1], ref window[j + 1], targetBits, regionBase, regionLength, regionFirst, now))
                {
                    return j + 1;
                }
            }

            if (j < records.Length && WriteOne(in records[j], ref window[j], targetBits, regionBase, regionLength, regionFirst, now))
            {
                j++;
            }

            return j;
        }

        // One record of the common case into its slot; false (nothing written) when it is not the common case.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static bool WriteOne(in AccessRecord r, ref StagedRecord slot, ReadOnlySpan<long> targetBits, ulong regionBase, ulong regionLength, long regionFirst, ulong now)
        {
            uint ni = unchecked((uint)(r.Nid + 1));
            long bits = ni < (uint)targetBits.Length ? targetBits[(int)ni] : -1;
            AccessSource source = r.Source;
            ulong offset = unchecked(r.Address - regionBase);
            ulong t = r.TimeMs;
            if (!IsValid(bits, source) || offset >= regionLength)
            {
                return false;
            }

            if (t == 0)
            {
                if (now == 0)
                {
                    return false;
                }

                t = now;
            }

            // The table keeps time modulo 2^19: the low 32 bits are all the ring carries.
            StagedRecord.Store(ref slot, regionFirst + (long)(offset >> PageShift), Meta(t, bits, source));
            return true;
        }
    }

    // The same on the current CPU's multi-producer ring: one reservation per chunk.
    internal BatchResult RecordAccessesShared(int pid, ReadOnlySpan<AccessRecord> records)
    {
        RecordRing ring = CurrentRing();
        short[] targets = _targetOfNid;
        Span<StagedRecord> valid = stackalloc StagedRecord[BatchChunk];
        int recorded = 0, dropped = 0, rejected = 0;
        ulong now = 0;
        for (int start = 0; start < records.Length; start += BatchChunk)
        {
            ReadOnlySpan<AccessRecord> chunk = records.Slice(start, Math.Min(BatchChunk, records.Length - start));
            int n = 0;
            foreach (ref readonly AccessRecord r in chunk)
            {
                int target = TargetOf(targets, r.Nid);
                if (!IsValid(target, r.Source))
                {
                    ring.CountRejected(Cause(target, r.Source));
                    rejected++;
                    continue;
                }

                long page = _regions.Lookup(pid, r.Address);
                if (page < 0)
                {
                    ring.CountRejectedAddress();
                    rejected++;
                    continue;
                }

                ulong t = r.TimeMs;
                if (t == 0)
                {
                    t = now != 0 ? now : (now = NowMs);
                }

                ref StagedRecord s = ref valid[n++];
                s.Page = page;
                s.TimeMs = unchecked((uint)t); // the table keeps time modulo 2^19
                s.Target = (ushort)target;
                s.Source = (byte)r.Source;
            }

            int reserved = ring.TryReserve(n, out long position);
            for (int i = 0; i < reserved; i++)
            {
                ref StagedRecord s = ref valid[i];
                ring.Publish(position + i, s.Page, s.TimeMs, s.Target, s.Source);
            }

            if (reserved < n)
            {
                ring.CountDropped(n - reserved);
                dropped += n - reserved;
            }

            recorded += reserved;
        }

        return new BatchResult(recorded, dropped, rejected);
    }

    /// <summary>Drains the rings into the table (consumer side), at most <paramref name="maxRecords"/>; returns the number applied.</summary>
    public long Drain(long maxRecords = long.MaxValue)
    {
        ThrowIfDisposed();
        lock (_consumerLock)
        {
            return DrainLocked(maxRecords);
        }
    }

    private long DrainLocked(long maxRecords)
    {
        Span<StagedRecord> staging = _staging.Slice(0, StagingSize);
        long total = 0;
        bool progress = true;
        while (progress && total < maxRecords)
        {
            progress = false;
            foreach (RecordRing ring in _rings)
            {
                int want = (int)Math.Min(StagingSize, maxRecords - total);
                if (want == 0)
                {
                    break;
                }

                int n = ring.Drain(staging[..want]);
                if (n > 0)
                {
                    _table.Apply(staging[..n]);
                    total += n;
                    progress = true;
                }
            }

            foreach (ProducerRing ring in Volatile.Read(ref _producerRings))
            {
                int want = (int)Math.Min(ProducerChunk, maxRecords - total);
                if (want == 0)
                {
                    break;
                }

                // Applied in place: the slots stay the consumer's until released.
                ReadOnlySpan<StagedRecord> records = ring.Peek(want);
                if (records.Length > 0)
                {
                    _table.Apply(records);
                    ring.Release(records.Length);
                    total += records.Length;
                    progress = true;
                }
            }
        }

        return total;
    }

    /// <summary>Extracts up to <paramref name="destination"/>.Length candidates for <paramref name="targetNode"/>, hottest first, re-checked against the engine's clock.</summary>
    public int ExtractCandidates(int targetNode, Span<PromotionCandidate> destination) => ExtractCandidates(targetNode, destination, NowMs);

    /// <summary>
    /// Extracts up to <paramref name="destination"/>.Length candidates for <paramref name="targetNode"/>,
    /// hottest first (frequency, then recency), re-checking each at <paramref name="nowMs"/>: a page
    /// below the threshold or idle for longer than the window is dropped (<c>kpromoted_cold_old</c>).
    /// Extracted pages stop being candidates until they qualify again or are requeued. No allocation.
    /// </summary>
    public int ExtractCandidates(int targetNode, Span<PromotionCandidate> destination, ulong nowMs)
    {
        ThrowIfDisposed();
        lock (_consumerLock)
        {
            int want = Math.Min(destination.Length, _extractPages.Length);
            int n = _table.Extract(targetNode, _extractPages.AsSpan(0, want), _extractWords.AsSpan(0, want), nowMs);
            int written = 0;
            for (int i = 0; i < n; i++)
            {
                if (!_regions.TryResolve(_extractPages[i], out Region region, out ulong address))
                {
                    continue; // unregistered while queued
                }

                uint w = _extractWords[i];
                destination[written++] = new PromotionCandidate
                {
                    Page = _extractPages[i],
                    Address = address,
                    Pid = region.Pid,
                    TargetNode = (int)PageWord.Node(w),
                    Frequency = PageWord.Frequency(w),
                    TimeMs = PageWord.Time(w),
                };
            }

            return written;
        }
    }

    /// <summary>Candidates now queued for <paramref name="targetNode"/> (heap entries, stale ones included until popped; with bitmap selection, the marked candidates).</summary>
    public long QueuedCandidates(int targetNode)
    {
        lock (_consumerLock)
        {
            return _table.HeapCount(targetNode);
        }
    }

    /// <summary>Candidates dropped at extraction because they went cold (<c>kpromoted_cold_old</c>).</summary>
    internal long ColdAtExtraction
    {
        get
        {
            lock (_consumerLock)
            {
                return _table.ColdAtExtraction;
            }
        }
    }

    /// <summary>The platform the engine queries residency through, if any.</summary>
    internal IMemoryPlatform? Platform => _platform;

    /// <summary>Pages that are candidates now, over all target nodes.</summary>
    public long CandidateCount
    {
        get
        {
            lock (_consumerLock)
            {
                return _table.CandidateCount;
            }
        }
    }

    /// <summary>The state of a page as the table holds it: frequency, target node, time; or null when untracked (top tier) or empty.</summary>
    public (uint Frequency, int TargetNode, uint TimeMs, bool IsCandidate)? PageState(int pid, ulong address)
    {
        long page = _regions.Lookup(pid, address);
        if (page < 0)
        {
            return null;
        }

        lock (_consumerLock)
        {
            uint w = _table.Word(page);
            return PageWord.IsTopTier(w) || w == PageWord.Empty ? null : (PageWord.Frequency(w), (int)PageWord.Node(w), PageWord.Time(w), _table.IsCandidate(page));
        }
    }

    /// <summary>True when the table holds the page as resident on the top tier (untracked).</summary>
    public bool IsMarkedTopTier(int pid, ulong address)
    {
        long page = _regions.Lookup(pid, address);
        if (page < 0)
        {
            return false;
        }

        lock (_consumerLock)
        {
            return PageWord.IsTopTier(_table.Word(page));
        }
    }

    /// <summary>
    /// Consumer side: the page now resides on a top-tier node (promoted). It is untracked, marked
    /// "not reported since" until its next report (while <see cref="JudgePromotions"/>); a
    /// residency refresh that finds it on a lower tier before then counts a wasted promotion
    /// (<see cref="ResidencyRefresh.DemotedUnused"/>). One lock round trip per call: a promoter
    /// batches these (<see cref="ApplyFeedback"/>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="page"/> is outside the table (nothing changes).</exception>
    public void MarkPromoted(long page)
    {
        CheckPage(page);
        lock (_consumerLock)
        {
            MarkPromotedLocked(page);
        }
    }

    private void MarkPromotedLocked(long page)
    {
        if (JudgePromotions)
        {
            _table.MarkPromotedUnused(page);
        }
        else
        {
            _table.MarkTopTier(page);
        }
    }

    /// <summary>
    /// Whether <see cref="MarkPromoted"/> (and <see cref="ApplyFeedback"/>'s promoted pages) marks a page "not reported since" (true, the default) or
    /// plain top tier. The promoter turns it off while its threshold is below <c>freq_threshold_min</c>
    /// (moves into free memory, which displace nothing): their later demotion says nothing about
    /// the threshold in force then, and must not count as waste against it.
    /// </summary>
    internal bool JudgePromotions { get; set; } = true;

    /// <summary>
    /// Hot pages among <paramref name="pages"/> base pages from <paramref name="baseAddress"/> in
    /// <paramref name="pid"/> (a huge page's frame): at or above <c>freq_threshold</c> with a last
    /// access within the window at <paramref name="nowMs"/>. Pages outside registered regions count as cold.
    /// </summary>
    public int CountHotPages(int pid, ulong baseAddress, int pages, ulong nowMs)
    {
        uint now = unchecked((uint)nowMs) & PageWord.TimeMask;
        int hot = 0;
        lock (_consumerLock)
        {
            Region[] regions = _regions.Published;
            ulong address = baseAddress;
            for (int i = 0; i < pages;)
            {
                long page = RegionMap.Run(regions, pid, address, pages - i, out int run);
                for (long p = page; page >= 0 && p < page + run; p++)
                {
                    uint w = _table.Word(p);
                    if (!PageWord.IsTopTier(w) && PageWord.Frequency(w) >= _table.Threshold && PageWord.Elapsed(now, PageWord.Time(w)) <= (int)_table.Window)
                    {
                        hot++;
                    }
                }

                i += run;
                address += (ulong)run << PageShift;
            }
        }

        return hot;
    }

    /// <summary>Consumer side: every registered page of a moved folio now resides on a top-tier node (plain top tier: folio moves are not marked for the waste signal; one region search per region the folio crosses). Batched: <see cref="ApplyFeedback"/>.</summary>
    public void MarkPromotedRange(int pid, ulong baseAddress, int pages)
    {
        lock (_consumerLock)
        {
            MarkPromotedRangeLocked(pid, baseAddress, pages);
        }
    }

    private void MarkPromotedRangeLocked(int pid, ulong baseAddress, int pages)
    {
        Region[] regions = _regions.Published;
        ulong address = baseAddress;
        for (int i = 0; i < pages;)
        {
            long page = RegionMap.Run(regions, pid, address, pages - i, out int run);
            for (long p = page; page >= 0 && p < page + run; p++) // page < 0: not registered, skipped
            {
                _table.MarkTopTier(p);
            }

            i += run;
            address += (ulong)run << PageShift;
        }
    }

    // The per-page consumer methods take a table index (a PromotionCandidate's Page) and write the
    // table's native memory at it: an index outside the table is refused before anything changes.
    private void CheckPage(long page)
    {
        if (unchecked((ulong)page) >= (ulong)_table.Capacity)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(page), page, $"Page {page} is outside the table (0..{_table.Capacity - 1}): use the page a PromotionCandidate carries.");
        }
    }

    /// <summary>Consumer side: the page is on a lower tier again (demoted by someone); it is tracked from scratch.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="page"/> is outside the table (nothing changes).</exception>
    public void MarkDemoted(long page)
    {
        CheckPage(page);
        lock (_consumerLock)
        {
            _table.MarkLowerTier(page);
        }
    }

    /// <summary>Consumer side: forget the page (unmapped or gone). Batched: <see cref="ApplyFeedback"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="page"/> is outside the table (nothing changes).</exception>
    public void Forget(long page)
    {
        CheckPage(page);
        lock (_consumerLock)
        {
            _table.Forget(page);
        }
    }

    /// <summary>Consumer side: put an extracted page back among the candidates if still hot (retry later). False when not requeued. Batched, with the same answer per entry: <see cref="ApplyFeedback"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="page"/> is outside the table (nothing changes).</exception>
    public bool Requeue(long page)
    {
        CheckPage(page);
        lock (_consumerLock)
        {
            return _table.Requeue(page);
        }
    }

    /// <summary>
    /// Consumer side: applies a promotion round's outcomes under one acquisition of the consumer
    /// lock, where <see cref="MarkPromoted"/>, <see cref="MarkPromotedRange"/>, <see cref="Requeue"/>
    /// and <see cref="Forget"/> take it once per call (a round of 4096 pages took it 4096 times).
    /// Each entry has exactly the effect of its per-page method called at its place in
    /// <paramref name="feedback"/>: the order is kept because it matters (a requeue can find the
    /// candidate pool full, or compact it, depending on the promotions and requeues before it).
    /// No allocation.
    /// </summary>
    /// <param name="feedback">The outcomes, in the order the per-page calls would have been made.</param>
    /// <param name="requeued">
    /// Empty, or at least as long as <paramref name="feedback"/>: receives, at each entry's index,
    /// what <see cref="Requeue"/> would have returned for a <see cref="PageOutcome.Requeue"/> entry
    /// (true when the page is a candidate again), and false for every other entry.
    /// </param>
    /// <returns>How many <see cref="PageOutcome.Requeue"/> entries put their page back.</returns>
    /// <exception cref="ArgumentException">
    /// <paramref name="requeued"/> is neither empty nor long enough (nothing is applied); or an entry
    /// has no outcome (a default <see cref="PageFeedback"/>): the entries before it are applied.
    /// </exception>
    /// <exception cref="ArgumentOutOfRangeException">An entry names a page outside the table: the entries before it are applied.</exception>
    public int ApplyFeedback(ReadOnlySpan<PageFeedback> feedback, Span<bool> requeued)
    {
        if (!requeued.IsEmpty && requeued.Length < feedback.Length)
        {
            ThrowHelper.ThrowArgument(nameof(requeued), $"requeued holds {requeued.Length} results for {feedback.Length} entries; pass an empty span or one at least as long.");
        }

        int back = 0;
        lock (_consumerLock)
        {
            ThrowIfDisposed();
            for (int i = 0; i < feedback.Length; i++)
            {
                ref readonly PageFeedback f = ref feedback[i];
                if (f.Outcome != PageOutcome.PromotedRange && unchecked((ulong)f.Page) >= (ulong)_table.Capacity)
                {
                    ThrowHelper.ThrowArgumentOutOfRange(nameof(feedback), f.Page, $"Entry {i} names page {f.Page}, outside the table (0..{_table.Capacity - 1}): use the page a PromotionCandidate carries.");
                }

                bool requeue = false;
                switch (f.Outcome)
                {
                    case PageOutcome.Promoted:
                        MarkPromotedLocked(f.Page);
                        break;
                    case PageOutcome.PromotedRange:
                        MarkPromotedRangeLocked(f.Pid, f.Address, f.Pages);
                        break;
                    case PageOutcome.Requeue:
                        requeue = _table.Requeue(f.Page);
                        back += requeue ? 1 : 0;
                        break;
                    case PageOutcome.Forget:
                        _table.Forget(f.Page);
                        break;
                    default:
                        ThrowHelper.ThrowArgument(nameof(feedback), $"Entry {i} has no outcome ({(int)f.Outcome}): a default PageFeedback; make entries with PageFeedback.Promoted, PromotedRange, Requeue or Forget.");
                        break;
                }

                if (!requeued.IsEmpty)
                {
                    requeued[i] = requeue;
                }
            }
        }

        return back;
    }

    /// <summary>
    /// A consistent snapshot of the counters. Taken under the consumer lock (producers are never
    /// held up): <c>pghot_recorded_accesses</c> = applied + inflight + dropped + rejected exactly.
    /// </summary>
    public CounterSnapshot GetCounters()
    {
        var list = new List<KeyValuePair<string, long>>(32);
        lock (_consumerLock)
        {
            ProducerRing[] producerRings = Volatile.Read(ref _producerRings);
            var rings = default(RingTotals);
            rings.AddDequeued(_rings);
            rings.AddDequeued(producerRings);
            rings.AddProduced(_rings);
            rings.AddProduced(producerRings);
            long rejected = rings.Rejected;
            Add("pghot_recorded_accesses", rings.Enqueued + rings.Dropped + rejected);
            Add("pghot_records_applied", rings.Dequeued);
            Add("pghot_records_inflight", rings.Enqueued - rings.Dequeued);
            Add("pghot_ring_dropped", rings.Dropped);
            Add("pghot_rejected", rejected);
            Add("pghot_rejected_source", rings.RejectedSource);
            Add("pghot_rejected_node", rings.RejectedNode);
            Add("pghot_rejected_address", rings.RejectedAddress);
            Add("pghot_skipped_toptier", _table.SkippedTopTier);
            Add("pghot_promoted_used", _table.PromotedUsed);
            for (uint s = 1; s <= AccessSources.Max; s++)
            {
                Add(AccessSources.CounterName((AccessSource)s), _table.AppliedBySource[s]);
            }

            Add("pghot_records_hash", _table.RecordsHash);
            Add("pghot_records_heap", _table.RecordsHeap);
            Add("pghot_candidates_added", _table.CandidatesAdded);
            Add("pghot_candidates_removed", _table.CandidatesRemoved);
            Add("pghot_candidates", _table.CandidateCount);
            Add("pghot_candidates_extracted", _table.Extracted);
            Add("pghot_heap_stale", _table.StaleDiscarded);
            Add("kpromoted_dropped", _table.HeapFullDropped);
            Add("kpromoted_cold_old", _table.ColdAtExtraction);
            Add("pghot_tracked_capacity", _table.Capacity);
            Add("hotpage_native_bytes", Memory.Bytes);
            Add("hotpage_producer_rings", producerRings.Length);
            Add("hotpage_shared_ring_producers", Interlocked.Read(ref _sharedRingProducers));
        }

        return new CounterSnapshot(list);

        void Add(string name, long value) => list.Add(new KeyValuePair<string, long>(name, value));
    }

    /// <summary>True once <see cref="Dispose"/> has begun.</summary>
    internal bool IsDisposed => Volatile.Read(ref _disposed);

    private void ThrowIfDisposed()
    {
        if (_disposed)
        {
            ThrowHelper.ThrowObjectDisposed(nameof(HotPageEngine));
        }
    }

    /// <summary>Frees the tables and rings. Producers must have stopped; open <see cref="RecordProducer"/> handles throw <see cref="ObjectDisposedException"/> from here on.</summary>
    public void Dispose()
    {
        lock (_consumerLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (RecordRing r in _rings)
            {
                r.Dispose();
            }

            lock (_producerLock)
            {
                foreach (ProducerRing r in _producerRings)
                {
                    r.Handle?.Detach(); // an open handle throws from here on instead of writing to freed memory
                    r.Dispose();
                }
            }

            _table.Dispose();
            _staging.Dispose();
        }
    }
}
