using HotPage.Engine.Native;
using HotPage.Engine.Rings;
using HotPage.Engine.Selection;
using HotPage.Engine.Tables;
using NUnit.Framework;

namespace HotPage.Engine.Tests;

/// <summary>
/// The consumer never faults on a record whose target is not a top-tier node. Producers never
/// write one; the consumer could only read one from a slot whose stores it does not see yet (all
/// zeros: page 0, target 0), through a producer handle misused from two threads on a weakly
/// ordered CPU. Such a record is applied as any other, and its page does not become a candidate.
/// </summary>
[TestFixture(CandidateSelection.Heap)]
[TestFixture(CandidateSelection.Bitmap)]
[TestFixture(CandidateSelection.Stacks)]
public class TableTargetGuardTests(CandidateSelection selection)
{
    [Test]
    public void ARecordForANodeThatIsNotATargetIsAppliedWithoutMakingACandidate()
    {
        // Node 1 is the only top-tier node; node 0 (what an unwritten slot says) is not.
        using var table = new HotnessTable(1024, [1], 2, maxCandidates: 64, new NativeMemoryCounter(), selection)
        {
            Window = 5000,
            Threshold = 2,
        };
        var records = new StagedRecord[4];
        for (int i = 0; i < records.Length; i++)
        {
            records[i] = new StagedRecord { Page = 0, Target = 0, TimeMs = 100 + (uint)i };
        }

        Assert.That(() => table.Apply(records), Throws.Nothing);

        Assert.That(table.Applied, Is.EqualTo(4));
        Assert.That(table.IsCandidate(0), Is.False);
        Assert.That(table.CandidateCount, Is.EqualTo(0));
        Assert.That(table.HeapFullDropped, Is.EqualTo(3), "each push at or above the threshold (frequencies 2, 3, 4) is refused and counted");
        Assert.That(PageWord.Frequency(table.Word(0)), Is.EqualTo(4), "the record itself is applied");
        Span<long> pages = stackalloc long[8];
        Span<uint> words = stackalloc uint[8];
        Assert.That(table.Extract(1, pages, words, 110), Is.EqualTo(0));
        Assert.That(table.Extract(0, pages, words, 110), Is.EqualTo(0));

        // A good record for the same page afterwards starts a new window on node 1 and makes it a candidate.
        records[0] = new StagedRecord { Page = 0, Target = 1, TimeMs = 200 };
        records[1] = new StagedRecord { Page = 0, Target = 1, TimeMs = 201 };
        table.Apply(records.AsSpan(0, 2));
        Assert.That(table.IsCandidate(0), Is.True);
        Assert.That(table.Extract(1, pages, words, 210), Is.EqualTo(1));
        Assert.That(pages[0], Is.EqualTo(0));
    }
}
