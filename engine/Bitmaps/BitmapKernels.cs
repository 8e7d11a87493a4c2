using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace HotPage.Engine.Bitmaps;

/// <summary>The vector width the bitmap kernels run at in this process.</summary>
public enum BitmapVectorPath
{
    /// <summary>No vector hardware acceleration: one 64-bit word at a time.</summary>
    Scalar = 0,

    /// <summary>128-bit vectors (SSE2 / AdvSimd): two words at a time.</summary>
    Vector128 = 1,

    /// <summary>256-bit vectors (AVX2): four words at a time.</summary>
    Vector256 = 2,

    /// <summary>512-bit vectors (AVX-512): eight words at a time.</summary>
    Vector512 = 3,
}

/// <summary>
/// The SIMD kernels behind <see cref="PageBitmap"/>. Every kernel has the same shape: the scalar
/// loop first (no acceleration, or fewer words than one <see cref="Vector128{T}"/>), then the
/// widest accelerated width, chosen once per call and never inside the loop, so that a NativeAOT
/// binary built for one instruction set runs one straight loop. Read-only scans finish with an
/// overlapping last vector; read-modify-write kernels finish with a scalar tail. All paths give
/// identical results (the engine tests rerun under <c>DOTNET_EnableAVX512=0</c>,
/// <c>DOTNET_EnableAVX2=0</c> and <c>DOTNET_EnableHWIntrinsic=0</c>).
/// </summary>
public static class BitmapKernels
{
    /// <summary>Words summarised by one summary word (one summary bit per word).</summary>
    internal const int WordsPerChunk = 64;

    /// <summary>
    /// The width this process runs the kernels at. The NativeAOT daemon prints it: a NativeAOT
    /// binary published without an instruction set (<c>IlcInstructionSet</c>) reports
    /// <see cref="BitmapVectorPath.Vector128"/> even on an AVX-512 machine.
    /// </summary>
    public static BitmapVectorPath VectorPath =>
        Vector512.IsHardwareAccelerated ? BitmapVectorPath.Vector512
        : Vector256.IsHardwareAccelerated ? BitmapVectorPath.Vector256
        : Vector128.IsHardwareAccelerated ? BitmapVectorPath.Vector128
        : BitmapVectorPath.Scalar;

    /// <summary>
    /// The first index <c>i</c> in <c>[start, count)</c> with <c>words[i] != 0</c>, or -1.
    /// Reads only <c>words[start..count)</c>.
    /// </summary>
    internal static long IndexOfNonZero(ref ulong words, nuint start, nuint count)
    {
        if (start >= count)
        {
            return -1;
        }

        nuint n = count - start;
        if (!Vector128.IsHardwareAccelerated || n < (nuint)Vector128<ulong>.Count)
        {
            for (nuint i = start; i < count; i++)
            {
                if (Unsafe.Add(ref words, i) != 0)
                {
                    return (long)i;
                }
            }

            return -1;
        }

        if (Vector512.IsHardwareAccelerated && n >= (nuint)Vector512<ulong>.Count)
        {
            return IndexOfNonZero512(ref words, start, count);
        }

        if (Vector256.IsHardwareAccelerated && n >= (nuint)Vector256<ulong>.Count)
        {
            return IndexOfNonZero256(ref words, start, count);
        }

        return IndexOfNonZero128(ref words, start, count);
    }

    private static long IndexOfNonZero512(ref ulong words, nuint start, nuint count)
    {
        nuint last = count - (nuint)Vector512<ulong>.Count;
        ulong mask;
        for (nuint i = start; i < last; i += (nuint)Vector512<ulong>.Count)
        {
            mask = NonZeroLanes(Vector512.LoadUnsafe(ref words, i));
            if (mask != 0)
            {
                return (long)(i + (nuint)BitOperations.TrailingZeroCount(mask));
            }
        }

        // The last vector overlaps words already known to be zero, so its first non-zero lane is
        // still the first non-zero word at or after start.
        mask = NonZeroLanes(Vector512.LoadUnsafe(ref words, last));
        return mask != 0 ? (long)(last + (nuint)BitOperations.TrailingZeroCount(mask)) : -1;
    }

    private static long IndexOfNonZero256(ref ulong words, nuint start, nuint count)
    {
        nuint last = count - (nuint)Vector256<ulong>.Count;
        ulong mask;
        for (nuint i = start; i < last; i += (nuint)Vector256<ulong>.Count)
        {
            mask = NonZeroLanes(Vector256.LoadUnsafe(ref words, i));
            if (mask != 0)
            {
                return (long)(i + (nuint)BitOperations.TrailingZeroCount(mask));
            }
        }

        mask = NonZeroLanes(Vector256.LoadUnsafe(ref words, last));
        return mask != 0 ? (long)(last + (nuint)BitOperations.TrailingZeroCount(mask)) : -1;
    }

    private static long IndexOfNonZero128(ref ulong words, nuint start, nuint count)
    {
        nuint last = count - (nuint)Vector128<ulong>.Count;
        ulong mask;
        for (nuint i = start; i < last; i += (nuint)Vector128<ulong>.Count)
        {
            mask = NonZeroLanes(Vector128.LoadUnsafe(ref words, i));
            if (mask != 0)
            {
                return (long)(i + (nuint)BitOperations.TrailingZeroCount(mask));
            }
        }

        mask = NonZeroLanes(Vector128.LoadUnsafe(ref words, last));
        return mask != 0 ? (long)(last + (nuint)BitOperations.TrailingZeroCount(mask)) : -1;
    }

    /// <summary>A bit per lane, set where the lane is non-zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong NonZeroLanes(Vector512<ulong> v) =>
        ~Vector512.Equals(v, Vector512<ulong>.Zero).ExtractMostSignificantBits() & 0xFFUL;

    /// <summary>A bit per lane, set where the lane is non-zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong NonZeroLanes(Vector256<ulong> v) =>
        ~(ulong)Vector256.Equals(v, Vector256<ulong>.Zero).ExtractMostSignificantBits() & 0xFUL;

    /// <summary>A bit per lane, set where the lane is non-zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong NonZeroLanes(Vector128<ulong> v) =>
        ~(ulong)Vector128.Equals(v, Vector128<ulong>.Zero).ExtractMostSignificantBits() & 0x3UL;

    /// <summary>The number of set bits in <c>words[0..count)</c>.</summary>
    /// <remarks>
    /// .NET exposes no vector population count (no <c>VPOPCNTQ</c> API). On x86 the vector paths
    /// look the count of each nibble up in a 16-entry table with a byte shuffle (<c>VPSHUFB</c>:
    /// two lookups, two masks and a shift per vector), add byte counts for up to 31 vectors
    /// (31 * 8 = 248 fits a byte), then sum the bytes of each 64-bit lane with <c>VPSADBW</c>.
    /// Elsewhere they count bits in each byte with the SWAR steps (pairs, nibbles, bytes) and widen
    /// the byte sums. The 128-bit path is the scalar one: four <c>POPCNT</c> chains are as fast.
    /// </remarks>
    internal static long PopCount(ref ulong words, nuint count)
    {
        if (!Vector128.IsHardwareAccelerated || count < (nuint)Vector256<ulong>.Count)
        {
            return PopCountScalar(ref words, 0, count);
        }

        if (Vector512.IsHardwareAccelerated && count >= (nuint)Vector512<ulong>.Count)
        {
            return Avx512BW.IsSupported ? PopCount512Lookup(ref words, count) : PopCount512(ref words, count);
        }

        if (Vector256.IsHardwareAccelerated)
        {
            return Avx2.IsSupported ? PopCount256Lookup(ref words, count) : PopCount256(ref words, count);
        }

        return PopCountScalar(ref words, 0, count);
    }

    private static long PopCountScalar(ref ulong words, nuint i, nuint count)
    {
        long a = 0, b = 0, c = 0, d = 0;
        for (; i + 4 <= count; i += 4)
        {
            a += BitOperations.PopCount(Unsafe.Add(ref words, i));
            b += BitOperations.PopCount(Unsafe.Add(ref words, i + 1));
            c += BitOperations.PopCount(Unsafe.Add(ref words, i + 2));
            d += BitOperations.PopCount(Unsafe.Add(ref words, i + 3));
        }

        for (; i < count; i++)
        {
            a += BitOperations.PopCount(Unsafe.Add(ref words, i));
        }

        return a + b + c + d;
    }

    private const ulong Pairs = 0x5555555555555555UL;
    private const ulong Nibbles = 0x3333333333333333UL;
    private const ulong Bytes = 0x0F0F0F0F0F0F0F0FUL;
    private const ulong Shorts = 0x00FF00FF00FF00FFUL;
    private const ulong Ints = 0x0000FFFF0000FFFFUL;
    private const ulong Longs = 0x00000000FFFFFFFFUL;
    private const int VectorsPerByteSum = 31;

    private static long PopCount512(ref ulong words, nuint count)
    {
        const int Lanes = 8;
        Vector512<ulong> total = Vector512<ulong>.Zero;
        nuint i = 0;
        while (i + Lanes <= count)
        {
            nuint end = Math.Min(count - ((count - i) % Lanes), i + (VectorsPerByteSum * Lanes));
            Vector512<ulong> bytes = Vector512<ulong>.Zero;
            for (; i < end; i += Lanes)
            {
                Vector512<ulong> x = Vector512.LoadUnsafe(ref words, i);
                x -= (x >> 1) & Vector512.Create(Pairs);
                x = (x & Vector512.Create(Nibbles)) + ((x >> 2) & Vector512.Create(Nibbles));
                bytes += (x + (x >> 4)) & Vector512.Create(Bytes);
            }

            bytes = (bytes & Vector512.Create(Shorts)) + ((bytes >> 8) & Vector512.Create(Shorts));
            bytes = (bytes & Vector512.Create(Ints)) + ((bytes >> 16) & Vector512.Create(Ints));
            total += (bytes & Vector512.Create(Longs)) + (bytes >> 32);
        }

        return (long)Vector512.Sum(total) + PopCountScalar(ref words, i, count);
    }

    /// <summary>Set bits per nibble value, the table both lookup paths shuffle (one copy per 128-bit lane).</summary>
    private static Vector128<byte> NibbleCounts => Vector128.Create((byte)0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);

    private static long PopCount512Lookup(ref ulong words, nuint count)
    {
        const int Lanes = 8;
        Vector256<byte> half = Vector256.Create(NibbleCounts, NibbleCounts);
        Vector512<byte> table = Vector512.Create(half, half);
        Vector512<byte> low = Vector512.Create((byte)0x0F);
        Vector512<ulong> total = Vector512<ulong>.Zero;
        nuint i = 0;
        while (i + Lanes <= count)
        {
            nuint end = Math.Min(count - ((count - i) % Lanes), i + (VectorsPerByteSum * Lanes));
            Vector512<byte> bytes = Vector512<byte>.Zero;
            for (; i < end; i += Lanes)
            {
                Vector512<byte> x = Vector512.LoadUnsafe(ref words, i).AsByte();
                Vector512<byte> high = Vector512.ShiftRightLogical(x.AsUInt16(), 4).AsByte() & low;
                bytes += Avx512BW.Shuffle(table, x & low) + Avx512BW.Shuffle(table, high);
            }

            total += Avx512BW.SumAbsoluteDifferences(bytes, Vector512<byte>.Zero).AsUInt64();
        }

        return (long)Vector512.Sum(total) + PopCountScalar(ref words, i, count);
    }

    private static long PopCount256Lookup(ref ulong words, nuint count)
    {
        const int Lanes = 4;
        Vector256<byte> table = Vector256.Create(NibbleCounts, NibbleCounts);
        Vector256<byte> low = Vector256.Create((byte)0x0F);
        Vector256<ulong> total = Vector256<ulong>.Zero;
        nuint i = 0;
        while (i + Lanes <= count)
        {
            nuint end = Math.Min(count - ((count - i) % Lanes), i + (VectorsPerByteSum * Lanes));
            Vector256<byte> bytes = Vector256<byte>.Zero;
            for (; i < end; i += Lanes)
            {
                Vector256<byte> x = Vector256.LoadUnsafe(ref words, i).AsByte();
                Vector256<byte> high = Vector256.ShiftRightLogical(x.AsUInt16(), 4).AsByte() & low;
                bytes += Avx2.Shuffle(table, x & low) + Avx2.Shuffle(table, high);
            }

            total += Avx2.SumAbsoluteDifferences(bytes, Vector256<byte>.Zero).AsUInt64();
        }

        return (long)Vector256.Sum(total) + PopCountScalar(ref words, i, count);
    }

    private static long PopCount256(ref ulong words, nuint count)
    {
        const int Lanes = 4;
        Vector256<ulong> total = Vector256<ulong>.Zero;
        nuint i = 0;
        while (i + Lanes <= count)
        {
            nuint end = Math.Min(count - ((count - i) % Lanes), i + (VectorsPerByteSum * Lanes));
            Vector256<ulong> bytes = Vector256<ulong>.Zero;
            for (; i < end; i += Lanes)
            {
                Vector256<ulong> x = Vector256.LoadUnsafe(ref words, i);
                x -= (x >> 1) & Vector256.Create(Pairs);
                x = (x & Vector256.Create(Nibbles)) + ((x >> 2) & Vector256.Create(Nibbles));
                bytes += (x + (x >> 4)) & Vector256.Create(Bytes);
            }

            bytes = (bytes & Vector256.Create(Shorts)) + ((bytes >> 8) & Vector256.Create(Shorts));
            bytes = (bytes & Vector256.Create(Ints)) + ((bytes >> 16) & Vector256.Create(Ints));
            total += (bytes & Vector256.Create(Longs)) + (bytes >> 32);
        }

        return (long)Vector256.Sum(total) + PopCountScalar(ref words, i, count);
    }

    /// <summary>
    /// <c>a = TOp(a, b)</c> over two whole bitmaps of the same length, keeping both
    /// summary levels of <c>a</c> exact (level 1: a bit per word; level 2: a bit per level-1 word).
    /// Chunks of 64 words whose summaries show the operation cannot change them are skipped, first
    /// 4096 words at a time from level 2, then 64 at a time from level 1, so that the cost grows
    /// with the non-empty parts of the operands. The caller guarantees exclusive access.
    /// </summary>
    internal static unsafe void Combine<TOp>(in BitmapLevels a, in BitmapLevels b)
        where TOp : struct, IWordOperator
    {
        // The width is chosen here, once: each instantiation below is one straight loop.
        if (!Vector128.IsHardwareAccelerated)
        {
            CombineCore<TOp, ScalarChunk>(a, b);
        }
        else if (Vector512.IsHardwareAccelerated)
        {
            CombineCore<TOp, Vector512Chunk>(a, b);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            CombineCore<TOp, Vector256Chunk>(a, b);
        }
        else
        {
            CombineCore<TOp, Vector128Chunk>(a, b);
        }
    }

    private static unsafe void CombineCore<TOp, TChunk>(in BitmapLevels a, in BitmapLevels b)
        where TOp : struct, IWordOperator
        where TChunk : struct, IChunkKernel
    {
        for (nuint g = 0; g < a.Level2Count; g++)
        {
            if (TOp.LeavesUnchanged(a.Level2[g], b.Level2[g]))
            {
                continue;
            }

            ulong level2 = a.Level2[g];
            nuint firstChunk = g * WordsPerChunk;
            nuint endChunk = Math.Min(firstChunk + WordsPerChunk, a.Level1Count);
            for (nuint j = firstChunk; j < endChunk; j++)
            {
                if (TOp.LeavesUnchanged(a.Level1[j], b.Level1[j]))
                {
                    continue;
                }

                nuint firstWord = j * WordsPerChunk;
                nuint n = Math.Min(WordsPerChunk, a.WordCount - firstWord);
                ulong summary = TChunk.Apply<TOp>(a.Words + firstWord, b.Words + firstWord, n);
                a.Level1[j] = summary;
                ulong bit = 1UL << (int)(j & (WordsPerChunk - 1));
                level2 = summary != 0 ? level2 | bit : level2 & ~bit;
            }

            a.Level2[g] = level2;
        }
    }
}

/// <summary>The three arrays of a bitmap and their lengths in words, as the kernels see them.</summary>
internal readonly unsafe struct BitmapLevels
{
    /// <summary>The bits: word <c>w</c> holds bits <c>[64w, 64w + 64)</c>.</summary>
    public readonly ulong* Words;

    /// <summary>Level 1: bit <c>w</c> set exactly when <c>Words[w]</c> is non-zero.</summary>
    public readonly ulong* Level1;

    /// <summary>Level 2: bit <c>j</c> set exactly when <c>Level1[j]</c> is non-zero.</summary>
    public readonly ulong* Level2;

    /// <summary>Words in <see cref="Words"/>.</summary>
    public readonly nuint WordCount;

    /// <summary>Words in <see cref="Level1"/>.</summary>
    public readonly nuint Level1Count;

    /// <summary>Words in <see cref="Level2"/>.</summary>
    public readonly nuint Level2Count;

    /// <summary>Describes the three arrays of a bitmap of the given word count.</summary>
    public BitmapLevels(ulong* words, ulong* level1, ulong* level2, nuint wordCount)
    {
        Words = words;
        Level1 = level1;
        Level2 = level2;
        WordCount = wordCount;
        Level1Count = CountAbove(wordCount);
        Level2Count = CountAbove(Level1Count);
    }

    /// <summary>Words needed for one summary bit per word of a level of <paramref name="count"/> words.</summary>
    public static nuint CountAbove(nuint count) => (count + BitmapKernels.WordsPerChunk - 1) / BitmapKernels.WordsPerChunk;
}

/// <summary>
/// A bitwise operation between two bitmaps, at every width, plus the summary test that lets a
/// kernel skip a chunk. Implemented by empty structs so that each use is specialised and inlined.
/// </summary>
internal interface IWordOperator
{
    /// <summary>The result word.</summary>
    static abstract ulong Apply(ulong a, ulong b);

    /// <summary>The result vector.</summary>
    static abstract Vector128<ulong> Apply(Vector128<ulong> a, Vector128<ulong> b);

    /// <summary>The result vector.</summary>
    static abstract Vector256<ulong> Apply(Vector256<ulong> a, Vector256<ulong> b);

    /// <summary>The result vector.</summary>
    static abstract Vector512<ulong> Apply(Vector512<ulong> a, Vector512<ulong> b);

    /// <summary>
    /// True when a chunk whose words have non-zero-ness <paramref name="aSummary"/> (left) and
    /// <paramref name="bSummary"/> (right) is certainly left as it is by <c>a = Apply(a, b)</c>.
    /// </summary>
    static abstract bool LeavesUnchanged(ulong aSummary, ulong bSummary);
}

/// <summary><c>a &amp; b</c>: unchanged where <c>a</c> is empty.</summary>
internal readonly struct AndOperator : IWordOperator
{
    public static ulong Apply(ulong a, ulong b) => a & b;
    public static Vector128<ulong> Apply(Vector128<ulong> a, Vector128<ulong> b) => a & b;
    public static Vector256<ulong> Apply(Vector256<ulong> a, Vector256<ulong> b) => a & b;
    public static Vector512<ulong> Apply(Vector512<ulong> a, Vector512<ulong> b) => a & b;
    public static bool LeavesUnchanged(ulong aSummary, ulong bSummary) => aSummary == 0;
}

/// <summary><c>a | b</c>: unchanged where <c>b</c> is empty.</summary>
internal readonly struct OrOperator : IWordOperator
{
    public static ulong Apply(ulong a, ulong b) => a | b;
    public static Vector128<ulong> Apply(Vector128<ulong> a, Vector128<ulong> b) => a | b;
    public static Vector256<ulong> Apply(Vector256<ulong> a, Vector256<ulong> b) => a | b;
    public static Vector512<ulong> Apply(Vector512<ulong> a, Vector512<ulong> b) => a | b;
    public static bool LeavesUnchanged(ulong aSummary, ulong bSummary) => bSummary == 0;
}

/// <summary><c>a &amp; ~b</c>: unchanged where no word is non-zero in both.</summary>
internal readonly struct AndNotOperator : IWordOperator
{
    public static ulong Apply(ulong a, ulong b) => a & ~b;
    public static Vector128<ulong> Apply(Vector128<ulong> a, Vector128<ulong> b) => Vector128.AndNot(a, b);
    public static Vector256<ulong> Apply(Vector256<ulong> a, Vector256<ulong> b) => Vector256.AndNot(a, b);
    public static Vector512<ulong> Apply(Vector512<ulong> a, Vector512<ulong> b) => Vector512.AndNot(a, b);
    public static bool LeavesUnchanged(ulong aSummary, ulong bSummary) => (aSummary & bSummary) == 0;
}

/// <summary><c>b</c> (copy): unchanged where both are empty.</summary>
internal readonly struct CopyOperator : IWordOperator
{
    public static ulong Apply(ulong a, ulong b) => b;
    public static Vector128<ulong> Apply(Vector128<ulong> a, Vector128<ulong> b) => b;
    public static Vector256<ulong> Apply(Vector256<ulong> a, Vector256<ulong> b) => b;
    public static Vector512<ulong> Apply(Vector512<ulong> a, Vector512<ulong> b) => b;
    public static bool LeavesUnchanged(ulong aSummary, ulong bSummary) => (aSummary | bSummary) == 0;
}

/// <summary>One width of the read-modify-write chunk kernel.</summary>
internal interface IChunkKernel
{
    /// <summary>
    /// <c>a[i] = TOp(a[i], b[i])</c> for <c>i</c> in <c>[0, n)</c>, <c>n &lt;= 64</c>; returns the
    /// summary word of the result (bit <c>i</c> set when <c>a[i] != 0</c>).
    /// </summary>
    static abstract unsafe ulong Apply<TOp>(ulong* a, ulong* b, nuint n)
        where TOp : struct, IWordOperator;
}

/// <summary>The scalar chunk kernel; also the tail of the vector ones.</summary>
internal readonly struct ScalarChunk : IChunkKernel
{
    public static unsafe ulong Apply<TOp>(ulong* a, ulong* b, nuint n)
        where TOp : struct, IWordOperator => Tail<TOp>(a, b, 0, n, 0);

    /// <summary>Words <c>[i, n)</c> one at a time, adding their summary bits to <paramref name="summary"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe ulong Tail<TOp>(ulong* a, ulong* b, nuint i, nuint n, ulong summary)
        where TOp : struct, IWordOperator
    {
        for (; i < n; i++)
        {
            ulong r = TOp.Apply(a[i], b[i]);
            a[i] = r;
            summary |= (r != 0 ? 1UL : 0UL) << (int)i;
        }

        return summary;
    }
}

/// <summary>The 512-bit chunk kernel: eight words and eight summary bits per step.</summary>
internal readonly struct Vector512Chunk : IChunkKernel
{
    public static unsafe ulong Apply<TOp>(ulong* a, ulong* b, nuint n)
        where TOp : struct, IWordOperator
    {
        ulong summary = 0;
        nuint i = 0;
        for (; i + (nuint)Vector512<ulong>.Count <= n; i += (nuint)Vector512<ulong>.Count)
        {
            Vector512<ulong> r = TOp.Apply(Vector512.Load(a + i), Vector512.Load(b + i));
            r.Store(a + i);
            summary |= BitmapKernels.NonZeroLanes(r) << (int)i;
        }

        return ScalarChunk.Tail<TOp>(a, b, i, n, summary);
    }
}

/// <summary>The 256-bit chunk kernel: four words and four summary bits per step.</summary>
internal readonly struct Vector256Chunk : IChunkKernel
{
    public static unsafe ulong Apply<TOp>(ulong* a, ulong* b, nuint n)
        where TOp : struct, IWordOperator
    {
        ulong summary = 0;
        nuint i = 0;
        for (; i + (nuint)Vector256<ulong>.Count <= n; i += (nuint)Vector256<ulong>.Count)
        {
            Vector256<ulong> r = TOp.Apply(Vector256.Load(a + i), Vector256.Load(b + i));
            r.Store(a + i);
            summary |= BitmapKernels.NonZeroLanes(r) << (int)i;
        }

        return ScalarChunk.Tail<TOp>(a, b, i, n, summary);
    }
}

/// <summary>The 128-bit chunk kernel: two words and two summary bits per step.</summary>
internal readonly struct Vector128Chunk : IChunkKernel
{
    public static unsafe ulong Apply<TOp>(ulong* a, ulong* b, nuint n)
        where TOp : struct, IWordOperator
    {
        ulong summary = 0;
        nuint i = 0;
        for (; i + (nuint)Vector128<ulong>.Count <= n; i += (nuint)Vector128<ulong>.Count)
        {
            Vector128<ulong> r = TOp.Apply(Vector128.Load(a + i), Vector128.Load(b + i));
            r.Store(a + i);
            summary |= BitmapKernels.NonZeroLanes(r) << (int)i;
        }

        return ScalarChunk.Tail<TOp>(a, b, i, n, summary);
    }
}
