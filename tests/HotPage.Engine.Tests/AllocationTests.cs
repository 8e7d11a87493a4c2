using HotPage.Engine.Records;
using HotPage.Engine.Selection;
using HotPage.Engine.Tables;
using HotPage.Engine.Tunables;
using NUnit.Framework;

namespace HotPage.Engine.Tests;

[TestFixture(CandidateSelection.Heap)]
[TestFixture(CandidateSelection.Bitmap)]
[TestFixture(CandidateSelection.Stacks)]
[NonParallelizable]
public class AllocationTests(CandidateSelection selection)
{
    // 16: the thread records on a ring of its own; 0: on the shared per-CPU rings.
    [TestCase(16)]
    [TestCase(0)]
    public void RecordDrainAndExtractAllocateNothingInSteadyState(int producerRings)
    {
        EngineTunables tunables = EngineFixture.SmallTunables(producerRings: producerRings);
        tunables.Set("selection", (long)selection);
        using HotPageEngine engine = EngineFixture.Create(tunables: tunables);
        Assert.That(engine.Selection, Is.EqualTo(selection));
        var batch = new AccessRecord[64];
        for (int i = 0; i < batch.Length; i++)
        {
            batch[i] = new AccessRecord(EngineFixture.Addr(i * 7), 0, AccessSource.Application, 0);
        }

        var candidates = new PromotionCandidate[512];
        void Round(int round)
        {
            for (int i = 0; i < 1000; i++)
            {
                engine.RecordAccess(EngineFixture.Addr((i * 13) % EngineFixture.Pages), -1, AccessSource.Application, (ulong)(1000 + round));
                engine.RecordAccess(EngineFixture.Addr(i % 50), 0, AccessSource.PerfSample);
            }

            engine.RecordAccesses(batch);
            engine.Drain();
            engine.ExtractCandidates(0, candidates);
        }

        for (int r = 0; r < 5; r++)
        {
            Round(r); // warm-up: JIT, tiering
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int r = 5; r < 50; r++)
        {
            Round(r);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(allocated, Is.EqualTo(0), "the record, drain and extract paths must not allocate");
        Assert.That(engine.ProducerRingCount, Is.EqualTo(Math.Min(1, producerRings)), "the path under test was the one meant");
    }

    [Test]
    public void AThreadAlternatingBetweenTwoEnginesAllocatesNothingInSteadyState()
    {
        using HotPageEngine a = EngineFixture.Create();
        using HotPageEngine b = EngineFixture.Create();
        var batch = new AccessRecord[16];
        for (int i = 0; i < batch.Length; i++)
        {
            batch[i] = new AccessRecord(EngineFixture.Addr(i), 0, AccessSource.Application, 1);
        }

        void Round()
        {
            for (int i = 0; i < 100; i++)
            {
                a.RecordAccess(EngineFixture.Addr(i), 0, AccessSource.Application, 1);
                b.RecordAccesses(batch);
            }

            a.Drain();
            b.Drain();
        }

        Round(); // each engine creates this thread's ring once
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int r = 0; r < 20; r++)
        {
            Round();
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.EqualTo(0), "finding the thread's ring again must not allocate");
    }
}
