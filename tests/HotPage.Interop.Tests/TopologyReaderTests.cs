using HotPage.Interop.Platform;

namespace HotPage.Interop.Tests;

[TestFixture]
public class TopologyReaderTests
{
    private static LinuxTopologyReader Fixture(string name) =>
        new(Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", name));

    [Test]
    public void OneNodeTreeGivesOneTopTierNodeWithItsCpusAndMemory()
    {
        NumaTopology t = Fixture("one-node").Read();

        Assert.That(t.Nodes.Select(n => n.Id), Is.EqualTo(new[] { 0 }), "one node directory");
        Assert.That(t[0].Cpus, Is.EqualTo(new[] { 0, 1 }), "cpulist 0-1");
        Assert.That(t[0].TotalBytes, Is.EqualTo(4286240L * 1024), "MemTotal is in kB");
        Assert.That(t[0].FreeBytes, Is.EqualTo(3781168L * 1024), "MemFree is in kB");
        Assert.That(t.Distance(0, 0), Is.EqualTo(10), "local distance");
        Assert.That(t.TopTierNodes, Is.EqualTo(new[] { 0 }), "the only node is top tier");
        Assert.That(t.LowerTierNodes, Is.Empty, "nothing below");
    }

    [Test]
    public void CpuLessNodeInTheSameKernelTierFallsBackToALowerTier()
    {
        NumaTopology t = Fixture("two-nodes-cpuless").Read();

        Assert.That(t[1].HasCpus, Is.False, "node1's cpulist is empty");
        Assert.That(t.TopTierNodes, Is.EqualTo(new[] { 0 }), "the node with CPUs is the top tier");
        Assert.That(t.LowerTierNodes, Is.EqualTo(new[] { 1 }), "the CPU-less node is the lower tier when the kernel puts both in one tier");
        Assert.That(t.Distance(0, 1), Is.EqualTo(20), "distance row of node0");
        Assert.That(t.DefaultTarget(1), Is.EqualTo(0), "pages on node1 are promoted to node0");
    }

    [Test]
    public void MissingTieringDirectoryUsesTheSameFallback()
    {
        NumaTopology t = Fixture("no-tiering").Read();

        Assert.That(t.LowerTierNodes, Is.EqualTo(new[] { 1 }), "an older kernel without memory_tiering still ranks CPU-less memory lower");
    }

    [Test]
    public void FourNodesInTwoKernelTiersAreRankedBySmallerTierNumberFirst()
    {
        NumaTopology t = Fixture("four-nodes-two-tiers").Read();

        Assert.That(t.TopTierNodes, Is.EqualTo(new[] { 0, 1 }), "memory_tier4 holds nodes 0-1");
        Assert.That(t.LowerTierNodes, Is.EqualTo(new[] { 2, 3 }), "memory_tier22 holds nodes 2-3");
        Assert.That(t[0].Cpus, Is.EqualTo(new[] { 0, 1, 2, 3, 8, 9, 10, 11 }), "cpulist 0-3,8-11");
        Assert.That(t.Distance(3, 1), Is.EqualTo(14), "row 3, column 1");
        Assert.That(t.DefaultTarget(2), Is.EqualTo(0), "node2 is nearest to node0 (14 < 24)");
        Assert.That(t.DefaultTarget(3), Is.EqualTo(1), "node3 is nearest to node1 (14 < 24)");
    }

    [Test]
    public void ConfigurationOverrideReplacesKernelTiers()
    {
        NumaTopology t = Fixture("four-nodes-two-tiers").Read(new Dictionary<int, int> { [1] = 1 });

        Assert.That(t.TopTierNodes, Is.EqualTo(new[] { 0 }), "node1 was moved to rank 1 by configuration");
        Assert.That(t.LowerTierNodes, Is.EqualTo(new[] { 1, 2, 3 }), "nodes 2-3 keep their kernel rank 1");
    }

    [Test]
    public void MissingNodeDirectoryIsAClearError()
    {
        var reader = new LinuxTopologyReader(Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "does-not-exist"));

        Assert.That(() => reader.Read(), Throws.InstanceOf<IOException>().With.Message.Contains("devices"), "the message names the directory");
    }

    [TestCase("", new int[0])]
    [TestCase("\n", new int[0])]
    [TestCase("0", new[] { 0 })]
    [TestCase("0-3,8,10-11\n", new[] { 0, 1, 2, 3, 8, 10, 11 })]
    public void KernelListsParse(string text, int[] expected)
    {
        Assert.That(LinuxTopologyReader.ParseList(text, "test"), Is.EqualTo(expected), "cpulist/nodelist syntax");
    }

    [Test]
    [Platform("Linux")]
    public void LiveSysfsParsesAndHasATopTierNodeWithCpus()
    {
        NumaTopology t = new LinuxTopologyReader().Read();

        Assert.That(t.Nodes, Is.Not.Empty, "at least one node");
        Assert.That(t[t.TopTierNodes[0]].HasCpus, Is.True, "the top tier has CPUs");
        Assert.That(t.Nodes.SelectMany(n => n.Cpus).Count(), Is.EqualTo(Environment.ProcessorCount).Or.GreaterThan(Environment.ProcessorCount), "every CPU this process can use is on some node");
        Assert.That(t.Nodes.All(n => n.TotalBytes > 0 && n.FreeBytes <= n.TotalBytes), Is.True, "meminfo parsed");
    }
}
