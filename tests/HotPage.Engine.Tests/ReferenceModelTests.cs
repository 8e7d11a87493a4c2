using FsCheck;
using FsCheck.Fluent;
using HotPage.Engine.Records;
using HotPage.Engine.Tables;
using HotPage.Interop.Platform;
using NUnit.Framework;

namespace HotPage.Engine.Tests;

/// <summary>The engine against <see cref="ReferencePghot"/> on random access streams.</summary>
[TestFixture]
public class ReferenceModelTests
{
    private const long Window = 5000;

    /// <summary>One step of a stream: page (0..63), node (-1..3), time step (ms, may go back a little).</summary>
    private static Gen<(int Page, int Nid, int Step)> Step =>
        from page in Gen.Choose(0, 63)
        from nid in Gen.Choose(-1, 3)
        from step in Gen.Frequency((6, Gen.Choose(0, 800)), (2, Gen.Choose(800, 7000)), (1, Gen.Choose(-300, 0)))
        select (page, nid, step);

    private static (HotPageEngine Engine, ReferencePghot Reference, long Now) Run((int Page, int Nid, int Step)[] stream, int threshold)
    {
        NumaTopology topology = TestTopologies.FourNodes();
        var tunables = EngineFixture.SmallTunables();
        tunables.Set("freq_threshold_min", 1);
        tunables.Set("freq_threshold", threshold);
        HotPageEngine engine = EngineFixture.Create(topology, tunables);
        var reference = new ReferencePghot(topology, Window, threshold);
        long now = 10_000;
        foreach ((int page, int nid, int step) in stream)
        {
            now += step;
            engine.Record(page, nid, (ulong)now);
            reference.Record(page, nid, now);
        }

        engine.Drain();
        return (engine, reference, now);
    }

    [Test]
    public void PageStatesMatchTheReferenceOnRandomStreams()
    {
        Prop.ForAll(Arb.From(Gen.ArrayOf(Step)), Arb.From(Gen.Choose(1, 7)), (stream, threshold) =>
        {
            (HotPageEngine engine, ReferencePghot reference, _) = Run(stream, threshold);
            using (engine)
            {
                for (long page = 0; page < 64; page++)
                {
                    var actual = engine.PageState(0, EngineFixture.Addr(page));
                    if (!reference.Pages.TryGetValue(page, out var expected))
                    {
                        Assert.That(actual, Is.Null, $"page {page} was never recorded");
                        continue;
                    }

                    Assert.That(actual, Is.Not.Null, $"page {page}");
                    Assert.That(actual!.Value.Frequency, Is.EqualTo((uint)expected.Freq), $"frequency of page {page}");
                    Assert.That(actual.Value.TargetNode, Is.EqualTo(expected.Target), $"target of page {page}");
                    Assert.That(actual.Value.TimeMs, Is.EqualTo((uint)expected.Time & PageWord.TimeMask), $"time of page {page}");
                    Assert.That(actual.Value.IsCandidate, Is.EqualTo(reference.IsCandidate(page)), $"candidacy of page {page}");
                }
            }
        }).QuickCheckThrowOnFailure();
    }

    [Test]
    public void ExtractionReturnsExactlyTheReferencesHotPagesHottestFirst()
    {
        Prop.ForAll(Arb.From(Gen.ArrayOf(Step)), Arb.From(Gen.Choose(1, 7)), Arb.From(Gen.Choose(0, 6000)), (stream, threshold, later) =>
        {
            (HotPageEngine engine, ReferencePghot reference, long now) = Run(stream, threshold);
            using (engine)
            {
                long at = now + later;
                for (int target = 0; target <= 1; target++)
                {
                    var expected = reference.Extractable(target, at);
                    var buffer = new PromotionCandidate[128];
                    int n = engine.ExtractCandidates(target, buffer, (ulong)at);
                    var actual = buffer.Take(n).ToList();
                    Assert.That(actual.Select(c => c.Page).OrderBy(p => p), Is.EqualTo(expected.Select(e => e.Page).OrderBy(p => p)), $"the hot pages of node {target} at {at}");
                    Assert.That(actual.Select(c => (int)c.Frequency), Is.EqualTo(expected.Select(e => e.Freq)), "hottest first");
                    Assert.That(actual.All(c => c.TargetNode == target), Is.True);
                    Assert.That(engine.ExtractCandidates(target, buffer, (ulong)at), Is.EqualTo(0), "extracted pages are no longer candidates");
                }
            }
        }).QuickCheckThrowOnFailure();
    }

    [Test]
    public void ABatchExtractionTakesTheHighestFrequenciesFirst()
    {
        using HotPageEngine engine = EngineFixture.Create();
        var reference = new ReferencePghot(TestTopologies.TwoTier(), Window, 2);
        var rng = new Random(7);
        for (int i = 0; i < 4000; i++)
        {
            int page = rng.Next(1000);
            engine.Record(page, 0, (ulong)(1000 + (i / 10)));
            reference.Record(page, 0, 1000 + (i / 10));
            if (i % 500 == 0)
            {
                engine.Drain();
            }
        }

        engine.Drain();
        var expected = reference.Extractable(0, 1500);
        var batch = new PromotionCandidate[32];
        int n = engine.ExtractCandidates(0, batch, 1500);
        Assert.That(n, Is.EqualTo(32));
        Assert.That(batch.Select(c => (int)c.Frequency), Is.EqualTo(expected.Take(32).Select(e => e.Freq)), "the first batch holds the highest frequencies");
        Assert.That(batch.Zip(batch.Skip(1)).All(p => p.First.Frequency >= p.Second.Frequency), Is.True);
    }

    [Test]
    public void ACandidateThatWentColdIsDroppedAtExtractionAndCounted()
    {
        using HotPageEngine engine = EngineFixture.Create();
        engine.Record(1, 0, 1000);
        engine.Record(1, 0, 1001);
        engine.Drain();
        var buffer = new PromotionCandidate[4];
        Assert.That(engine.ExtractCandidates(0, buffer, 1001 + 5001), Is.EqualTo(0), "no access within the window of the extraction: cold");
        Assert.That(engine.GetCounters()["kpromoted_cold_old"], Is.EqualTo(1));
        Assert.That(engine.CandidateCount, Is.EqualTo(0));
    }

    [Test]
    public void ARaisedThresholdIsHonouredAtExtraction()
    {
        var tunables = EngineFixture.SmallTunables();
        using HotPageEngine engine = EngineFixture.Create(tunables: tunables);
        engine.Record(1, 0, 1000);
        engine.Record(1, 0, 1001);
        engine.Drain();
        tunables.Set("freq_threshold", 3);
        Assert.That(engine.ExtractCandidates(0, new PromotionCandidate[4], 1002), Is.EqualTo(0));
    }

    [Test]
    public void ExtractedCandidatesCarryTheirAddressAndProcess()
    {
        using HotPageEngine engine = EngineFixture.Create();
        engine.RegisterRegion(4242, 0x5000_0000, 16 * 4096);
        engine.RecordAccess(4242, 0x5000_0000 + (3 * 4096) + 5, 1, AccessSource.PageTableScan, 100);
        engine.RecordAccess(4242, 0x5000_0000 + (3 * 4096) + 9, 1, AccessSource.PageTableScan, 101);
        engine.Drain();
        var buffer = new PromotionCandidate[4];
        Assert.That(engine.ExtractCandidates(0, buffer, 102), Is.EqualTo(1));
        Assert.That(buffer[0].Pid, Is.EqualTo(4242));
        Assert.That(buffer[0].Address, Is.EqualTo(0x5000_0000UL + (3 * 4096)), "the page's first byte");
        Assert.That(buffer[0].TargetNode, Is.EqualTo(0), "node 1 is lower tier: its default target is node 0");
    }

    [Test]
    public void AFullCandidateHeapDropsAndCountsInsteadOfGrowing()
    {
        var tunables = EngineFixture.SmallTunables(maxCandidates: 1024);
        using HotPageEngine engine = EngineFixture.Create(tunables: tunables);
        for (int page = 0; page < 1500; page++)
        {
            engine.Record(page, 0, 100);
            engine.Record(page, 0, 101);
            engine.Drain();
        }

        var c = engine.GetCounters();
        Assert.That(c["pghot_candidates"], Is.EqualTo(1024));
        Assert.That(c["kpromoted_dropped"], Is.EqualTo(1500 - 1024));
    }

    [Test]
    public void StaleHeapEntriesAreCompactedWhenTheHeapFills()
    {
        var tunables = EngineFixture.SmallTunables(maxCandidates: 1024);
        using HotPageEngine engine = EngineFixture.Create(tunables: tunables);
        // The same 200 pages climb from frequency 2 to 7: each step leaves a stale entry behind.
        for (int round = 0; round < 7; round++)
        {
            for (int page = 0; page < 200; page++)
            {
                engine.Record(page, 0, (ulong)(100 + round));
            }

            engine.Drain();
        }

        var c = engine.GetCounters();
        Assert.That(c["kpromoted_dropped"], Is.EqualTo(0), "compaction made room");
        Assert.That(c["pghot_heap_stale"], Is.GreaterThan(0));
        Assert.That(engine.ExtractCandidates(0, new PromotionCandidate[512], 110), Is.EqualTo(200), "each page once");
    }

    [Test]
    public void AFullHeapCompactsOnlyWhenASixteenthOfItIsStale()
    {
        var tunables = EngineFixture.SmallTunables(maxCandidates: 1024);
        using HotPageEngine engine = EngineFixture.Create(tunables: tunables);
        for (int page = 0; page < 1000; page++)
        {
            engine.Record(page, 0, 100);
            engine.Record(page, 0, 101);
            engine.Drain(); // the test ring holds 1024 records
        }

        for (int page = 0; page < 24; page++)
        {
            engine.Record(page, 0, 102); // frequency 3: a fresh entry, the old one stale
        }

        engine.Drain();
        Assert.That(engine.QueuedCandidates(0), Is.EqualTo(1024), "full: 1000 valid entries, 24 stale");

        engine.Record(1000, 0, 100);
        engine.Record(1000, 0, 101);
        engine.Drain();
        var c = engine.GetCounters();
        Assert.That(c["kpromoted_dropped"], Is.EqualTo(1), "24 stale entries (< 1024/16) do not pay for a pass over the heap");
        Assert.That(c["pghot_heap_stale"], Is.EqualTo(0), "no compaction ran");

        // Each candidate whose push is dropped leaves one more stale entry; the 40th makes 64 = 1024/16.
        for (int page = 24; page < 64; page++)
        {
            engine.Record(page, 0, 102);
        }

        engine.Drain();
        c = engine.GetCounters();
        Assert.That(c["kpromoted_dropped"], Is.EqualTo(1 + 39));
        Assert.That(c["pghot_heap_stale"], Is.EqualTo(64), "the compaction freed every stale entry");
        Assert.That(engine.PageState(0, EngineFixture.Addr(63))!.Value.IsCandidate, Is.True, "and the push that triggered it went in");
    }

    [Test]
    public void RequeueingABusyPagePutsItBackOnce()
    {
        using HotPageEngine engine = EngineFixture.Create();
        engine.Record(1, 0, 100);
        engine.Record(1, 0, 101);
        engine.Drain();
        var buffer = new PromotionCandidate[4];
        Assert.That(engine.ExtractCandidates(0, buffer, 102), Is.EqualTo(1));
        Assert.That(engine.Requeue(buffer[0].Page), Is.True);
        Assert.That(engine.Requeue(buffer[0].Page), Is.False, "already a candidate");
        Assert.That(engine.ExtractCandidates(0, buffer, 103), Is.EqualTo(1));
    }

    [Test]
    public void APromotedPageIsNotTrackedAndADemotedOneIsTrackedAgain()
    {
        using HotPageEngine engine = EngineFixture.Create();
        engine.Record(1, 0, 100);
        engine.Record(1, 0, 101);
        engine.Drain();
        var buffer = new PromotionCandidate[4];
        engine.ExtractCandidates(0, buffer, 102);
        engine.MarkPromoted(buffer[0].Page);
        engine.Record(1, 0, 103);
        engine.Drain();
        Assert.That(engine.IsMarkedTopTier(0, EngineFixture.Addr(1)), Is.True);
        engine.MarkDemoted(buffer[0].Page);
        engine.Record(1, 0, 104);
        engine.Record(1, 0, 105);
        engine.Drain();
        Assert.That(engine.PageState(0, EngineFixture.Addr(1))!.Value.IsCandidate, Is.True, "hot again after a demotion");
    }
}
