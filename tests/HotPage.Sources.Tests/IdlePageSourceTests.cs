using HotPage.Engine.Records;
using HotPage.Engine.Sources;
using HotPage.Interop.Platform;

namespace HotPage.Sources.Tests;

/// <summary>A file laid out like <c>/sys/kernel/mm/page_idle/bitmap</c>: 64-bit words indexed by PFN / 64.</summary>
internal sealed class IdleFixture : IDisposable
{
    private IdleFixture(string path) => Path = path;

    public string Path { get; }

    /// <summary>A sparse zeroed file covering PFNs below <paramref name="pfnLimit"/>.</summary>
    public static IdleFixture Create(ulong pfnLimit)
    {
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "hotpage-idle-" + Guid.NewGuid().ToString("N"));
        using (var f = new FileStream(path, FileMode.CreateNew))
        {
            f.SetLength((long)((pfnLimit / 64) + 1) * 8);
        }

        return new IdleFixture(path);
    }

    public bool IsIdle(ulong pfn)
    {
        using var f = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var word = new byte[8];
        f.Position = (long)(pfn / 64 * 8);
        f.ReadExactly(word);
        return (BitConverter.ToUInt64(word) & (1UL << (int)(pfn % 64))) != 0;
    }

    /// <summary>What the kernel does when it finds a page accessed: its idle bit reads 0.</summary>
    public void Access(ulong pfn)
    {
        using var f = new FileStream(Path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        var word = new byte[8];
        f.Position = (long)(pfn / 64 * 8);
        f.ReadExactly(word);
        ulong w = BitConverter.ToUInt64(word) & ~(1UL << (int)(pfn % 64));
        f.Position = (long)(pfn / 64 * 8);
        f.Write(BitConverter.GetBytes(w));
    }

    public void Dispose() => File.Delete(Path);
}

/// <summary>Idle page tracking against a fixture bitmap file (no kernel here has the feature), with the real pagemap of a child.</summary>
[TestFixture]
[Platform("Linux")]
[NonParallelizable]
public class IdlePageSourceTests
{
    [Test]
    public void WithoutTheBitmapFileTheProbeNamesTheMissingConfig()
    {
        using var source = new IdlePageSource(new CollectingSink(), Tunables.Fast(), bitmapPath: "/nonexistent/page_idle/bitmap");

        SourceAvailability a = source.Probe();

        Assert.That(a.IsAvailable, Is.False, "no bitmap, no idle page tracking");
        Assert.That(a.Reason, Does.StartWith("idle page tracking is not available: this kernel lacks CONFIG_IDLE_PAGE_TRACKING"), "the plain-English reason");
    }

    [Test]
    public void TheProbeOfThisKernelMatchesWhetherTheBitmapExists()
    {
        using var source = new IdlePageSource(new CollectingSink(), Tunables.Fast());

        Assert.That(source.Probe().IsAvailable, Is.EqualTo(File.Exists(IdlePageSource.DefaultBitmapPath)), "available exactly when the kernel has the bitmap");
    }

    [Test]
    public void TheFirstVisitMarksPagesIdleAndTheNextReportsThoseTheKernelFoundAccessed()
    {
        using var child = new Child(64);
        child.Write(0, 64);
        ulong[] pfns = ChildPfns(child);
        using var bitmap = IdleFixture.Create(pfns.Max() + 1);
        var sink = new CollectingSink();
        using var source = new IdlePageSource(sink, Tunables.Fast(), new ScanOptions { VmaFilter = v => v.Start <= child.Base && child.Base < v.End }, bitmap.Path);
        source.Attach(child.Pid);

        source.Tick(0);
        bool allMarked = pfns.All(bitmap.IsIdle);
        int reportedAfterMarking = sink.Reports.Count;
        int[] accessed = [1, 5, 17, 40, 63];
        foreach (int i in accessed)
        {
            bitmap.Access(pfns[i]);
        }

        source.Tick(10);

        Assert.That(allMarked, Is.True, "the first visit marks every present page idle, at its PFN's bit");
        Assert.That(reportedAfterMarking, Is.Zero, "nothing is reported before a page was marked once");
        Assert.That(sink.Pages(child.Pid), Is.EquivalentTo(accessed.Select(i => child.PageAddress(i))), "exactly the pages whose idle bit the kernel cleared");
        Assert.That(sink.Reports.All(r => r.Record.Source == AccessSource.PageTableScan && r.Record.Nid == -1), Is.True, "tagged page-table scan, NUMA_NO_NODE");
        Assert.That(pfns.All(bitmap.IsIdle), Is.True, "the second visit marks them idle again");
        Assert.That(source.BitmapWordsWritten, Is.GreaterThan(0), "marking writes whole 64-bit words");
    }

    [Test]
    public void OnlyTheBitmapWordsHoldingThePagesAreReadNotTheSpanOfTheirPfns()
    {
        using var child = new Child(256);
        child.Write(0, 256);
        ulong[] pfns = ChildPfns(child);
        using var bitmap = IdleFixture.Create(pfns.Max() + 1);
        using var source = new IdlePageSource(new CollectingSink(), Tunables.Fast(), new ScanOptions { VmaFilter = v => v.Start <= child.Base && child.Base < v.End }, bitmap.Path);
        source.Attach(child.Pid);

        source.Tick(0);

        int distinct = pfns.Select(p => p / 64).Distinct().Count();
        ulong span = (pfns.Max() / 64) - (pfns.Min() / 64) + 1;
        Assert.That(source.BitmapWordsRead, Is.InRange(distinct, Math.Min(5L * distinct, (long)span)),
            $"the words of the {pfns.Length} pages ({distinct} distinct words, gaps of up to 4 words read through), never more than their span ({span} words)");
        Assert.That(source.BitmapWordsWritten, Is.EqualTo(source.BitmapWordsRead), "every word read is written back with the marks");
        Assert.That(pfns.All(bitmap.IsIdle), Is.True, "every page is marked");
    }

    [Test]
    public void PagesPastTheEndOfTheBitmapAreNeitherMarkedNorWritten()
    {
        using var child = new Child(256);
        child.Write(0, 256);
        ulong[] pfns = ChildPfns(child);
        ulong[] sorted = [.. pfns.Order()];
        ulong limit = sorted[sorted.Length / 2] / 64 * 64; // the bitmap ends at a word boundary inside the child's PFNs
        using var bitmap = IdleFixture.Create(limit - 1);
        long length = new FileInfo(bitmap.Path).Length;
        var sink = new CollectingSink();
        using var source = new IdlePageSource(sink, Tunables.Fast(), new ScanOptions { VmaFilter = v => v.Start <= child.Base && child.Base < v.End }, bitmap.Path);
        source.Attach(child.Pid);

        source.Tick(0);
        source.Tick(10);

        Assert.That(new FileInfo(bitmap.Path).Length, Is.EqualTo(length), "nothing is written past the end of the bitmap (the kernel's write there returns 0 and would be retried forever)");
        Assert.That(pfns.Where(p => p < limit).All(bitmap.IsIdle), Is.True, "the pages the bitmap covers are marked");
        Assert.That(sink.Reports, Is.Empty, "pages past the end read as nothing, not as accessed");
    }

    [Test]
    public void ALargeProcessIsCoveredOverSeveralPeriodsAfterTheInitialDelay()
    {
        using var child = new Child(1024); // 4 MiB: four 1 MiB slices
        child.Write(0, 1024);
        ulong[] pfns = ChildPfns(child);
        using var bitmap = IdleFixture.Create(pfns.Max() + 1);
        using var source = new IdlePageSource(new CollectingSink(), Tunables.Fast(scanSizeMb: 1, periodMs: 100, delayMs: 1000),
            new ScanOptions { VmaFilter = v => v.Start <= child.Base && child.Base < v.End }, bitmap.Path);
        source.Attach(child.Pid);

        long beforeDelay = source.Tick(0).PagesScanned + source.Tick(999).PagesScanned;
        var slices = new List<long>();
        for (long t = 1000; t < 1400; t += 50)
        {
            slices.Add(source.Tick(t).PagesScanned);
        }

        Assert.That(beforeDelay, Is.Zero, "nothing is scanned during scan_delay_ms");
        Assert.That(slices, Is.EqualTo(new long[] { 256, 0, 256, 0, 256, 0, 256, 0 }), "256 pages (1 MiB) per 100 ms period, nothing in between");
        Assert.That(source.PassesCompleted(child.Pid), Is.EqualTo(1), "four slices make one pass over the 4 MiB");
    }

    [Test]
    public void AProcessThatExitsIsDetachedWithAClearError()
    {
        var child = new Child(16);
        child.Write(0, 16);
        ulong[] pfns = ChildPfns(child);
        using var bitmap = IdleFixture.Create(pfns.Max() + 1);
        using var source = new IdlePageSource(new CollectingSink(), Tunables.Fast(), new ScanOptions { VmaFilter = v => v.Start <= child.Base && child.Base < v.End }, bitmap.Path);
        source.Attach(child.Pid);
        int pid = child.Pid;
        child.Dispose();

        SourceTickResult r = source.Tick(0);

        Assert.That(r.Errors, Is.EqualTo(1), "the slice failed");
        Assert.That(r.LastError, Does.Contain($"pid {pid}"), "the error names the pid: " + r.LastError);
        Assert.That(source.AttachedPids, Is.Empty, "the process is detached");
    }

    [Test]
    public void AMappingThatLeavesTheWatchFreesItsPageSet()
    {
        using var child = new Child(64);
        child.Write(0, 64);
        ulong[] pfns = ChildPfns(child);
        using var bitmap = IdleFixture.Create(pfns.Max() + 1);
        bool watched = true;
        using var source = new IdlePageSource(new CollectingSink(), Tunables.Fast(), new ScanOptions { VmaFilter = v => watched && v.Start <= child.Base && child.Base < v.End }, bitmap.Path);
        long baseline = source.Memory.Bytes;
        source.Attach(child.Pid);

        source.Tick(0);
        long whileWatched = source.Memory.Bytes;
        long setsWhileWatched = source.Memory.Allocations;
        watched = false; // the next pass re-reads the maps and no longer finds the mapping
        source.Tick(10);

        Assert.That(setsWhileWatched, Is.EqualTo(1), "one page set: the one watched mapping's");
        Assert.That(whileWatched - baseline, Is.GreaterThanOrEqualTo(64 / 8), "a bit per page of the mapping, in native memory");
        Assert.That(source.Memory.Bytes, Is.EqualTo(baseline), "the mapping's set was freed when it left the maps");
        Assert.That(source.Memory.Allocations, Is.Zero);
    }

    [Test]
    public void DetachingAndDisposingFreeEveryPageSet()
    {
        using var child = new Child(64);
        child.Write(0, 64);
        ulong[] pfns = ChildPfns(child);
        using var bitmap = IdleFixture.Create(pfns.Max() + 1);
        var options = new ScanOptions { VmaFilter = v => v.Start <= child.Base && child.Base < v.End };
        var source = new IdlePageSource(new CollectingSink(), Tunables.Fast(), options, bitmap.Path);
        source.Attach(child.Pid);
        source.Tick(0);
        long attached = source.Memory.Allocations;
        source.Detach(child.Pid);
        long detached = source.Memory.Bytes;
        source.Attach(child.Pid);
        source.Tick(100);
        long reattached = source.Memory.Allocations;
        source.Dispose();

        Assert.That(attached, Is.EqualTo(1));
        Assert.That(detached, Is.Zero, "detach frees the process's sets");
        Assert.That(reattached, Is.EqualTo(1), "a fresh set after attaching again");
        Assert.That(source.Memory.Bytes, Is.Zero, "dispose frees what is left");
    }

    private static ulong[] ChildPfns(Child child)
    {
        using var reader = new PagemapReader(child.Pid);
        var entries = new PagemapEntry[child.Pages];
        reader.Read((nint)child.Base, entries);
        Assert.That(entries.All(e => e.Pfn != 0), Is.True, "every page of the child is present with a PFN (running as root)");
        return entries.Select(e => e.Pfn).ToArray();
    }
}
