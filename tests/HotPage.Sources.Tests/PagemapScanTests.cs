using HotPage.Engine.Sources;
using HotPage.Interop.Platform;

namespace HotPage.Sources.Tests;

/// <summary>The pagemap walk and its throttling, against the real kernel with a child process.</summary>
[TestFixture]
[Platform("Linux")]
[NonParallelizable]
public class PagemapScanTests
{
    [Test]
    public void ThePagemapOfAChildShowsExactlyThePagesItTouched()
    {
        using var child = new Child(64);
        child.Write(0, 32, 2);

        Vma vma = ProcMaps.Read(child.Pid).Single(v => v.Start <= child.Base && child.Base < v.End);
        using var reader = new PagemapReader(child.Pid);
        var entries = new PagemapEntry[64];
        PlatformResult r = reader.Read((nint)child.Base, entries);

        Assert.That(vma.IsEligible, Is.True, "the child's mapping is anonymous, private and readable");
        Assert.That(r.Count, Is.EqualTo(64), "one entry per page");
        Assert.That(Enumerable.Range(0, 64).Where(i => entries[i].IsPresent), Is.EqualTo(Enumerable.Range(0, 32).Select(i => i * 2)), "the even pages were written, the odd ones never");
        Assert.That(entries.Where(e => e.IsPresent).All(e => e.Pfn != 0), Is.True, "running as root, present pages show their PFNs");
    }

    [Test]
    public void SoftDirtyProbeTellsTheTruthAboutThisKernel()
    {
        // Detect independently: clear a child's bits, write a page, read bit 55.
        using var child = new Child(4);
        child.Write(0, 1);
        File.WriteAllText($"/proc/{child.Pid}/clear_refs", "4");
        child.Write(0, 1);
        using var reader = new PagemapReader(child.Pid);
        bool bitSet = reader.Read((nint)child.Base).IsSoftDirty;

        SourceAvailability probe = SoftDirtySource.ProbeKernel();

        Assert.That(probe.IsAvailable, Is.EqualTo(bitSet), "the probe agrees with what the kernel does: " + probe.Reason);
        if (!bitSet)
        {
            Assert.That(probe.Reason, Does.Contain("soft-dirty is not available").And.Contain("CONFIG_MEM_SOFT_DIRTY"), "the reason says what is missing");
        }
    }

    [Test]
    public void AttachingSoftDirtyWhereTheKernelLacksItSaysWhy()
    {
        if (SoftDirtySource.ProbeKernel().IsAvailable)
        {
            Assert.Ignore("this kernel has soft-dirty");
        }

        using var child = new Child(4);
        using var source = new SoftDirtySource(new CollectingSink(), Tunables.Fast());

        var e = Assert.Throws<SourceException>(() => source.Attach(child.Pid));

        Assert.That(e!.Message, Does.Contain($"pid {child.Pid}").And.Contain("CONFIG_MEM_SOFT_DIRTY"), "the probe's message, with the pid");
        Assert.That(source.AttachedPids, Is.Empty, "nothing is left attached");
    }

    [Test]
    public void SoftDirtyReportsTheWrittenPagesWhereTheKernelHasIt()
    {
        if (!SoftDirtySource.ProbeKernel().IsAvailable)
        {
            Assert.Ignore("soft-dirty is not compiled into this kernel; the guest suite covers it");
        }

        using var child = new Child(64);
        child.Write(0, 64);
        var sink = new CollectingSink();
        using var source = new SoftDirtySource(sink, Tunables.Fast(), new ScanOptions { VmaFilter = v => v.Start <= child.Base && child.Base < v.End });
        source.Attach(child.Pid); // clear_refs 4
        source.Tick(0); // a whole pass: nothing written since attaching; clear_refs 4 at its end
        int beforeWrites = sink.Reports.Count;
        child.Write(0, 16, 4);
        source.Tick(100);

        Assert.That(beforeWrites, Is.Zero, "the writes before attaching are not reported");
        Assert.That(sink.Pages(child.Pid), Is.EquivalentTo(Enumerable.Range(0, 16).Select(i => child.PageAddress(i * 4))), "exactly the pages written since the last pass ended");
    }

    [Test]
    public void AttachingAPidThatDoesNotExistNamesIt()
    {
        int pid = Tunables.DeadPid();
        using var source = new IdlePageSource(new CollectingSink(), Tunables.Fast(), bitmapPath: IdleFixture.Create(1024).Path);

        var e = Assert.Throws<SourceException>(() => source.Attach(pid));

        Assert.That(e!.Message, Does.Contain($"pid {pid}").And.Contain("no such process"), "the pid and the reason");
    }
}
