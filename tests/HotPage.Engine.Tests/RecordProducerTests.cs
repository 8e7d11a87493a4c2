using HotPage.Engine.Records;
using HotPage.Engine.Tunables;
using NUnit.Framework;

namespace HotPage.Engine.Tests;

/// <summary>
/// Producer handles (<see cref="RecordProducer"/>): the same results and counters as the
/// engine's own record methods, their ring's life (dispose, reopen, the producer_rings limit),
/// conservation across threads, allocation, and what misuse from two threads can and cannot do.
/// </summary>
[TestFixture]
[NonParallelizable]
public class RecordProducerTests
{
    /// <summary>What a generated report is.</summary>
    public enum Kind
    {
        Good,
        BadSource,
        BadNode,
        OutsideMemory,
    }

    // A report of a random kind; good ones hit random pages of the fixture's region, a few with time 0 ("now").
    private static (AccessRecord Record, Kind Kind) RandomReport(Random rng)
    {
        int roll = rng.Next(100);
        ulong time = rng.Next(10) == 0 ? 0UL : (ulong)rng.Next(1, 1_000_000);
        ulong address = EngineFixture.Addr(rng.Next(EngineFixture.Pages));
        AccessSource source = (AccessSource)rng.Next(1, (int)AccessSources.Max + 1);
        int nid = rng.Next(-1, 2);
        return roll switch
        {
            < 4 => (new AccessRecord(address, nid, rng.Next(2) == 0 ? AccessSource.None : (AccessSource)(AccessSources.Max + (uint)rng.Next(1, 1000)), time), Kind.BadSource),
            < 8 => (new AccessRecord(address, rng.Next(2) == 0 ? rng.Next(2, 5000) : -rng.Next(2, 5000), source, time), Kind.BadNode),
            < 12 => (new AccessRecord(rng.Next(2) == 0 ? EngineFixture.Base - (ulong)rng.Next(1, 1 << 20) : EngineFixture.Base + (EngineFixture.Pages * 4096UL) + (ulong)rng.Next(0, 1 << 20), nid, source, time), Kind.OutsideMemory),
            _ => (new AccessRecord(address, nid, source, time), Kind.Good),
        };
    }

    private static RecordResult Expected(Kind kind) => kind switch
    {
        Kind.BadSource => RecordResult.InvalidSource,
        Kind.BadNode => RecordResult.InvalidNode,
        Kind.OutsideMemory => RecordResult.OutsideTrackedMemory,
        _ => RecordResult.Recorded,
    };

    [TestCase(1, 1024)]
    [TestCase(2, 4096)]
    [TestCase(3, 65536)]
    public void AHandleGivesTheEngineMethodsResultsAndCountersOnARandomStream(int seed, int ringCapacity)
    {
        // Two engines with the same tunables and clocks: one fed through its own methods, the other
        // through a handle, the same calls in the same order, drained at the same points.
        var clockA = new ManualClock();
        var clockB = new ManualClock();
        using HotPageEngine viaEngine = EngineFixture.Create(tunables: EngineFixture.SmallTunables(ringCapacity), time: clockA);
        using HotPageEngine viaHandle = EngineFixture.Create(tunables: EngineFixture.SmallTunables(ringCapacity), time: clockB);
        using RecordProducer producer = viaHandle.OpenProducer();
        Assert.That(producer.HasOwnRing, Is.True);
        var rng = new Random(seed);
        var expectedCauses = new Dictionary<Kind, long>();
        long calls = 0, dropped = 0;
        for (int step = 0; step < 20_000; step++)
        {
            int what = rng.Next(100);
            if (what < 2)
            {
                Assert.That(viaHandle.Drain(), Is.EqualTo(viaEngine.Drain()));
                continue;
            }

            if (what < 4)
            {
                clockA.Advance(7);
                clockB.Advance(7);
                continue;
            }

            if (what < 60)
            {
                (AccessRecord r, Kind kind) = RandomReport(rng);
                RecordResult a = viaEngine.RecordAccess(r.Address, r.Nid, r.Source, r.TimeMs);
                RecordResult b = producer.Record(r.Address, r.Nid, r.Source, r.TimeMs);
                Assert.That(b, Is.EqualTo(a), $"step {step}: {r.Address:x} nid {r.Nid} source {(uint)r.Source} time {r.TimeMs}");
                Assert.That(a == RecordResult.Dropped ? RecordResult.Recorded : a, Is.EqualTo(Expected(kind)), "the cause of a rejection is the one the stream planted");
                expectedCauses[kind] = expectedCauses.GetValueOrDefault(kind) + 1;
                dropped += a == RecordResult.Dropped ? 1 : 0;
                calls++;
            }
            else
            {
                var batch = new AccessRecord[rng.Next(0, 600)];
                for (int i = 0; i < batch.Length; i++)
                {
                    (batch[i], Kind kind) = RandomReport(rng);
                    expectedCauses[kind] = expectedCauses.GetValueOrDefault(kind) + 1;
                }

                BatchResult a = viaEngine.RecordAccesses(batch);
                BatchResult b = producer.RecordBatch(batch);
                Assert.That(b, Is.EqualTo(a), $"step {step}: a batch of {batch.Length}");
                dropped += a.Dropped;
                calls += batch.Length;
            }
        }

        Assert.That(viaHandle.Drain(), Is.EqualTo(viaEngine.Drain()));
        var ca = viaEngine.GetCounters();
        var cb = viaHandle.GetCounters();
        Assert.That(cb.Select(kv => kv.Key), Is.EqualTo(ca.Select(kv => kv.Key)));
        foreach (var (name, value) in ca)
        {
            Assert.That(cb[name], Is.EqualTo(value), name);
        }

        Assert.That(cb["pghot_recorded_accesses"], Is.EqualTo(calls));
        Assert.That(cb["pghot_rejected_source"], Is.EqualTo(expectedCauses.GetValueOrDefault(Kind.BadSource)));
        Assert.That(cb["pghot_rejected_node"], Is.EqualTo(expectedCauses.GetValueOrDefault(Kind.BadNode)));
        Assert.That(cb["pghot_rejected_address"], Is.EqualTo(expectedCauses.GetValueOrDefault(Kind.OutsideMemory)));
        Assert.That(cb["pghot_ring_dropped"], Is.EqualTo(dropped));
        Assert.That(cb["pghot_records_applied"] + cb["pghot_ring_dropped"] + cb["pghot_rejected"], Is.EqualTo(calls));
        if (ringCapacity == 1024)
        {
            Assert.That(dropped, Is.GreaterThan(0), "the small ring overflowed: the drop path ran");
        }

        for (int page = 0; page < EngineFixture.Pages; page++)
        {
            Assert.That(viaHandle.PageState(0, EngineFixture.Addr(page)), Is.EqualTo(viaEngine.PageState(0, EngineFixture.Addr(page))), $"page {page}");
        }
    }

    [TestCase(Kind.BadSource, false)]
    [TestCase(Kind.BadNode, false)]
    [TestCase(Kind.OutsideMemory, false)]
    [TestCase(Kind.BadSource, true)]
    [TestCase(Kind.BadNode, true)]
    [TestCase(Kind.OutsideMemory, true)]
    public void BadInputThroughAHandleIsRejectedCountedByCauseAndChangesNothing(Kind kind, bool batched)
    {
        using HotPageEngine engine = EngineFixture.Create();
        using RecordProducer producer = engine.OpenProducer();
        Assert.That(producer.Record(EngineFixture.Addr(1), 0, AccessSource.Application, 100), Is.EqualTo(RecordResult.Recorded));
        engine.Drain();
        AccessRecord bad = kind switch
        {
            Kind.BadSource => new(EngineFixture.Addr(1), 0, (AccessSource)99, 101),
            Kind.BadNode => new(EngineFixture.Addr(1), 7, AccessSource.Application, 101),
            _ => new(EngineFixture.Base - 4096, 0, AccessSource.Application, 101),
        };
        if (batched)
        {
            Assert.That(producer.RecordBatch([bad, bad, bad]), Is.EqualTo(new BatchResult(0, 0, 3)));
        }
        else
        {
            Assert.That(producer.Record(bad.Address, bad.Nid, bad.Source, bad.TimeMs), Is.EqualTo(Expected(kind)));
        }

        int n = batched ? 3 : 1;
        Assert.That(engine.Drain(), Is.EqualTo(0), "nothing reached the ring");
        var c = engine.GetCounters();
        string counter = kind switch
        {
            Kind.BadSource => "pghot_rejected_source",
            Kind.BadNode => "pghot_rejected_node",
            _ => "pghot_rejected_address",
        };
        Assert.That(c[counter], Is.EqualTo(n));
        Assert.That(c["pghot_rejected"], Is.EqualTo(n), "counted under its own cause only");
        Assert.That(c["pghot_recorded_accesses"], Is.EqualTo(1 + n));
        Assert.That(c["pghot_records_applied"], Is.EqualTo(1));
        Assert.That(engine.PageState(0, EngineFixture.Addr(1)), Is.EqualTo(((uint, int, uint, bool)?)(1u, 0, 100u, false)), "the page is as it was");
    }

    [Test]
    public void ATimeBeyond32BitsIsTakenModuloTheTablesWindowOnEveryPath()
    {
        const ulong Time = (1UL << 40) + 1234;
        using HotPageEngine engine = EngineFixture.Create();
        using RecordProducer producer = engine.OpenProducer();
        Assert.That(engine.RecordAccess(EngineFixture.Addr(1), 0, AccessSource.Application, Time), Is.EqualTo(RecordResult.Recorded));
        Assert.That(engine.RecordAccesses([new AccessRecord(EngineFixture.Addr(2), 0, AccessSource.Application, Time)]).Recorded, Is.EqualTo(1));
        Assert.That(producer.Record(EngineFixture.Addr(3), 0, AccessSource.Application, Time), Is.EqualTo(RecordResult.Recorded));
        Assert.That(producer.RecordBatch([new AccessRecord(EngineFixture.Addr(4), 0, AccessSource.Application, Time)]).Recorded, Is.EqualTo(1));
        Assert.That(engine.Drain(), Is.EqualTo(4));
        uint expected = engine.PageState(0, EngineFixture.Addr(1))!.Value.TimeMs;
        Assert.That(expected, Is.EqualTo(1234u), "the table keeps the low bits");
        for (int page = 2; page <= 4; page++)
        {
            Assert.That(engine.PageState(0, EngineFixture.Addr(page))!.Value.TimeMs, Is.EqualTo(expected), $"page {page}");
        }
    }

    [Test]
    public void AFullHandleRingDropsAndCountsAndABatchWrapsAroundTheRing()
    {
        using HotPageEngine engine = EngineFixture.Create(tunables: EngineFixture.SmallTunables(1024));
        using RecordProducer producer = engine.OpenProducer();
        int recorded = 0, dropped = 0;
        for (int i = 0; i < 1500; i++)
        {
            RecordResult r = producer.Record(EngineFixture.Addr(i % 100), 0, AccessSource.Application, 1);
            recorded += r == RecordResult.Recorded ? 1 : 0;
            dropped += r == RecordResult.Dropped ? 1 : 0;
        }

        Assert.That((recorded, dropped), Is.EqualTo((1024, 476)));
        var batch = Enumerable.Range(0, 300).Select(i => new AccessRecord(EngineFixture.Addr(i), 0, AccessSource.Application, 2)).ToArray();
        Assert.That(producer.RecordBatch(batch), Is.EqualTo(new BatchResult(0, 300, 0)), "a full ring drops a whole batch");
        Assert.That(engine.Drain(), Is.EqualTo(1024));

        // Head and tail at 1024 + 700 after this: the next batch of 1024 runs past the end of the slot array and wraps.
        Assert.That(producer.RecordBatch(batch.Concat(batch).Concat(batch).Take(700).ToArray()), Is.EqualTo(new BatchResult(700, 0, 0)));
        Assert.That(engine.Drain(), Is.EqualTo(700));
        var wrap = Enumerable.Range(0, 1100).Select(i => new AccessRecord(EngineFixture.Addr(i), 0, AccessSource.Application, 3)).ToArray();
        Assert.That(producer.RecordBatch(wrap), Is.EqualTo(new BatchResult(1024, 76, 0)), "the window is split at the wrap; the rest of the ring is full");
        Assert.That(engine.Drain(), Is.EqualTo(1024));
        for (int i = 0; i < 1024; i++)
        {
            Assert.That(engine.PageState(0, EngineFixture.Addr(i))!.Value.TimeMs, Is.EqualTo(3u), $"page {i} was applied from the wrapped batch");
        }

        Assert.That(engine.PageState(0, EngineFixture.Addr(1050)), Is.Null, "records past the full ring were dropped, not written");
        var c = engine.GetCounters();
        Assert.That(c["pghot_ring_dropped"], Is.EqualTo(476 + 300 + 76));
        Assert.That(c["pghot_recorded_accesses"], Is.EqualTo(1500 + 300 + 700 + 1100));
        Assert.That(c["pghot_records_applied"] + c["pghot_ring_dropped"], Is.EqualTo(c["pghot_recorded_accesses"]));
    }

    [Test]
    public void ADisposedHandlesQueuedRecordsAreDrainedAndItsRingIsTakenByTheNextHandle()
    {
        using HotPageEngine engine = EngineFixture.Create(tunables: EngineFixture.SmallTunables(1024, producerRings: 1));
        RecordProducer first = engine.OpenProducer();
        for (int i = 0; i < 300; i++)
        {
            Assert.That(first.Record(EngineFixture.Addr(i), 0, AccessSource.Application, 10), Is.EqualTo(RecordResult.Recorded));
        }

        first.Dispose();
        first.Dispose(); // idempotent
        Assert.That(first.HasOwnRing, Is.False);
        Assert.Throws<ObjectDisposedException>(() => first.Record(EngineFixture.Addr(1), 0, AccessSource.Application, 10));
        Assert.Throws<ObjectDisposedException>(() => first.RecordBatch([new AccessRecord(EngineFixture.Addr(1), 0, AccessSource.Application, 10)]));
        Assert.That(engine.GetCounters()["pghot_records_inflight"], Is.EqualTo(300), "disposing a handle loses nothing it queued");

        using RecordProducer second = engine.OpenProducer();
        Assert.That(second.HasOwnRing, Is.True, "the freed ring is the second handle's");
        Assert.That(engine.ProducerRingCount, Is.EqualTo(1));
        int recorded = 0;
        for (int i = 0; i < 1000; i++)
        {
            recorded += second.Record(EngineFixture.Addr(1000 + i), 0, AccessSource.Application, 20) == RecordResult.Recorded ? 1 : 0;
        }

        Assert.That(recorded, Is.EqualTo(1024 - 300), "the ring still held the first handle's records");
        Assert.That(engine.Drain(), Is.EqualTo(1024));
        Assert.That(engine.PageState(0, EngineFixture.Addr(5))!.Value.TimeMs, Is.EqualTo(10u), "the first handle's records were applied");
        var c = engine.GetCounters();
        Assert.That(c["pghot_recorded_accesses"], Is.EqualTo(1300));
        Assert.That(c["pghot_records_applied"] + c["pghot_ring_dropped"], Is.EqualTo(1300));
        Assert.That(c["pghot_records_inflight"], Is.EqualTo(0));
    }

    [Test]
    public void AHandleHandedFromThreadToThreadKeepsOneRingAndCountsExactly()
    {
        using HotPageEngine engine = EngineFixture.Create(tunables: EngineFixture.SmallTunables(1024, producerRings: 2));
        using RecordProducer producer = engine.OpenProducer();
        int recorded = 0;
        for (int hop = 0; hop < 4; hop++)
        {
            int first = hop * 100;
            // Thread.Join orders one thread's reports before the next thread's: the contract's hand-over.
            var t = new Thread(() =>
            {
                for (int i = 0; i < 100; i++)
                {
                    recorded += producer.Record(EngineFixture.Addr(first + i), 0, AccessSource.Application, 1) == RecordResult.Recorded ? 1 : 0;
                }

                recorded += producer.RecordBatch([new AccessRecord(EngineFixture.Addr(first), 0, AccessSource.Application, 2)]).Recorded;
            });
            t.Start();
            t.Join();
        }

        Assert.That(recorded, Is.EqualTo(404));
        Assert.That(engine.ProducerRingCount, Is.EqualTo(1), "the handle's ring, not one per thread");
        Assert.That(engine.Drain(), Is.EqualTo(404));
        Assert.That(engine.PageState(0, EngineFixture.Addr(300))!.Value.Frequency, Is.EqualTo(2u));
    }

    [Test]
    public void AHandleDroppedWithoutDisposeFreesItsRingOnceCollected()
    {
        using HotPageEngine engine = EngineFixture.Create(tunables: EngineFixture.SmallTunables(1024, producerRings: 1));
        OpenRecordAndDrop(engine);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using RecordProducer next = engine.OpenProducer();
        Assert.That(next.HasOwnRing, Is.True, "the dropped handle's ring was free again");
        Assert.That(engine.ProducerRingCount, Is.EqualTo(1));
        Assert.That(engine.Drain(), Is.EqualTo(10), "what the dropped handle queued is applied");
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void OpenRecordAndDrop(HotPageEngine engine)
    {
        RecordProducer dropped = engine.OpenProducer();
        Assert.That(dropped.HasOwnRing, Is.True);
        for (int i = 0; i < 10; i++)
        {
            dropped.Record(EngineFixture.Addr(i), 0, AccessSource.Application, 1);
        }
    }

    [Test]
    public void HandlesBeyondProducerRingsRecordOnTheSharedRingsAndThreadsShareTheSamePool()
    {
        using HotPageEngine engine = EngineFixture.Create(tunables: EngineFixture.SmallTunables(1024, producerRings: 2));
        RecordProducer a = engine.OpenProducer();
        using RecordProducer b = engine.OpenProducer();
        using RecordProducer c = engine.OpenProducer();
        Assert.That((a.HasOwnRing, b.HasOwnRing, c.HasOwnRing), Is.EqualTo((true, true, false)));
        Assert.That(engine.ProducerRingCount, Is.EqualTo(2));
        Assert.That(c.Record(EngineFixture.Addr(1), 0, AccessSource.Application, 1), Is.EqualTo(RecordResult.Recorded));
        Assert.That(c.RecordBatch([new(EngineFixture.Addr(2), 0, AccessSource.Application, 1), new(EngineFixture.Addr(3), 9, AccessSource.Application, 1)]), Is.EqualTo(new BatchResult(1, 0, 1)));

        // Every ring is held by a handle: a thread reporting through the engine shares the per-CPU rings.
        RecordResult threadResult = RecordResult.Dropped;
        int threadRingsSeen = -1;
        var t = new Thread(() =>
        {
            threadResult = engine.RecordAccess(EngineFixture.Addr(4), 0, AccessSource.Application, 1);
            threadRingsSeen = engine.ProducerRingCount;
        });
        t.Start();
        t.Join();
        Assert.That((threadResult, threadRingsSeen), Is.EqualTo((RecordResult.Recorded, 2)));

        // A disposed handle's ring goes to the next one opened.
        a.Dispose();
        using RecordProducer d = engine.OpenProducer();
        Assert.That(d.HasOwnRing, Is.True);
        Assert.That(engine.ProducerRingCount, Is.EqualTo(2));
        Assert.That(d.Record(EngineFixture.Addr(5), 0, AccessSource.Application, 1), Is.EqualTo(RecordResult.Recorded));
        Assert.That(engine.Drain(), Is.EqualTo(4));
        var counters = engine.GetCounters();
        Assert.That(counters["pghot_recorded_accesses"], Is.EqualTo(5));
        Assert.That(counters["pghot_rejected_node"], Is.EqualTo(1));
        foreach (int page in new[] { 1, 2, 4, 5 })
        {
            Assert.That(engine.PageState(0, EngineFixture.Addr(page)), Is.Not.Null, $"page {page}");
        }
    }

    [Test]
    public void AHandleThrowsAfterItsEngineIsDisposedAndItsOwnDisposeStillWorks()
    {
        HotPageEngine engine = EngineFixture.Create(tunables: EngineFixture.SmallTunables(1024, producerRings: 1));
        RecordProducer own = engine.OpenProducer();
        RecordProducer shared = engine.OpenProducer();
        Assert.That((own.HasOwnRing, shared.HasOwnRing), Is.EqualTo((true, false)));
        engine.Dispose();
        Assert.That(own.HasOwnRing, Is.False);
        Assert.Throws<ObjectDisposedException>(() => own.Record(EngineFixture.Addr(1), 0, AccessSource.Application, 1));
        Assert.Throws<ObjectDisposedException>(() => own.RecordBatch([new AccessRecord(EngineFixture.Addr(1), 0, AccessSource.Application, 1)]));
        Assert.Throws<ObjectDisposedException>(() => shared.Record(EngineFixture.Addr(1), 0, AccessSource.Application, 1));
        Assert.Throws<ObjectDisposedException>(() => engine.OpenProducer());
        Assert.DoesNotThrow(own.Dispose);
        Assert.DoesNotThrow(shared.Dispose);
    }

    // producerRings 16: every thread's handle has a ring of its own; 3: three do, the others record on the per-CPU rings.
    [TestCase(8, 1024, 16)]
    [TestCase(10, 1024, 3)]
    [TestCase(12, 65536, 16)]
    public void RecordedEqualsAppliedPlusDroppedPlusRejectedWithAHandlePerThread(int producers, int ringCapacity, int producerRings)
    {
        using HotPageEngine engine = EngineFixture.Create(tunables: EngineFixture.SmallTunables(ringCapacity, producerRings: producerRings));
        const int PerProducer = 200_000;
        var ownRing = new bool[producers];
        var c = ConservationHarness.Run(engine, producers, (p, tally, ready) =>
        {
            var rng = new Random(p);
            var batch = new AccessRecord[41];
            using RecordProducer producer = engine.OpenProducer();
            ownRing[p] = producer.HasOwnRing;
            ready();
            for (int i = 0; i < PerProducer;)
            {
                if (rng.Next(4) == 0)
                {
                    for (int b = 0; b < batch.Length; b++)
                    {
                        batch[b] = RandomReport(rng).Record;
                    }

                    tally.Count(producer.RecordBatch(batch), batch.Length);
                    i += batch.Length;
                }
                else
                {
                    AccessRecord a = RandomReport(rng).Record;
                    tally.Count(producer.Record(a.Address, a.Nid, a.Source, a.TimeMs));
                    i++;
                }
            }
        });
        Assert.That(ownRing.Count(o => o), Is.EqualTo(Math.Min(producers, producerRings)), "handles got rings up to producer_rings, the others shared");
        Assert.That(c["hotpage_shared_ring_producers"], Is.EqualTo(producers - Math.Min(producers, producerRings)), "the counter says how many shared");
        if (ringCapacity == 1024)
        {
            Assert.That(c["pghot_ring_dropped"], Is.GreaterThan(0), "a small ring under this load must overflow: the drop path ran");
        }
    }

    [TestCase(16)]
    [TestCase(0)]
    public void RecordingThroughAHandleAllocatesNothingInSteadyState(int producerRings)
    {
        EngineTunables tunables = EngineFixture.SmallTunables(producerRings: producerRings);
        using HotPageEngine engine = EngineFixture.Create(tunables: tunables);
        using RecordProducer producer = engine.OpenProducer();
        Assert.That(producer.HasOwnRing, Is.EqualTo(producerRings > 0), "the path under test is the one meant");
        var batch = new AccessRecord[256];
        for (int i = 0; i < batch.Length; i++)
        {
            batch[i] = new AccessRecord(EngineFixture.Addr(i * 7 % EngineFixture.Pages), i % 3 - 1, AccessSource.PerfSample, i % 5 == 0 ? 0UL : 1000);
        }

        batch[17].Nid = 99; // a rejection on the way
        void Round(int round)
        {
            for (int i = 0; i < 300; i++) // 600 + 258 records per round: the 1024-slot ring never fills
            {
                producer.Record(EngineFixture.Addr((i * 13) % EngineFixture.Pages), 0, AccessSource.Application, (ulong)(1000 + round));
                producer.Record(EngineFixture.Addr(i % 50), -1, AccessSource.Application);
            }

            producer.RecordBatch(batch);
            producer.RecordBatch(batch.AsSpan(0, 3));
            engine.Drain();
        }

        for (int r = 0; r < 5; r++)
        {
            Round(r);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int r = 5; r < 50; r++)
        {
            Round(r);
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.EqualTo(0), "recording through a handle must not allocate");
        Assert.That(engine.GetCounters()["pghot_records_applied"], Is.EqualTo(50 * (600 + 255 + 3)), "every record but the planted rejection was applied");
    }

    /// <summary>
    /// Against the contract: two threads share one handle (so one ring) while a consumer drains.
    /// Records may be lost or duplicated and the counters may not balance, but the consumer only
    /// ever applies records to pages of the table: nothing throws, every page's state is a state a
    /// report could have made, and the engine works normally afterwards.
    /// </summary>
    [Test]
    public void AHandleMisusedFromTwoThreadsLosesRecordsAtWorstButNeverCorruptsTheTable()
    {
        using HotPageEngine engine = EngineFixture.Create(tunables: EngineFixture.SmallTunables(1024));
        RecordProducer shared = engine.OpenProducer();
        long nativeBefore = engine.Memory.Bytes;
        bool done = false;
        Exception? failure = null;
        void Guard(Action body)
        {
            try
            {
                body();
            }
            catch (Exception e)
            {
                failure ??= e;
            }
        }

        var consumer = new Thread(() => Guard(() =>
        {
            while (!Volatile.Read(ref done))
            {
                engine.Drain();
            }
        }));
        var producers = Enumerable.Range(0, 2).Select(p => new Thread(() => Guard(() =>
        {
            var rng = new Random(p);
            var batch = new AccessRecord[23];
            long end = Environment.TickCount64 + 1500;
            while (Environment.TickCount64 < end)
            {
                for (int b = 0; b < batch.Length; b++)
                {
                    batch[b] = new AccessRecord(EngineFixture.Addr(rng.Next(EngineFixture.Pages)), rng.Next(-1, 2), (AccessSource)rng.Next(1, 8), (ulong)rng.Next(1, 100_000));
                }

                shared.RecordBatch(batch);
                for (int i = 0; i < 30; i++)
                {
                    shared.Record(EngineFixture.Addr(rng.Next(EngineFixture.Pages)), 0, AccessSource.Application, (ulong)rng.Next(1, 100_000));
                }
            }
        }))).ToArray();
        consumer.Start();
        foreach (var t in producers)
        {
            t.Start();
        }

        foreach (var t in producers)
        {
            t.Join();
        }

        Volatile.Write(ref done, true);
        consumer.Join();
        Assert.That(failure, Is.Null, "neither the producers nor the consumer threw");
        engine.Drain();
        Assert.That(engine.Memory.Bytes, Is.EqualTo(nativeBefore));
        var c = engine.GetCounters();
        long bySource = 0;
        for (uint s = 1; s <= AccessSources.Max; s++)
        {
            bySource += c[AccessSources.CounterName((AccessSource)s)];
        }

        Assert.That(bySource, Is.GreaterThan(0), "records were applied, each with a valid source");
        for (int page = 0; page < EngineFixture.Pages; page++)
        {
            if (engine.PageState(0, EngineFixture.Addr(page)) is { } state)
            {
                Assert.That(state.Frequency, Is.InRange(1u, 7u), $"page {page}");
                Assert.That(state.TargetNode, Is.EqualTo(0), $"page {page}: the only top-tier node");
            }
        }

        // Another handle used as meant (one thread) counts exactly. (Not on the misused ring: its
        // tail may now be behind its head, and records written there are lost until it catches up.)
        using RecordProducer fresh = engine.OpenProducer();
        Assert.That(fresh.HasOwnRing, Is.True);
        var before = engine.GetCounters();
        for (int i = 0; i < 100; i++)
        {
            Assert.That(fresh.Record(EngineFixture.Addr(i), 0, AccessSource.Application, 200_000), Is.EqualTo(RecordResult.Recorded));
        }

        Assert.That(engine.Drain(), Is.EqualTo(100));
        var after = engine.GetCounters();
        Assert.That(after["pghot_records_applied"] - before["pghot_records_applied"], Is.EqualTo(100));
        Assert.That(engine.PageState(0, EngineFixture.Addr(42))!.Value.TimeMs, Is.EqualTo(200_000u));
        shared.Dispose();
    }
}
