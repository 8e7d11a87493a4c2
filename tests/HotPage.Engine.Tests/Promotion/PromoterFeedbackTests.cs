using HotPage.Engine.Promotion;
using HotPage.Engine.Selection;
using HotPage.Engine.Tunables;
using HotPage.Interop.Platform;
using NUnit.Framework;
using static HotPage.Engine.Tests.Promotion.PromoterFixture;

namespace HotPage.Engine.Tests.Promotion;

/// <summary>
/// The promoter's batched feedback where its answers matter: a busy page whose requeue fails is
/// dropped, not counted as retried; and with the retry table about to fill, each busy page is
/// settled as it comes, so the table fills exactly where per-page calls filled it.
/// </summary>
[TestFixture(CandidateSelection.Heap)]
[TestFixture(CandidateSelection.Bitmap)]
[TestFixture(CandidateSelection.Stacks)]
public class PromoterFeedbackTests(CandidateSelection selection)
{
    private PromoterFixture Fixture(long pages, Action<EngineTunables>? tune = null, Func<IMemoryPlatform, IMemoryPlatform>? wrap = null) =>
        PromoterFixture.WithSelection(selection, SimulatedMachine.TwoTier(100_000, 100_000), pages, 1, t =>
        {
            t.Set("hot_threshold_auto", 0);
            t.Set("promote_rate_limit_mbps", 0);
            tune?.Invoke(t);
        }, wrap);

    [Test]
    public void ABusyPageWhoseRequeueFailsIsDroppedNotRetried()
    {
        DuringMove? platform = null;
        using var f = Fixture(100, wrap: inner => platform = new DuringMove(inner));
        f.Sim.MarkBusy(PromoterFixture.Addr(5));
        f.Sim.MarkBusy(PromoterFixture.Addr(6));
        f.Touch(Range(0, 10), times: 2);
        // While the pages move, someone raises the threshold: pages at frequency 2 are no longer
        // hot enough to go back among the candidates, so the busy pages' requeues fail.
        platform!.Action = () => f.Engine.Tunables.Set("freq_threshold", 3);
        PromotionResult r = f.Promoter.RunOnce();
        Assert.That(r, Is.EqualTo(new PromotionResult(10, 8, 2, 2)), "two busy pages failed and were dropped");
        var c = f.Promoter.GetCounters();
        Assert.That(c["pgpromote_fail_busy"], Is.EqualTo(2));
        Assert.That(c["pgpromote_retried"], Is.Zero, "a requeue that failed is no retry");
        Assert.That(c["pgpromote_dropped_busy"], Is.EqualTo(2));
        Assert.That(f.Engine.CandidateCount, Is.Zero);
    }

    [Test]
    public void ABusyPageWhoseRequeueSucceedsIsRetriedAndMovesOnceFree()
    {
        using var f = Fixture(100);
        f.Sim.MarkBusy(PromoterFixture.Addr(5));
        f.Touch(Range(0, 10), times: 2);
        Assert.That(f.Promoter.RunOnce(), Is.EqualTo(new PromotionResult(10, 9, 1, 0)));
        Assert.That(f.Promoter.GetCounters()["pgpromote_retried"], Is.EqualTo(1));
        Assert.That(f.Engine.CandidateCount, Is.EqualTo(1), "back among the candidates");
        f.Sim.MarkBusy(PromoterFixture.Addr(5), busy: false);
        Assert.That(f.Promoter.RunOnce(), Is.EqualTo(new PromotionResult(1, 1, 0, 0)));
    }

    [Test]
    public void WhenTheRetryTableFillsTheBusyPagesBeyondItAreDroppedAsTheyCome()
    {
        // 16384 busy pages in one round against a retry table that holds 12288 (3/4 of 2^14):
        // the first 12288 are retried, the rest find the table full and are dropped.
        const int Pages = 16_384;
        using var f = Fixture(Pages, t => t.Set("promote_batch", Pages));
        for (long p = 0; p < Pages; p++)
        {
            f.Sim.MarkBusy(PromoterFixture.Addr(p));
        }

        f.Touch(Range(0, Pages), times: 2);
        PromotionResult r = f.Promoter.RunOnce();
        Assert.That(r, Is.EqualTo(new PromotionResult(Pages, 0, Pages, Pages - 12_288)));
        var c = f.Promoter.GetCounters();
        Assert.That(c["pgpromote_retried"], Is.EqualTo(12_288));
        Assert.That(c["pgpromote_dropped_busy"], Is.EqualTo(Pages - 12_288));
        Assert.That(f.Engine.CandidateCount, Is.EqualTo(12_288));
    }

    [Test]
    public void WithTheRetryTableNearlyFullAFailedRequeueFreesItsPlaceForTheNextBusyPage()
    {
        // Round 1: 12287 busy pages are retried, one short of the table's 12288. Round 2: they
        // come back with page A (frequency 2) and page B (frequency 3), both busy; the threshold
        // rises to 3 during the move, so A's requeue fails and A's retry count is removed at once,
        // which leaves B the place. (Settled late, A would still hold it and B would be dropped.)
        const int Held = 12_287;
        const long A = 20_000, B = 20_001;
        DuringMove? platform = null;
        using var f = Fixture(20_002, t => t.Set("promote_batch", 16_384), inner => platform = new DuringMove(inner));
        for (long p = 0; p < Held; p++)
        {
            f.Sim.MarkBusy(PromoterFixture.Addr(p));
        }

        f.Touch(Range(0, Held), times: 3);
        Assert.That(f.Promoter.RunOnce(), Is.EqualTo(new PromotionResult(Held, 0, Held, 0)));
        f.Sim.MarkBusy(PromoterFixture.Addr(A));
        f.Sim.MarkBusy(PromoterFixture.Addr(B));
        f.Touch([A], times: 2);
        f.Touch([B], times: 3);
        platform!.Action = () => f.Engine.Tunables.Set("freq_threshold", 3);
        Assert.That(f.Promoter.RunOnce(), Is.EqualTo(new PromotionResult(Held + 2, 0, Held + 2, 1)), "only A is dropped");
        var c = f.Promoter.GetCounters();
        Assert.That(c["pgpromote_retried"], Is.EqualTo(Held + Held + 1), "B is retried");
        Assert.That(c["pgpromote_dropped_busy"], Is.EqualTo(1));
        Assert.That(f.Engine.PageState(0, (ulong)PromoterFixture.Addr(B))!.Value.IsCandidate, Is.True);
        Assert.That(f.Engine.PageState(0, (ulong)PromoterFixture.Addr(A))!.Value.IsCandidate, Is.False);
    }

    /// <summary>Runs an action inside every move (as another thread might act while the kernel works).</summary>
    private sealed class DuringMove(IMemoryPlatform inner) : DelegatingPlatform(inner)
    {
        public Action? Action { get; set; }

        public override PlatformResult MovePages(int pid, ReadOnlySpan<nint> pages, ReadOnlySpan<int> nodes, Span<PageStatus> status)
        {
            Action?.Invoke();
            return Inner.MovePages(pid, pages, nodes, status);
        }
    }
}
