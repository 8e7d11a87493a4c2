namespace HotPage.Perf.Lab;

/// <summary>
/// The lab's clock: virtual milliseconds that move only when the simulator says so. The engine,
/// the promoter's token bucket and every rival policy read it, so a run replays exactly.
/// </summary>
internal sealed class VirtualClock : TimeProvider
{
    private long _ms;

    /// <summary>One timestamp tick per millisecond.</summary>
    public override long TimestampFrequency => 1000;

    /// <inheritdoc/>
    public override long GetTimestamp() => _ms;

    /// <summary>Virtual milliseconds since the clock was made.</summary>
    public long NowMs => _ms;

    /// <summary>Moves time forward.</summary>
    public void Advance(long ms) => _ms += ms;
}
