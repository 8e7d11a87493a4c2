using HotPage.Engine.Native;
using HotPage.Engine.Selection;
using NUnit.Framework;

namespace HotPage.Engine.Tests;

[TestFixture]
public unsafe class NativeMemoryTests
{
    private const long HugePage = 2 << 20;

    [Test]
    public void LargeArraysAreHugePageAlignedZeroedAndAdvisedWhereTheKernelAllows()
    {
        var counter = new NativeMemoryCounter();
        using (var array = new NativeArray<uint>(2 << 20, counter, "a test table"))
        {
            Assert.That((long)array.Pointer % HugePage, Is.EqualTo(0), "2 MiB aligned, so huge pages can back it from its first byte");
            Assert.That(counter.Bytes, Is.EqualTo(8L << 20), "the counter holds the bytes asked for");
            Assert.That(array[0] | array[(2 << 20) - 1] | array[12345], Is.EqualTo(0u));
            const string Thp = "/sys/kernel/mm/transparent_hugepage/enabled";
            if (OperatingSystem.IsLinux() && File.Exists(Thp) && !File.ReadAllText(Thp).Contains("[never]", StringComparison.Ordinal))
            {
                Assert.That(array.HugePages, Is.True, "THP is madvise or always here: the hint must be accepted");
            }
        }

        Assert.That(counter.Bytes, Is.EqualTo(0));
    }

    // A candidate structure that cannot be allocated (here: far more entries than memory, or than
    // the stacks take) fails the table's constructor after its words and bits were allocated: the
    // constructor must free them, or every failed engine start would leak the table.
    [TestCase(CandidateSelection.Heap)]
    [TestCase(CandidateSelection.Stacks)]
    public void ATableWhoseCandidateStructureFailsToAllocateFreesWhatItHadAllocated(CandidateSelection selection)
    {
        var counter = new NativeMemoryCounter();
        Assert.That(
            () => new HotPage.Engine.Tables.HotnessTable(1 << 20, [0], 2, maxCandidates: 1L << 45, counter, selection),
            Throws.InstanceOf<OutOfMemoryException>().Or.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(counter.Allocations, Is.EqualTo(0), "no native allocation outlives the failed constructor");
        Assert.That(counter.Bytes, Is.EqualTo(0));
    }

    [Test]
    public void SmallArraysAreNotAdvised()
    {
        using var array = new NativeArray<ulong>(1024, new NativeMemoryCounter(), "a small array");
        Assert.That(array.HugePages, Is.False);
        Assert.That((long)array.Pointer % NativeArray<ulong>.Alignment, Is.EqualTo(0));
    }

    // Sizes around sibling-group edges: the sift-down reads whole groups of eight, relying on the
    // slots past the count being 0 (pops, compaction and clear must keep them so).
    [TestCase(1)]
    [TestCase(8)]
    [TestCase(9)]
    [TestCase(73)]
    [TestCase(1000)]
    public void TheHeapPopsEveryKeyLargestFirstThroughPushesPopsCompactionAndClear(int count)
    {
        using var heap = new CandidateHeap(count, new NativeMemoryCounter());
        var random = new Random(count);
        var keys = new List<ulong>();
        for (int round = 0; round < 3; round++)
        {
            while (heap.Count < count)
            {
                ulong key = CandidateHeap.MakeKey((uint)random.Next(1, 8), (uint)random.Next(1 << 19), random.Next(1 << 30));
                Assert.That(heap.TryPush(key), Is.True);
                keys.Add(key);
            }

            // Pop half, then compact away the odd pages, then check what is left pops in order.
            var popped = new List<ulong>();
            for (int i = 0; i < count / 2 && heap.TryPop(out ulong k); i++)
            {
                popped.Add(k);
            }

            keys.Sort();
            keys.Reverse();
            Assert.That(popped, Is.EqualTo(keys.Take(popped.Count)), "largest first");
            keys.RemoveRange(0, popped.Count);
            var even = new EvenPages();
            heap.Compact(ref even);
            keys.RemoveAll(k => (CandidateHeap.KeyPage(k) & 1) != 0);
            Assert.That(heap.Count, Is.EqualTo(keys.Count));
            if (round == 1)
            {
                heap.Clear();
                keys.Clear();
            }
        }

        var rest = new List<ulong>();
        while (heap.TryPop(out ulong k))
        {
            rest.Add(k);
        }

        keys.Sort();
        keys.Reverse();
        Assert.That(rest, Is.EqualTo(keys));
    }

    private struct EvenPages : IKeyFilter
    {
        public readonly bool Keep(ulong key) => (CandidateHeap.KeyPage(key) & 1) == 0;

        public readonly void Prefetch(ulong key)
        {
        }
    }
}
