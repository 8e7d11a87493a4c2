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

    // The calling thread's ring, valid for the engine it belongs to (ProducerRing.Owner); a thread
    // that found no ring free caches the engine in s_sharedFor and uses the per-CPU rings.
    [ThreadStatic] private static ProducerRing? s_ring;
    [ThreadStatic] private static HotPageEngine? s_sharedFor;
    private readonly short[] _targetOfNid; // index nid + 1; -1 = invalid node
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

        int top = 0, lowerCount = 0, demoted = 0;
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
                    if (_table.Word(page) == PageWord.TopTier)
                    {
                        demoted++;
                    }

                    _table.MarkLowerTier(page);
                    lowerCount++;
                }
            }
        }

        return new ResidencyRefresh(n, top, lowerCount, demoted, Errno.None);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private RecordRing CurrentRing() => _rings[Thread.GetCurrentProcessorId() & _ringMask];

    /// <summary>
    /// The calling thread's own ring in this engine: found among the producer rings (a thread that
    /// reported to another engine in between), taken over from a thread that exited, or created
    /// while fewer than <c>producer_rings</c> exist. Null when none is free: the thread then uses
    /// the per-CPU rings from here on. Allocates only when it creates a ring (a thread's first report).
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

        lock (_producerLock)
        {
            ProducerRing[] rings = _producerRings;
            foreach (ProducerRing r in rings)
            {
                // A ring whose thread exited keeps its records and counters; the consumer drains
                // them as before, and the new thread appends after them (one producer at a time).
                if (r.Producer is not { IsAlive: true })
                {
                    r.Producer = current;
                    s_ring = r;
                    return r;
                }
            }

            if (!_disposed && rings.Length < _maxProducerRings)
            {
                var ring = new ProducerRing(this, _ringCapacity, Memory) { Producer = current };
                var next = new ProducerRing[rings.Length + 1];
                rings.CopyTo(next, 0);
                next[^1] = ring;
                Volatile.Write(ref _producerRings, next);
                s_ring = ring;
                return ring;
            }
        }

        s_sharedFor = this;
        return null;
    }

    /// <summary>Reports one access to a page of this process. Never blocks, never allocates, never throws for bad input.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public RecordResult RecordAccess(ulong address, int nid, AccessSource source, ulong timeMs = 0) =>
        RecordAccess(0, address, nid, source, timeMs);

    /// <summary>
    /// Reports one access to a page of process <paramref name="pid"/> (0 = this one). The record
    /// goes to the calling thread's own ring (no atomic instruction), or to the current CPU's ring
    /// when <c>producer_rings</c> threads already have one.
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

        RecordResult check = Resolve(pid, address, nid, source, _targetOfNid, out long page, out int target);
        if (check != RecordResult.Recorded)
        {
            ring.CountRejected(check);
            return check;
        }

        if (timeMs == 0)
        {
            timeMs = NowMs;
        }

        return ring.TryEnqueue(page, unchecked((uint)timeMs), (ushort)target, (byte)source) ? RecordResult.Recorded : RecordResult.Dropped;
    }

    // The same on the current CPU's multi-producer ring (threads beyond producer_rings).
    private RecordResult RecordAccessShared(int pid, ulong address, int nid, AccessSource source, ulong timeMs)
    {
        RecordRing ring = CurrentRing();
        RecordResult check = Resolve(pid, address, nid, source, _targetOfNid, out long page, out int target);
        if (check != RecordResult.Recorded)
        {
            ring.CountRejected(check);
            return check;
        }

        if (timeMs == 0)
        {
            timeMs = NowMs;
        }

        return ring.TryEnqueue(page, unchecked((uint)timeMs), (ushort)target, (byte)source) ? RecordResult.Recorded : RecordResult.Dropped;
    }

    /// <summary>
    /// The validation every record path shares: the source must be known and the node map to a
    /// promotion target (<paramref name="targets"/> is <c>_targetOfNid</c>, read once by the caller).
    /// Returns <see cref="RecordResult.Recorded"/> when both hold, else the rejection's cause.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static RecordResult ResolveTarget(int nid, AccessSource source, short[] targets, out int target)
    {
        target = unchecked((uint)(nid + 1)) < (uint)targets.Length ? targets[nid + 1] : -1;
        return !AccessSources.IsValid(source) ? RecordResult.InvalidSource
            : target < 0 ? RecordResult.InvalidNode
            : RecordResult.Recorded;
    }

    /// <summary><see cref="ResolveTarget"/>, then the table index of (<paramref name="pid"/>, <paramref name="address"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private RecordResult Resolve(int pid, ulong address, int nid, AccessSource source, short[] targets, out long page, out int target)
    {
        page = -1;
        RecordResult check = ResolveTarget(nid, source, targets, out target);
        if (check != RecordResult.Recorded)
        {
            return check;
        }

        page = _regions.Lookup(pid, address);
        return page < 0 ? RecordResult.OutsideTrackedMemory : RecordResult.Recorded;
    }

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

        short[] targets = _targetOfNid;
        // The regions as they are when the batch starts (as a single report sees them between its
        // lookup and its enqueue), and the last one hit: an empty length matches nothing.
        Region[] regions = _regions.Published;
        ulong regionBase = 0, regionLength = 0;
        long regionFirst = 0;
        long tail = ring.Tail;
        long start = tail;
        long room = ring.Room(tail);
        int dropped = 0, rejected = 0;
        ulong now = 0;
        foreach (ref readonly AccessRecord r in records)
        {
            RecordResult check = ResolveTarget(r.Nid, r.Source, targets, out int target);
            if (check != RecordResult.Recorded)
            {
                ring.CountRejected(check);
                rejected++;
                continue;
            }

            ulong offset = unchecked(r.Address - regionBase);
            if (offset >= regionLength)
            {
                int found = RegionMap.Find(regions, pid, r.Address);
                if (found < 0)
                {
                    regionLength = 0;
                    ring.CountRejectedAddress();
                    rejected++;
                    continue;
                }

                ref readonly Region region = ref regions[found];
                regionBase = region.Base;
                regionLength = region.Length;
                regionFirst = region.FirstPage;
                offset = r.Address - regionBase;
            }

            ulong t = r.TimeMs;
            if (t == 0)
            {
                t = now != 0 ? now : (now = NowMs);
            }

            if (room == 0 && (room = ring.PublishAndRefresh(tail)) == 0)
            {
                dropped++;
                continue;
            }

            ring.Write(tail, regionFirst + (long)(offset >> PageShift), unchecked((uint)t), (ushort)target, (byte)r.Source); // the table keeps time modulo 2^19
            tail++;
            room--;
        }

        ring.Publish(tail);
        if (dropped > 0)
        {
            ring.CountDropped(dropped);
        }

        return new BatchResult((int)(tail - start), dropped, rejected);
    }

    // The same on the current CPU's multi-producer ring: one reservation per chunk.
    private BatchResult RecordAccessesShared(int pid, ReadOnlySpan<AccessRecord> records)
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
                RecordResult check = Resolve(pid, r.Address, r.Nid, r.Source, targets, out long page, out int target);
                if (check != RecordResult.Recorded)
                {
                    ring.CountRejected(check);
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
            return w is PageWord.TopTier or PageWord.Empty ? null : (PageWord.Frequency(w), (int)PageWord.Node(w), PageWord.Time(w), _table.IsCandidate(page));
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
            return _table.Word(page) == PageWord.TopTier;
        }
    }

    /// <summary>Consumer side: the page now resides on a top-tier node (promoted).</summary>
    public void MarkPromoted(long page)
    {
        lock (_consumerLock)
        {
            _table.MarkTopTier(page);
        }
    }

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
            for (int i = 0; i < pages; i++)
            {
                long page = _regions.Lookup(pid, baseAddress + ((ulong)i << PageShift));
                if (page < 0)
                {
                    continue;
                }

                uint w = _table.Word(page);
                if (w != PageWord.TopTier && PageWord.Frequency(w) >= _table.Threshold && PageWord.Elapsed(now, PageWord.Time(w)) <= (int)_table.Window)
                {
                    hot++;
                }
            }
        }

        return hot;
    }

    /// <summary>Consumer side: every registered page of a moved folio now resides on a top-tier node.</summary>
    public void MarkPromotedRange(int pid, ulong baseAddress, int pages)
    {
        lock (_consumerLock)
        {
            for (int i = 0; i < pages; i++)
            {
                long page = _regions.Lookup(pid, baseAddress + ((ulong)i << PageShift));
                if (page >= 0)
                {
                    _table.MarkTopTier(page);
                }
            }
        }
    }

    /// <summary>Consumer side: the page is on a lower tier again (demoted by someone); it is tracked from scratch.</summary>
    public void MarkDemoted(long page)
    {
        lock (_consumerLock)
        {
            _table.MarkLowerTier(page);
        }
    }

    /// <summary>Consumer side: forget the page (unmapped or gone).</summary>
    public void Forget(long page)
    {
        lock (_consumerLock)
        {
            _table.Forget(page);
        }
    }

    /// <summary>Consumer side: put an extracted page back among the candidates if still hot (retry later). False when not requeued.</summary>
    public bool Requeue(long page)
    {
        lock (_consumerLock)
        {
            return _table.Requeue(page);
        }
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
            long head = 0;
            foreach (RecordRing r in _rings)
            {
                head += r.Dequeued;
            }

            foreach (ProducerRing r in producerRings)
            {
                head += r.Dequeued;
            }

            long tail = 0, dropped = 0, rs = 0, rn = 0, ra = 0;
            foreach (RecordRing r in _rings)
            {
                // Rejections and drops first, then tails: a producer bumps one of them, so every
                // report already in a component is in the total we compute from the same reads.
                dropped += r.Dropped;
                rs += r.RejectedSource;
                rn += r.RejectedNode;
                ra += r.RejectedAddress;
                tail += r.Enqueued;
            }

            foreach (ProducerRing r in producerRings)
            {
                dropped += r.Dropped;
                rs += r.RejectedSource;
                rn += r.RejectedNode;
                ra += r.RejectedAddress;
                tail += r.Enqueued;
            }

            long rejected = rs + rn + ra;
            Add("pghot_recorded_accesses", tail + dropped + rejected);
            Add("pghot_records_applied", head);
            Add("pghot_records_inflight", tail - head);
            Add("pghot_ring_dropped", dropped);
            Add("pghot_rejected", rejected);
            Add("pghot_rejected_source", rs);
            Add("pghot_rejected_node", rn);
            Add("pghot_rejected_address", ra);
            Add("pghot_skipped_toptier", _table.SkippedTopTier);
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
        }

        return new CounterSnapshot(list);

        void Add(string name, long value) => list.Add(new KeyValuePair<string, long>(name, value));
    }

    private void ThrowIfDisposed()
    {
        if (_disposed)
        {
            ThrowHelper.ThrowObjectDisposed(nameof(HotPageEngine));
        }
    }

    /// <summary>Frees the tables and rings. Producers must have stopped.</summary>
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
                    r.Dispose();
                }
            }

            _table.Dispose();
            _staging.Dispose();
        }
    }
}
