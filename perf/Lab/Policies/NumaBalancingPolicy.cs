using HotPage.Interop.Platform;

namespace HotPage.Perf.Lab.Policies;

/// <summary>
/// A model of Linux NUMA balancing in memory tiering mode (<c>numa_balancing=2</c>), written for
/// the lab (it is a rival, so it cannot be HotPage's code). The mechanism, as the kernel
/// documents it:
/// <list type="bullet">
/// <item>A scanner arms hint faults on <c>scan_size</c> pages every <c>scan_period</c>, cycling
/// through the address space; the time a page was armed is remembered.</item>
/// <item>The next access to an armed slow-tier page faults (here: the next sampled access, the
/// lab's common observation stream); the fault latency is now minus the arming time. A page whose
/// latency is below the hot threshold is "recently accessed", hence hot: a promotion candidate.</item>
/// <item>Candidates beyond the rate limit (MB/s, counted per one-second window) are not promoted.</item>
/// <item>Threshold auto-adjust: every adjust period the number of candidates is compared with
/// what the rate limit allows in that period; more than 110% lowers the threshold by one step
/// (1/8 of the default), fewer than 90% raises it, between one step and twice the default.</item>
/// </list>
/// Promotions are batched per tick into one <see cref="TieredMemory.MovePages"/> call (the kernel
/// migrates at each fault; the lab's tick is the unit of time).
/// Lab scaling: the kernel's threshold period is <c>numa_balancing_scan_period_max</c> (60 s);
/// the lab adjusts every second so the 30 s runs see it act.
/// </summary>
internal sealed class NumaBalancingPolicy : IPolicy
{
    private readonly long _scanPeriodMs;
    private readonly int _scanPages;
    private readonly long _defaultThresholdMs;
    private readonly long _rateLimitPagesPerSecond;
    private readonly long _adjustPeriodMs;
    private TieredMemory? _memory;
    private long[] _armedAt = [];
    private int _scanCursor;
    private long _nextScan;
    private long _thresholdMs;
    private long _windowStart;
    private long _windowCandidates;
    private long _periodStart;
    private long _periodCandidates;
    private readonly List<nint> _pending = [];
    private nint[] _addresses = [];
    private int[] _nodes = [];
    private PageStatus[] _status = [];
    private long _faults, _candidates, _rateLimited, _notRecent, _thresholdMin = long.MaxValue, _thresholdMax;

    /// <summary>Creates the model.</summary>
    /// <param name="scanPeriodMs">Time between scans (kernel: 1000 ms at the start).</param>
    /// <param name="scanPages">Pages armed per scan (kernel: <c>scan_size_mb</c> 256 MB).</param>
    /// <param name="thresholdMs">The default hot threshold (kernel: 1000 ms).</param>
    /// <param name="rateLimitMbps">The promotion rate limit in MB/s.</param>
    /// <param name="adjustPeriodMs">The threshold adjustment period.</param>
    public NumaBalancingPolicy(long scanPeriodMs, int scanPages, long thresholdMs, long rateLimitMbps, long adjustPeriodMs)
    {
        _scanPeriodMs = scanPeriodMs;
        _scanPages = scanPages;
        _defaultThresholdMs = thresholdMs;
        _thresholdMs = thresholdMs;
        _rateLimitPagesPerSecond = rateLimitMbps * 256;
        _adjustPeriodMs = adjustPeriodMs;
        RateLimitMbps = rateLimitMbps;
    }

    /// <summary>The rate limit the model runs with.</summary>
    public long RateLimitMbps { get; }

    /// <inheritdoc/>
    public string Name => "NUMA balancing (tiering)";

    /// <inheritdoc/>
    public string Description => FormattableString.Invariant(
        $"lab model: hint faults armed {_scanPages} pages per {_scanPeriodMs} ms, promote if fault latency < {_defaultThresholdMs} ms (auto-adjusted), rate limit {RateLimitMbps} MB/s");

    /// <inheritdoc/>
    public IReadOnlyList<KeyValuePair<string, long>> Counters =>
    [
        new("hint_faults", _faults),
        new("candidates", _candidates),
        new("not_recent", _notRecent),
        new("rate_limited", _rateLimited),
        new("threshold_ms_min", _thresholdMin),
        new("threshold_ms_max", _thresholdMax),
        new("threshold_ms_end", _thresholdMs),
    ];

    /// <inheritdoc/>
    public void Attach(TieredMemory memory, VirtualClock clock)
    {
        _memory = memory;
        _armedAt = new long[memory.Pages];
        Array.Fill(_armedAt, -1);
        _nextScan = clock.NowMs; // the first scan at once (the kernel waits scan_delay first; the lab starts hot)
        _windowStart = _periodStart = clock.NowMs;
        _addresses = new nint[memory.Pages];
        _nodes = new int[memory.Pages];
        _status = new PageStatus[memory.Pages];
        Observe();
    }

    /// <inheritdoc/>
    public void OnSample(int page, long nowMs)
    {
        long armed = _armedAt[page];
        if (armed < 0)
        {
            return;
        }

        _armedAt[page] = -1; // the fault restores the mapping
        _faults++;
        if (_memory!.IsFast(page))
        {
            return; // a top-tier page: no promotion in tiering mode
        }

        if (nowMs - armed >= _thresholdMs)
        {
            _notRecent++;
            return;
        }

        if (nowMs - _windowStart >= 1000)
        {
            _windowStart = nowMs;
            _windowCandidates = 0;
        }

        _candidates++;
        _periodCandidates++;
        if (++_windowCandidates > _rateLimitPagesPerSecond)
        {
            _rateLimited++;
            return;
        }

        _pending.Add(unchecked((nint)TieredMemory.AddressOf(page)));
    }

    /// <inheritdoc/>
    public void OnTick(long nowMs)
    {
        if (_pending.Count > 0)
        {
            int n = _pending.Count;
            for (int i = 0; i < n; i++)
            {
                _addresses[i] = _pending[i];
                _nodes[i] = TieredMemory.FastNode;
            }

            _memory!.MovePages(0, _addresses.AsSpan(0, n), _nodes.AsSpan(0, n), _status.AsSpan(0, n));
            _pending.Clear();
        }

        if (nowMs >= _nextScan)
        {
            int pages = _memory!.Pages;
            for (int i = 0; i < Math.Min(_scanPages, pages); i++)
            {
                _armedAt[_scanCursor] = nowMs;
                _scanCursor = _scanCursor + 1 == pages ? 0 : _scanCursor + 1;
            }

            _nextScan = nowMs + _scanPeriodMs;
        }

        if (nowMs - _periodStart >= _adjustPeriodMs)
        {
            long reference = _rateLimitPagesPerSecond * (nowMs - _periodStart) / 1000;
            long step = Math.Max(1, _defaultThresholdMs / 8);
            if (_periodCandidates > reference * 11 / 10)
            {
                _thresholdMs = Math.Max(step, _thresholdMs - step);
            }
            else if (_periodCandidates < reference * 9 / 10)
            {
                _thresholdMs = Math.Min(2 * _defaultThresholdMs, _thresholdMs + step);
            }

            _periodStart = nowMs;
            _periodCandidates = 0;
            Observe();
        }
    }

    private void Observe()
    {
        _thresholdMin = Math.Min(_thresholdMin, _thresholdMs);
        _thresholdMax = Math.Max(_thresholdMax, _thresholdMs);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
    }
}
