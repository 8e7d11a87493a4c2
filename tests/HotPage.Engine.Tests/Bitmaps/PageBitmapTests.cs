using HotPage.Engine.Bitmaps;
using NUnit.Framework;

namespace HotPage.Engine.Tests.Bitmaps;

public class PageBitmapTests
{
    private static IEnumerable<TestCaseData> EdgeCases()
    {
        foreach (long length in BitmapReference.EdgeLengths)
        {
            foreach (double density in BitmapReference.Densities)
            {
                yield return new TestCaseData(length, density).SetArgDisplayNames(length.ToString(), density.ToString("R"));
            }
        }
    }

    [TestCaseSource(nameof(EdgeCases))]
    public void AnswersEveryQueryAsTheReferenceDoesAtEdgeLengthsAndDensities(long length, double density)
    {
        int seed = HashCode.Combine(length, density);
        bool[] bits = BitmapReference.Random(length, density, seed);
        using PageBitmap bitmap = BitmapReference.Build(bits);
        BitmapReference.AssertMatches(bitmap, bits, seed, "after setting");

        // Clear about half of the set bits again: words and chunks go back to zero.
        var random = new Random(seed + 1);
        for (long i = 0; i < length; i++)
        {
            if (bits[i] && random.Next(2) == 0)
            {
                bits[i] = false;
                bitmap.Clear(i);
            }
        }

        BitmapReference.AssertMatches(bitmap, bits, seed, "after clearing half");
    }

    private static IEnumerable<TestCaseData> BulkCases()
    {
        long[] lengths = [0, 1, 63, 64, 65, 100, 4096, 4097, (4096 * 64) + 65];
        (double, double)[] pairs = [(0.0, 0.5), (0.5, 0.0), (0.001, 0.001), (0.03, 0.5), (0.5, 0.5), (1.0, 0.03), (1.0, 1.0)];
        foreach (long length in lengths)
        {
            foreach ((double a, double b) in pairs)
            {
                yield return new TestCaseData(length, a, b).SetArgDisplayNames(length.ToString(), a.ToString("R"), b.ToString("R"));
            }
        }
    }

    [TestCaseSource(nameof(BulkCases))]
    public void BulkAndOrAndNotAndCopyMatchTheReference(long length, double densityA, double densityB)
    {
        int seed = HashCode.Combine(length, densityA, densityB);
        bool[] a = BitmapReference.Random(length, densityA, seed);
        bool[] b = BitmapReference.Random(length, densityB, seed + 7);
        using PageBitmap right = BitmapReference.Build(b);

        (string Name, Action<PageBitmap> Apply, Func<bool, bool, bool> Reference)[] operations =
        [
            ("And", x => x.And(right), (p, q) => p && q),
            ("Or", x => x.Or(right), (p, q) => p || q),
            ("AndNot", x => x.AndNot(right), (p, q) => p && !q),
            ("CopyFrom", x => x.CopyFrom(right), (p, q) => q),
        ];
        foreach (var operation in operations)
        {
            using PageBitmap left = BitmapReference.Build(a);
            operation.Apply(left);
            bool[] expected = new bool[length];
            for (long i = 0; i < length; i++)
            {
                expected[i] = operation.Reference(a[i], b[i]);
            }

            BitmapReference.AssertMatches(left, expected, seed, operation.Name);
            BitmapReference.AssertMatches(right, b, seed, operation.Name + " (right operand untouched)");
        }
    }

    [Test]
    public void TrySetAndTryClearReportWhetherTheyChangedTheBit()
    {
        using var bitmap = new PageBitmap(200);
        Assert.That(bitmap.TrySet(130), Is.True, "a clear bit is set by the first TrySet");
        Assert.That(bitmap.TrySet(130), Is.False, "a set bit is not changed by a second TrySet");
        Assert.That(bitmap.TryClear(131), Is.False, "a clear bit is not changed by TryClear");
        Assert.That(bitmap.TryClear(130), Is.True, "a set bit is cleared by TryClear");
        Assert.That(bitmap.IsEmpty, Is.True, "the bitmap is empty again");
        Assert.That(bitmap.VerifySummary(), Is.True, "the summary follows the words");
    }

    [TestCase(1)]
    [TestCase(65)]
    [TestCase(4096)]
    [TestCase(300_000)]
    public void ExclusiveSetAndClearMatchAReferenceAndKeepTheSummariesExact(int length)
    {
        using var bitmap = new PageBitmap(length);
        var reference = new bool[length];
        var random = new Random(length);
        for (int step = 0; step < 20_000; step++)
        {
            // Clustered indices, so that words and whole level-1 chunks fill up and empty again.
            int i = random.Next(Math.Min(length, 8192)) + (random.Next(4) * (length / 4));
            i = Math.Min(i, length - 1);
            if (random.Next(3) == 0)
            {
                bitmap.ClearExclusive(i);
                reference[i] = false;
            }
            else
            {
                bitmap.SetExclusive(i);
                reference[i] = true;
            }
        }

        Assert.That(bitmap.VerifySummary(), Is.True, "the summaries follow the words");
        Assert.That(bitmap.PopCount(), Is.EqualTo(reference.Count(b => b)));
        var expected = Enumerable.Range(0, length).Where(i => reference[i]).Select(i => (long)i).ToList();
        var actual = new List<long>();
        foreach (long page in bitmap.SetBits())
        {
            actual.Add(page);
        }

        Assert.That(actual, Is.EqualTo(expected), "enumeration through the summaries finds exactly the set bits");
        for (int i = 0; i < length; i++)
        {
            bitmap.ClearExclusive(i);
        }

        Assert.That(bitmap.IsEmpty, Is.True);
        Assert.That(bitmap.VerifySummary(), Is.True, "emptied word by word, every summary bit is clear");
        Assert.That(() => bitmap.SetExclusive(length), Throws.TypeOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void ClearAllEmptiesEveryLevel()
    {
        bool[] bits = BitmapReference.Random(10_000, 0.3, 5);
        using PageBitmap bitmap = BitmapReference.Build(bits);
        bitmap.ClearAll();
        BitmapReference.AssertMatches(bitmap, new bool[10_000], 5, "after ClearAll");
    }

    [TestCase(-1L)]
    [TestCase(100L)]
    [TestCase(long.MaxValue)]
    [TestCase(long.MinValue)]
    public void AnIndexOutsideTheBitmapIsRejectedNamingIndexAndLength(long index)
    {
        using var bitmap = new PageBitmap(100);
        foreach (Action call in new Action[] { () => bitmap.Set(index), () => bitmap.Clear(index), () => bitmap.IsSet(index), () => bitmap.TrySet(index), () => bitmap.TryClear(index) })
        {
            var error = Assert.Throws<ArgumentOutOfRangeException>(() => call());
            Assert.That(error!.Message, Does.Contain(index.ToString()).And.Contain("100"), "the message names the index and the length");
        }

        Assert.That(bitmap.IsEmpty, Is.True, "a rejected call changes nothing");
    }

    [Test]
    public void AStartPositionBeyondTheLengthIsRejectedButTheLengthItselfIsAllowed()
    {
        using var bitmap = new PageBitmap(100);
        bitmap.Set(99);
        Assert.That(bitmap.FindNextSet(100), Is.EqualTo(-1L), "starting at the length finds nothing");
        Assert.That(bitmap.CopySetBits(100, new long[4]), Is.EqualTo(0), "starting at the length copies nothing");
        Assert.Throws<ArgumentOutOfRangeException>(() => bitmap.FindNextSet(101));
        Assert.Throws<ArgumentOutOfRangeException>(() => bitmap.FindNextSet(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => bitmap.SetBits(101));
        Assert.Throws<ArgumentOutOfRangeException>(() => bitmap.CopySetBits(-5, new long[4]));
    }

    [Test]
    public void ANegativeLengthIsRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new PageBitmap(-1));
    }

    [Test]
    public void BulkOperationsOnBitmapsOfDifferentLengthsAreRejectedAndChangeNothing()
    {
        using var a = new PageBitmap(100);
        using var b = new PageBitmap(101);
        a.Set(3);
        b.Set(4);
        var error = Assert.Throws<ArgumentException>(() => a.Or(b));
        Assert.That(error!.Message, Does.Contain("100").And.Contain("101"), "the message names both lengths");
        Assert.That(a.PopCount(), Is.EqualTo(1L), "the left operand is unchanged");
    }

    [Test]
    public void UseAfterDisposeThrowsObjectDisposed()
    {
        var bitmap = new PageBitmap(100);
        bitmap.Dispose();
        bitmap.Dispose();
        Assert.Throws<ObjectDisposedException>(() => bitmap.Set(1));
        Assert.Throws<ObjectDisposedException>(() => bitmap.IsSet(1));
        Assert.Throws<ObjectDisposedException>(() => bitmap.FindNextSet(0));
        Assert.Throws<ObjectDisposedException>(() => bitmap.PopCount());
        Assert.Throws<ObjectDisposedException>(() => bitmap.ClearAll());
    }

    [Test]
    public void VerifySummaryDetectsAPlantedMismatch()
    {
        using var bitmap = new PageBitmap(64 * 64 * 3);
        bitmap.Set(5000);
        Assert.That(bitmap.VerifySummary(), Is.True, "a bitmap built through the API is consistent");
        bitmap.TestHookLevel1[0] |= 1;
        Assert.That(bitmap.VerifySummary(), Is.False, "a level-1 bit over a zero word is reported");
        bitmap.TestHookLevel1[0] &= ~1UL;
        bitmap.TestHookWords[7] = 2;
        Assert.That(bitmap.VerifySummary(), Is.False, "a non-zero word without its level-1 bit is reported");
    }

    [Test]
    public void IndicesBeyondFourBillionWork()
    {
        // 2^32 + 100 pages (16 TiB of 4 KiB pages): indices that do not fit in 32 bits.
        const long Length = (1L << 32) + 100;
        using var bitmap = new PageBitmap(Length);
        long[] pages = [0, (1L << 31) + 1, (1L << 32) - 1, 1L << 32, Length - 1];
        foreach (long page in pages)
        {
            bitmap.Set(page);
        }

        var found = new List<long>();
        foreach (long page in bitmap.SetBits())
        {
            found.Add(page);
        }

        Assert.That(found, Is.EqualTo(pages), "every page is found, in order");
        Assert.That(bitmap.FindNextSet((1L << 31) + 2), Is.EqualTo((1L << 32) - 1), "the search crosses empty gigabytes through the summaries");
        Assert.That(bitmap.PopCount(), Is.EqualTo((long)pages.Length));
        Assert.That(bitmap.VerifySummary(), Is.True);
    }

    [Test]
    public void ScansAndSingleBitUpdatesAllocateNothing()
    {
        bool[] bits = BitmapReference.Random(100_000, 0.01, 3);
        using PageBitmap bitmap = BitmapReference.Build(bits);
        using PageBitmap other = BitmapReference.Build(BitmapReference.Random(100_000, 0.01, 4));
        long[] batch = new long[64];
        long sink = 0;

        void Work()
        {
            foreach (long page in bitmap.SetBits(17))
            {
                sink += page;
            }

            sink += bitmap.FindNextSet(5) + bitmap.PopCount() + bitmap.CopySetBits(0, batch);
            bitmap.Set(77);
            bitmap.Clear(77);
            sink += bitmap.TrySet(78) ? 1 : 0;
            bitmap.AndNot(other);
            bitmap.Or(other);
        }

        Work();
        long before = GC.GetAllocatedBytesForCurrentThread();
        Work();
        long after = GC.GetAllocatedBytesForCurrentThread();
        Assert.That(after - before, Is.EqualTo(0L), $"scans, updates and bulk operations allocate nothing (sink {sink})");
    }
}
