using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;
using HotPage.Engine.Bitmaps;

namespace HotPage.Perf.Bitmaps;

/// <summary>
/// Finding the marked pages among 2^28 pages (1 TiB of 4 KiB pages) at several densities, three
/// ways: kmigrated's flat scan of a flag byte per page (the baseline), a plain word loop over a
/// bitmap without summaries, and <see cref="PageBitmap"/>. Every scan adds up the indices it finds,
/// so all of them do the same work per marked page and their sums agree. In the same run:
/// the single-core sequential read bandwidth (a vectorised sum over 32 MiB, the size of the
/// bitmap that a dense scan reads), and the dense word kernels (population count, AND-NOT)
/// whose goal is that bandwidth.
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
public unsafe class BitmapScanBenchmarks
{
    /// <summary>2^28 pages: 256 MiB of flag bytes, 32 MiB of bitmap.</summary>
    private const long Pages = 1L << 28;
    private const nuint Words = (nuint)(Pages / 64);

    /// <summary>The flag bit kmigrated-style producers set in a page's flags.</summary>
    private const byte MarkedFlag = 0x04;

    private byte* _flags;
    private ulong* _plainWords;
    private PageBitmap _bitmap = null!;
    private PageBitmap _complement = null!;
    private readonly long[] _batch = new long[1024];

    /// <summary>The fraction of pages marked.</summary>
    [Params(0.0, 1e-6, 1e-4, 1e-2, 0.5)]
    public double Density { get; set; }

    /// <summary>Builds the same page set three ways: flag bytes, plain words, a PageBitmap (and its complement).</summary>
    [GlobalSetup]
    public void Setup()
    {
        _flags = (byte*)NativeMemory.AlignedAlloc((nuint)Pages, 64);
        NativeMemory.Clear(_flags, (nuint)Pages);
        _plainWords = (ulong*)NativeMemory.AlignedAlloc(Words * sizeof(ulong), 64);
        NativeMemory.Clear(_plainWords, Words * sizeof(ulong));

        ulong state = 0x9E3779B97F4A7C15UL;
        if (Density >= 0.5)
        {
            for (nuint w = 0; w < Words; w++)
            {
                _plainWords[w] = Next(ref state);
            }
        }
        else
        {
            long marks = (long)Math.Round(Pages * Density);
            for (long k = 0; k < marks; k++)
            {
                long page = (long)(Next(ref state) & (Pages - 1));
                _plainWords[page >> 6] |= 1UL << (int)(page & 63);
            }
        }

        _bitmap = new PageBitmap(Pages);
        _complement = new PageBitmap(Pages);
        for (nuint w = 0; w < Words; w++)
        {
            ulong word = _plainWords[w];
            long wordBase = (long)w * 64;
            for (int b = 0; b < 64; b++)
            {
                if ((word & (1UL << b)) != 0)
                {
                    _flags[wordBase + b] = MarkedFlag;
                    _bitmap.Set(wordBase + b);
                }
                else if (Density >= 0.5)
                {
                    _complement.Set(wordBase + b);
                }
            }
        }

        if (Density < 0.5)
        {
            // A dense complement only for the dense case; sparse AND-NOT operands stay empty-ish.
            _complement.CopyFrom(_bitmap);
        }

        long[] sums = [FlatFlagScan(), ScalarWordLoop(), PageBitmapEnumerate(), PageBitmapCopySetBits()];
        if (sums.Distinct().Count() != 1)
        {
            throw new InvalidOperationException($"The scans disagree: {string.Join(", ", sums)}");
        }
    }

    /// <summary>Frees the native buffers.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        NativeMemory.AlignedFree(_flags);
        NativeMemory.AlignedFree(_plainWords);
        _bitmap.Dispose();
        _complement.Dispose();
    }

    /// <summary>kmigrated's way: test the flag of every page (one byte per page, 256 MiB).</summary>
    [Benchmark(Baseline = true)]
    public long FlatFlagScan()
    {
        long sum = 0;
        byte* flags = _flags;
        for (long page = 0; page < Pages; page++)
        {
            if ((flags[page] & MarkedFlag) != 0)
            {
                sum += page;
            }
        }

        return sum;
    }

    /// <summary>A bitmap without summaries: every word is read (32 MiB), set bits by TZCNT.</summary>
    [Benchmark]
    public long ScalarWordLoop()
    {
        long sum = 0;
        ulong* words = _plainWords;
        for (nuint w = 0; w < Words; w++)
        {
            ulong word = words[w];
            while (word != 0)
            {
                sum += ((long)w << 6) + BitOperations.TrailingZeroCount(word);
                word &= word - 1;
            }
        }

        return sum;
    }

    /// <summary>HotPage: <c>foreach</c> over <see cref="PageBitmap.SetBits"/>, skipping empty stretches through the summaries.</summary>
    [Benchmark]
    public long PageBitmapEnumerate()
    {
        long sum = 0;
        foreach (long page in _bitmap.SetBits())
        {
            sum += page;
        }

        return sum;
    }

    /// <summary>HotPage: batch extraction, 1024 indices per <see cref="PageBitmap.CopySetBits"/> call (the selection path).</summary>
    [Benchmark]
    public long PageBitmapCopySetBits()
    {
        long sum = 0;
        long from = 0;
        Span<long> batch = _batch;
        while (true)
        {
            int n = _bitmap.CopySetBits(from, batch);
            for (int i = 0; i < n; i++)
            {
                sum += batch[i];
            }

            if (n < batch.Length)
            {
                return sum;
            }

            from = batch[n - 1] + 1;
        }
    }

    /// <summary>HotPage: <see cref="PageBitmap.PopCount"/> (reads only non-empty chunks).</summary>
    [Benchmark]
    public long PageBitmapPopCount() => _bitmap.PopCount();

    /// <summary>
    /// HotPage: in-place bulk operations that leave the page set as it was, so that every
    /// invocation does the same work. Dense: AND-NOT with the complement, which overlaps no set
    /// bit but has every chunk non-empty, so every chunk is read from both, computed and written
    /// (64 MiB read, 32 MiB written). Sparse: AND-NOT with a copy (empties the set) and OR of the
    /// copy (restores it); both skip the chunks the summaries show empty.
    /// </summary>
    [Benchmark]
    public void PageBitmapAndNot()
    {
        if (Density >= 0.5)
        {
            _bitmap.AndNot(_complement);
        }
        else
        {
            _bitmap.AndNot(_complement);
            _bitmap.Or(_complement);
        }
    }

    /// <summary>The machine's single-core sequential read bandwidth: a vectorised sum over 32 MiB.</summary>
    [Benchmark]
    public ulong ReadBandwidthSum()
    {
        ref ulong words = ref *_plainWords;
        Vector512<ulong> a = Vector512<ulong>.Zero, b = a, c = a, d = a;
        for (nuint i = 0; i < Words; i += 32)
        {
            a += Vector512.LoadUnsafe(ref words, i);
            b += Vector512.LoadUnsafe(ref words, i + 8);
            c += Vector512.LoadUnsafe(ref words, i + 16);
            d += Vector512.LoadUnsafe(ref words, i + 24);
        }

        return Vector512.Sum(a + b + c + d);
    }

    private static ulong Next(ref ulong state)
    {
        // xorshift64*: fast enough to fill 2^28 pages in setup.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        return state * 0x2545F4914F6CDD1DUL;
    }
}
