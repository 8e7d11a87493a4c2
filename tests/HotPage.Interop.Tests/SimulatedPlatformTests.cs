using HotPage.Interop.Platform;

namespace HotPage.Interop.Tests;

[TestFixture]
public class SimulatedPlatformTests
{
    private const int Page = 4096;
    private const long BaseAddress = 0x10_0000_0000;

    private static nint Base => unchecked((nint)BaseAddress);

    private static nint[] Addresses(nint start, int count) => Enumerable.Range(0, count).Select(i => start + (i * Page)).ToArray();

    private static int[] Fill(int count, int node) => Enumerable.Repeat(node, count).ToArray();

    [Test]
    public void TopologyReflectsTheDescription()
    {
        using var p = new SimulatedPlatform(SimulatedMachine.TwoTier(100, 400, cpus: 4));
        NumaTopology t = p.GetTopology();

        Assert.That(t.TopTierNodes, Is.EqualTo(new[] { 0 }), "node 0 is the top tier");
        Assert.That(t.LowerTierNodes, Is.EqualTo(new[] { 1 }), "node 1 is the lower tier");
        Assert.That(t[0].Cpus, Is.EqualTo(new[] { 0, 1, 2, 3 }), "four CPUs on node 0");
        Assert.That(t[1].TotalBytes, Is.EqualTo(400L * Page), "capacity in bytes");
        Assert.That(t.Distance(0, 1), Is.EqualTo(20), "default remote distance");
    }

    [Test]
    public void MappedPagesCountAgainstCapacityAndMovesKeepItExact()
    {
        using var p = new SimulatedPlatform(SimulatedMachine.TwoTier(100, 400));
        p.Map(0, Base, 64 * Page, 1);
        var status = new PageStatus[64];

        PlatformResult r = p.MovePages(0, Addresses(Base, 64), Fill(64, 0), status);

        Assert.That(r, Is.EqualTo(PlatformResult.Ok), "all 64 fit on node 0");
        Assert.That((p.UsedPages(0), p.UsedPages(1)), Is.EqualTo((64L, 0L)), "capacity moved with the pages");
        Assert.That(p.PagesMoved, Is.EqualTo(64L), "moves counted");
        Assert.That(p.GetFreeBytes(0), Is.EqualTo(36L * Page), "free bytes follow");
    }

    [Test]
    public void MovesBeyondTheTargetCapacityFailWithEnomemAndNeverExceedIt()
    {
        using var p = new SimulatedPlatform(SimulatedMachine.TwoTier(10, 400));
        p.Map(0, Base, 16 * Page, 1);
        var status = new PageStatus[16];

        PlatformResult r = p.MovePages(0, Addresses(Base, 16), Fill(16, 0), status);

        Assert.That(status.Count(s => s == PageStatus.OnNode(0)), Is.EqualTo(10), "ten pages fit");
        Assert.That(status.Skip(10), Is.All.EqualTo(PageStatus.Failed(Errno.ENOMEM)), "the rest find the node full");
        Assert.That(r.Count, Is.EqualTo(6), "six pages not moved");
        Assert.That(p.UsedPages(0), Is.EqualTo(p.CapacityPages(0)), "capacity reached, not exceeded");
        Assert.That(p.FailedMoves(Errno.ENOMEM), Is.EqualTo(6L), "failures counted by cause");
    }

    [Test]
    public void MovingAPageAlreadyOnItsTargetUsesNoCapacity()
    {
        using var p = new SimulatedPlatform(SimulatedMachine.TwoTier(4, 4));
        p.Map(0, Base, 4 * Page, 0);
        var status = new PageStatus[4];

        p.MovePages(0, Addresses(Base, 4), Fill(4, 0), status);

        Assert.That(status, Is.All.EqualTo(PageStatus.OnNode(0)), "success although node 0 is full");
        Assert.That((p.UsedPages(0), p.PagesMoved), Is.EqualTo((4L, 0L)), "no capacity and no move used");
    }

    [Test]
    public void BusyPagesFailWithEbusyAndStayWhereTheyAre()
    {
        using var p = new SimulatedPlatform(SimulatedMachine.TwoTier(100, 100));
        p.Map(0, Base, 4 * Page, 1);
        p.MarkBusy(Base + Page);
        var status = new PageStatus[4];

        p.MovePages(0, Addresses(Base, 4), Fill(4, 0), status);

        Assert.That(status, Is.EqualTo(new[] { PageStatus.OnNode(0), PageStatus.Failed(Errno.EBUSY), PageStatus.OnNode(0), PageStatus.OnNode(0) }), "only the busy page fails");
        p.QueryPages(0, [Base + Page], status.AsSpan(0, 1));
        Assert.That(status[0], Is.EqualTo(PageStatus.OnNode(1)), "the busy page did not move");
    }

    [Test]
    public void RandomBusyPagesAreDeterministicForASeed()
    {
        PageStatus[] Run(ulong seed)
        {
            using var p = new SimulatedPlatform(SimulatedMachine.TwoTier(1000, 1000, seed: seed) with { BusyProbability = 0.25 });
            p.Map(0, Base, 256 * Page, 1);
            var status = new PageStatus[256];
            p.MovePages(0, Addresses(Base, 256), Fill(256, 0), status);
            return status;
        }

        PageStatus[] a = Run(42), b = Run(42), c = Run(43);
        int busy = a.Count(s => s.Error == Errno.EBUSY);

        Assert.That(b, Is.EqualTo(a), "same seed, same answers");
        Assert.That(c, Is.Not.EqualTo(a), "another seed, other answers");
        Assert.That(busy, Is.InRange(32, 96), "about a quarter of 256 pages busy");
    }

    [Test]
    public void UnmappedRangeGivesEfaultAndReleasesCapacityWhileTheRestStays()
    {
        using var p = new SimulatedPlatform(SimulatedMachine.TwoTier(100, 100));
        p.Map(0, Base, 8 * Page, 1);
        p.Unmap(Base + (2 * Page), 3 * Page);
        var status = new PageStatus[8];

        p.QueryPages(0, Addresses(Base, 8), status);

        PageStatus on1 = PageStatus.OnNode(1), fault = PageStatus.Failed(Errno.EFAULT);
        Assert.That(status, Is.EqualTo(new[] { on1, on1, fault, fault, fault, on1, on1, on1 }), "a hole in the middle of the mapping");
        Assert.That(p.UsedPages(1), Is.EqualTo(5L), "unmapped pages return to the node");
    }

    [Test]
    public void NotPresentPagesGiveEnoentForQueryAndMove()
    {
        using var p = new SimulatedPlatform(SimulatedMachine.TwoTier(100, 100));
        p.Map(0, Base, 2 * Page, 1, present: false);
        var status = new PageStatus[2];

        p.MovePages(0, Addresses(Base, 2), Fill(2, 0), status);

        Assert.That(status, Is.All.EqualTo(PageStatus.Failed(Errno.ENOENT)), "nothing to move");
        Assert.That(p.UsedPages(1), Is.Zero, "pages not present use no capacity");
    }

    [Test]
    public void UnknownPidIsEsrchAndAForbiddenPidIsEperm()
    {
        using var p = new SimulatedPlatform(SimulatedMachine.TwoTier(100, 100));
        p.Map(1234, Base, Page, 1);
        p.AddProcess(99, permitted: false);
        var status = new PageStatus[1];

        Assert.That(p.QueryPages(1234, [Base], status), Is.EqualTo(PlatformResult.Ok), "another process's mapping");
        Assert.That(status[0], Is.EqualTo(PageStatus.OnNode(1)), "its residency");
        Assert.That(p.QueryPages(4321, [Base], status).Error, Is.EqualTo(Errno.ESRCH), "no such pid");
        Assert.That(p.MovePages(99, [Base], [0], status).Error, Is.EqualTo(Errno.EPERM), "not permitted");
        Assert.That(p.QueryPages(0, [Base], status), Is.EqualTo(PlatformResult.Ok), "pid 0 is this process");
        Assert.That(status[0], Is.EqualTo(PageStatus.Failed(Errno.EFAULT)), "pid 1234's mapping is not ours");
    }

    [Test]
    public void InvalidTargetStopsTheCallAfterThePagesBeforeIt()
    {
        using var p = new SimulatedPlatform(SimulatedMachine.TwoTier(100, 100));
        p.Map(0, Base, 3 * Page, 1);
        var status = new PageStatus[3];

        PlatformResult r = p.MovePages(0, Addresses(Base, 3), [0, 7, 0], status);

        Assert.That(r.Error, Is.EqualTo(Errno.ENODEV), "node 7 does not exist");
        Assert.That((p.UsedPages(0), p.UsedPages(1)), Is.EqualTo((1L, 2L)), "the page before it moved, the one after did not");
    }

    [Test]
    public void DemoteMovesAPageToTheNearestLowerTierWithRoom()
    {
        var machine = new SimulatedMachine
        {
            Nodes = [new SimulatedNode(0, [0], 10, 0), new SimulatedNode(1, [], 1, 1), new SimulatedNode(2, [], 10, 1)],
            Distances = new[,] { { 10, 15, 30 }, { 15, 10, 30 }, { 30, 30, 10 } },
        };
        using var p = new SimulatedPlatform(machine);
        p.Map(0, Base, 2 * Page, 0);

        Assert.That(p.Demote(0, Base), Is.EqualTo(PageStatus.OnNode(1)), "node 1 is nearer");
        Assert.That(p.Demote(0, Base + Page), Is.EqualTo(PageStatus.OnNode(2)), "node 1 is full now");
        Assert.That(p.Demote(0, Base), Is.EqualTo(PageStatus.Failed(Errno.ENOMEM)), "nothing below tier 1");
        Assert.That(p.SetNodeOfPage(0, Base, 0), Is.EqualTo(PageStatus.OnNode(0)), "placed back");
    }

    [Test]
    public void AllocatedMemoryIsRealAndMappedOnItsNode()
    {
        using var p = new SimulatedPlatform(SimulatedMachine.TwoTier(100, 100));
        NodeMemory m = p.AllocateOnNode(3 * Page, 1);
        unsafe
        {
            new Span<byte>((void*)m.Address, (int)m.Length).Fill(0xAB);
        }

        var status = new PageStatus[3];
        p.QueryPages(0, Addresses(m.Address, 3), status);

        Assert.That(status, Is.All.EqualTo(PageStatus.OnNode(1)), "allocated on node 1");
        Assert.That(p.UsedPages(1), Is.EqualTo(3L), "three pages used");
        p.Free(m);
        Assert.That(p.UsedPages(1), Is.Zero, "freed");
    }

    [Test]
    public void MappingBeyondCapacityOrOverlappingIsRejectedAndChangesNothing()
    {
        using var p = new SimulatedPlatform(SimulatedMachine.TwoTier(4, 4));
        p.Map(0, Base, 2 * Page, 0);

        Assert.That(() => p.Map(0, Base + Page, Page, 1), Throws.ArgumentException, "overlap");
        Assert.That(() => p.Map(0, Base + (8 * Page), 3 * Page, 0), Throws.InstanceOf<OutOfMemoryException>(), "only two pages free");
        Assert.That(() => p.Map(0, Base + 1, Page, 0), Throws.ArgumentException, "unaligned");
        Assert.That((p.UsedPages(0), p.UsedPages(1)), Is.EqualTo((2L, 0L)), "nothing changed");
    }
}
