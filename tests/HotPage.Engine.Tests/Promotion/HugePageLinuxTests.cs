using System.Runtime.Versioning;
using HotPage.Interop.Linux;
using HotPage.Interop.Platform;
using NUnit.Framework;

namespace HotPage.Engine.Tests.Promotion;

/// <summary>Folio sizes read from the real kernel (pagemap + kpageflags; root).</summary>
[TestFixture]
[Platform("Linux")]
[SupportedOSPlatform("linux")]
[NonParallelizable]
public unsafe class HugePageLinuxTests
{
    private const nuint Huge = 2 * 1024 * 1024;

    private static byte* MapAligned(nuint length, int advice)
    {
        void* raw = LibC.mmap(null, length + Huge, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_PRIVATE | LibC.MAP_ANONYMOUS, -1, 0);
        Assert.That(raw != LibC.MAP_FAILED, Is.True, "mmap");
        byte* aligned = (byte*)(((nuint)raw + Huge - 1) & ~(Huge - 1));
        Assert.That(LibC.madvise(aligned, length, advice), Is.EqualTo(0), "madvise");
        for (nuint off = 0; off < length; off += 4096)
        {
            aligned[off] = 1;
        }

        return aligned;
    }

    [Test]
    public void OrdinaryPagesAreOnePageFolios()
    {
        using var info = new LinuxHugePageInfo();
        Assert.That(info.IsAvailable, Is.True, info.UnavailableReason);
        byte* p = MapAligned(Huge, LibC.MADV_NOHUGEPAGE);
        var folios = new FolioInfo[3];
        Assert.That(info.QueryFolios(0, [(nint)p, (nint)(p + 4096), (nint)(p + 8191)], folios).IsSuccess, Is.True);
        Assert.That(folios.Select(f => f.Pages), Is.All.EqualTo(1));
        Assert.That(folios[2].Base, Is.EqualTo((nint)(p + 4096)), "an address inside a page names that page");
    }

    [Test]
    public void ATransparentHugePageIsOneFolioOf512Pages()
    {
        using var info = new LinuxHugePageInfo();
        byte* p = MapAligned(2 * Huge, LibC.MADV_HUGEPAGE);
        string smaps = File.ReadAllText("/proc/self/smaps_rollup");
        // The kernel may not find a free 2 MiB block (fragmentation): then there is nothing to check,
        // and saying so beats passing silently.
        var folios = new FolioInfo[2];
        Assert.That(info.QueryFolios(0, [(nint)(p + (5 * 4096)), (nint)(p + Huge + (511 * 4096))], folios).IsSuccess, Is.True);
        if (folios[0].Pages == 1 && folios[1].Pages == 1)
        {
            Assert.Inconclusive("the kernel backed the MADV_HUGEPAGE range with base pages this time:\n" + smaps);
        }

        Assert.That(folios[0], Is.EqualTo(new FolioInfo((nint)p, 512)));
        Assert.That(folios[1], Is.EqualTo(new FolioInfo((nint)(p + Huge), 512)));
    }

    [Test]
    public void WithoutKpageflagsEveryPageIsItsOwnFolioAndTheReasonIsSaid()
    {
        using var info = new LinuxHugePageInfo("/nonexistent/kpageflags");
        Assert.That(info.IsAvailable, Is.False);
        Assert.That(info.UnavailableReason, Does.Contain("huge page detection is off"));
        var folios = new FolioInfo[1];
        info.QueryFolios(0, [0x1000], folios);
        Assert.That(folios[0].Pages, Is.EqualTo(1));
    }
}
