using FsCheck;
using FsCheck.Fluent;
using HotPage.Engine.Records;
using HotPage.Engine.Selection;
using HotPage.Engine.Tables;
using HotPage.Engine.Tunables;
using NUnit.Framework;

namespace HotPage.Engine.Tests;

/// <summary>
/// The stack strategy (<c>selection=2</c>) against the heap it replaces: the same extractions in the
/// same order when pages reach their levels in time order, the same counters, and where it differs
/// (requeued pages come back first within their frequency).
/// </summary>
[TestFixture]
public class StackSelectionTests
{
    private static HotPageEngine Create(CandidateSelection selection, long maxCandidates = 4096, bool fourNodes = false)
    {
        EngineTunables t = EngineFixture.SmallTunables(maxCandidates: maxCandidates);
        t.Set("selection", (long)selection);
        return EngineFixture.Create(fourNodes ? TestTopologies.FourNodes() : null, t);
    }

    private static (long Page, uint Frequency, uint TimeMs, int Target)[] Extract(HotPageEngine engine, int target, int n, ulong at)
    {
        var buffer = new PromotionCandidate[n];
        int got = engine.ExtractCandidates(target, buffer, at);
        return buffer.Take(got).Select(c => (c.Page, c.Frequency, c.TimeMs, c.TargetNode)).ToArray();
    }

    private static Dictionary<string, long> Counters(HotPageEngine engine) =>
        engine.GetCounters().Where(c => c.Key != "hotpage_native_bytes").ToDictionary(c => c.Key, c => c.Value);

    [Test]
    public void StacksExtractWhatTheHeapExtractsInTheSameOrderWhenTimesAreDistinctAndIncreasing()
    {
        int casesWithStale = 0, casesWithDrops = 0;
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(40), Prop.ForAll(Arb.From(Gen.Choose(0, int.MaxValue)), seed =>
        {
            var rng = new Random(seed);
            // Few pages: many frequency steps (stale entries) per page; many: the 1024-entry pools fill.
            // A third of the cases extract only at the end, with small time steps (thousands of records
            // within one window): their pools fill, compact and drop.
            bool pressure = rng.Next(3) == 0;
            int pageRange = pressure ? rng.Next(1500, EngineFixture.Pages) : rng.Next(2) == 0 ? rng.Next(20, 200) : rng.Next(1000, EngineFixture.Pages);
            int stepMax = pressure || rng.Next(2) == 0 ? 3 : 30;
            using HotPageEngine heap = Create(CandidateSelection.Heap, maxCandidates: 1024, fourNodes: true);
            using HotPageEngine stacks = Create(CandidateSelection.Stacks, maxCandidates: 1024, fourNodes: true);
            HotPageEngine[] both = [heap, stacks];
            long now = 10_000;
            int pending = 0;
            int ops = pressure ? rng.Next(8000, 20_000) : rng.Next(200, 20_000);
            int extractPerMille = pressure ? 0 : rng.Next(1, 16);
            for (int i = 0; i < ops; i++)
            {
                int r = rng.Next(1000);
                if (r < 950)
                {
                    int page = rng.Next(4) == 0 ? rng.Next(Math.Min(pageRange, 64)) : rng.Next(pageRange);
                    int nid = rng.Next(8) == 0 ? rng.Next(-1, 4) : 2; // mostly toward node 0, now and then a node change
                    now += rng.Next(1, stepMax); // strictly increasing: every push has a time of its own
                    foreach (HotPageEngine e in both)
                    {
                        e.Record(page, nid, (ulong)now);
                    }

                    if (++pending == 1000)
                    {
                        r = 950; // the test rings hold 1024 records
                    }
                }

                if (r is >= 950 and < 980)
                {
                    heap.Drain();
                    stacks.Drain();
                    pending = 0;
                }
                else if (r >= 980 && r < 980 + extractPerMille)
                {
                    heap.Drain();
                    stacks.Drain();
                    pending = 0;
                    int target = rng.Next(2);
                    int n = rng.Next(1, 400);
                    ulong at = (ulong)(now + rng.Next(0, 3000));
                    var expected = Extract(heap, target, n, at);
                    Assert.That(Extract(stacks, target, n, at), Is.EqualTo(expected), $"extraction {i} of {n} for node {target} at {at}");
                    if (expected.Length > 0 && rng.Next(4) == 0)
                    {
                        foreach (HotPageEngine e in both)
                        {
                            e.MarkPromoted(expected[0].Page);
                        }
                    }
                }
                else if (r >= 995)
                {
                    int threshold = rng.Next(1, 6);
                    foreach (HotPageEngine e in both)
                    {
                        e.Tunables.Set("freq_threshold", threshold);
                    }
                }
            }

            heap.Drain();
            stacks.Drain();
            Assert.That(stacks.QueuedCandidates(0), Is.EqualTo(heap.QueuedCandidates(0)));
            Assert.That(stacks.QueuedCandidates(1), Is.EqualTo(heap.QueuedCandidates(1)));
            Assert.That(Counters(stacks), Is.EqualTo(Counters(heap)), "every counter, drops and stale entries included");
            for (int target = 0; target <= 1; target++)
            {
                Assert.That(Extract(stacks, target, 4096, (ulong)now), Is.EqualTo(Extract(heap, target, 4096, (ulong)now)), $"the rest of node {target}");
            }

            Assert.That(Counters(stacks), Is.EqualTo(Counters(heap)));
            var c = stacks.GetCounters();
            casesWithStale += c["pghot_heap_stale"] > 0 ? 1 : 0;
            casesWithDrops += c["kpromoted_dropped"] > 0 ? 1 : 0;
        }));

        Assert.That(casesWithStale, Is.GreaterThan(0), "some cases discarded stale entries");
        Assert.That(casesWithDrops, Is.GreaterThan(0), "some cases filled a pool and dropped pushes");
    }

    [Test]
    public void StaleEntriesFromFrequencyStepsAndNodeChangesAreDiscardedWhenReachedAndCounted()
    {
        using HotPageEngine engine = Create(CandidateSelection.Stacks, fourNodes: true);
        ulong t = 100;
        for (int step = 0; step < 5; step++)
        {
            for (int page = 0; page < 10; page++)
            {
                engine.Record(page, 2, t++); // node 2's target is node 0: frequencies 1..5, a push at 2, 3, 4 and 5
            }
        }

        for (int page = 10; page < 15; page++)
        {
            engine.Record(page, 2, t++);
            engine.Record(page, 2, t++); // a candidate of node 0 at frequency 2
            engine.Record(page, 3, t++); // node 3's target is node 1: a new window, frequency 1
            engine.Record(page, 3, t++); // a candidate of node 1; its node 0 entry is stale
        }

        engine.Drain();
        Assert.That(engine.QueuedCandidates(0), Is.EqualTo((10 * 4) + 5));
        Assert.That(engine.QueuedCandidates(1), Is.EqualTo(5));
        Assert.That(engine.GetCounters()["pghot_records_heap"], Is.EqualTo(50));

        var top = Extract(engine, 0, 4, t);
        Assert.That(top.Select(c => c.Frequency), Is.All.EqualTo(5));
        Assert.That(top.Select(c => c.Page), Is.EqualTo(new long[] { 9, 8, 7, 6 }), "the latest to reach frequency 5 first");
        Assert.That(engine.GetCounters()["pghot_heap_stale"], Is.EqualTo(0), "stale entries below are not reached yet");

        var rest = Extract(engine, 0, 512, t);
        Assert.That(rest.Select(c => c.Page), Is.EqualTo(new long[] { 5, 4, 3, 2, 1, 0 }));
        var c = engine.GetCounters();
        Assert.That(c["pghot_heap_stale"], Is.EqualTo((10 * 3) + 5), "three old levels per climbing page, one entry per page that changed node");
        Assert.That(engine.QueuedCandidates(0), Is.EqualTo(0));
        Assert.That(Extract(engine, 1, 512, t).Select(x => (x.Page, x.Frequency)), Is.EqualTo(Enumerable.Range(10, 5).Reverse().Select(p => ((long)p, 2u))));
        c = engine.GetCounters();
        Assert.That(c["pghot_candidates_extracted"], Is.EqualTo(15));
        Assert.That(c["pghot_candidates"], Is.EqualTo(0));
        Assert.That(c["kpromoted_cold_old"], Is.EqualTo(0));
    }

    [Test]
    public void ARequeuedPageComesBackFirstWithinItsFrequencyWhereTheHeapOrdersByTime()
    {
        using HotPageEngine stacks = Create(CandidateSelection.Stacks);
        using HotPageEngine heap = Create(CandidateSelection.Heap);
        foreach (HotPageEngine e in new[] { stacks, heap })
        {
            e.Record(1, 0, 100);
            e.Record(1, 0, 101);
            e.Record(2, 0, 200);
            e.Record(2, 0, 201);
            e.Drain();
            Assert.That(Extract(e, 0, 1, 202).Single().Page, Is.EqualTo(2), "the latest first");
            e.Record(3, 0, 300);
            e.Record(3, 0, 301);
            e.Drain();
            Assert.That(e.Requeue(2), Is.True, "busy: back as a candidate");
            Assert.That(e.Requeue(2), Is.False, "once");
        }

        Assert.That(Extract(stacks, 0, 1, 302).Single().Page, Is.EqualTo(2), "stacks: the requeue was the last push at frequency 2");
        Assert.That(Extract(heap, 0, 1, 302).Single().Page, Is.EqualTo(3), "heap: page 3 reached frequency 2 last (time 301 > 201)");
        Assert.That(Extract(stacks, 0, 8, 302).Select(c => c.Page), Is.EqualTo(new long[] { 3, 1 }), "a batch is still sorted by recency");
        Assert.That(Extract(heap, 0, 8, 302).Select(c => c.Page), Is.EqualTo(new long[] { 2, 1 }));
        Assert.That(stacks.GetCounters()["pghot_records_heap"], Is.EqualTo(4), "three pushes and the requeue");
    }

    [TestCase(CandidateSelection.Heap)]
    [TestCase(CandidateSelection.Stacks)]
    public void ARequeueIntoAFullPoolWithNothingStaleIsDroppedAndCounted(CandidateSelection selection)
    {
        using HotPageEngine engine = Create(selection, maxCandidates: 1024);
        for (int page = 0; page < 1024; page++)
        {
            engine.Record(page, 0, (ulong)(100 + page));
            engine.Record(page, 0, (ulong)(100 + page));
            if (page % 256 == 255)
            {
                engine.Drain();
            }
        }

        var taken = Extract(engine, 0, 1, 5000);
        Assert.That(taken.Single().Page, Is.EqualTo(1023));
        engine.Record(2000, 0, 5000);
        engine.Record(2000, 0, 5001);
        engine.Drain();
        Assert.That(engine.QueuedCandidates(0), Is.EqualTo(1024), "the new candidate took the slot");
        Assert.That(engine.Requeue(1023), Is.False, "no room and nothing stale to compact");
        var c = engine.GetCounters();
        Assert.That(c["kpromoted_dropped"], Is.EqualTo(1));
        Assert.That(c["pghot_candidates"], Is.EqualTo(1024));
        Assert.That(engine.PageState(0, EngineFixture.Addr(1023))!.Value.IsCandidate, Is.False);
    }

    [TestCase(CandidateSelection.Heap)]
    [TestCase(CandidateSelection.Stacks)]
    public void AThresholdRaisedBetweenPushAndExtractionDropsTheLowerLevelsAsCold(CandidateSelection selection)
    {
        using HotPageEngine engine = Create(selection);
        for (ulong t = 100; t < 104; t++)
        {
            engine.Record(1, 0, t); // frequency 4: entries at 2, 3, 4
        }

        engine.Record(2, 0, 105);
        engine.Record(2, 0, 106);
        engine.Record(2, 0, 107); // frequency 3: entries at 2, 3
        engine.Record(3, 0, 108);
        engine.Record(3, 0, 109); // frequency 2
        engine.Record(4, 0, 110);
        engine.Record(4, 0, 111); // frequency 2
        engine.Drain();
        Assert.That(engine.QueuedCandidates(0), Is.EqualTo(7));
        engine.Tunables.Set("freq_threshold", 4);

        Assert.That(Extract(engine, 0, 1, 120).Select(c => (c.Page, c.Frequency)), Is.EqualTo(new[] { (1L, 4u) }));
        Assert.That(engine.GetCounters()["kpromoted_cold_old"], Is.EqualTo(0), "a batch of one pops one entry");
        Assert.That(Extract(engine, 0, 512, 120), Is.Empty, "everything left is below the new threshold");
        var c = engine.GetCounters();
        Assert.That(c["kpromoted_cold_old"], Is.EqualTo(3), "pages 2, 3 and 4: valid entries below the threshold");
        Assert.That(c["pghot_heap_stale"], Is.EqualTo(3), "page 1's two lower entries (extracted) and page 2's frequency-2 entry");
        Assert.That(c["pghot_candidates"], Is.EqualTo(0));
        Assert.That(engine.QueuedCandidates(0), Is.EqualTo(0));
    }

    [Test]
    public void ExtractRequeueApplyAndCompactionAllocateNothingWithStacks()
    {
        using HotPageEngine engine = Create(CandidateSelection.Stacks, maxCandidates: 4096);
        Assert.That(engine.Selection, Is.EqualTo(CandidateSelection.Stacks));
        var small = new PromotionCandidate[512];
        var large = new PromotionCandidate[2048];
        ulong now = 1000;

        void Requeue(ReadOnlySpan<PromotionCandidate> batch)
        {
            foreach (PromotionCandidate c in batch)
            {
                engine.Requeue(c.Page); // hottest first: the stacks give them back reversed (the merge sort's case)
            }
        }

        void Round()
        {
            // 3000 pages climb one frequency step (a push each, the old entry stale): the 4096-entry pool compacts.
            for (int page = 0; page < 3000; page++)
            {
                engine.RecordAccess(EngineFixture.Addr(page), 0, AccessSource.Application, now); // not EngineFixture.Record: its assertion allocates
                if (page % 1000 == 999)
                {
                    engine.Drain();
                }
            }

            now++;
            engine.Drain();
            int n = engine.ExtractCandidates(0, small, now);
            Requeue(small.AsSpan(0, n));
            n = engine.ExtractCandidates(0, small, now);
            Requeue(small.AsSpan(0, n));
            n = engine.ExtractCandidates(0, large, now); // above 1024: the introsort branch
            Requeue(large.AsSpan(0, n));
        }

        for (int r = 0; r < 4; r++)
        {
            Round(); // warm-up: JIT, tiering
        }

        long stale = engine.GetCounters()["pghot_heap_stale"];
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int r = 0; r < 3; r++)
        {
            Round();
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(allocated, Is.EqualTo(0), "apply, compaction, extraction and requeue allocate nothing");
        Assert.That(engine.GetCounters()["pghot_heap_stale"], Is.GreaterThan(stale), "compactions ran in the measured rounds");
    }
}
