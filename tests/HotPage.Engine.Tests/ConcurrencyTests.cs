using HotPage.Engine.Records;
using NUnit.Framework;

namespace HotPage.Engine.Tests;

[TestFixture]
[NonParallelizable]
public class ConcurrencyTests
{
    // producerRings: 16 gives every producer its own ring, 0 puts all on the shared per-CPU rings,
    // 4 mixes both kinds (four threads own a ring, the others share).
    [TestCase(8, 1024, 16)]
    [TestCase(8, 1024, 0)]
    [TestCase(8, 1024, 4)]
    [TestCase(12, 65536, 16)]
    [TestCase(12, 65536, 4)]
    public void RecordedEqualsAppliedPlusDroppedPlusRejectedAcrossProducers(int producers, int ringCapacity, int producerRings)
    {
        using HotPageEngine engine = EngineFixture.Create(tunables: EngineFixture.SmallTunables(ringCapacity, producerRings: producerRings));
        const int PerProducer = 200_000;
        var c = ConservationHarness.Run(engine, producers, (p, tally, ready) =>
        {
            var rng = new Random(p);
            var batch = new AccessRecord[37];
            ready();
            for (int i = 0; i < PerProducer;)
            {
                if (rng.Next(4) == 0)
                {
                    for (int b = 0; b < batch.Length; b++)
                    {
                        int kind = rng.Next(50);
                        batch[b] = new AccessRecord(kind == 0 ? 12UL : EngineFixture.Addr(rng.Next(EngineFixture.Pages)), kind == 1 ? 9 : 0, AccessSource.Application, (ulong)(1 + i));
                    }

                    tally.Count(engine.RecordAccesses(batch), batch.Length);
                    i += batch.Length;
                }
                else
                {
                    int kind = rng.Next(50);
                    tally.Count(engine.RecordAccess(EngineFixture.Addr(rng.Next(EngineFixture.Pages)), kind == 1 ? 9 : 0, kind == 2 ? AccessSource.None : AccessSource.SoftDirty, (ulong)(1 + i)));
                    i++;
                }
            }
        });
        long bySource = c["pghot_recorded_appreports"] + c["pghot_recorded_softdirty"];
        Assert.That(bySource, Is.EqualTo(c["pghot_records_applied"]));
        if (ringCapacity == 1024)
        {
            Assert.That(c["pghot_ring_dropped"], Is.GreaterThan(0), "a small ring under 8 producers must overflow: the drop path ran");
        }

        // A thread that starts after another exited takes over its ring, so there can be fewer rings than threads.
        Assert.That(engine.ProducerRingCount, producerRings == 0 ? Is.EqualTo(0) : Is.InRange(1, Math.Min(producers, producerRings)), "producer threads got rings of their own, never more than producer_rings");
    }

    [Test]
    public void AnExitedThreadsRingIsDrainedAndTakenOverByTheNextThread()
    {
        using HotPageEngine engine = EngineFixture.Create(tunables: EngineFixture.SmallTunables(1024, producerRings: 1));
        int[] recorded = new int[2];
        for (int round = 0; round < 2; round++)
        {
            int r = round;
            // Fill the ring without a drain: records the thread left behind must still be applied.
            var t = new Thread(() =>
            {
                for (int i = 0; i < 700; i++)
                {
                    if (engine.RecordAccess(EngineFixture.Addr(i), 0, AccessSource.Application, 1) == RecordResult.Recorded)
                    {
                        recorded[r]++;
                    }
                }
            });
            t.Start();
            t.Join();
            Assert.That(engine.ProducerRingCount, Is.EqualTo(1), "the second thread takes over the first one's ring");
        }

        Assert.That(recorded[0], Is.EqualTo(700));
        Assert.That(recorded[1], Is.EqualTo(1024 - 700), "the ring still held the first thread's records: the rest dropped");
        var c = engine.GetCounters();
        Assert.That(c["pghot_records_inflight"], Is.EqualTo(1024));
        Assert.That(c["pghot_ring_dropped"], Is.EqualTo(700 - (1024 - 700)));
        Assert.That(engine.Drain(), Is.EqualTo(1024), "nothing the exited threads recorded is lost");
        c = engine.GetCounters();
        Assert.That(c["pghot_recorded_accesses"], Is.EqualTo(1400));
        Assert.That(c["pghot_records_applied"] + c["pghot_ring_dropped"], Is.EqualTo(1400));
        Assert.That(c["pghot_records_inflight"], Is.EqualTo(0));
        Assert.That((c["hotpage_producer_rings"], c["hotpage_shared_ring_producers"]), Is.EqualTo((1L, 0L)), "no thread had to share the per-CPU rings");
    }

    [Test]
    public void AThreadBeyondProducerRingsSharesTheCpuRings()
    {
        using HotPageEngine engine = EngineFixture.Create(tunables: EngineFixture.SmallTunables(1024, producerRings: 1));
        Assert.That(engine.RecordAccess(EngineFixture.Addr(1), 0, AccessSource.Application, 1), Is.EqualTo(RecordResult.Recorded));
        RecordResult other = RecordResult.Dropped;
        var t = new Thread(() => other = engine.RecordAccess(EngineFixture.Addr(2), 0, AccessSource.Application, 1));
        t.Start();
        t.Join();
        Assert.That(other, Is.EqualTo(RecordResult.Recorded), "the ring's owner is alive: the other thread records on a per-CPU ring");
        Assert.That(engine.ProducerRingCount, Is.EqualTo(1));
        var c = engine.GetCounters();
        Assert.That((c["hotpage_producer_rings"], c["hotpage_shared_ring_producers"]), Is.EqualTo((1L, 1L)), "the counters say one ring, one thread without one");
        Assert.That(engine.Drain(), Is.EqualTo(2));
        Assert.That(engine.PageState(0, EngineFixture.Addr(2)), Is.Not.Null, "the shared ring's record was applied");
    }

    [Test]
    public void AThreadReportingToTwoEnginesKeepsOneRingInEach()
    {
        using HotPageEngine a = EngineFixture.Create();
        using HotPageEngine b = EngineFixture.Create();
        for (int i = 0; i < 100; i++)
        {
            Assert.That(a.RecordAccess(EngineFixture.Addr(i), 0, AccessSource.Application, 1), Is.EqualTo(RecordResult.Recorded));
            Assert.That(b.RecordAccesses([new AccessRecord(EngineFixture.Addr(i), 0, AccessSource.Application, 1)]).Recorded, Is.EqualTo(1));
        }

        Assert.That((a.ProducerRingCount, b.ProducerRingCount), Is.EqualTo((1, 1)));
        Assert.That((a.Drain(), b.Drain()), Is.EqualTo((100L, 100L)), "each engine applies exactly its own records");
    }

    [Test]
    public void FullRingDropsAndCountsInsteadOfBlocking()
    {
        using HotPageEngine engine = EngineFixture.Create(tunables: EngineFixture.SmallTunables(1024));
        // One thread pinned to nothing in particular may hop CPUs; count per call, not per ring.
        int recorded = 0, dropped = 0;
        for (int i = 0; i < 10 * 1024 * engine.RingCount; i++)
        {
            if (engine.RecordAccess(EngineFixture.Addr(i % 100), 0, AccessSource.Application, 1) == RecordResult.Recorded)
            {
                recorded++;
            }
            else
            {
                dropped++;
            }
        }

        Assert.That(dropped, Is.GreaterThan(0));
        Assert.That(recorded, Is.LessThanOrEqualTo(1024 * engine.RingCount));
        Assert.That(engine.GetCounters()["pghot_ring_dropped"], Is.EqualTo(dropped));
        Assert.That(engine.Drain(), Is.EqualTo(recorded));
        Assert.That(engine.RecordAccess(EngineFixture.Addr(1), 0, AccessSource.Application, 1), Is.EqualTo(RecordResult.Recorded), "a drained ring accepts again");
    }
}
