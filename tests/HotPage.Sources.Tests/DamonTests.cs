using HotPage.Engine.Records;
using HotPage.Engine.Sources;

namespace HotPage.Sources.Tests;

/// <summary>The DAMON sysfs driver and source against a simulated sysfs tree (this machine's own DAMON is never touched).</summary>
[TestFixture]
[Platform("Linux")]
public class DamonTests
{
    private static readonly DamonAttrs s_attrs = new(SampleUs: 1000, AggrUs: 20_000, UpdateUs: 500_000, MinRegions: 5, MaxRegions: 200, HotMinAccesses: 3);

    [Test]
    public void StartingWritesTheVaddrSetupExactlyAsTheAbiLaysItOut()
    {
        using var sim = new DamonSysfsSimulator();
        using var driver = new DamonSysfsDriver(sim.Root, sim);

        driver.Start("vaddr", [new DamonTarget(4242)], s_attrs);

        Assert.Multiple(() =>
        {
            Assert.That(sim.ReadRel("kdamonds/nr_kdamonds"), Is.EqualTo("1"), "one kdamond");
            Assert.That(sim.ReadRel("kdamonds/0/contexts/nr_contexts"), Is.EqualTo("1"), "one context");
            Assert.That(sim.ReadRel("kdamonds/0/contexts/0/operations"), Is.EqualTo("vaddr"), "virtual address operations");
            Assert.That(sim.ReadRel("kdamonds/0/contexts/0/monitoring_attrs/intervals/sample_us"), Is.EqualTo("1000"), "sampling interval");
            Assert.That(sim.ReadRel("kdamonds/0/contexts/0/monitoring_attrs/intervals/aggr_us"), Is.EqualTo("20000"), "aggregation interval");
            Assert.That(sim.ReadRel("kdamonds/0/contexts/0/monitoring_attrs/intervals/update_us"), Is.EqualTo("500000"), "update interval");
            Assert.That(sim.ReadRel("kdamonds/0/contexts/0/monitoring_attrs/nr_regions/min"), Is.EqualTo("5"), "fewest regions");
            Assert.That(sim.ReadRel("kdamonds/0/contexts/0/monitoring_attrs/nr_regions/max"), Is.EqualTo("200"), "most regions");
            Assert.That(sim.ReadRel("kdamonds/0/contexts/0/targets/nr_targets"), Is.EqualTo("1"), "one target");
            Assert.That(sim.ReadRel("kdamonds/0/contexts/0/targets/0/pid_target"), Is.EqualTo("4242"), "the pid");
            Assert.That(sim.ReadRel("kdamonds/0/contexts/0/schemes/nr_schemes"), Is.EqualTo("1"), "one scheme");
            Assert.That(sim.ReadRel("kdamonds/0/contexts/0/schemes/0/action"), Is.EqualTo("stat"), "stat only: DAMON changes nothing");
            Assert.That(sim.ReadRel("kdamonds/0/contexts/0/schemes/0/access_pattern/nr_accesses/min"), Is.EqualTo("3"), "the hot threshold selects regions");
            Assert.That(sim.ReadRel("kdamonds/0/contexts/0/schemes/0/access_pattern/nr_accesses/max"), Is.EqualTo("4294967295"), "no upper bound on accesses (the kernel's default maximum is 0)");
            Assert.That(sim.ReadRel("kdamonds/0/contexts/0/schemes/0/access_pattern/sz/max"), Is.EqualTo("18446744073709551615"), "regions of any size (the kernel's default maximum is 0)");
            Assert.That(sim.ReadRel("kdamonds/0/contexts/0/schemes/0/access_pattern/age/max"), Is.EqualTo("4294967295"), "regions of any age (the kernel's default maximum is 0)");
            Assert.That(sim.ReadRel("kdamonds/0/state"), Is.EqualTo("on"), "turned on last");
        });
        Assert.That(sim.Writes[^1], Is.EqualTo(("kdamonds/0/state", "on")), "state on is the last write");
    }

    [Test]
    public void PaddrTargetsGetTheirPhysicalRanges()
    {
        using var sim = new DamonSysfsSimulator();
        using var driver = new DamonSysfsDriver(sim.Root, sim);

        driver.Start("paddr", [new DamonTarget(7, [(0x100000UL, 0x200000UL), (0x400000UL, 0x480000UL)])], s_attrs);

        Assert.That(sim.ReadRel("kdamonds/0/contexts/0/operations"), Is.EqualTo("paddr"), "physical address operations");
        Assert.That(sim.ReadRel("kdamonds/0/contexts/0/targets/0/regions/nr_regions"), Is.EqualTo("2"), "two ranges");
        Assert.That((sim.ReadRel("kdamonds/0/contexts/0/targets/0/regions/1/start"), sim.ReadRel("kdamonds/0/contexts/0/targets/0/regions/1/end")),
            Is.EqualTo(("4194304", "4718592")), "start and end in bytes, decimal");
    }

    [Test]
    public void HotRegionsAreReadFromTriedRegionsAfterAskingForThem()
    {
        using var sim = new DamonSysfsSimulator();
        using var driver = new DamonSysfsDriver(sim.Root, sim);
        driver.Start("vaddr", [new DamonTarget(1)], s_attrs);
        sim.TriedRegions[0] = [new DamonRegion(0x7000_0000, 0x7000_4000, 9, 3), new DamonRegion(0x5000_0000, 0x5000_1000, 4, 12)];

        List<DamonRegion> regions = driver.ReadHotRegions(0);

        Assert.That(sim.Writes[^1], Is.EqualTo(("kdamonds/0/state", "update_schemes_tried_regions")), "the driver asked the kdamond to publish its regions");
        Assert.That(regions, Is.EqualTo(new[] { new DamonRegion(0x5000_0000, 0x5000_1000, 4, 12), new DamonRegion(0x7000_0000, 0x7000_4000, 9, 3) }), "every region with start, end, nr_accesses and age, in address order");
    }

    [Test]
    public void DisposeTurnsOffAndRemovesItsKdamond()
    {
        using var sim = new DamonSysfsSimulator();
        var driver = new DamonSysfsDriver(sim.Root, sim);
        driver.Start("vaddr", [new DamonTarget(1)], s_attrs);

        driver.Dispose();

        Assert.That(sim.Writes.TakeLast(2), Is.EqualTo(new[] { ("kdamonds/0/state", "off"), ("kdamonds/nr_kdamonds", "0") }), "off, then removed");
        Assert.That(sim.ExistsRel("kdamonds/0"), Is.False, "no kdamond directory is left");
    }

    [Test]
    public void AFailureWhileStartingRemovesTheHalfSetUpKdamond()
    {
        using var sim = new DamonSysfsSimulator();
        sim.Failures[("state", "on")] = "Invalid argument";
        using var driver = new DamonSysfsDriver(sim.Root, sim);

        var e = Assert.Throws<DamonException>(() => driver.Start("vaddr", [new DamonTarget(999_999)], s_attrs));

        Assert.That(e!.Message, Does.Contain("state").And.Contain("Invalid argument"), "the message names the file and the kernel's answer");
        Assert.That(sim.ReadRel("kdamonds/nr_kdamonds"), Is.EqualTo("0"), "the kdamond it created is gone");
        Assert.That(driver.OwnedKdamonds, Is.Zero, "the driver owns nothing");
    }

    [Test]
    public void MissingOperationsAreNamedAndNothingIsLeft()
    {
        using var sim = new DamonSysfsSimulator { AvailableOperations = "paddr" };
        using var driver = new DamonSysfsDriver(sim.Root, sim);

        var e = Assert.Throws<DamonException>(() => driver.Start("vaddr", [new DamonTarget(1)], s_attrs));

        Assert.That(e!.Message, Does.Contain("'vaddr' is not available").And.Contain("avail_operations: paddr"), "what is missing and what there is");
        Assert.That(sim.ReadRel("kdamonds/nr_kdamonds"), Is.EqualTo("0"), "cleaned up");
    }

    [Test]
    public void SomeoneElsesKdamondsAreNeverDisturbed()
    {
        using var sim = new DamonSysfsSimulator(existingKdamonds: 1, existingRunning: true);
        using var driver = new DamonSysfsDriver(sim.Root, sim);

        SourceAvailability probe = driver.Probe();
        Assert.Throws<DamonException>(() => driver.Start("vaddr", [new DamonTarget(1)], s_attrs));

        Assert.That(probe.IsAvailable, Is.False, "DAMON is in use by someone else");
        Assert.That(probe.Reason, Does.Contain("already has 1 kdamond"), "the reason says so");
        Assert.That(sim.Writes, Is.Empty, "not one write: rewriting nr_kdamonds would recreate their directories");
        Assert.That(sim.ReadRel("kdamonds/0/state"), Is.EqualTo("on"), "their kdamond still runs");
    }

    [Test]
    public void WithoutDamonSysfsTheProbeNamesTheMissingConfig()
    {
        using var driver = new DamonSysfsDriver("/nonexistent/damon/admin");

        SourceAvailability probe = driver.Probe();

        Assert.That(probe.Reason, Does.StartWith("DAMON is not available: this kernel lacks CONFIG_DAMON_SYSFS"), "plain English");
    }

    [Test]
    public void TheSourceReportsThePagesOfHotRegionsOnly()
    {
        using var sim = new DamonSysfsSimulator();
        var sink = new CollectingSink();
        int pid = Environment.ProcessId;
        using var source = new DamonSource(sink, Tunables.Fast(), new DamonSourceOptions { Root = sim.Root, Files = sim, Attrs = s_attrs });
        source.Attach(pid);
        sim.TriedRegions[0] = [new DamonRegion(0x7000_0000, 0x7000_4000, 9, 3), new DamonRegion(0x6000_0000, 0x6000_2000, 1, 30)];

        source.Tick(0);

        Assert.That(sink.Pages(pid), Is.EquivalentTo(Enumerable.Range(0, 4).Select(i => 0x7000_0000UL + ((ulong)i << 12))), "the four pages of the hot region; the cold one is below the threshold");
        Assert.That(sink.Reports.All(r => r.Record.Source == AccessSource.Damon && r.Record.Nid == -1), Is.True, "tagged DAMON, NUMA_NO_NODE");
    }

    [Test]
    public void TheSourceRemovesItsKdamondsWhenDisposedAndOnAFailedAttach()
    {
        using var sim = new DamonSysfsSimulator();
        var source = new DamonSource(new CollectingSink(), Tunables.Fast(), new DamonSourceOptions { Root = sim.Root, Files = sim });
        source.Attach(Environment.ProcessId);
        string whileAttached = sim.ReadRel("kdamonds/nr_kdamonds");
        source.Dispose();

        using var sim2 = new DamonSysfsSimulator();
        sim2.Failures[("pid_target", "1")] = "Invalid argument";
        using var failing = new DamonSource(new CollectingSink(), Tunables.Fast(), new DamonSourceOptions { Root = sim2.Root, Files = sim2 });
        var e = Assert.Throws<SourceException>(() => failing.Attach(1));

        Assert.That(whileAttached, Is.EqualTo("1"), "one kdamond while attached");
        Assert.That(sim.ReadRel("kdamonds/nr_kdamonds"), Is.EqualTo("0"), "none after dispose");
        Assert.That(e!.Message, Does.Contain("pid 1").And.Contain("pid_target"), "the failed attach names the pid and the file");
        Assert.That(sim2.ReadRel("kdamonds/nr_kdamonds"), Is.EqualTo("0"), "and leaves no kdamond");
    }

    [Test]
    public void AttachingAPidThatDoesNotExistNamesIt()
    {
        using var sim = new DamonSysfsSimulator();
        using var source = new DamonSource(new CollectingSink(), Tunables.Fast(), new DamonSourceOptions { Root = sim.Root, Files = sim });
        int pid = Tunables.DeadPid();

        var e = Assert.Throws<SourceException>(() => source.Attach(pid));

        Assert.That(e!.Message, Does.Contain($"pid {pid}").And.Contain("no such process"), "pid and reason");
        Assert.That(sim.Writes, Is.Empty, "nothing written");
    }

    [Test]
    public void APhysicalRegionMapsBackToTheProcessPages()
    {
        var map = new PfnReverseMap(new[] { (10UL, 0xA000UL), (11UL, 0xB000UL), (12UL, 0xC000UL), (500UL, 0x1000UL), (0UL, 0x9000UL) });
        var found = new List<ulong>();

        int n = map.ForEachIn(11UL << 12, 13UL << 12, found.Add);

        Assert.That((n, found), Is.EqualTo((2, new List<ulong> { 0xB000, 0xC000 })), "PFNs 11 and 12 are in [11, 13) pages; PFN 0 (hidden) is never mapped");
        Assert.That(map.PhysicalRanges(8), Is.EqualTo(new List<(ulong, ulong)> { (10UL << 12, 13UL << 12), (500UL << 12, 501UL << 12) }), "contiguous PFNs make one range");
        Assert.That(map.PhysicalRanges(1), Is.EqualTo(new List<(ulong, ulong)> { (10UL << 12, 501UL << 12) }), "with room for one range, the gap is merged");
    }
}
