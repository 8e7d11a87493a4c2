using HotPage.Engine.Records;

namespace HotPage.Engine.Rings;

/// <summary>
/// What both kinds of record ring count (<see cref="RecordRing"/>, shared by the threads of a CPU,
/// with atomic increments; <see cref="ProducerRing"/>, one producer's, with plain ones): records
/// enqueued and dequeued, dropped, and rejected by cause. The engine's counters and its
/// conservation identity are sums of these over every ring.
/// </summary>
internal interface IRingCounters
{
    long Enqueued { get; }

    long Dequeued { get; }

    long Dropped { get; }

    long RejectedSource { get; }

    long RejectedNode { get; }

    long RejectedAddress { get; }

    void CountRejectedSource();

    void CountRejectedNode();

    void CountRejectedAddress();
}

/// <summary>The operations both ring kinds share, written once over <see cref="IRingCounters"/>.</summary>
internal static class RingCounters
{
    /// <summary>Counts one rejected record by its cause (<see cref="RecordResult.InvalidSource"/>, <c>InvalidNode</c> or <c>OutsideTrackedMemory</c>).</summary>
    public static void CountRejected<TRing>(TRing ring, RecordResult cause)
        where TRing : IRingCounters
    {
        switch (cause)
        {
            case RecordResult.InvalidSource:
                ring.CountRejectedSource();
                break;
            case RecordResult.InvalidNode:
                ring.CountRejectedNode();
                break;
            default:
                ring.CountRejectedAddress();
                break;
        }
    }
}

/// <summary>The sums of <see cref="IRingCounters"/> over rings, read in the order a consistent snapshot needs (see <see cref="AddProduced{TRing}"/>).</summary>
internal struct RingTotals
{
    public long Dequeued, Enqueued, Dropped, RejectedSource, RejectedNode, RejectedAddress;

    public readonly long Rejected => RejectedSource + RejectedNode + RejectedAddress;

    /// <summary>Adds the rings' heads. Read every head before any producer-side counter.</summary>
    public void AddDequeued<TRing>(TRing[] rings)
        where TRing : IRingCounters
    {
        foreach (TRing r in rings)
        {
            Dequeued += r.Dequeued;
        }
    }

    /// <summary>
    /// Adds the rings' drops and rejections, then their tails: a producer bumps one of these per
    /// report, so every report already in a component is in the total computed from the same reads.
    /// </summary>
    public void AddProduced<TRing>(TRing[] rings)
        where TRing : IRingCounters
    {
        foreach (TRing r in rings)
        {
            Dropped += r.Dropped;
            RejectedSource += r.RejectedSource;
            RejectedNode += r.RejectedNode;
            RejectedAddress += r.RejectedAddress;
            Enqueued += r.Enqueued;
        }
    }
}
