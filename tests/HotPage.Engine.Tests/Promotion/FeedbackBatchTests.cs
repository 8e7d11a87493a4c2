using HotPage.Engine.Records;
using HotPage.Engine.Selection;
using HotPage.Engine.Tables;
using HotPage.Engine.Tunables;
using NUnit.Framework;

namespace HotPage.Engine.Tests.Promotion;

/// <summary>
/// <see cref="HotPageEngine.ApplyFeedback"/> against the per-page calls it batches
/// (<see cref="HotPageEngine.MarkPromoted"/>, <see cref="HotPageEngine.MarkPromotedRange"/>,
/// <see cref="HotPageEngine.Requeue"/>, <see cref="HotPageEngine.Forget"/>): two engines fed the
/// same records and the same outcomes end in the same state, with the same requeue answers.
/// </summary>
[TestFixture(CandidateSelection.Heap)]
[TestFixture(CandidateSelection.Bitmap)]
[TestFixture(CandidateSelection.Stacks)]
public class FeedbackBatchTests(CandidateSelection selection)
{
    private const ulong SecondBase = EngineFixture.Base + (EngineFixture.Pages * 4096UL) + (16 * 4096UL); // 16 unregistered pages between
    private const int SecondPages = 1024;

    // Two regions with a gap, a candidate pool small enough to fill (heap and stacks: 1024 entries).
    private HotPageEngine Create()
    {
        EngineTunables t = EngineFixture.SmallTunables(ringCapacity: 1 << 15, maxCandidates: 1024);
        t.Set("selection", (long)selection);
        HotPageEngine engine = EngineFixture.Create(tunables: t);
        engine.RegisterRegion(SecondBase, SecondPages * 4096UL);
        return engine;
    }

    private static ulong AddressOf(long page) =>
        page < EngineFixture.Pages ? EngineFixture.Base + ((ulong)page * 4096) : SecondBase + ((ulong)(page - EngineFixture.Pages) * 4096);

    private static Dictionary<string, long> Counters(HotPageEngine engine) =>
        engine.GetCounters().Where(c => c.Key != "hotpage_native_bytes").ToDictionary(c => c.Key, c => c.Value);

    private static void AssertSameState(HotPageEngine expected, HotPageEngine actual, string because)
    {
        for (long p = 0; p < EngineFixture.Pages + SecondPages; p++)
        {
            ulong address = AddressOf(p);
            Assert.That(actual.PageState(0, address), Is.EqualTo(expected.PageState(0, address)), $"page {p}: {because}");
            Assert.That(actual.IsMarkedTopTier(0, address), Is.EqualTo(expected.IsMarkedTopTier(0, address)), $"page {p} top tier: {because}");
        }

        Dictionary<string, long> want = Counters(expected);
        Assert.That(Counters(actual).Where(c => want[c.Key] != c.Value).Select(c => $"{c.Key}: {c.Value}, per page {want[c.Key]}"), Is.Empty, because);
        Assert.That(actual.QueuedCandidates(0), Is.EqualTo(expected.QueuedCandidates(0)), because);
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    [TestCase(4)]
    [TestCase(5)]
    public void ABatchOfOutcomesLeavesTheTableAsTheSameCallsOneByOneDo(int seed)
    {
        var rng = new Random(seed);
        using HotPageEngine perPage = Create();
        using HotPageEngine batched = Create();
        HotPageEngine[] both = [perPage, batched];
        ulong now = 10_000;
        var candidates = new PromotionCandidate[600];
        int succeeded = 0, failedRequeues = 0;
        for (int round = 0; round < 6; round++)
        {
            // The same records into both: 1500 candidate-worthy pages overflow a 1024-entry pool.
            int touched = rng.Next(200, 1500);
            for (int i = 0; i < touched; i++)
            {
                long page = rng.Next(EngineFixture.Pages + SecondPages);
                int times = rng.Next(1, 4);
                foreach (HotPageEngine e in both)
                {
                    for (int t = 0; t < times; t++)
                    {
                        e.RecordAccess(AddressOf(page), -1, Records.AccessSource.Application, now);
                    }
                }

                now += (ulong)rng.Next(0, 2);
            }

            foreach (HotPageEngine e in both)
            {
                e.Drain();
            }

            int want = rng.Next(1, candidates.Length);
            var twin = new PromotionCandidate[want];
            int n = perPage.ExtractCandidates(0, candidates.AsSpan(0, want), now);
            Assert.That(batched.ExtractCandidates(0, twin, now), Is.EqualTo(n), "same state, same extraction");
            Assert.That(twin.Take(n).Select(c => c.Page), Is.EqualTo(candidates.Take(n).Select(c => c.Page)));

            // A random mix of outcomes, mostly for the extracted pages (as a promoter makes them),
            // some for others: candidates, untracked or empty pages, pages twice, folio ranges
            // that run into the gap between the regions or past the last one.
            var feedback = new List<PageFeedback>();
            for (int i = 0; i < n + 100; i++)
            {
                long page = i < n ? candidates[i].Page : rng.Next(EngineFixture.Pages + SecondPages);
                int kind = rng.Next(100);
                feedback.Add(kind switch
                {
                    < 40 => PageFeedback.Promoted(page),
                    < 75 => PageFeedback.Requeue(page),
                    < 95 => PageFeedback.Forget(page),
                    _ => PageFeedback.PromotedRange(0, (AddressOf(page) & ~(512 * 4096UL - 1)) + ((ulong)rng.Next(0, 2) * 256 * 4096), rng.Next(1, 600)),
                });
                if (rng.Next(20) == 0)
                {
                    feedback.Add(feedback[^1]); // the same outcome twice: a second requeue finds a candidate
                }
            }

            var expected = new bool[feedback.Count];
            for (int i = 0; i < feedback.Count; i++)
            {
                PageFeedback f = feedback[i];
                switch (f.Outcome)
                {
                    case PageOutcome.Promoted:
                        perPage.MarkPromoted(f.Page);
                        break;
                    case PageOutcome.PromotedRange:
                        perPage.MarkPromotedRange(f.Pid, f.Address, f.Pages);
                        break;
                    case PageOutcome.Requeue:
                        expected[i] = perPage.Requeue(f.Page);
                        break;
                    case PageOutcome.Forget:
                        perPage.Forget(f.Page);
                        break;
                }
            }

            // In one call, or in a few (a promoter applies once per process group).
            var requeued = new bool[feedback.Count];
            int back = 0;
            PageFeedback[] all = [.. feedback];
            for (int start = 0; start < all.Length;)
            {
                int length = round % 2 == 0 ? all.Length : Math.Min(all.Length - start, rng.Next(1, 200));
                back += batched.ApplyFeedback(all.AsSpan(start, length), requeued.AsSpan(start, length));
                start += length;
            }

            Assert.That(requeued, Is.EqualTo(expected), $"round {round}: what each requeue returned");
            Assert.That(back, Is.EqualTo(expected.Count(r => r)), "the count of pages put back");
            succeeded += expected.Count(r => r);
            failedRequeues += expected.Where((r, i) => !r && feedback[i].Outcome == PageOutcome.Requeue).Count();
            AssertSameState(perPage, batched, $"round {round}, seed {seed}");
            now += 5;
        }

        Assert.That(succeeded, Is.GreaterThan(0), "the mix has requeues that succeed");
        Assert.That(failedRequeues, Is.GreaterThan(0), "and requeues that fail");

        // What the candidate structures hold, in the order they give it back.
        var left = new PromotionCandidate[4096];
        var right = new PromotionCandidate[4096];
        int a = perPage.ExtractCandidates(0, left, now);
        Assert.That(batched.ExtractCandidates(0, right, now), Is.EqualTo(a));
        Assert.That(right.Take(a).Select(c => c.Page), Is.EqualTo(left.Take(a).Select(c => c.Page)), "the same candidates in the same order");
    }

    [Test]
    public void AFolioAcrossTwoRegionsAndTheGapBetweenMarksAndCountsExactlyTheRegisteredPages()
    {
        using HotPageEngine engine = Create();
        ulong now = 10_000;
        ulong start = EngineFixture.Base + ((EngineFixture.Pages - 8) * 4096UL); // the first region's last 8 pages, the 16-page gap, 40 pages of the second
        const int Pages = 64;
        for (int i = 0; i < Pages; i++)
        {
            engine.RecordAccess(start + ((ulong)i * 4096), -1, Records.AccessSource.Application, now);
            engine.RecordAccess(start + ((ulong)i * 4096), -1, Records.AccessSource.Application, now);
        }

        engine.Drain();
        Assert.That(engine.CountHotPages(0, start, Pages, now), Is.EqualTo(8 + 40), "the gap's 16 pages are not registered: cold");
        Assert.That(engine.CountHotPages(0, start + 4096, 7, now), Is.EqualTo(7), "within one region");
        Assert.That(engine.CountHotPages(0, start + (8 * 4096), 16, now), Is.EqualTo(0), "only the gap");

        engine.ApplyFeedback([PageFeedback.PromotedRange(0, start, Pages)], []);
        for (int i = -1; i <= Pages; i++)
        {
            ulong address = unchecked(start + (ulong)((long)i * 4096)); // i = -1: the page before
            bool registered = i is (>= 0 and < 8) or (>= 24 and < Pages);
            Assert.That(engine.IsMarkedTopTier(0, address), Is.EqualTo(registered), $"base page {i}");
        }

        Assert.That(engine.PageState(0, start - 4096), Is.Null, "the page before was never touched");
        Assert.That(engine.CountHotPages(0, start, Pages, now), Is.Zero, "promoted pages are not hot");
    }

    [Test]
    public void ADefaultEntryIsRejectedAndTheEntriesBeforeItStayApplied()
    {
        using HotPageEngine engine = Create();
        PageFeedback[] feedback = [PageFeedback.Promoted(3), default, PageFeedback.Promoted(4)];
        Assert.That(() => engine.ApplyFeedback(feedback, []), Throws.ArgumentException.With.Message.Contains("Entry 1"));
        Assert.That(engine.IsMarkedTopTier(0, AddressOf(3)), Is.True);
        Assert.That(engine.IsMarkedTopTier(0, AddressOf(4)), Is.False);
        Assert.That(() => engine.ApplyFeedback(feedback, new bool[2]), Throws.ArgumentException.With.Message.Contains("requeued"), "too short for the answers");
    }

    [TestCase(-1L)]
    [TestCase(long.MinValue)]
    [TestCase(1L << 40)]
    public void APageOutsideTheTableIsRefusedBeforeAnythingChanges(long page)
    {
        using HotPageEngine engine = Create();
        foreach (int p in new[] { 3, 4 })
        {
            for (int i = 0; i < 3; i++)
            {
                engine.RecordAccess(AddressOf(p), 0, AccessSource.Application, 10);
            }
        }

        engine.Drain();
        page = page == 1L << 40 ? engine.Capacity : page; // the first index past the table
        Dictionary<string, long> before = Counters(engine);
        Assert.That(() => engine.MarkPromoted(page), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains($"Page {page} is outside the table"));
        Assert.That(() => engine.MarkDemoted(page), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => engine.Forget(page), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => engine.Requeue(page), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(Counters(engine), Is.EqualTo(before), "nothing changed");

        PageFeedback[] feedback = [PageFeedback.Promoted(3), PageFeedback.Forget(page), PageFeedback.Promoted(4)];
        Assert.That(() => engine.ApplyFeedback(feedback, []), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("Entry 1"));
        Assert.That(engine.IsMarkedTopTier(0, AddressOf(3)), Is.True, "the entry before it was applied");
        Assert.That(engine.IsMarkedTopTier(0, AddressOf(4)), Is.False, "the entry after it was not");
        Assert.That(engine.PageState(0, AddressOf(4))!.Value.Frequency, Is.EqualTo(3u), "and page 4 kept its state");
    }
}
