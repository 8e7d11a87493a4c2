using HotPage.Engine.Sources;
using HotPage.Interop.Platform;

namespace HotPage.Sources.Tests;

/// <summary>The vectorized entry search of the scan sources against a plain loop.</summary>
[TestFixture]
public class NextWithAllTests
{
    private const ulong PresentAndDirty = (1UL << 63) | (1UL << 55);

    [Test]
    public void FindsTheSameEntriesAsAPlainLoopAtEveryEdgeLength([Values(0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 64, 4096)] int length)
    {
        var random = new Random(length);
        var entries = new PagemapEntry[length];
        for (int i = 0; i < length; i++)
        {
            ulong raw = (ulong)random.NextInt64() & ((1UL << 55) - 1);
            int kind = random.Next(8);
            raw |= kind == 0 ? PresentAndDirty : kind == 1 ? 1UL << 63 : kind == 2 ? 1UL << 55 : 0;
            entries[i] = new PagemapEntry(raw);
        }

        var found = new List<int>();
        for (int i = PagemapScanSource.NextWithAll(entries, 0, PresentAndDirty); i < length; i = PagemapScanSource.NextWithAll(entries, i + 1, PresentAndDirty))
        {
            found.Add(i);
        }

        Assert.That(found, Is.EqualTo(Enumerable.Range(0, length).Where(i => (entries[i].Raw & PresentAndDirty) == PresentAndDirty)), "every present and soft-dirty entry, in order, none else");
    }
}
