namespace HotPage.Perf.Lab.Policies;

/// <summary>
/// A promotion policy under test. The simulator reports sampled accesses (1 in N of the
/// workload's accesses, the same sample for every policy) and calls <see cref="OnTick"/> once per
/// tick of virtual time; the policy moves pages only through <see cref="TieredMemory.MovePages"/>,
/// that is through the simulated platform.
/// </summary>
internal interface IPolicy : IDisposable
{
    /// <summary>The name in tables and plots.</summary>
    string Name { get; }

    /// <summary>One line saying what the policy is and where its code lives.</summary>
    string Description { get; }

    /// <summary>Connects the policy to the machine and the clock before the first tick.</summary>
    void Attach(TieredMemory memory, VirtualClock clock);

    /// <summary>A sampled access to <paramref name="page"/> at <paramref name="nowMs"/>.</summary>
    void OnSample(int page, long nowMs);

    /// <summary>The end of a tick at <paramref name="nowMs"/>: the policy's periodic work.</summary>
    void OnTick(long nowMs);

    /// <summary>A few of the policy's own counters for the report.</summary>
    IReadOnlyList<KeyValuePair<string, long>> Counters { get; }
}

/// <summary>The floor: nothing ever moves (what the fast tier serves by first placement alone).</summary>
internal sealed class NoMigrationPolicy : IPolicy
{
    /// <inheritdoc/>
    public string Name => "no migration";

    /// <inheritdoc/>
    public string Description => "baseline: pages stay where they start (the slow tier)";

    /// <inheritdoc/>
    public IReadOnlyList<KeyValuePair<string, long>> Counters => [];

    /// <inheritdoc/>
    public void Attach(TieredMemory memory, VirtualClock clock)
    {
    }

    /// <inheritdoc/>
    public void OnSample(int page, long nowMs)
    {
    }

    /// <inheritdoc/>
    public void OnTick(long nowMs)
    {
    }

    /// <inheritdoc/>
    public void Dispose()
    {
    }
}
