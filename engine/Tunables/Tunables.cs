using System.Collections.ObjectModel;
using System.Globalization;

namespace HotPage.Engine.Tunables;

/// <summary>When a tunable may change.</summary>
public enum TunableScope
{
    /// <summary>May change while the engine runs (<c>hotpaged tune</c>).</summary>
    Runtime,
    /// <summary>Sizes a table or ring: read once when the engine starts.</summary>
    StartOnly,
}

/// <summary>A tunable's name, range, default and meaning.</summary>
/// <param name="Name">The kernel-style name (<c>freq_window_ms</c>).</param>
/// <param name="Min">Smallest accepted value.</param>
/// <param name="Max">Largest accepted value.</param>
/// <param name="Default">The value when nothing is configured.</param>
/// <param name="Scope">Whether it may change at run time.</param>
/// <param name="Description">One line for <c>hotpaged</c>'s help and the docs.</param>
public sealed record TunableInfo(string Name, long Min, long Max, long Default, TunableScope Scope, string Description);

/// <summary>
/// The engine's tunables, named as the kernel names the same knobs. A value outside its range is
/// rejected with a message naming the tunable and the range, and the old value stays. Reads are
/// plain field reads (the hot paths read them); writes are rare and atomic per value.
/// </summary>
public sealed class EngineTunables
{
    /// <summary>Every tunable, in documentation order.</summary>
    public static readonly ReadOnlyCollection<TunableInfo> All = new(
    [
        new("freq_window_ms", 1, PageWordMaxWindow, 5000, TunableScope.Runtime, "An access later than this after the page's last one starts a new frequency window."),
        new("freq_threshold", 1, 7, 2, TunableScope.Runtime, "Accesses within a window that make a page a promotion candidate."),
        new("freq_threshold_min", 1, 7, 2, TunableScope.Runtime, "Lowest value the automatic threshold adjustment may choose (it goes below only while the promotion targets have room: hot_threshold_room_pct)."),
        new("freq_threshold_max", 1, 7, 7, TunableScope.Runtime, "Highest value the automatic threshold adjustment may choose."),
        new("hot_threshold_auto", 0, 1, 1, TunableScope.Runtime, "1: adjust freq_threshold once per hot_threshold_period_ms: up when candidates exceed what the rate limit moves or when promoted pages are demoted unused (hot_threshold_waste_pct), down when few candidates wait and little is wasted, below freq_threshold_min while the targets have room (hot_threshold_room_pct)."),
        new("hot_threshold_period_ms", 0, 600_000, 1000, TunableScope.Runtime, "The automatic adjustment's period: a backlog (too many, or too few, candidates) must last it without a break, and the waste share and the room are judged over it, before freq_threshold moves one step; 0 = every round."),
        new("hot_threshold_waste_pct", 0, 100, 25, TunableScope.Runtime, "Automatic adjustment: when more than this percent of the pages found demoted in a period (at least 64) had been promoted and not reported since their move (pgpromote_demoted_unused), freq_threshold goes up one step; it goes down only while the share is under half of this; 0 = the share is ignored."),
        new("hot_threshold_room_pct", 0, 90, 0, TunableScope.Runtime, "Automatic adjustment: while every promotion target has this percent of its memory free above promote_headroom_pct and nothing was demoted for a period, freq_threshold may go below freq_threshold_min, down to 1 (a move into free memory displaces nothing); a round without that room, or one that sees a page demoted, puts it back to freq_threshold_min; 0 = never below freq_threshold_min."),
        new("promote_batch", 1, 65536, 512, TunableScope.Runtime, "Pages extracted and moved per promotion round and target node."),
        new("promote_interval_ms", 1, 600_000, 200, TunableScope.Runtime, "Time between promotion rounds (a round also starts early when candidates pile up)."),
        new("promote_rate_limit_mbps", 0, 1_048_576, 1024, TunableScope.Runtime, "Most megabytes per second promoted to one target node; 0 = no limit."),
        new("promote_headroom_pct", 0, 90, 2, TunableScope.Runtime, "Free memory (percent of the node) a promotion never eats into; never less than the kernel's own reserve on the node (its zones' high watermarks)."),
        new("promote_retry_max", 0, 100, 3, TunableScope.Runtime, "Rounds a busy page (-EBUSY/-EAGAIN) is retried before it is dropped."),
        new("promote_nomem_backoff_rounds", 0, 10_000, 5, TunableScope.Runtime, "Rounds a target node is skipped after a move to it failed with -ENOMEM (its fallbacks take the pages)."),
        new("thp_hot_pct", 1, 100, 25, TunableScope.Runtime, "A transparent huge page is promoted (as a whole: the kernel moves its 2 MiB folio) when at least this percent of its base pages are hot."),
        new("residency_scan_pages", 0, 1 << 20, 4096, TunableScope.Runtime, "Pages re-checked for residency per round, cycling through the regions (finds demoted pages and pages the kernel moved); 0 = off."),
        new("scan_period_ms", 10, 3_600_000, 1000, TunableScope.Runtime, "Time between two scans of the same process's pages."),
        new("scan_size_mb", 1, 1_048_576, 256, TunableScope.Runtime, "Most memory scanned per process per period; larger processes are covered over several periods."),
        new("scan_delay_ms", 0, 3_600_000, 1000, TunableScope.Runtime, "Wait before the first scan of a newly watched process."),
        new("ring_capacity", 1024, 1 << 24, 1 << 16, TunableScope.StartOnly, "Records per record ring, per producer thread and per CPU (rounded up to a power of two)."),
        new("producer_rings", 0, 4096, 16, TunableScope.StartOnly, "Producer threads with a ring of their own (16 B per record of ring_capacity each, allocated at a thread's first report); further threads share the per-CPU rings; 0 = per-CPU rings only."),
        new("max_candidates", 1024, 1L << 30, 1 << 20, TunableScope.StartOnly, "Candidate entries per top-tier target node (heap and stack selection, 8 B each; candidate bitmaps have no limit)."),
        new("selection", 0, 2, 2, TunableScope.StartOnly, "How candidates are kept: 0 = a max-heap per top-tier node (pghot; max_candidates entries), 1 = per-frequency page bitmaps per top-tier node (no heap, no limit; +0.89 B per tracked page per top-tier node), 2 = per-frequency LIFO stacks per top-tier node sharing max_candidates entries (the heap's keys and limit; no sift, latest push first within a frequency; the default)."),
        new("max_tracked_pages", 0, 1L << 40, 0, TunableScope.StartOnly, "Table capacity in pages; 0 = the lower tiers' capacity from the topology (at least 1 Mi pages)."),
    ]);

    private const long PageWordMaxWindow = (1L << 18) - 1;
    private static readonly Dictionary<string, int> s_index = All.Select((t, i) => (t.Name, i)).ToDictionary(p => p.Name, p => p.i, StringComparer.Ordinal);

    private readonly long[] _values = All.Select(t => t.Default).ToArray();
    private bool _started;

    /// <summary>Raised after a value changed (name, old, new). Runs on the thread that set it.</summary>
    public event Action<string, long, long>? Changed;

    /// <summary>The value of a tunable.</summary>
    /// <exception cref="KeyNotFoundException">No tunable has that name.</exception>
    public long this[string name] => Volatile.Read(ref _values[IndexOf(name)]);

    /// <summary>The description of a tunable by name, or null.</summary>
    public static TunableInfo? Find(string name) => s_index.TryGetValue(name, out int i) ? All[i] : null;

    /// <summary>Sets a tunable; false with a message naming the tunable and its range when the value is not accepted (the old value stays).</summary>
    public bool TrySet(string name, long value, out string error)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!s_index.TryGetValue(name, out int i))
        {
            error = $"unknown tunable '{name}'; known: {string.Join(", ", All.Select(t => t.Name))}";
            return false;
        }

        TunableInfo info = All[i];
        if (value < info.Min || value > info.Max)
        {
            error = $"{name} must be in {info.Min}..{info.Max} (got {value}); it stays {_values[i]}";
            return false;
        }

        if (info.Scope == TunableScope.StartOnly && Volatile.Read(ref _started))
        {
            error = $"{name} sizes the engine's tables and can only be set before it starts; it stays {_values[i]}";
            return false;
        }

        if (name == "freq_threshold_min" && value > this["freq_threshold_max"])
        {
            error = $"freq_threshold_min must not exceed freq_threshold_max ({this["freq_threshold_max"]}); it stays {_values[i]}";
            return false;
        }

        if (name == "freq_threshold_max" && value < this["freq_threshold_min"])
        {
            error = $"freq_threshold_max must not be below freq_threshold_min ({this["freq_threshold_min"]}); it stays {_values[i]}";
            return false;
        }

        long old = Interlocked.Exchange(ref _values[i], value);
        error = string.Empty;
        if (old != value)
        {
            Changed?.Invoke(name, old, value);
        }

        return true;
    }

    /// <summary>Parses and sets <c>name=value</c> text; false with a message when either part is wrong.</summary>
    public bool TrySet(string assignment, out string error)
    {
        ArgumentNullException.ThrowIfNull(assignment);
        int eq = assignment.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0)
        {
            error = $"expected KEY=VALUE, got '{assignment}'";
            return false;
        }

        string name = assignment[..eq].Trim();
        string text = assignment[(eq + 1)..].Trim();
        if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long value))
        {
            error = Find(name) is null ? $"unknown tunable '{name}'" : $"{name}: '{text}' is not an integer";
            return false;
        }

        return TrySet(name, value, out error);
    }

    /// <summary>Sets a tunable or throws <see cref="ArgumentOutOfRangeException"/> with the message of <see cref="TrySet(string, long, out string)"/>.</summary>
    public void Set(string name, long value)
    {
        if (!TrySet(name, value, out string error))
        {
            throw new ArgumentOutOfRangeException(name, value, error);
        }
    }

    /// <summary>Name/value pairs, in documentation order.</summary>
    public IEnumerable<KeyValuePair<string, long>> Values => All.Select((t, i) => new KeyValuePair<string, long>(t.Name, Volatile.Read(ref _values[i])));

    internal void MarkStarted() => Volatile.Write(ref _started, true);

    private static int IndexOf(string name) =>
        s_index.TryGetValue(name, out int i) ? i : throw new KeyNotFoundException($"unknown tunable '{name}'");
}
