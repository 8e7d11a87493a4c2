using HotPage.Engine.Records;
using HotPage.Engine.Selection;
using HotPage.Engine.Tables;
using HotPage.Engine.Tunables;
using NUnit.Framework;

namespace HotPage.Engine.Tests;

[TestFixture(CandidateSelection.Heap)]
[TestFixture(CandidateSelection.Bitmap)]
[NonParallelizable]
public class AllocationTests(CandidateSelection selection)
{
    [Test]
    public void RecordDrainAndExtractAllocateNothingInSteadyState()
    {
        EngineTunables tunables = EngineFixture.SmallTunables();
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
    }
}
