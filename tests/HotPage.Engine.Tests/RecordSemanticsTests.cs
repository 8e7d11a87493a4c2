using HotPage.Engine.Records;
using NUnit.Framework;

namespace HotPage.Engine.Tests;

[TestFixture]
public class RecordSemanticsTests
{
    [Test]
    public void AccessesWithinTheWindowCountUp()
    {
        using HotPageEngine engine = EngineFixture.Create();
        engine.Record(5, 0, 1000);
        engine.Record(5, 0, 2000);
        engine.Record(5, 0, 3000);
        engine.Drain();
        Assert.That(engine.PageState(0, EngineFixture.Addr(5))!.Value.Frequency, Is.EqualTo(3u));
        Assert.That(engine.PageState(0, EngineFixture.Addr(5))!.Value.TimeMs, Is.EqualTo(3000u), "the last update time moves forward");
    }

    [Test]
    public void AnAccessAfterTheWindowStartsANewWindow()
    {
        using HotPageEngine engine = EngineFixture.Create();
        engine.Record(5, 0, 1000);
        engine.Record(5, 0, 2000);
        engine.Record(5, 0, 2000 + 5001); // window 5000 ms after the last update
        engine.Drain();
        Assert.That(engine.PageState(0, EngineFixture.Addr(5))!.Value.Frequency, Is.EqualTo(1u));
    }

    [Test]
    public void AnAccessExactlyAtTheWindowEdgeStaysInTheWindow()
    {
        using HotPageEngine engine = EngineFixture.Create();
        engine.Record(5, 0, 1000);
        engine.Record(5, 0, 6000);
        engine.Drain();
        Assert.That(engine.PageState(0, EngineFixture.Addr(5))!.Value.Frequency, Is.EqualTo(2u));
    }

    [Test]
    public void AnAccessFromAnotherTargetNodeStartsANewWindow()
    {
        using HotPageEngine engine = EngineFixture.Create(TestTopologies.FourNodes());
        engine.Record(5, 0, 1000);
        engine.Record(5, 0, 1001);
        engine.Record(5, 1, 1002);
        engine.Drain();
        var state = engine.PageState(0, EngineFixture.Addr(5))!.Value;
        Assert.That(state.Frequency, Is.EqualTo(1u));
        Assert.That(state.TargetNode, Is.EqualTo(1));
    }

    [Test]
    public void AnAccessFromALowerTierNodeTargetsItsNearestTopTierNode()
    {
        using HotPageEngine engine = EngineFixture.Create(TestTopologies.FourNodes());
        engine.Record(7, 3, 1000); // node 3 is nearest to node 1
        engine.Record(7, 1, 1001);
        engine.Drain();
        var state = engine.PageState(0, EngineFixture.Addr(7))!.Value;
        Assert.That(state.TargetNode, Is.EqualTo(1));
        Assert.That(state.Frequency, Is.EqualTo(2u), "node 3 and node 1 share the target, so the window goes on");
    }

    [Test]
    public void NumaNoNodeTargetsTheDefaultTopTierNode()
    {
        using HotPageEngine engine = EngineFixture.Create(TestTopologies.FourNodes());
        engine.Record(9, -1, 1000);
        engine.Record(9, 0, 1001);
        engine.Drain();
        var state = engine.PageState(0, EngineFixture.Addr(9))!.Value;
        Assert.That(state.TargetNode, Is.EqualTo(0));
        Assert.That(state.Frequency, Is.EqualTo(2u));
    }

    [Test]
    public void FrequencySaturatesAtSevenInsteadOfWrapping()
    {
        using HotPageEngine engine = EngineFixture.Create();
        for (int i = 0; i < 20; i++)
        {
            engine.Record(1, 0, (ulong)(1000 + i));
        }

        engine.Drain();
        Assert.That(engine.PageState(0, EngineFixture.Addr(1))!.Value.Frequency, Is.EqualTo(7u), "the eighth access must not wrap the 3-bit count to 0");
    }

    [Test]
    public void ALateReportCountsButNeverMovesTimeBack()
    {
        using HotPageEngine engine = EngineFixture.Create();
        engine.Record(2, 0, 5000);
        engine.Record(2, 0, 4000);
        engine.Drain();
        var state = engine.PageState(0, EngineFixture.Addr(2))!.Value;
        Assert.That(state.Frequency, Is.EqualTo(2u));
        Assert.That(state.TimeMs, Is.EqualTo(5000u));
    }

    [Test]
    public void APageBecomesACandidateAtTheThresholdAndStopsBeingOneInANewWindow()
    {
        using HotPageEngine engine = EngineFixture.Create();
        engine.Record(3, 0, 1000);
        engine.Drain();
        Assert.That(engine.PageState(0, EngineFixture.Addr(3))!.Value.IsCandidate, Is.False, "one access is below freq_threshold=2");
        engine.Record(3, 0, 1500);
        engine.Drain();
        Assert.That(engine.PageState(0, EngineFixture.Addr(3))!.Value.IsCandidate, Is.True);
        Assert.That(engine.CandidateCount, Is.EqualTo(1));
        engine.Record(3, 0, 1500 + 6000);
        engine.Drain();
        Assert.That(engine.PageState(0, EngineFixture.Addr(3))!.Value.IsCandidate, Is.False, "a new window restarts at frequency 1");
        Assert.That(engine.CandidateCount, Is.EqualTo(0));
        var c = engine.GetCounters();
        Assert.That(c["pghot_candidates_added"], Is.EqualTo(1));
        Assert.That(c["pghot_candidates_removed"], Is.EqualTo(1));
    }

    [Test]
    public void ThresholdOfOneMakesEveryAccessedPageACandidate()
    {
        var tunables = EngineFixture.SmallTunables();
        tunables.Set("freq_threshold", 1);
        tunables.Set("freq_threshold_min", 1);
        using HotPageEngine engine = EngineFixture.Create(tunables: tunables);
        engine.Record(1, 0, 10);
        engine.Record(2, 0, 10);
        engine.Drain();
        Assert.That(engine.CandidateCount, Is.EqualTo(2));
    }

    [Test]
    public void PagesResidentOnTheTopTierAreNotTracked()
    {
        // Even pages are on node 0 (top tier), odd ones on node 1.
        var topology = TestTopologies.TwoTier();
        var platform = new ResidencyOnlyPlatform(topology, a => (int)(((ulong)a - EngineFixture.Base) / 4096 % 2));
        using HotPageEngine engine = EngineFixture.Create(topology, platform: platform);
        engine.Record(2, 0, 100);
        engine.Record(2, 0, 101);
        engine.Record(3, 0, 100);
        engine.Record(3, 0, 101);
        engine.Drain();
        Assert.That(engine.PageState(0, EngineFixture.Addr(2)), Is.Null, "a top-tier page has no hotness state");
        Assert.That(engine.IsMarkedTopTier(0, EngineFixture.Addr(2)), Is.True);
        Assert.That(engine.PageState(0, EngineFixture.Addr(3))!.Value.Frequency, Is.EqualTo(2u));
        var c = engine.GetCounters();
        Assert.That(c["pghot_skipped_toptier"], Is.EqualTo(2));
        Assert.That(c["pghot_records_applied"], Is.EqualTo(4));
    }

    [Test]
    public void RecordsAreCountedBySource()
    {
        using HotPageEngine engine = EngineFixture.Create();
        engine.RecordAccess(EngineFixture.Addr(1), 0, AccessSource.SoftDirty, 10);
        engine.RecordAccess(EngineFixture.Addr(1), 0, AccessSource.SoftDirty, 11);
        engine.RecordAccess(EngineFixture.Addr(1), 0, AccessSource.PerfSample, 12);
        engine.Drain();
        var c = engine.GetCounters();
        Assert.That(c["pghot_recorded_softdirty"], Is.EqualTo(2));
        Assert.That(c["pghot_recorded_perfsamples"], Is.EqualTo(1));
        Assert.That(c["pghot_recorded_appreports"], Is.EqualTo(0));
    }

    [Test]
    public void TimeZeroMeansNowByTheEngineClock()
    {
        var clock = new ManualClock();
        using HotPageEngine engine = EngineFixture.Create(time: clock);
        clock.Advance(777);
        engine.RecordAccess(EngineFixture.Addr(4), 0, AccessSource.Application);
        engine.Drain();
        Assert.That(engine.PageState(0, EngineFixture.Addr(4))!.Value.TimeMs, Is.EqualTo(778u), "NowMs is elapsed ms + 1, so that it is never 0");
    }
}
