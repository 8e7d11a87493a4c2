using HotPage.Engine.Records;

namespace HotPage.Engine.Sources;

/// <summary>Whether a source can run on this kernel, and if not, why, in plain English.</summary>
/// <param name="IsAvailable">True when the kernel offers what the source needs.</param>
/// <param name="Reason">When unavailable: what is missing ("idle page tracking is not available: ..."); when available: what will be used.</param>
public readonly record struct SourceAvailability(bool IsAvailable, string Reason)
{
    /// <summary>An available source, with a note on what it uses.</summary>
    public static SourceAvailability Available(string note) => new(true, note);

    /// <summary>A source the kernel cannot support, with the reason.</summary>
    public static SourceAvailability Missing(string reason) => new(false, reason);
}

/// <summary>What one tick of a source did.</summary>
/// <param name="PagesScanned">Pages whose state was read (pagemap entries, DAMON region pages, samples).</param>
/// <param name="Reported">Access reports handed to the sink.</param>
/// <param name="Rejected">Reports the sink refused (outside registered memory, a full ring).</param>
/// <param name="Errors">Processes whose slice failed this tick (gone, not permitted); each is detached and named in <see cref="LastError"/>.</param>
/// <param name="LastError">The last failure's message, or null.</param>
public readonly record struct SourceTickResult(long PagesScanned, long Reported, long Rejected, int Errors, string? LastError);

/// <summary>
/// A temperature source for processes that do not report their own accesses (issue 6): it finds
/// accessed pages of attached processes by some kernel mechanism and feeds them to an
/// <see cref="IAccessSink"/> (the engine's record path) with its <see cref="Tag"/> and NUMA_NO_NODE.
/// </summary>
/// <remarks>
/// The life cycle: <see cref="Probe"/> first (it never throws and says what is missing);
/// <see cref="Attach"/> per process (throws <see cref="SourceException"/> naming the pid and the
/// reason, and leaves nothing half set up); then <see cref="Tick"/> from one thread on a timer,
/// each call doing at most one throttled slice of work per process
/// (<c>scan_period_ms</c>, <c>scan_size_mb</c>, <c>scan_delay_ms</c>); <see cref="Detach"/> or
/// <see cref="IDisposable.Dispose"/> releases everything the source created in the kernel.
/// Not thread-safe: one thread drives a source.
/// </remarks>
public interface ITemperatureSource : IDisposable
{
    /// <summary>The name <c>hotpaged run --source</c> uses (<c>idle</c>, <c>softdirty</c>, <c>damon</c>, <c>perf</c>).</summary>
    string Name { get; }

    /// <summary>The tag the source's reports carry.</summary>
    AccessSource Tag { get; }

    /// <summary>Checks, without side effects that outlive the call, whether this kernel supports the source.</summary>
    SourceAvailability Probe();

    /// <summary>Starts watching <paramref name="pid"/>.</summary>
    /// <exception cref="SourceException">The pid does not exist or cannot be accessed, or the kernel lacks the feature; nothing is left set up.</exception>
    void Attach(int pid);

    /// <summary>Stops watching <paramref name="pid"/>; false when it was not attached.</summary>
    bool Detach(int pid);

    /// <summary>The processes attached now.</summary>
    IReadOnlyCollection<int> AttachedPids { get; }

    /// <summary>Does one throttled slice of work for every process that is due at <paramref name="nowMs"/> and feeds the sink.</summary>
    SourceTickResult Tick(long nowMs);
}

/// <summary>Where sources deliver access reports (the engine, or a test's collector).</summary>
public interface IAccessSink
{
    /// <summary>Delivers reports for pages of <paramref name="pid"/>; returns how many were refused.</summary>
    int Deliver(int pid, ReadOnlySpan<AccessRecord> records);
}

/// <summary>Feeds source reports into <see cref="HotPageEngine.RecordAccesses(int, ReadOnlySpan{AccessRecord})"/>.</summary>
public sealed class EngineAccessSink : IAccessSink
{
    private readonly HotPageEngine _engine;

    /// <summary>Wraps an engine.</summary>
    public EngineAccessSink(HotPageEngine engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        _engine = engine;
    }

    /// <inheritdoc/>
    public int Deliver(int pid, ReadOnlySpan<AccessRecord> records)
    {
        BatchResult r = _engine.RecordAccesses(pid, records);
        return r.Dropped + r.Rejected;
    }
}

/// <summary>A source could not attach to or work on a process; the message names the pid and the reason.</summary>
public sealed class SourceException : Exception
{
    /// <summary>Creates the exception for <paramref name="pid"/>.</summary>
    public SourceException(string source, int pid, string reason, Exception? inner = null)
        : base($"{source} source, pid {pid}: {reason}", inner)
    {
        SourceName = source;
        Pid = pid;
    }

    /// <summary>Creates an exception with a message only.</summary>
    public SourceException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and an inner exception.</summary>
    public SourceException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception with no details.</summary>
    public SourceException()
    {
    }

    /// <summary>The source's name (<c>idle</c>, <c>softdirty</c>, ...), or empty.</summary>
    public string SourceName { get; } = string.Empty;

    /// <summary>The process concerned (0 when none).</summary>
    public int Pid { get; }
}
