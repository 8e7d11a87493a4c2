using HotPage.Engine.Counters;
using HotPage.Engine.Records;
using NUnit.Framework;

namespace HotPage.Engine.Tests;

/// <summary>What one producer thread saw of its own reports: calls made and how each ended.</summary>
internal sealed class ProducerTally
{
    public long Calls, Recorded, Dropped, Rejected;

    public void Count(RecordResult r)
    {
        Calls++;
        switch (r)
        {
            case RecordResult.Recorded: Recorded++; break;
            case RecordResult.Dropped: Dropped++; break;
            default: Rejected++; break;
        }
    }

    public void Count(BatchResult r, int records)
    {
        Calls += records;
        Recorded += r.Recorded;
        Dropped += r.Dropped;
        Rejected += r.Rejected;
    }
}

/// <summary>
/// The conservation check under concurrent producers: producer threads report while a consumer
/// drains, every snapshot taken meanwhile must balance, and at the quiescent point after the last
/// drain recorded = applied + dropped + rejected exactly, each term equal to what the producers
/// themselves were told.
/// </summary>
internal static class ConservationHarness
{
    /// <summary>
    /// Runs <paramref name="producers"/> threads, thread <c>p</c> calling <c>produce(p, tally, ready)</c>;
    /// a body calls <c>ready()</c> once set up (all producers and the consumer then start together).
    /// Returns the counters at the quiescent point, already checked against the tallies.
    /// </summary>
    public static CounterSnapshot Run(HotPageEngine engine, int producers, Action<int, ProducerTally, Action> produce)
    {
        var tallies = new ProducerTally[producers];
        using var start = new Barrier(producers + 1);
        bool done = false;
        long drainedWhileRunning = 0;
        var consumer = new Thread(() =>
        {
            start.SignalAndWait();
            while (!Volatile.Read(ref done))
            {
                drainedWhileRunning += engine.Drain(5000);
                // Snapshots taken while producers run must balance too.
                var c = engine.GetCounters();
                Assert.That(c["pghot_recorded_accesses"], Is.EqualTo(c["pghot_records_applied"] + c["pghot_records_inflight"] + c["pghot_ring_dropped"] + c["pghot_rejected"]));
            }
        });
        var threads = Enumerable.Range(0, producers).Select(p => new Thread(() =>
        {
            var tally = tallies[p] = new ProducerTally();
            produce(p, tally, () => start.SignalAndWait());
        })).ToArray();
        foreach (var t in threads)
        {
            t.Start();
        }

        consumer.Start();
        foreach (var t in threads)
        {
            t.Join();
        }

        Volatile.Write(ref done, true);
        consumer.Join();
        long drainedAtEnd = engine.Drain();

        var counters = engine.GetCounters();
        long calls = tallies.Sum(t => t.Calls);
        Assert.That(counters["pghot_recorded_accesses"], Is.EqualTo(calls), "every call is counted once");
        Assert.That(counters["pghot_records_inflight"], Is.EqualTo(0), "quiescent after the last drain");
        Assert.That(counters["pghot_records_applied"], Is.EqualTo(tallies.Sum(t => t.Recorded)), "every accepted report was applied");
        Assert.That(counters["pghot_records_applied"], Is.EqualTo(drainedWhileRunning + drainedAtEnd));
        Assert.That(counters["pghot_ring_dropped"], Is.EqualTo(tallies.Sum(t => t.Dropped)), "drops the producers saw are the drops counted");
        Assert.That(counters["pghot_rejected"], Is.EqualTo(tallies.Sum(t => t.Rejected)));
        Assert.That(counters["pghot_records_applied"] + counters["pghot_ring_dropped"] + counters["pghot_rejected"], Is.EqualTo(calls));
        return counters;
    }
}
