using HotPage.Engine;
using HotPage.Engine.Promotion;
using HotPage.Engine.Records;
using HotPage.Engine.Selection;
using HotPage.Engine.Tunables;

namespace HotPage.Perf.Lab.Policies;

/// <summary>
/// A policy that is HotPage's own code: a <see cref="HotPageEngine"/> fed each sampled access
/// through <see cref="HotPageEngine.RecordAccess(ulong, int, AccessSource, ulong)"/> (node -1:
/// promote to the default top-tier node), and a <see cref="Promoter"/> whose
/// <see cref="Promoter.RunOnce"/> runs every <c>promote_interval_ms</c> of virtual time, or after
/// an eighth of it while a full batch waits (the rule of the promoter's own thread loop). Only the
/// tunables passed in differ between the engine policies; the table is sized to the working set.
/// </summary>
internal sealed class EnginePolicy : IPolicy
{
    private readonly Action<EngineTunables> _tune;
    private readonly AccessSource _source;
    private HotPageEngine? _engine;
    private Promoter? _promoter;
    private long _nextRound;
    private long _thresholdMin = long.MaxValue;
    private long _thresholdMax;

    /// <summary>Creates an engine policy with tunables set by <paramref name="tune"/>.</summary>
    public EnginePolicy(string name, string description, Action<EngineTunables> tune, AccessSource source = AccessSource.PerfSample)
    {
        Name = name;
        Description = description;
        _tune = tune;
        _source = source;
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public string Description { get; }

    /// <summary>HotPage's defaults: every tunable as shipped.</summary>
    public static EnginePolicy HotPageDefault() =>
        new("HotPage default", "the engine + promoter with default tunables (threshold 2, auto-adjust on: backlog and hot_threshold_waste_pct=25, batch 512 / 200 ms)", _ => { });

    /// <summary>
    /// HotPage's defaults with the threshold's room rule on (<c>hot_threshold_room_pct=6</c>, off by
    /// default): below <c>freq_threshold_min</c>, to 1, while node 0 has 6% free above the headroom
    /// and nothing is demoted. Off by default because a page reported once then qualifies: a cold
    /// sweep reported once per page moves while the fast tier has room (the guest's sweep cases).
    /// </summary>
    public static EnginePolicy HotPageRoom() =>
        new("HotPage, room rule", "the engine + promoter with default tunables and hot_threshold_room_pct=6 (threshold 1 while node 0 has 6% free and nothing is demoted)", t =>
            t.Set("hot_threshold_room_pct", 6));

    /// <summary>pghot's design: the candidate heap with a fixed threshold of 2 in a 5 s window.</summary>
    public static EnginePolicy PghotFixed() =>
        new("pghot heap, fixed threshold", "the engine + promoter with selection=0, hot_threshold_auto=0, freq_threshold=2 (pghot's candidate heap)", t =>
        {
            t.Set("selection", (long)CandidateSelection.Heap); // the default is the stacks since selection=2
            t.Set("hot_threshold_auto", 0);
            t.Set("freq_threshold", 2);
        });

    /// <summary>
    /// Candidate bitmaps: HotPage's defaults with <c>selection=1</c>, so candidates are marked in a
    /// bitmap per frequency level (no key stacks) and extracted from the highest level down. Everything
    /// else (threshold 2 with auto-adjust, batch, rate limit, the promoter) is the default, so its
    /// row differs from "HotPage default" only in the selection strategy.
    /// </summary>
    public static EnginePolicy BitmapCandidates() =>
        new("bitmap candidates", "the engine + promoter with selection=1 (per-frequency candidate bitmaps instead of the default key stacks), other tunables default", t =>
            t.Set("selection", (long)CandidateSelection.Bitmap));

    /// <inheritdoc/>
    public IReadOnlyList<KeyValuePair<string, long>> Counters
    {
        get
        {
            if (_promoter is null)
            {
                return [];
            }

            var c = _promoter.GetCounters();
            return
            [
                new("pgpromote_success", c["pgpromote_success"]),
                new("pgpromote_rounds", c["pgpromote_rounds"]),
                new("pgpromote_demoted_seen", c["pgpromote_demoted_seen"]),
                new("pgpromote_demoted_unused", c["pgpromote_demoted_unused"]),
                new("kpromoted_cold_old", c["kpromoted_cold_old"]),
                new("pghot_ring_dropped", c["pghot_ring_dropped"]),
                new("hot_threshold_min", _thresholdMin),
                new("hot_threshold_max", _thresholdMax),
                new("hot_threshold_end", c["hot_threshold"]),
            ];
        }
    }

    /// <inheritdoc/>
    public void Attach(TieredMemory memory, VirtualClock clock)
    {
        var tunables = new EngineTunables();
        tunables.Set("max_tracked_pages", Math.Max(memory.Pages, 1024)); // sizing only: the lab registers one working set
        _tune(tunables);
        _engine = new HotPageEngine(memory.GetTopology(), tunables, memory, clock);
        _engine.RegisterRegion(TieredMemory.Base, (ulong)memory.Pages * 4096);
        _promoter = new Promoter(_engine, memory, clock);
        _nextRound = clock.NowMs + tunables["promote_interval_ms"];
        Observe();
    }

    /// <inheritdoc/>
    /// <remarks>Time 0: the engine stamps the record with its own clock, which is the lab's virtual clock.</remarks>
    public void OnSample(int page, long nowMs) =>
        _engine!.RecordAccess(TieredMemory.AddressOf(page), -1, _source, 0);

    /// <inheritdoc/>
    public void OnTick(long nowMs)
    {
        // Drain every tick: records of one tick share one time stamp, so the order in which the
        // per-CPU rings are drained cannot change the table, and a run replays exactly.
        _engine!.Drain();
        if (nowMs < _nextRound)
        {
            return;
        }

        _promoter!.RunOnce();
        Observe();
        long interval = _engine.Tunables["promote_interval_ms"];
        bool backlog = _engine.CandidateCount >= _engine.Tunables["promote_batch"];
        _nextRound = nowMs + (backlog ? Math.Max(1, interval / 8) : interval);
    }

    private void Observe()
    {
        long t = _engine!.Tunables["freq_threshold"];
        _thresholdMin = Math.Min(_thresholdMin, t);
        _thresholdMax = Math.Max(_thresholdMax, t);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _promoter?.Dispose();
        _engine?.Dispose();
    }
}
