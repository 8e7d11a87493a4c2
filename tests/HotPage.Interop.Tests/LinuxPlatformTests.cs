using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using HotPage.Interop.Linux;
using HotPage.Interop.Platform;

namespace HotPage.Interop.Tests;

[TestFixture]
[Platform("Linux")]
[SupportedOSPlatform("linux")]
public class LinuxPlatformContractTests : PlatformContractTests
{
    protected override IMemoryPlatform CreatePlatform() => new LinuxPlatform();

    protected override unsafe nint NotPresentPage(IMemoryPlatform platform, nint candidate)
    {
        Assert.That(LibC.madvise((void*)candidate, 4096, LibC.MADV_DONTNEED), Is.Zero, "MADV_DONTNEED drops a private anonymous page");
        return candidate;
    }
}

[TestFixture]
[Platform("Linux")]
[SupportedOSPlatform("linux")]
[NonParallelizable]
public class LinuxPlatformTests
{
    private static bool IsRoot => Environment.UserName == "root";

    [Test]
    public unsafe void ResidencyOfTheTestsOwnManagedMemoryIsNodeZero()
    {
        using var platform = new LinuxPlatform();
        byte[] buffer = GC.AllocateArray<byte>(64 * 1024, pinned: true);
        buffer.AsSpan().Fill(1);
        nint first = (nint)Unsafe.AsPointer(ref buffer[0]);
        nint[] pages = Enumerable.Range(0, 8).Select(i => (first + (i * 4096) + 4095) & ~(nint)4095).ToArray();
        var status = new PageStatus[pages.Length];

        PlatformResult r = platform.QueryPages(0, pages, status);

        Assert.That(r.IsSuccess, Is.True, $"query failed: {r.Error}");
        Assert.That(status, Is.All.EqualTo(PageStatus.OnNode(0)), "a touched managed buffer is on node 0 on this one-node machine");
        GC.KeepAlive(buffer);
    }

    [Test]
    public void MovesAreSplitIntoBatchesAndEveryPageIsAnswered()
    {
        using var platform = new LinuxPlatform(new LinuxPlatformOptions { BatchSize = 3 });
        NodeMemory m = platform.AllocateOnNode(10 * 4096, 0);
        try
        {
            nint[] pages = Enumerable.Range(0, 10).Select(i => m.Address + (i * 4096)).ToArray();
            var status = Enumerable.Repeat(PageStatus.Failed(Errno.EIO), 10).ToArray();

            PlatformResult r = platform.MovePages(0, pages, new int[10], status);

            Assert.That(r, Is.EqualTo(PlatformResult.Ok), "four move_pages calls, all succeeded");
            Assert.That(status, Is.All.EqualTo(PageStatus.OnNode(0)), "every page of every batch was written");
        }
        finally
        {
            platform.Free(m);
        }
    }

    [Test]
    public void GetFreeBytesReadsNodeMeminfo()
    {
        using var platform = new LinuxPlatform();

        Assert.That(platform.GetFreeBytes(0), Is.GreaterThan(0L).And.LessThanOrEqualTo(platform.GetTopology()[0].TotalBytes), "MemFree of node 0");
    }

    [Test]
    public void MemFreeParsesFromMeminfoText()
    {
        Assert.That(LinuxPlatform.ParseMemFree("Node 0 MemTotal:   100 kB\nNode 0 MemFree:        37 kB\n"u8), Is.EqualTo(37L * 1024), "kB to bytes");
        Assert.That(LinuxPlatform.ParseMemFree("Node 0 MemTotal: 100 kB\n"u8), Is.EqualTo(-1L), "no MemFree line");
    }

    [Test]
    public void ZoneHighWatermarksSumPerNodeAndIgnoreThePerCpuHighLines()
    {
        // Laid out as /proc/zoneinfo (6.x): watermarks, then per-CPU pagesets with their own "high:".
        const string Zoneinfo = """
            Node 0, zone      DMA
              per-node stats
                  nr_inactive_anon 12
              pages free     3840
                    boost    0
                    min      23
                    low      28
                    high     33
                    spanned  4095
              pagesets
                cpu: 0
                          count: 0
                          high:  378
                          batch: 63
            Node 0, zone   Normal
              pages free     1334735
                    min      12053
                    low      15066
                    high     18079
              pagesets
                cpu: 0
                          high:  5000
            Node 2, zone   Normal
              pages free     100
                    high     700
            Node 9, zone   Normal
                    high     5
            """;
        var high = new long[4];
        LinuxPlatform.ParseZoneHighWatermarks(System.Text.Encoding.ASCII.GetBytes(Zoneinfo), high);
        Assert.That(high, Is.EqualTo(new long[] { 33 + 18079, 0, 700, 0 }), "per node, zones summed, node 9 beyond the span ignored");
    }

    [Test]
    public void GetReservedBytesReadsTheKernelsWatermarksOfThisMachine()
    {
        using var platform = new LinuxPlatform();
        long reserved = platform.GetReservedBytes(0);

        // Every Linux node with memory has a non-zero high watermark (min_free_kbytes > 0).
        Assert.That(reserved, Is.GreaterThan(0L).And.LessThan(platform.GetTopology()[0].TotalBytes / 4), "node 0's zone high watermarks");
        Assert.That(reserved % platform.PageSize, Is.EqualTo(0L));
        Assert.That(platform.GetReservedBytes(12345), Is.EqualTo(0L), "a node that does not exist");
    }

    [Test]
    public void GetReservedBytesIsZeroWhenZoneinfoCannotBeRead()
    {
        using var platform = new LinuxPlatform(new LinuxPlatformOptions { ZoneinfoPath = "/nonexistent/zoneinfo" });

        Assert.That(platform.GetReservedBytes(0), Is.EqualTo(0L));
    }

    [Test]
    public void PagemapOfOwnMemoryGivesPresentPfnsAndNotPresentAfterDontneed()
    {
        using var platform = new LinuxPlatform();
        using var pagemap = new PagemapReader(0);
        NodeMemory m = platform.AllocateOnNode(4 * 4096, 0);
        try
        {
            var entries = new PagemapEntry[4];
            PlatformResult r = pagemap.Read(m.Address, entries);

            Assert.That(r, Is.EqualTo(new PlatformResult(Errno.None, 4)), "four entries read");
            Assert.That(entries.Select(e => e.IsPresent), Is.All.True, "touched pages are present");
            Assert.That(entries.Select(e => e.IsExclusive), Is.All.True, "private anonymous pages are mapped once");
            if (IsRoot)
            {
                Assert.That(entries.Select(e => e.Pfn), Is.All.Not.Zero, "root sees PFNs");
                Assert.That(entries.Select(e => e.Pfn).Distinct().Count(), Is.EqualTo(4), "four different frames");
            }

            unsafe
            {
                _ = LibC.madvise((void*)(m.Address + 4096), 4096, LibC.MADV_DONTNEED);
            }

            Assert.That(pagemap.Read(m.Address + 4096).IsPresent, Is.False, "dropped page is not present");
        }
        finally
        {
            platform.Free(m);
        }
    }

    [Test]
    public void PagemapOfAProcessThatDoesNotExistIsAClearError()
    {
        var e = Assert.Throws<PlatformCallException>(() => new PagemapReader(0x3FFF_FFF0).Dispose());

        Assert.That(e!.Errno, Is.EqualTo(Errno.ENOENT), "no /proc entry");
        Assert.That(e.Message, Does.Contain("pid 1073741808").And.Contain("ENOENT").And.Contain("pagemap"), "the message names pid, errno and file");
    }

    [Test]
    public void AnotherProcesssResidencyAndPagemapAreReadable()
    {
        using Process child = Process.Start(new ProcessStartInfo("sleep", "60") { UseShellExecute = false })!;
        try
        {
            // The child's stack: its top page is present as soon as the process runs.
            (nint start, nint end) = WaitForMapping(child.Id, "[stack]");
            nint page = end - 4096;
            using var platform = new LinuxPlatform();
            var status = new PageStatus[2];

            PlatformResult r = platform.QueryPages(child.Id, [page, start - (1 << 20)], status);

            Assert.That(r.IsSuccess, Is.True, $"query of pid {child.Id} failed: {r.Error}");
            Assert.That(status, Is.EqualTo(new[] { PageStatus.OnNode(0), PageStatus.Failed(Errno.EFAULT) }), "the stack top is on node 0; below the stack guard nothing is mapped");

            using var pagemap = new PagemapReader(child.Id);
            PagemapEntry entry = pagemap.Read(page);
            Assert.That(entry.IsPresent, Is.True, "the child's stack top is present");
            if (IsRoot)
            {
                Assert.That(entry.Pfn, Is.Not.Zero, "root sees the child's PFN");
            }

            PlatformResult moved = platform.MovePages(child.Id, [page], [0], status.AsSpan(0, 1));
            Assert.That((moved.Error, status[0]), Is.EqualTo((Errno.None, PageStatus.OnNode(0))), "moving another process's page to its own node succeeds");
        }
        finally
        {
            child.Kill();
            child.WaitForExit();
        }
    }

    [Test]
    public void CheckNamesTheCallThePidAndTheNode()
    {
        Marshal.SetLastPInvokeError((int)Errno.EPERM);

        var e = Assert.Throws<PlatformCallException>(() => LinuxPlatform.Check(-1, "mbind", 42, 3));

        Assert.That(e!.Message, Is.EqualTo("mbind failed for pid 42, node 3: EPERM (1)."), "call, pid, node and errno in one sentence");
    }

    private static (nint Start, nint End) WaitForMapping(int pid, string name)
    {
        for (int attempt = 0; attempt < 200; attempt++)
        {
            foreach (string line in File.ReadLines($"/proc/{pid}/maps"))
            {
                if (line.EndsWith(name, StringComparison.Ordinal))
                {
                    string[] range = line.Split(' ')[0].Split('-');
                    return ((nint)long.Parse(range[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture), (nint)long.Parse(range[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                }
            }

            // Until exec completes, maps shows the parent's image; wait until the child is sleep.
            Thread.Sleep(10);
        }

        throw new InvalidOperationException($"pid {pid} has no {name} mapping.");
    }
}
