using System.Runtime.Intrinsics;
using HotPage.Engine.Bitmaps;
using NUnit.Framework;

namespace HotPage.Engine.Tests.Bitmaps;

[Platform("Linux")]
public unsafe class BitmapKernelsTests
{
    private static readonly int[] s_kernelLengths = [.. Enumerable.Range(0, 70), 100, 127, 128, 129, 255, 256, 257, 4095, 4096];

    private static IEnumerable<TestCaseData> GuardSides()
    {
        yield return new TestCaseData(false).SetArgDisplayNames("guard page after");
        yield return new TestCaseData(true).SetArgDisplayNames("guard page before");
    }

    [TestCaseSource(nameof(GuardSides))]
    public void IndexOfNonZeroFindsTheFirstNonZeroWordAndReadsNothingOutsideTheRange(bool guardBefore)
    {
        foreach (int length in s_kernelLengths)
        {
            using var buffer = new GuardedBuffer((nuint)length, guardBefore);
            ref ulong words = ref *buffer.Pointer;
            Assert.That(BitmapKernels.IndexOfNonZero(ref words, 0, (nuint)length), Is.EqualTo(-1L), $"all zero, length {length}");

            // One non-zero word at each position, searched from every start up to it and past it.
            for (int at = 0; at < length; at++)
            {
                buffer.Span[at] = 1UL << (at & 63);
                int[] starts = length <= 140 ? [.. Enumerable.Range(0, length + 1)] : [0, 1, at / 2, Math.Max(0, at - 9), at, Math.Min(length, at + 1), length];
                foreach (int start in starts)
                {
                    long expected = start <= at ? at : -1;
                    Assert.That(BitmapKernels.IndexOfNonZero(ref words, (nuint)start, (nuint)length), Is.EqualTo(expected), $"length {length}, word {at}, start {start}");
                }

                buffer.Span[at] = 0;
            }
        }
    }

    [TestCaseSource(nameof(GuardSides))]
    public void PopCountMatchesAWordByWordCountAtEveryLengthAndReadsNothingOutsideTheRange(bool guardBefore)
    {
        var random = new Random(11);
        foreach (int length in s_kernelLengths.Concat([300, 31 * 8, (31 * 8) + 1, (31 * 8 * 3) + 5]))
        {
            using var buffer = new GuardedBuffer((nuint)length, guardBefore);
            foreach (int fill in new[] { 0, 1, 2 })
            {
                long expected = 0;
                for (int i = 0; i < length; i++)
                {
                    buffer.Span[i] = fill switch { 0 => 0, 1 => ulong.MaxValue, _ => (ulong)random.NextInt64() ^ ((ulong)random.NextInt64() << 1) };
                    expected += System.Numerics.BitOperations.PopCount(buffer.Span[i]);
                }

                Assert.That(BitmapKernels.PopCount(ref *buffer.Pointer, (nuint)length), Is.EqualTo(expected), $"length {length}, fill {fill}");
            }
        }
    }

    private static IEnumerable<TestCaseData> GuardedBitmaps()
    {
        foreach (bool guardBefore in new[] { false, true })
        {
            foreach (long length in BitmapReference.EdgeLengths)
            {
                yield return new TestCaseData(length, guardBefore).SetArgDisplayNames(length.ToString(), guardBefore ? "guard before" : "guard after");
            }
        }
    }

    [TestCaseSource(nameof(GuardedBitmaps))]
    public void ABitmapWhoseArraysTouchGuardPagesMatchesTheReference(long length, bool guardBefore)
    {
        var sizes = PageBitmap.TestHookSizes(length);
        using var aWords = new GuardedBuffer(sizes.Words, guardBefore);
        using var aLevel1 = new GuardedBuffer(sizes.Level1, guardBefore);
        using var aLevel2 = new GuardedBuffer(sizes.Level2, guardBefore);
        using var bWords = new GuardedBuffer(sizes.Words, guardBefore);
        using var bLevel1 = new GuardedBuffer(sizes.Level1, guardBefore);
        using var bLevel2 = new GuardedBuffer(sizes.Level2, guardBefore);
        using PageBitmap a = PageBitmap.TestHookCreateOver(length, aWords.Pointer, aLevel1.Pointer, aLevel2.Pointer);
        using PageBitmap b = PageBitmap.TestHookCreateOver(length, bWords.Pointer, bLevel1.Pointer, bLevel2.Pointer);

        int seed = HashCode.Combine(length, guardBefore);
        bool[] x = BitmapReference.Random(length, 0.5, seed);
        bool[] y = BitmapReference.Random(length, 0.2, seed + 1);
        BitmapReference.Fill(a, x);
        BitmapReference.Fill(b, y);
        BitmapReference.AssertMatches(a, x, seed, "filled");

        a.AndNot(b);
        bool[] expected = new bool[length];
        for (long i = 0; i < length; i++)
        {
            expected[i] = x[i] && !y[i];
        }

        BitmapReference.AssertMatches(a, expected, seed, "after AndNot");
        a.Or(b);
        a.And(b);
        BitmapReference.AssertMatches(a, y, seed, "after Or then And");
        a.ClearAll();
        BitmapReference.AssertMatches(a, new bool[length], seed, "after ClearAll");
    }

    [Test]
    public void VectorPathFollowsTheProcessIsaSwitches()
    {
        BitmapVectorPath path = BitmapKernels.VectorPath;
        TestContext.Out.WriteLine($"BitmapKernels.VectorPath = {path}");
        if (Environment.GetEnvironmentVariable("DOTNET_EnableHWIntrinsic") == "0")
        {
            Assert.That(path, Is.EqualTo(BitmapVectorPath.Scalar), "hardware intrinsics off: the scalar path");
        }
        else if (Environment.GetEnvironmentVariable("DOTNET_EnableAVX2") == "0")
        {
            Assert.That(path, Is.LessThanOrEqualTo(BitmapVectorPath.Vector128), "AVX2 off: at most 128-bit vectors");
        }
        else if (Environment.GetEnvironmentVariable("DOTNET_EnableAVX512") == "0")
        {
            Assert.That(path, Is.LessThanOrEqualTo(BitmapVectorPath.Vector256), "AVX-512 off: at most 256-bit vectors");
        }

        BitmapVectorPath expected = Vector512.IsHardwareAccelerated ? BitmapVectorPath.Vector512
            : Vector256.IsHardwareAccelerated ? BitmapVectorPath.Vector256
            : Vector128.IsHardwareAccelerated ? BitmapVectorPath.Vector128
            : BitmapVectorPath.Scalar;
        Assert.That(path, Is.EqualTo(expected), "the reported path is the widest accelerated width");
    }
}
