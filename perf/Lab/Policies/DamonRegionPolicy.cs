using HotPage.Interop.Platform;

namespace HotPage.Perf.Lab.Policies;

/// <summary>
/// A DAMON-like region policy, written for the lab (a rival, so not HotPage's code). DAMON's
/// mechanism: the address space is covered by contiguous regions whose number adapts between
/// <c>minRegions</c> and <c>maxRegions</c>; every sampling interval (here each tick) DAMON checks
/// one random page per region for its Accessed bit (set since the previous check) and counts
/// <c>nr_accesses</c>; every aggregation interval:
/// <list type="number">
/// <item>a DAMOS <c>migrate_hot</c>-like scheme promotes whole regions, highest <c>nr_accesses</c>
/// first, with at least <c>minNrAccesses</c>, within a quota of pages per interval (the same MB/s
/// budget the other policies get);</item>
/// <item>adjacent regions whose <c>nr_accesses</c> differ by at most a tenth of the highest merge
/// (up to a size of the whole over <c>minRegions</c>);</item>
/// <item>while there are fewer than half of <c>maxRegions</c>, every region splits in two at a
/// random point.</item>
/// </list>
/// Its observation is the Accessed bit of one page per region, DAMON's own, not the lab's 1-in-N
/// sampled stream: a region policy fed single sampled addresses would not be DAMON.
/// </summary>
internal sealed class DamonRegionPolicy : IPolicy
{
    private const int MinRegionPages = 4;
    private readonly long _aggregationMs;
    private readonly int _minRegions;
    private readonly int _maxRegions;
    private readonly int _minNrAccesses;
    private readonly long _quotaPages;
    private readonly List<DamonRegion> _regions = [];
    private TieredMemory? _memory;
    private LabRandom _random = new(42);
    private long _nextAggregation;
    private nint[] _addresses = [];
    private int[] _nodes = [];
    private PageStatus[] _status = [];
    private long _aggregations, _regionsPromoted, _splits, _merges;

    /// <summary>Creates the policy.</summary>
    public DamonRegionPolicy(long aggregationMs, int minRegions, int maxRegions, int minNrAccesses, long rateLimitMbps)
    {
        _aggregationMs = aggregationMs;
        _minRegions = minRegions;
        _maxRegions = maxRegions;
        _minNrAccesses = minNrAccesses;
        _quotaPages = Math.Max(1, rateLimitMbps * 256 * aggregationMs / 1000);
        RateLimitMbps = rateLimitMbps;
    }

    /// <summary>The migration budget in MB/s.</summary>
    public long RateLimitMbps { get; }

    /// <inheritdoc/>
    public string Name => "DAMON-like regions";

    /// <inheritdoc/>
    public string Description => FormattableString.Invariant(
        $"lab model: {_minRegions}..{_maxRegions} adaptive regions, one Accessed-bit check per region per tick, {_aggregationMs} ms aggregation, promote regions with nr_accesses >= {_minNrAccesses}, quota {RateLimitMbps} MB/s");

    /// <inheritdoc/>
    public IReadOnlyList<KeyValuePair<string, long>> Counters =>
    [
        new("aggregations", _aggregations),
        new("regions_promoted", _regionsPromoted),
        new("regions_end", _regions.Count),
        new("splits", _splits),
        new("merges", _merges),
    ];

    /// <inheritdoc/>
    public void Attach(TieredMemory memory, VirtualClock clock)
    {
        _memory = memory;
        int size = memory.Pages / _minRegions;
        for (int start = 0; start < memory.Pages; start += size)
        {
            var r = new DamonRegion { Start = start, End = Math.Min(memory.Pages, start + size) };
            PickSample(r);
            _regions.Add(r);
        }

        _nextAggregation = clock.NowMs + _aggregationMs;
        _addresses = new nint[_quotaPages];
        _nodes = new int[_quotaPages];
        _status = new PageStatus[_quotaPages];
    }

    /// <inheritdoc/>
    public void OnSample(int page, long nowMs)
    {
        // DAMON does not use the sampled stream: it reads Accessed bits (OnTick).
    }

    /// <inheritdoc/>
    public void OnTick(long nowMs)
    {
        foreach (DamonRegion r in _regions)
        {
            if (_memory!.TestAndClearAccessed(r.SamplePage))
            {
                r.NrAccesses++;
            }

            PickSample(r);
        }

        if (nowMs < _nextAggregation)
        {
            return;
        }

        _nextAggregation += _aggregationMs;
        _aggregations++;
        int max = _regions.Max(r => r.NrAccesses);
        Promote();
        Merge(Math.Max(1, max / 10));
        foreach (DamonRegion r in _regions)
        {
            r.NrAccesses = 0;
        }

        Split();
    }

    private void PickSample(DamonRegion r)
    {
        r.SamplePage = r.Start + _random.NextInt(r.Size);
        _memory!.TestAndClearAccessed(r.SamplePage);
    }

    private void Promote()
    {
        int n = 0;
        foreach (DamonRegion r in _regions.Where(r => r.NrAccesses >= _minNrAccesses).OrderByDescending(r => r.NrAccesses))
        {
            bool any = false;
            for (int p = r.Start; p < r.End && n < _quotaPages; p++)
            {
                if (!_memory!.IsFast(p))
                {
                    _addresses[n] = unchecked((nint)TieredMemory.AddressOf(p));
                    _nodes[n] = TieredMemory.FastNode;
                    n++;
                    any = true;
                }
            }

            _regionsPromoted += any ? 1 : 0;
            if (n == _quotaPages)
            {
                break;
            }
        }

        if (n > 0)
        {
            _memory!.MovePages(0, _addresses.AsSpan(0, n), _nodes.AsSpan(0, n), _status.AsSpan(0, n));
        }
    }

    private void Merge(int threshold)
    {
        int maxSize = Math.Max(MinRegionPages, _memory!.Pages / _minRegions);
        for (int i = 0; i + 1 < _regions.Count;)
        {
            DamonRegion a = _regions[i], b = _regions[i + 1];
            if (Math.Abs(a.NrAccesses - b.NrAccesses) <= threshold && a.Size + b.Size <= maxSize)
            {
                a.NrAccesses = ((a.NrAccesses * a.Size) + (b.NrAccesses * b.Size)) / (a.Size + b.Size);
                a.End = b.End;
                _regions.RemoveAt(i + 1);
                _merges++;
            }
            else
            {
                i++;
            }
        }
    }

    private void Split()
    {
        if (_regions.Count >= _maxRegions / 2)
        {
            return;
        }

        for (int i = _regions.Count - 1; i >= 0; i--)
        {
            DamonRegion r = _regions[i];
            if (r.Size < 2 * MinRegionPages)
            {
                continue;
            }

            int at = r.Start + MinRegionPages + _random.NextInt(r.Size - (2 * MinRegionPages) + 1);
            var right = new DamonRegion { Start = at, End = r.End };
            r.End = at;
            PickSample(r);
            PickSample(right);
            _regions.Insert(i + 1, right);
            _splits++;
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
    }

    private sealed class DamonRegion
    {
        public int Start;
        public int End;
        public int SamplePage;
        public int NrAccesses;

        public int Size => End - Start;
    }
}
