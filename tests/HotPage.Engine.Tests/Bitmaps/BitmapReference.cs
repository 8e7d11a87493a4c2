using HotPage.Engine.Bitmaps;
using NUnit.Framework;

namespace HotPage.Engine.Tests.Bitmaps;

/// <summary>The plain <c>bool[]</c> model every bitmap result is checked against.</summary>
internal static class BitmapReference
{
    /// <summary>Lengths at vector and summary edges (words, 2/4/8-word vectors, 64-word chunks, 4096-word groups).</summary>
    public static readonly long[] EdgeLengths =
    [
        0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 255, 256, 257, 511, 512, 513,
        1000, 4095, 4096, 4097, 4096 + 64 + 3, (3 * 4096) + 5, (64 * 4096) - 1, (64 * 4096) + 65,
    ];

    /// <summary>Densities from empty to full.</summary>
    public static readonly double[] Densities = [0.0, 0.001, 0.03, 0.5, 0.97, 1.0];

    /// <summary>Random bits at <paramref name="density"/>, with occasional runs so that words fill up.</summary>
    public static bool[] Random(long length, double density, int seed)
    {
        var random = new Random(seed);
        var bits = new bool[length];
        for (long i = 0; i < length; i++)
        {
            bits[i] = random.NextDouble() < density;
        }

        if (density > 0 && density < 1 && length > 200)
        {
            // A full run across a word and a chunk boundary.
            long start = random.NextInt64(length - 130);
            for (long i = start; i < start + 130; i++)
            {
                bits[i] = true;
            }
        }

        return bits;
    }

    /// <summary>A bitmap holding exactly <paramref name="bits"/>.</summary>
    public static PageBitmap Build(bool[] bits)
    {
        var bitmap = new PageBitmap(bits.LongLength);
        Fill(bitmap, bits);
        return bitmap;
    }

    /// <summary>Sets in <paramref name="bitmap"/> every bit set in <paramref name="bits"/>.</summary>
    public static void Fill(PageBitmap bitmap, bool[] bits)
    {
        for (long i = 0; i < bits.LongLength; i++)
        {
            if (bits[i])
            {
                bitmap.Set(i);
            }
        }
    }

    /// <summary>The loop reference scan: the first set bit at or after <paramref name="from"/>, or -1.</summary>
    public static long NextSet(bool[] bits, long from)
    {
        for (long i = from; i < bits.LongLength; i++)
        {
            if (bits[i])
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>The set indices, in order.</summary>
    public static List<long> SetIndices(bool[] bits, long from = 0)
    {
        var list = new List<long>();
        for (long i = from; i < bits.LongLength; i++)
        {
            if (bits[i])
            {
                list.Add(i);
            }
        }

        return list;
    }

    /// <summary>Checks every query of <paramref name="bitmap"/> against <paramref name="bits"/>; returns the first difference or null.</summary>
    public static string? Compare(PageBitmap bitmap, bool[] bits, int seed)
    {
        long length = bits.LongLength;
        if (bitmap.Length != length)
        {
            return $"length {bitmap.Length}, expected {length}";
        }

        for (long i = 0; i < length; i++)
        {
            if (bitmap.IsSet(i) != bits[i])
            {
                return $"IsSet({i}) is {!bits[i]}";
            }
        }

        List<long> expected = SetIndices(bits);
        if (bitmap.PopCount() != expected.Count)
        {
            return $"PopCount {bitmap.PopCount()}, expected {expected.Count}";
        }

        if (bitmap.IsEmpty != (expected.Count == 0))
        {
            return $"IsEmpty is {bitmap.IsEmpty} with {expected.Count} bits set";
        }

        var enumerated = new List<long>();
        foreach (long page in bitmap.SetBits())
        {
            enumerated.Add(page);
        }

        if (!enumerated.SequenceEqual(expected))
        {
            return $"SetBits gave {enumerated.Count} indices, expected {expected.Count}; first difference at {FirstDifference(enumerated, expected)}";
        }

        // FindNextSet and SetBits(from) from every position (small) or from sampled positions.
        var random = new Random(seed);
        int positions = length <= 1100 ? (int)length + 1 : 300;
        for (int k = 0; k < positions; k++)
        {
            long from = length <= 1100 ? k : (k == 0 ? length : random.NextInt64(length + 1));
            long want = NextSet(bits, from);
            long got = bitmap.FindNextSet(from);
            if (got != want)
            {
                return $"FindNextSet({from}) is {got}, expected {want}";
            }

            var first = bitmap.SetBits(from).GetEnumerator();
            long firstGot = first.MoveNext() ? first.Current : -1;
            if (firstGot != want)
            {
                return $"SetBits({from}) starts at {firstGot}, expected {want}";
            }
        }

        // Batch extraction, resumed from the last index written plus one.
        foreach (int batch in new[] { 1, 3, 64, 1000 })
        {
            var buffer = new long[batch];
            var copied = new List<long>();
            long from = 0;
            while (true)
            {
                int n = bitmap.CopySetBits(from, buffer);
                copied.AddRange(buffer.AsSpan(0, n).ToArray());
                if (n < batch)
                {
                    break;
                }

                from = buffer[n - 1] + 1;
            }

            if (!copied.SequenceEqual(expected))
            {
                return $"CopySetBits in batches of {batch} gave {copied.Count} indices, expected {expected.Count}";
            }
        }

        string? summary = bitmap.DescribeSummaryMismatch();
        return summary is null ? null : "summary: " + summary;
    }

    /// <summary>Asserts that <see cref="Compare"/> finds no difference.</summary>
    public static void AssertMatches(PageBitmap bitmap, bool[] bits, int seed, string context)
    {
        string? difference = Compare(bitmap, bits, seed);
        Assert.That(difference, Is.Null, $"{context}: the bitmap must answer every query as the bool[] reference does");
    }

    private static int FirstDifference(List<long> a, List<long> b)
    {
        int i = 0;
        while (i < a.Count && i < b.Count && a[i] == b[i])
        {
            i++;
        }

        return i;
    }
}
