using HotPage.Interop.Platform;

namespace HotPage.Perf.Lab.Policies;

/// <summary>
/// A DAMON-like region policy, written for the lab (a rival, so not HotPage's code): the working
/// set is covered by contiguous regions whose number adapts between <c>minRegions</c> and
/// <c>maxRegions</c>; each region counts the accesses that land in it per aggregation interval
/// (here the lab's sampled stream; DAMON checks one sampled page per region per sampling
/// interval) and keeps a moving average of accesses per page. After each aggregation:
/// <list type="number">
/// <item>a DAMOS-like <c>migrate_hot</c> scheme promotes whole regions, hottest first, whose
/// per-page access rate is at least <c>hotFactor</c> times the mean, within a quota of pages per
/// interval (the same MB/s budget the other policies get);</item>
/// <item>adjacent regions whose rates differ by at most a tenth of the highest rate merge;</item>
/// <item>while there are fewer than half of <c>maxRegions</c>, every region splits in two at a
/// random point (DAMON's adaptive region adjustment).</item>
/// </list>
/// </summary>
internal sealed class DamonRegionPolicy : IPolicy
{
    private const int MinRegionPages = 4;
    private readonly long _aggregationMs;
    private readonly int _minRegions;
    private readonly int _maxRegions;
    private readonly double _hotFactor;
    private readonly long _quotaPages;
    private readonly List<DamonRegion> _regions = [];
    private TieredMemory? _memory;
    private LabRandom _random = new(42);
    private long _nextAggregation;
    private long _hits;
    private nint[] _addresses = [];
    private int[] _nodes = [];
    private PageStatus[] _status = [];
    private long _aggregations, _regionsPromoted, _splits, _merges;

    /// <summary>Creates the policy.</summary>
    public DamonRegionPolicy(long aggregationMs, int minRegions, int maxRegions, double hotFactor, long rateLimitMbps)
    {
        _aggregationMs = aggregationMs;
        _minRegions = minRegions;
        _maxRegions = maxRegions;
        _hotFactor = hotFactor;
        _quotaPages = Math.Max(1, rateLimitMbps * 256 * aggregationMs / 1000);
        RateLimitMbps = rateLimitMbps;
    }

    /// <summary>The migration budget in MB/s.</summary>
    public long RateLimitMbps { get; }

    /// <inheritdoc/>
    public string Name => "DAMON-like regions";

    /// <inheritdoc/>
    public string Description => FormattableString.Invariant(
        $"lab model: {_minRegions}..{_maxRegions} adaptive regions, {_aggregationMs} ms aggregation, promote regions at >= {_hotFactor}x the mean rate, quota {RateLimitMbps} MB/s");

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
            _regions.Add(new DamonRegion { Start = start, End = Math.Min(memory.Pages, start + size) });
        }

        _nextAggregation = clock.NowMs + _aggregationMs;
        _addresses = new nint[_quotaPages];
        _nodes = new int[_quotaPages];
        _status = new PageStatus[_quotaPages];
    }

    /// <inheritdoc/>
    public void OnSample(int page, long nowMs)
    {
        int lo = 0, hi = _regions.Count - 1;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) >>> 1;
            if (_regions[mid].Start <= page)
            {
                lo = mid;
            }
            else
            {
                hi = mid - 1;
            }
        }

        _regions[lo].Hits++;
        _hits++;
    }

    /// <inheritdoc/>
    public void OnTick(long nowMs)
    {
        if (nowMs < _nextAggregation)
        {
            return;
        }

        _nextAggregation += _aggregationMs;
        _aggregations++;
        double max = 0;
        foreach (DamonRegion r in _regions)
        {
            double rate = (double)r.Hits / r.Size;
            r.Rate = _aggregations == 1 ? rate : (0.75 * r.Rate) + (0.25 * rate);
            r.Hits = 0;
            max = Math.Max(max, r.Rate);
        }

        double mean = _regions.Sum(r => r.Rate * r.Size) / _memory!.Pages;
        _hits = 0;
        Promote(mean);
        Merge(max / 10);
        Split();
    }

    private void Promote(double mean)
    {
        if (mean <= 0)
        {
            return;
        }

        int n = 0;
        foreach (DamonRegion r in _regions.Where(r => r.Rate >= _hotFactor * mean).OrderByDescending(r => r.Rate))
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

    private void Merge(double threshold)
    {
        int maxSize = Math.Max(MinRegionPages, _memory!.Pages / _minRegions);
        for (int i = 0; i + 1 < _regions.Count;)
        {
            DamonRegion a = _regions[i], b = _regions[i + 1];
            if (Math.Abs(a.Rate - b.Rate) <= threshold && a.Size + b.Size <= maxSize)
            {
                a.Rate = ((a.Rate * a.Size) + (b.Rate * b.Size)) / (a.Size + b.Size);
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
            _regions.Insert(i + 1, new DamonRegion { Start = at, End = r.End, Rate = r.Rate });
            r.End = at;
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
        public long Hits;
        public double Rate;

        public int Size => End - Start;
    }
}
