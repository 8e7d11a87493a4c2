using FsCheck;
using FsCheck.Fluent;
using HotPage.Engine.Native;
using HotPage.Engine.Selection;
using NUnit.Framework;

namespace HotPage.Engine.Tests;

/// <summary><see cref="CandidateStacks"/> against a plain model: a list per frequency level, LIFO, bounded in total.</summary>
[TestFixture]
public class CandidateStacksTests
{
    private static ulong Key(uint frequency, uint time, long page) => CandidateHeap.MakeKey(frequency, time, page);

    /// <summary>Keeps the keys whose page is not in a set (the table's "is this entry still valid" in miniature).</summary>
    private readonly struct DropPages(HashSet<long> dropped) : IKeyFilter
    {
        public bool Keep(ulong key) => !dropped.Contains(CandidateHeap.KeyPage(key));

        public void Prefetch(ulong key)
        {
        }
    }

    private sealed class Model(long capacity)
    {
        public readonly List<ulong>[] Levels = Enumerable.Range(0, 8).Select(_ => new List<ulong>()).ToArray();

        public long Count => Levels.Sum(l => (long)l.Count);

        public bool Push(ulong key)
        {
            if (Count == capacity)
            {
                return false;
            }

            Levels[CandidateHeap.KeyFrequency(key)].Add(key);
            return true;
        }

        public List<ulong> Pop(int n)
        {
            var popped = new List<ulong>();
            for (int l = 7; l >= 1 && popped.Count < n; l--)
            {
                List<ulong> level = Levels[l];
                while (level.Count > 0 && popped.Count < n)
                {
                    popped.Add(level[^1]);
                    level.RemoveAt(level.Count - 1);
                }
            }

            return popped;
        }

        public long Compact(HashSet<long> dropped)
        {
            long removed = 0;
            foreach (List<ulong> level in Levels)
            {
                removed += level.RemoveAll(k => dropped.Contains(CandidateHeap.KeyPage(k)));
            }

            return removed;
        }
    }

    /// <summary>One operation: push a burst (frequency 1..7, mostly 3; pages from p), pop n, or compact away the pages ≡ r mod 5.</summary>
    private static Gen<(int Kind, int A, int B)> Op =>
        Gen.Frequency(
            (12, from f in Gen.Frequency((1, Gen.Choose(1, 7)), (3, Gen.Constant(3))) from p in Gen.Choose(0, 4000) select (0, f, p)), // level 3 mostly: chains of several segments
            (1, from n in Gen.Frequency((9, Gen.Choose(1, 24)), (1, Gen.Choose(25, 1500))) select (1, n, 0)), // mostly small: the pool fills
            (1, from r in Gen.Choose(0, 4) select (2, r, 0)));

    [Test]
    public void PushPopAndCompactMatchAModelOfSevenBoundedLifoLists()
    {
        Gen<(int, int, int)[]> ops = Gen.ArrayOf(Op, 3000);
        Prop.ForAll(Arb.From(ops), Arb.From(Gen.Elements(1024L, 1500L, 2048L)), (program, capacity) =>
        {
            var counter = new NativeMemoryCounter();
            using var stacks = new CandidateStacks(capacity, counter);
            var model = new Model(capacity);
            uint time = 0;
            var buffer = new ulong[1500];
            foreach ((int kind, int a, int b) in program)
            {
                switch (kind)
                {
                    case 0:
                        for (int page = b; page <= b + (b % 48); page++) // a burst of 1..48 pushes at one level: the pools fill
                        {
                            ulong key = Key((uint)a, time++ & 0x7FFFF, page);
                            Assert.That(stacks.TryPush(key), Is.EqualTo(model.Push(key)), "a push fits exactly while fewer than Capacity keys are held");
                        }

                        break;
                    case 1:
                        List<ulong> expected = model.Pop(a);
                        int n = stacks.Pop(buffer.AsSpan(0, a));
                        Assert.That(buffer.Take(n), Is.EqualTo(expected), "highest level first, latest push first");
                        break;
                    default:
                        var dropped = Enumerable.Range(0, 4100).Where(p => p % 5 == a).Select(p => (long)p).ToHashSet();
                        var filter = new DropPages(dropped);
                        Assert.That(stacks.Compact(ref filter), Is.EqualTo(model.Compact(dropped)));
                        break;
                }

                Assert.That(stacks.Count, Is.EqualTo(model.Count));
            }

            for (uint f = 1; f <= 7; f++)
            {
                Assert.That(stacks.CountAt(f), Is.EqualTo(model.Levels[f].Count), $"level {f}");
            }

            List<ulong> rest = model.Pop(int.MaxValue);
            var all = new ulong[rest.Count + 1];
            Assert.That(stacks.Pop(all), Is.EqualTo(rest.Count));
            Assert.That(all.Take(rest.Count), Is.EqualTo(rest), "the order survives compactions");
        }).QuickCheckThrowOnFailure();
    }

    [Test]
    public void EverySlotOfTheCapacityIsUsableWhateverTheLevelsHold()
    {
        // 1024 keys = 2 segments; the seven levels' partly filled tops need 6 segments more.
        using var stacks = new CandidateStacks(1024, new NativeMemoryCounter());
        int pushed = 0;
        for (int i = 0; pushed < 1024; i++)
        {
            uint f = (uint)(1 + (i % 7));
            Assert.That(stacks.TryPush(Key(f, 1, i)), Is.True, $"push {i} of 1024");
            pushed++;
        }

        Assert.That(stacks.TryPush(Key(7, 1, 5000)), Is.False, "full at exactly max_candidates keys");
        Assert.That(stacks.Count, Is.EqualTo(1024));
        Assert.That(stacks.Pop(new ulong[100]), Is.EqualTo(100));
        for (int i = 0; i < 100; i++)
        {
            Assert.That(stacks.TryPush(Key(1, 2, 6000 + i)), Is.True, "popped slots are free again, in any level");
        }

        Assert.That(stacks.TryPush(Key(1, 2, 7000)), Is.False);
    }

    [Test]
    public void ItsMemoryIsThePoolOfSegmentsAndTheirLinksCountedAndFreedOnce()
    {
        var counter = new NativeMemoryCounter();
        var stacks = new CandidateStacks(1 << 20, counter);
        long segments = ((1 << 20) / CandidateStacks.SegmentKeys) + 6;
        Assert.That(counter.Bytes, Is.EqualTo(CandidateStacks.BytesFor(1 << 20)));
        Assert.That(CandidateStacks.BytesFor(1 << 20), Is.EqualTo((segments * CandidateStacks.SegmentKeys * 8) + (segments * 8)));
        Assert.That(counter.Bytes, Is.LessThan((8L << 20) + (64 << 10)), "8 MiB for 1 Mi keys, plus under 64 KiB");
        stacks.Dispose();
        stacks.Dispose();
        Assert.That(counter.Bytes, Is.EqualTo(0));
        Assert.That(counter.Allocations, Is.EqualTo(0));
    }

    [Test]
    public void PopsTakeTheHighestLevelFirstThenItsLatestPushes()
    {
        using var stacks = new CandidateStacks(1 << 16, new NativeMemoryCounter());
        for (int i = 0; i < 5000; i++)
        {
            stacks.TryPush(Key(3, (uint)i, i));
        }

        stacks.TryPush(Key(6, 0, 99_999));
        var buffer = new ulong[3];
        Assert.That(stacks.Pop(buffer), Is.EqualTo(3));
        Assert.That(buffer.Select(CandidateHeap.KeyPage), Is.EqualTo(new long[] { 99_999, 4999, 4998 }), "level 6, then level 3 from its top");
        Assert.That(stacks.CountAt(3), Is.EqualTo(4998));
    }
}
