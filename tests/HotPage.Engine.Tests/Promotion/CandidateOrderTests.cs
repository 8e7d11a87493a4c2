using HotPage.Engine.Promotion;
using HotPage.Engine.Tables;
using NUnit.Framework;

namespace HotPage.Engine.Tests.Promotion;

/// <summary>
/// The promoter's packed-key order of a batch (<see cref="CandidateOrder"/>) against the comparison
/// sort it replaces: by pid, then ascending address, every candidate kept once.
/// </summary>
[TestFixture]
public class CandidateOrderTests
{
    private const ulong Base = 0x7f00_0000_0000;

    // The promoter's sort before the packed keys, kept here as the specification.
    private static PromotionCandidate[] ByComparison(PromotionCandidate[] batch)
    {
        PromotionCandidate[] sorted = [.. batch];
        sorted.AsSpan().Sort(static (x, y) => x.Pid != y.Pid ? x.Pid.CompareTo(y.Pid) : x.Address.CompareTo(y.Address));
        return sorted;
    }

    private static PromotionCandidate[] ByKeys(PromotionCandidate[] batch)
    {
        PromotionCandidate[] pages = [.. batch];
        var other = new PromotionCandidate[batch.Length + 3]; // longer than needed, as the promoter's buffers are
        var keys = new ulong[batch.Length + 3];
        var scratch = new ulong[batch.Length + 3];
        return CandidateOrder.ByProcessAndAddress(pages, keys, scratch, other).ToArray();
    }

    private static void AssertOrdered(PromotionCandidate[] batch, string because)
    {
        PromotionCandidate[] expected = ByComparison(batch);
        PromotionCandidate[] actual = ByKeys(batch);
        Assert.That(actual.Select(c => (c.Pid, c.Address)), Is.EqualTo(expected.Select(c => (c.Pid, c.Address))), because);
        Assert.That(actual.Select(c => c.Page).Order(), Is.EqualTo(batch.Select(c => c.Page).Order()), $"every candidate once: {because}");
        // Equal (pid, address): batch order (pages are numbered in batch order below).
        for (int i = 1; i < actual.Length; i++)
        {
            if (actual[i].Pid == actual[i - 1].Pid && actual[i].Address == actual[i - 1].Address)
            {
                Assert.That(actual[i].Page, Is.GreaterThan(actual[i - 1].Page), $"ties in batch order: {because}");
            }
        }
    }

    private static PromotionCandidate[] Batch(Random rng, int n, Func<Random, int> pid, Func<Random, ulong> address) =>
        [.. Enumerable.Range(0, n).Select(i => new PromotionCandidate { Page = i, Pid = pid(rng), Address = address(rng), TargetNode = rng.Next(2), Frequency = 2 })];

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    [TestCase(4096)]
    public void OneProcessPageAlignedAsTheComparisonOrdersIt(int n)
    {
        var rng = new Random(n);
        AssertOrdered(Batch(rng, n, _ => 0, r => Base + ((ulong)r.Next(0, 1 << 20) * 4096)), "random pages");
        AssertOrdered(Batch(rng, n, _ => 0, r => Base + ((ulong)r.Next(0, 8) * 4096)), "few pages: many ties");
        PromotionCandidate[] descending = [.. Enumerable.Range(0, n).Select(i => new PromotionCandidate { Page = i, Address = Base + ((ulong)(n - i) * 4096) })];
        AssertOrdered(descending, "descending, as a stack returns pages reported in address order");
        AssertOrdered([.. descending.Reverse()], "ascending");
    }

    [TestCase(11)]
    [TestCase(12)]
    [TestCase(13)]
    public void SeveralProcessesAsTheComparisonOrdersThem(int seed)
    {
        var rng = new Random(seed);
        int[] pids = [0, 1, 77, 4_194_303, 31_337]; // 4194303: the largest pid Linux hands out
        ulong[] bases = [0x5555_0000_0000, 0x7ffc_0000_0000, 0x1000, 0x00ff_ffff_ffff_f000 /* 5-level paging's top page */];
        for (int n = 1; n < 3000; n = (n * 3) + 1)
        {
            AssertOrdered(Batch(rng, n, r => pids[r.Next(pids.Length)], r => bases[r.Next(bases.Length)] + ((ulong)r.Next(0, 64) * 4096 % 0x1000_0000)), $"n {n}");
        }
    }

    [TestCase(21)]
    [TestCase(22)]
    public void ExtremeValuesNoRegisteredPageHasAreOrderedAsTheComparisonOrdersThem(int seed)
    {
        var rng = new Random(seed);
        int[] pids = [int.MinValue, -1, 0, 1, int.MaxValue];
        ulong[] addresses = [0, 1, 4095, 4096, 0x8000_0000_0000_0000, ulong.MaxValue - 1, ulong.MaxValue];
        ulong AnyAddress(Random r) => r.Next(3) switch
        {
            0 => addresses[r.Next(addresses.Length)],
            1 => (ulong)r.NextInt64() ^ ((ulong)r.Next(2) << 63), // unaligned, the whole range: the comparison path
            _ => (ulong)r.Next(0, 100) << 12,
        };

        for (int n = 1; n < 3000; n = (n * 3) + 1)
        {
            AssertOrdered(Batch(rng, n, r => pids[r.Next(pids.Length)], AnyAddress), $"extreme pids and addresses, n {n}");
            AssertOrdered(Batch(rng, n, _ => 5, AnyAddress), $"one pid, extreme addresses, n {n}");
            AssertOrdered(Batch(rng, n, r => pids[r.Next(pids.Length)], r => (ulong)r.Next(0, 5) * 7), $"extreme pids, small unaligned addresses, n {n}");
        }
    }
}
