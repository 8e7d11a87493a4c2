using FsCheck;
using FsCheck.Fluent;
using HotPage.Engine.Records;
using HotPage.Engine.Selection;
using HotPage.Engine.Tables;
using HotPage.Engine.Tunables;
using HotPage.Interop.Platform;
using NUnit.Framework;

namespace HotPage.Engine.Tests;

/// <summary>
/// The engine against <see cref="ReferencePghot"/> on random access streams, under each candidate
/// selection strategy (the semantics the promoter relies on must not depend on it).
/// </summary>
[TestFixture(CandidateSelection.Heap)]
[TestFixture(CandidateSelection.Bitmap)]
[TestFixture(CandidateSelection.Stacks)]
public class ReferenceModelTests(CandidateSelection selection)
{
    private const long Window = 5000;

    private EngineTunables SelectionTunables(long maxCandidates = 4096)
    {
        EngineTunables t = EngineFixture.SmallTunables(maxCandidates: maxCandidates);
        t.Set("selection", (long)selection);
        return t;
    }

    /// <summary>One step of a stream: page (0..63), node (-1..3), time step (ms, may go back a little).</summary>
    private static Gen<(int Page, int Nid, int Step)> Step =>
        from page in Gen.Choose(0, 63)
        from nid in Gen.Choose(-1, 3)
        from step in Gen.Frequency((6, Gen.Choose(0, 800)), (2, Gen.Choose(800, 7000)), (1, Gen.Choose(-300, 0)))
        select (page, nid, step);

    private (HotPageEngine Engine, ReferencePghot Reference, long Now) Run((int Page, int Nid, int Step)[] stream, int threshold)
    {
        NumaTopology topology = TestTopologies.FourNodes();
        var tunables = SelectionTunables();
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
        using HotPageEngine engine = EngineFixture.Create(tunables: SelectionTunables());
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
        using HotPageEngine engine = EngineFixture.Create(tunables: SelectionTunables());
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
        var tunables = SelectionTunables();
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
        using HotPageEngine engine = EngineFixture.Create(tunables: SelectionTunables());
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
    public void RequeueingABusyPagePutsItBackOnce()
    {
        using HotPageEngine engine = EngineFixture.Create(tunables: SelectionTunables());
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
        using HotPageEngine engine = EngineFixture.Create(tunables: SelectionTunables());
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
