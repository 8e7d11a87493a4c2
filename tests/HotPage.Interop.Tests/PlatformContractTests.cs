using HotPage.Interop.Platform;

namespace HotPage.Interop.Tests;

/// <summary>
/// What every <see cref="IMemoryPlatform"/> must do, run against each implementation by a
/// subclass. The tests use only memory the platform itself allocates, node 0 (which every
/// machine has) and nodes that cannot exist, so they hold on a one-node machine too.
/// </summary>
public abstract class PlatformContractTests
{
    private const int Pages = 16;
    private IMemoryPlatform _platform = null!;
    private NodeMemory _memory;

    protected IMemoryPlatform Platform => _platform;

    /// <summary>A fresh platform for one test.</summary>
    protected abstract IMemoryPlatform CreatePlatform();

    /// <summary>
    /// An address that is mapped but whose page is not present: <paramref name="candidate"/> (a page of
    /// memory the platform allocated) made so, or another page the subclass owns and releases itself.
    /// </summary>
    protected abstract nint NotPresentPage(IMemoryPlatform platform, nint candidate);

    [SetUp]
    public void SetUp()
    {
        _platform = CreatePlatform();
        _memory = _platform.AllocateOnNode((nuint)(Pages * _platform.PageSize), 0);
    }

    [TearDown]
    public void TearDown()
    {
        if (_memory.Address != 0)
        {
            _platform.Free(_memory);
        }

        _platform.Dispose();
    }

    private nint[] PageAddresses(int count) =>
        Enumerable.Range(0, count).Select(i => _memory.Address + (i * _platform.PageSize)).ToArray();

    [Test]
    public void TopologyHasNodeZeroInTheTopTier()
    {
        NumaTopology t = Platform.GetTopology();

        Assert.That(t.Exists(0), Is.True, "every machine has node 0");
        Assert.That(t.TopTierNodes, Is.Not.Empty, "some node is top tier");
        Assert.That(t.Exists(Platform.GetCurrentNode()), Is.True, "the current node is a node of the topology");
    }

    [Test]
    public void CurrentCpuBelongsToTheCurrentNode()
    {
        NumaTopology t = Platform.GetTopology();
        int cpu = Platform.GetCurrentCpu();
        int node = t.Nodes.Single(n => n.Cpus.Contains(cpu)).Id;

        // The thread may migrate between the two calls; on a one-node machine (and in the simulator) it cannot change node.
        Assert.That(t.Nodes.Count(n => n.HasCpus) > 1 || node == Platform.GetCurrentNode(), Is.True, $"CPU {cpu} is on node {node}");
    }

    [Test]
    public void FreeBytesOfANodeThatDoesNotExistIsMinusOne()
    {
        Assert.That(Platform.GetFreeBytes(NumaTopology.MaxNodeId), Is.EqualTo(-1L), "no such node");
        Assert.That(Platform.GetFreeBytes(0), Is.GreaterThanOrEqualTo(0L), "node 0 exists");
    }

    [Test]
    public void QueryOfOwnAllocationGivesItsNode()
    {
        nint[] pages = PageAddresses(Pages);
        var status = new PageStatus[Pages];

        PlatformResult r = Platform.QueryPages(0, pages, status);

        Assert.That(r.IsSuccess, Is.True, $"call failed: {r.Error}");
        Assert.That(status, Is.All.EqualTo(PageStatus.OnNode(0)), "every page of memory allocated on node 0 is on node 0");
    }

    [Test]
    public void MoveToNodeZeroSucceeds()
    {
        nint[] pages = PageAddresses(Pages);
        int[] nodes = new int[Pages];
        var status = new PageStatus[Pages];

        PlatformResult r = Platform.MovePages(0, pages, nodes, status);

        Assert.That(r, Is.EqualTo(PlatformResult.Ok), "nothing left behind");
        Assert.That(status, Is.All.EqualTo(PageStatus.OnNode(0)), "every page ends on node 0");
    }

    [Test]
    public void MoveToNodeThatDoesNotExistFailsWithEnodev()
    {
        int missing = Enumerable.Range(0, NumaTopology.MaxNodeId).First(n => !Platform.GetTopology().Exists(n));
        nint[] pages = PageAddresses(1);
        var status = new PageStatus[1];

        PlatformResult r = Platform.MovePages(0, pages, [missing], status);

        Assert.That(r.Error, Is.EqualTo(Errno.ENODEV), $"node {missing} does not exist");
    }

    [Test]
    public void MoveToNodeIdBeyondTheKernelLimitFailsWithEnodevToo()
    {
        nint[] pages = PageAddresses(1);
        var status = new PageStatus[1];

        PlatformResult r = Platform.MovePages(0, pages, [1 << 20], status);

        // Linux 6.x checks "node < 0 || node >= MAX_NUMNODES" under -ENODEV as well (the man page's EINVAL is for flags).
        Assert.That(r.Error, Is.EqualTo(Errno.ENODEV), "node ids at or above MAX_NUMNODES do not exist");
    }

    [Test]
    public void UnmappedAddressesGiveEfaultPerPage()
    {
        // The first 64 KiB of the address space are never mapped (Linux mmap_min_addr; Windows reserves them too).
        // A freed block is not used: the runtime may map something new there at any moment.
        nint unmapped = 0x1000;
        var status = new PageStatus[2];

        PlatformResult q = Platform.QueryPages(0, [unmapped, _memory.Address], status);
        Assert.That(q.IsSuccess, Is.True, "the call succeeds");
        Assert.That(status, Is.EqualTo(new[] { PageStatus.Failed(Errno.EFAULT), PageStatus.OnNode(0) }), "query: the unmapped page fails, the mapped one answers");

        PlatformResult m = Platform.MovePages(0, [unmapped, _memory.Address], [0, 0], status);
        Assert.That(m.Error, Is.EqualTo(Errno.None), "a bad address fails the page, not the call");
        Assert.That(status, Is.EqualTo(new[] { PageStatus.Failed(Errno.EFAULT), PageStatus.OnNode(0) }), "move: the unmapped page fails, the mapped one moves");
    }

    [Test]
    public void PageNotPresentGivesEnoent()
    {
        nint page = NotPresentPage(Platform, _memory.Address + Platform.PageSize);
        var status = new PageStatus[2];

        PlatformResult r = Platform.QueryPages(0, [_memory.Address, page], status);

        Assert.That(r.IsSuccess, Is.True, "the call succeeds");
        Assert.That(status, Is.EqualTo(new[] { PageStatus.OnNode(0), PageStatus.Failed(Errno.ENOENT) }), "the first page is present, the second not");
    }

    [Test]
    public void ProcessThatDoesNotExistFailsWithEsrch()
    {
        var status = new PageStatus[1];

        PlatformResult r = Platform.QueryPages(0x3FFF_FFF0, [_memory.Address], status);

        Assert.That(r.Error, Is.EqualTo(Errno.ESRCH), "no such pid");
    }

    [Test]
    public void SpansOfDifferentLengthsAreRejected()
    {
        nint[] pages = PageAddresses(2);

        Assert.That(() => Platform.QueryPages(0, pages, new PageStatus[1]), Throws.ArgumentException, "status shorter than pages");
        Assert.That(() => Platform.MovePages(0, pages, new int[1], new PageStatus[2]), Throws.ArgumentException, "nodes shorter than pages");
    }

    [Test]
    public void EmptyBatchesSucceed()
    {
        Assert.That(Platform.QueryPages(0, [], []), Is.EqualTo(PlatformResult.Ok), "empty query");
        Assert.That(Platform.MovePages(0, [], [], []), Is.EqualTo(PlatformResult.Ok), "empty move");
    }

    [Test]
    public void AllocationOnANodeThatDoesNotExistIsRejected()
    {
        Assert.That(() => Platform.AllocateOnNode(4096, NumaTopology.MaxNodeId), Throws.InstanceOf<ArgumentOutOfRangeException>(), "no such node");
    }

    [Test]
    public void QueriesAndMovesDoNotAllocateAfterWarmUp()
    {
        nint[] pages = PageAddresses(Pages);
        int[] nodes = new int[Pages];
        var status = new PageStatus[Pages];
        for (int i = 0; i < 3; i++)
        {
            Platform.QueryPages(0, pages, status);
            Platform.MovePages(0, pages, nodes, status);
            Platform.GetFreeBytes(0);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            Platform.QueryPages(0, pages, status);
            Platform.MovePages(0, pages, nodes, status);
            Platform.GetFreeBytes(0);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(allocated, Is.Zero, "the steady-state paths allocate nothing");
    }
}

[TestFixture]
public class SimulatedPlatformContractTests : PlatformContractTests
{
    protected override IMemoryPlatform CreatePlatform() => new SimulatedPlatform(SimulatedMachine.TwoTier(1024, 4096));

    protected override nint NotPresentPage(IMemoryPlatform platform, nint candidate)
    {
        ((SimulatedPlatform)platform).MarkNotPresent(0, candidate, 4096);
        return candidate;
    }
}
