using FsCheck;
using FsCheck.Fluent;
using HotPage.Engine.Bitmaps;
using NUnit.Framework;

namespace HotPage.Engine.Tests.Bitmaps;

public class PageBitmapPropertyTests
{
    /// <summary>A length near a vector or summary edge, or anywhere up to three level-2 groups' worth.</summary>
    private static readonly Gen<long> s_length = Gen.OneOf(
        Gen.Elements(BitmapReference.EdgeLengths),
        Gen.Choose(0, 5000).Select(n => (long)n),
        Gen.Choose(0, 3 * 64 * 4096).Select(n => (long)n));

    private static readonly Gen<double> s_density = Gen.Elements(0.0, 1e-4, 0.01, 0.1, 0.5, 0.9, 1.0);

    private static readonly Gen<(long Length, double A, double B, int Seed)> s_case =
        from length in s_length
        from a in s_density
        from b in s_density
        from seed in Gen.Choose(0, int.MaxValue)
        select (length, a, b, seed);

    private static readonly Config s_config = Config.QuickThrowOnFailure.WithMaxTest(60);

    [Test]
    public void RandomBitmapsAnswerAsTheLoopReferenceScan()
    {
        Check.One(s_config, Prop.ForAll(Arb.From(s_case), c =>
        {
            bool[] bits = BitmapReference.Random(c.Length, c.A, c.Seed);
            using PageBitmap bitmap = BitmapReference.Build(bits);
            return BitmapReference.Compare(bitmap, bits, c.Seed) is null;
        }));
    }

    [Test]
    public void RandomAndNotMatchesTheLoopReference()
    {
        Check.One(s_config, Prop.ForAll(Arb.From(s_case), c =>
        {
            bool[] a = BitmapReference.Random(c.Length, c.A, c.Seed);
            bool[] b = BitmapReference.Random(c.Length, c.B, c.Seed ^ 0x5555);
            using PageBitmap left = BitmapReference.Build(a);
            using PageBitmap right = BitmapReference.Build(b);
            left.AndNot(right);
            bool[] expected = new bool[c.Length];
            for (long i = 0; i < c.Length; i++)
            {
                expected[i] = a[i] && !b[i];
            }

            return BitmapReference.Compare(left, expected, c.Seed) is null;
        }));
    }
}
