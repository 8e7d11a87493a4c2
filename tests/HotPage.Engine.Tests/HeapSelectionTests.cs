using HotPage.Engine.Selection;
using HotPage.Engine.Tables;
using HotPage.Engine.Tunables;
using NUnit.Framework;

namespace HotPage.Engine.Tests;

/// <summary>
/// What the heap and the stack strategies have and the bitmaps do not: a capacity
/// (<c>max_candidates</c>), stale entries and their compaction, under the same rules and counts.
/// </summary>
[TestFixture(CandidateSelection.Heap)]
[TestFixture(CandidateSelection.Stacks)]
public class HeapSelectionTests(CandidateSelection selection)
{
    private EngineTunables Tunables(long maxCandidates)
    {
        EngineTunables t = EngineFixture.SmallTunables(maxCandidates: maxCandidates);
        t.Set("selection", (long)selection);
        return t;
    }

    [Test]
    public void AFullCandidateHeapDropsAndCountsInsteadOfGrowing()
    {
        var tunables = Tunables(maxCandidates: 1024);
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
        var tunables = Tunables(maxCandidates: 1024);
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
        var tunables = Tunables(maxCandidates: 1024);
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
}
