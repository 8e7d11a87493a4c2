using HotPage.Engine.Bitmaps;
using HotPage.Engine.Selection;
using HotPage.Engine.Tables;
using HotPage.Engine.Tunables;
using NUnit.Framework;

namespace HotPage.Engine.Tests;

/// <summary>What only the bitmap strategy has: no capacity, order within a frequency level, its memory.</summary>
[TestFixture]
public class BitmapSelectionTests
{
    private static HotPageEngine Create(long maxCandidates = 4096)
    {
        EngineTunables t = EngineFixture.SmallTunables(maxCandidates: maxCandidates);
        t.Set("selection", (long)CandidateSelection.Bitmap);
        return EngineFixture.Create(tunables: t);
    }

    [Test]
    public void TheBitmapsHaveNoCapacityLimitSoNoCandidateIsDropped()
    {
        using HotPageEngine engine = Create(maxCandidates: 1024);
        for (int page = 0; page < 1500; page++)
        {
            engine.Record(page, 0, 100);
            engine.Record(page, 0, 101);
            engine.Drain();
        }

        var c = engine.GetCounters();
        Assert.That(c["pghot_candidates"], Is.EqualTo(1500), "max_candidates sizes heaps only");
        Assert.That(c["kpromoted_dropped"], Is.EqualTo(0));
        Assert.That(engine.QueuedCandidates(0), Is.EqualTo(1500));
        Assert.That(engine.ExtractCandidates(0, new PromotionCandidate[2048], 102), Is.EqualTo(1500), "each page once");
        Assert.That(engine.QueuedCandidates(0), Is.EqualTo(0));
    }

    [Test]
    public void ClimbingPagesLeaveNoStaleMarks()
    {
        using HotPageEngine engine = Create();
        for (int round = 0; round < 7; round++)
        {
            for (int page = 0; page < 200; page++)
            {
                engine.Record(page, 0, (ulong)(100 + round));
            }

            engine.Drain();
        }

        var batch = new PromotionCandidate[512];
        Assert.That(engine.ExtractCandidates(0, batch, 110), Is.EqualTo(200), "each page once, though it was marked at six levels in turn");
        Assert.That(batch.Take(200).All(b => b.Frequency == 7), Is.True);
        Assert.That(engine.GetCounters()["pghot_heap_stale"], Is.EqualTo(0), "a mark moves with its word: nothing goes stale");
    }

    [Test]
    public void WithinALevelExtractionContinuesWhereTheLastOneStopped()
    {
        using HotPageEngine engine = Create();
        for (int page = 0; page < 10; page++)
        {
            engine.Record(page, 0, 100);
            engine.Record(page, 0, 100);
        }

        engine.Drain();
        var batch = new PromotionCandidate[4];
        Assert.That(engine.ExtractCandidates(0, batch, 101), Is.EqualTo(4));
        Assert.That(batch.Select(b => b.Page).Order(), Is.EqualTo(new long[] { 0, 1, 2, 3 }), "address order from the start");
        foreach (PromotionCandidate b in batch)
        {
            Assert.That(engine.Requeue(b.Page), Is.True, "busy: back in its level");
        }

        Assert.That(engine.ExtractCandidates(0, batch, 101), Is.EqualTo(4));
        Assert.That(batch.Select(b => b.Page).Order(), Is.EqualTo(new long[] { 4, 5, 6, 7 }), "the cursor moved on: requeued pages wait their turn");
        Assert.That(engine.ExtractCandidates(0, batch, 101), Is.EqualTo(4));
        Assert.That(batch.Select(b => b.Page).Order(), Is.EqualTo(new long[] { 0, 1, 8, 9 }), "wrapping around after the last page");
    }

    [Test]
    public void EachTopTierNodeGetsSevenBitmapsAndNoHeap()
    {
        EngineTunables heapTunables = EngineFixture.SmallTunables();
        heapTunables.Set("selection", (long)CandidateSelection.Heap); // what the bitmaps' memory is compared with
        using HotPageEngine heap = EngineFixture.Create(tunables: heapTunables);
        using HotPageEngine bitmap = Create();
        using var one = new PageBitmap(bitmap.Capacity);
        long heapBytes = (4096 + (CandidateHeap.Arity - 1) + CandidateHeap.Arity) * sizeof(ulong); // TwoTier: one top-tier node, max_candidates 4096 keys, the line-alignment pad (Arity - 1) and one whole sibling group past the end
        Assert.That(bitmap.Selection, Is.EqualTo(CandidateSelection.Bitmap));
        Assert.That(bitmap.Memory.Bytes - heap.Memory.Bytes, Is.EqualTo((7 * one.NativeBytes) - heapBytes), "7 bitmaps of the table's length replace the heap");
        Assert.That(one.NativeBytes, Is.LessThan((bitmap.Capacity / 8) + (bitmap.Capacity / 512) + 128), "1 + 1/64 + 1/4096 bits per page");
    }

    [Test]
    public void DisposingTheEngineFreesEveryBitmap()
    {
        HotPageEngine engine = Create();
        engine.Record(1, 0, 100);
        engine.Record(1, 0, 101);
        engine.Drain();
        var memory = engine.Memory;
        Assert.That(memory.Bytes, Is.GreaterThan(7 * engine.Capacity / 8));
        engine.Dispose();
        Assert.That(memory.Bytes, Is.EqualTo(0));
        Assert.That(memory.Allocations, Is.EqualTo(0));
    }
}
