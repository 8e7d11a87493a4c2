using HotPage.Engine.Promotion;
using HotPage.Engine.Records;
using HotPage.Interop.Platform;
using NUnit.Framework;

namespace HotPage.Engine.Tests.Promotion;

/// <summary>The promoter against the real kernel here: real memory, real move_pages.</summary>
[TestFixture]
[Platform("Linux")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
[NonParallelizable]
public class PromoterLinuxTests
{
    [Test]
    public void ThePromoterMovesHotPagesToNodeZeroThroughMovePages()
    {
        using var linux = new LinuxPlatform();
        NumaTopology topology = linux.GetTopology();
        // This machine may have one node: all memory is top tier there, so the engine is told to
        // treat registered pages as lower tier (no platform for residency) while the promoter
        // moves them through the real syscall.
        var tunables = new HotPage.Engine.Tunables.EngineTunables();
        tunables.Set("max_tracked_pages", 1 << 16);
        using var engine = new HotPageEngine(topology, tunables);
        using var promoter = new Promoter(engine, linux);
        NodeMemory memory = linux.AllocateOnNode(256 * 4096, topology.TopTierNodes[0]);
        try
        {
            engine.RegisterRegion((ulong)memory.Address, (ulong)memory.Length);
            for (int page = 0; page < 64; page++)
            {
                ulong address = (ulong)memory.Address + (ulong)(page * 4096);
                Assert.That(engine.RecordAccess(address, -1, AccessSource.Application), Is.EqualTo(RecordResult.Recorded));
                Assert.That(engine.RecordAccess(address + 8, -1, AccessSource.Application), Is.EqualTo(RecordResult.Recorded));
            }

            PromotionResult result = promoter.RunOnce();
            Assert.That(result, Is.EqualTo(new PromotionResult(64, 64, 0, 0)), "64 hot pages, all moved (or already there)");

            var addresses = new nint[256];
            var status = new PageStatus[256];
            for (int i = 0; i < addresses.Length; i++)
            {
                addresses[i] = memory.Address + (i * 4096);
            }

            Assert.That(linux.QueryPages(0, addresses, status).IsSuccess, Is.True);
            Assert.That(status.Take(64).All(s => s.Node == topology.TopTierNodes[0]), Is.True, "the kernel reports the hot pages on the top-tier node");
            Assert.That(engine.IsMarkedTopTier(0, (ulong)memory.Address), Is.True, "the table knows the new node");
            var c = promoter.GetCounters();
            Assert.That(c["pgpromote_success"], Is.EqualTo(64));
            Assert.That(c["pgpromote_candidate"], Is.EqualTo(64));
        }
        finally
        {
            linux.Free(memory);
        }
    }

    [Test]
    public void MovingPagesOfAProcessThatIsGoneDropsThemWithAClearReport()
    {
        using var linux = new LinuxPlatform();
        var tunables = new HotPage.Engine.Tunables.EngineTunables();
        tunables.Set("max_tracked_pages", 1 << 16);
        using var engine = new HotPageEngine(linux.GetTopology(), tunables);
        using var promoter = new Promoter(engine, linux);
        var problems = new List<ProcessProblem>();
        promoter.ProcessProblem += problems.Add;

        // A pid that existed and exited: start a short-lived child and wait for it.
        using var child = System.Diagnostics.Process.Start("true")!;
        child.WaitForExit();
        int pid = child.Id;
        engine.RegisterRegion(pid, 0x10000000, 16 * 4096);
        engine.RecordAccess(pid, 0x10000000, -1, AccessSource.PageTableScan);
        engine.RecordAccess(pid, 0x10000000, -1, AccessSource.PageTableScan);
        PromotionResult result = promoter.RunOnce();
        Assert.That(result.Failed, Is.EqualTo(1));
        Assert.That(problems.Select(p => p.Pid), Is.EqualTo(new[] { pid }));
        Assert.That(problems[0].Message, Does.Contain(pid.ToString(System.Globalization.CultureInfo.InvariantCulture)).And.Contain("gone"));
    }
}
