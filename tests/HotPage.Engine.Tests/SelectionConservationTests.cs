using FsCheck;
using FsCheck.Fluent;
using HotPage.Engine.Selection;
using HotPage.Engine.Tables;
using HotPage.Engine.Tunables;
using NUnit.Framework;

namespace HotPage.Engine.Tests;

/// <summary>
/// The bookkeeping of the key-queue strategies (heap and stacks) on random operation streams: every
/// entry pushed is still queued or was popped or compacted away and counted exactly once, and the
/// candidate counters agree with the candidate bits.
/// </summary>
[TestFixture(CandidateSelection.Heap)]
[TestFixture(CandidateSelection.Stacks)]
public class SelectionConservationTests(CandidateSelection selection)
{
    private const int PageRange = 1800;

    [Test]
    public void EveryEntryIsQueuedOrCountedOnceAndCandidatesMatchTheirBits()
    {
        int full = 0;
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(25), Prop.ForAll(Arb.From(Gen.Choose(0, int.MaxValue)), seed =>
        {
            var rng = new Random(seed);
            EngineTunables t = EngineFixture.SmallTunables(maxCandidates: 1024);
            t.Set("selection", (long)selection);
            using HotPageEngine engine = EngineFixture.Create(TestTopologies.FourNodes(), t);
            var buffer = new PromotionCandidate[600];
            var extracted = new List<long>();
            long now = 10_000;
            int pending = 0;
            int extractPerMille = rng.Next(2) == 0 ? 1 : 4; // rarely: the pool fills, compacts and drops
            for (int i = 0; i < 12_000; i++)
            {
                int r = rng.Next(1000);
                if (r < 940)
                {
                    now += rng.Next(-2, 4); // forward, and back a little now and then: late records
                    int nid = rng.Next(6) == 0 ? rng.Next(-1, 4) : 2; // mostly toward node 0: its pool fills
                    engine.Record(rng.Next(PageRange), nid, (ulong)now);
                    if (++pending < 1000)
                    {
                        continue;
                    }
                }
                else if (r < 960 && extracted.Count > 0)
                {
                    long page = extracted[rng.Next(extracted.Count)];
                    switch (rng.Next(3))
                    {
                        case 0:
                            engine.Requeue(page); // true or false: both must keep the books
                            break;
                        case 1:
                            engine.MarkPromoted(page);
                            break;
                        default:
                            engine.Forget(page);
                            break;
                    }
                }
                else if (r < 960 + extractPerMille)
                {
                    engine.Drain();
                    pending = 0;
                    int n = engine.ExtractCandidates(rng.Next(2), buffer.AsSpan(0, rng.Next(1, buffer.Length)), (ulong)(now + rng.Next(0, 6000)));
                    extracted.AddRange(buffer.Take(n).Select(c => c.Page));
                }
                else if (r < 968)
                {
                    engine.Tunables.Set("freq_threshold", rng.Next(1, 6));
                }

                engine.Drain();
                pending = 0;
                Verify(engine);
            }

            full += engine.GetCounters()["kpromoted_dropped"] > 0 ? 1 : 0;
        }));

        Assert.That(full, Is.GreaterThan(0), "some streams filled a pool (compaction, drops)");
    }

    private static void Verify(HotPageEngine engine)
    {
        var c = engine.GetCounters();
        long queued = engine.QueuedCandidates(0) + engine.QueuedCandidates(1);
        Assert.That(c["pghot_records_heap"], Is.EqualTo(queued + c["pghot_heap_stale"] + c["kpromoted_cold_old"] + c["pghot_candidates_extracted"]),
            "pushed = queued + discarded as stale (popped or compacted) + dropped as cold + extracted");
        Assert.That(c["pghot_candidates"], Is.EqualTo(c["pghot_candidates_added"] - c["pghot_candidates_removed"]));
        long[] bits = new long[2];
        for (long page = 0; page < PageRange; page++)
        {
            var s = engine.PageState(0, EngineFixture.Addr(page));
            if (s is { IsCandidate: true } state)
            {
                bits[state.TargetNode]++;
            }
        }

        Assert.That(bits[0] + bits[1], Is.EqualTo(c["pghot_candidates"]), "the candidate count is the candidate bits set");
        Assert.That(engine.QueuedCandidates(0), Is.GreaterThanOrEqualTo(bits[0]), "a candidate of node 0 has an entry there");
        Assert.That(engine.QueuedCandidates(1), Is.GreaterThanOrEqualTo(bits[1]));
        Assert.That(queued, Is.LessThanOrEqualTo(2 * 1024), "never more than max_candidates entries per node");
    }
}
