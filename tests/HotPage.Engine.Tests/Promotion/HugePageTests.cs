using HotPage.Engine.Promotion;
using HotPage.Engine.Records;
using HotPage.Engine.Selection;
using HotPage.Engine.Tunables;
using HotPage.Interop.Platform;
using NUnit.Framework;

namespace HotPage.Engine.Tests.Promotion;

/// <summary>Decisions at the granularity the kernel moves: a transparent huge page moves whole.</summary>
[TestFixture(CandidateSelection.Heap)]
[TestFixture(CandidateSelection.Bitmap)]
[TestFixture(CandidateSelection.Stacks)]
public class HugePageTests(CandidateSelection selection)
{
    // Every test runs under every selection strategy: the promoter's semantics must not depend on it.
    private PromoterFixture Fixture(SimulatedMachine machine, long pages, int lowerNode = 1, Action<EngineTunables>? tune = null, Func<IMemoryPlatform, IMemoryPlatform>? wrap = null) =>
        PromoterFixture.WithSelection(selection, machine, pages, lowerNode, tune, wrap);

    private const ulong HugeBase = 0x7e00_0000_0000; // 2 MiB aligned
    private const int HugePages = SimulatedPlatform.HugePagePages;

    private PromoterFixture Create()
    {
        var f = Fixture(SimulatedMachine.TwoTier(100_000, 100_000), 1000, tune: t => t.Set("max_tracked_pages", 1 << 16));
        f.Sim.MapHuge(0, unchecked((nint)HugeBase), 4 * HugePages * 4096, 1);
        f.Engine.RegisterRegion(HugeBase, 4UL * HugePages * 4096);
        return f;
    }

    private static void TouchHuge(PromoterFixture f, int frame, int firstPage, int count)
    {
        for (int p = firstPage; p < firstPage + count; p++)
        {
            ulong address = HugeBase + (ulong)(((frame * HugePages) + p) * 4096);
            f.Engine.RecordAccess(address, -1, AccessSource.Application);
            f.Engine.RecordAccess(address, -1, AccessSource.Application);
        }
    }

    [Test]
    public void ASingleHotBasePageDoesNotDragItsHugePageAlong()
    {
        using PromoterFixture f = Create();
        TouchHuge(f, frame: 0, firstPage: 7, count: 1);
        PromotionResult r = f.Promoter.RunOnce();
        Assert.That(f.Sim.HugePagesMoved, Is.EqualTo(0), "511 cold pages would have moved with it");
        Assert.That(r.Promoted + r.PromotedHuge, Is.EqualTo(0));
        Assert.That(r.Dropped, Is.EqualTo(1));
        Assert.That(f.Promoter.GetCounters()["pgpromote_thp_cold"], Is.EqualTo(1));
    }

    [Test]
    public void AHugePageWithEnoughHotPagesMovesWholeAndIsCountedAsOneHugePromotion()
    {
        using PromoterFixture f = Create();
        TouchHuge(f, frame: 1, firstPage: 0, count: HugePages / 4); // 25% = thp_hot_pct
        f.Touch([1, 2, 3]); // and three ordinary pages
        PromotionResult r = f.Promoter.RunOnce();
        Assert.That(f.Sim.HugePagesMoved, Is.EqualTo(1));
        Assert.That(r.PromotedHuge, Is.EqualTo(1));
        Assert.That(r.Promoted, Is.EqualTo(3), "only the ordinary pages count as 4 KiB moves");
        var c = f.Promoter.GetCounters();
        Assert.That(c["pgpromote_success_thp"], Is.EqualTo(1));
        Assert.That(c["pgpromote_success_thp_pages"], Is.EqualTo(HugePages));
        Assert.That(c["pgpromote_success"], Is.EqualTo(3));
        Assert.That(f.Sim.PagesMoved, Is.EqualTo(HugePages + 3));
        Assert.That(f.Engine.IsMarkedTopTier(0, HugeBase + ((HugePages + 500) * 4096UL)), Is.True, "every page of the moved folio is known to be on the top tier, cold ones too");
    }

    [Test]
    public void AHugePageBelowTheHotShareStaysWhileAHotterOneMoves()
    {
        using PromoterFixture f = Create();
        TouchHuge(f, frame: 2, firstPage: 0, count: (HugePages / 4) - 1);
        TouchHuge(f, frame: 3, firstPage: 100, count: HugePages / 2);
        f.Promoter.RunOnce();
        Assert.That(f.Sim.HugePagesMoved, Is.EqualTo(1));
        Span<PageStatus> st = stackalloc PageStatus[2];
        f.Sim.QueryPages(0, [unchecked((nint)(HugeBase + (2UL * HugePages * 4096))), unchecked((nint)(HugeBase + (3UL * HugePages * 4096)))], st);
        Assert.That(st[0].Node, Is.EqualTo(1), "24.8% hot: stays");
        Assert.That(st[1].Node, Is.EqualTo(0), "50% hot: moved");
    }

    [Test]
    public void TheHotShareIsATunable()
    {
        using PromoterFixture f = Create();
        f.Engine.Tunables.Set("thp_hot_pct", 1);
        TouchHuge(f, frame: 0, firstPage: 0, count: 6);
        f.Promoter.RunOnce();
        Assert.That(f.Sim.HugePagesMoved, Is.EqualTo(1));
    }
}
