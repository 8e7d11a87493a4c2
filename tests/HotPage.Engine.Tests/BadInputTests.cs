using HotPage.Engine.Records;
using NUnit.Framework;

namespace HotPage.Engine.Tests;

[TestFixture]
public class BadInputTests
{
    private static void AssertNothingChanged(HotPageEngine engine, long recordedBefore)
    {
        engine.Drain();
        var c = engine.GetCounters();
        Assert.That(c["pghot_records_applied"], Is.EqualTo(recordedBefore), "a rejected report must not reach the table");
        Assert.That(engine.PageState(0, EngineFixture.Addr(1))!.Value.Frequency, Is.EqualTo(1u), "the page's state is what it was");
    }

    [TestCase(0u)]
    [TestCase(8u)]
    [TestCase(uint.MaxValue)]
    public void AnUnknownSourceIsRejectedAndCounted(uint source)
    {
        using HotPageEngine engine = EngineFixture.Create();
        engine.Record(1, 0, 100);
        Assert.That(engine.RecordAccess(EngineFixture.Addr(1), 0, (AccessSource)source, 101), Is.EqualTo(RecordResult.InvalidSource));
        AssertNothingChanged(engine, 1);
        Assert.That(engine.GetCounters()["pghot_rejected_source"], Is.EqualTo(1));
    }

    [TestCase(-2)]
    [TestCase(2)]
    [TestCase(1023)]
    [TestCase(int.MaxValue)]
    [TestCase(int.MinValue)]
    public void ANodeOutOfRangeIsRejectedAndCounted(int nid)
    {
        using HotPageEngine engine = EngineFixture.Create();
        engine.Record(1, 0, 100);
        Assert.That(engine.RecordAccess(EngineFixture.Addr(1), nid, AccessSource.Application, 101), Is.EqualTo(RecordResult.InvalidNode));
        AssertNothingChanged(engine, 1);
        Assert.That(engine.GetCounters()["pghot_rejected_node"], Is.EqualTo(1));
    }

    [TestCase(0UL)]
    [TestCase(EngineFixture.Base - 1)]
    [TestCase(EngineFixture.Base + (EngineFixture.Pages * 4096UL))]
    [TestCase(ulong.MaxValue)]
    public void AnAddressOutsideRegisteredMemoryIsRejectedAndCounted(ulong address)
    {
        using HotPageEngine engine = EngineFixture.Create();
        engine.Record(1, 0, 100);
        Assert.That(engine.RecordAccess(address, 0, AccessSource.Application, 101), Is.EqualTo(RecordResult.OutsideTrackedMemory));
        AssertNothingChanged(engine, 1);
        Assert.That(engine.GetCounters()["pghot_rejected_address"], Is.EqualTo(1));
    }

    [Test]
    public void AnotherProcessesAddressIsNotThisProcesses()
    {
        using HotPageEngine engine = EngineFixture.Create();
        Assert.That(engine.RecordAccess(42, EngineFixture.Addr(1), 0, AccessSource.Application, 1), Is.EqualTo(RecordResult.OutsideTrackedMemory));
    }

    [Test]
    public void ABatchRejectsBadRecordsOneByOneAndKeepsTheRest()
    {
        using HotPageEngine engine = EngineFixture.Create();
        AccessRecord[] batch =
        [
            new(EngineFixture.Addr(1), 0, AccessSource.Application, 10),
            new(EngineFixture.Addr(1), 5, AccessSource.Application, 11),
            new(EngineFixture.Addr(1), 0, (AccessSource)99, 12),
            new(1, 0, AccessSource.Application, 13),
            new(EngineFixture.Addr(1), 0, AccessSource.Application, 14),
        ];
        BatchResult result = engine.RecordAccesses(batch);
        Assert.That(result, Is.EqualTo(new BatchResult(2, 0, 3)));
        engine.Drain();
        Assert.That(engine.PageState(0, EngineFixture.Addr(1))!.Value.Frequency, Is.EqualTo(2u));
        var c = engine.GetCounters();
        Assert.That(c["pghot_rejected"], Is.EqualTo(3));
        Assert.That(c["pghot_recorded_accesses"], Is.EqualTo(5));
    }

    [Test]
    public void AMisalignedRegionIsRefusedWithAMessageAndChangesNothing()
    {
        using HotPageEngine engine = EngineFixture.Create();
        var ex = Assert.Throws<ArgumentException>(() => engine.RegisterRegion(0x1001, 4096));
        Assert.That(ex!.Message, Does.Contain("page boundary"));
        Assert.That(engine.Regions, Has.Count.EqualTo(1));
    }

    [Test]
    public void AnOverlappingRegionIsRefusedWithAMessageNamingTheOtherRegion()
    {
        using HotPageEngine engine = EngineFixture.Create();
        var ex = Assert.Throws<ArgumentException>(() => engine.RegisterRegion(EngineFixture.Base + 4096, 4096));
        Assert.That(ex!.Message, Does.Contain("overlaps region"));
        Assert.That(engine.Regions, Has.Count.EqualTo(1));
    }

    [Test]
    public void ARegionLargerThanTheTableIsRefusedNamingTheTunable()
    {
        using HotPageEngine engine = EngineFixture.Create();
        var ex = Assert.Throws<InvalidOperationException>(() => engine.RegisterRegion(0x1_0000_0000_0000, 1UL << 40));
        Assert.That(ex!.Message, Does.Contain("max_tracked_pages"));
    }

    [Test]
    public void UnregisteringARegionForgetsItsPagesAndFreesItsRange()
    {
        using HotPageEngine engine = EngineFixture.Create();
        engine.Record(1, 0, 10);
        engine.Record(1, 0, 11);
        Assert.That(engine.UnregisterRegion(engine.Regions[0].Id), Is.True);
        Assert.That(engine.RecordAccess(EngineFixture.Addr(1), 0, AccessSource.Application, 12), Is.EqualTo(RecordResult.OutsideTrackedMemory));
        Assert.That(engine.CandidateCount, Is.EqualTo(0));
        engine.RegisterRegion(EngineFixture.Base, EngineFixture.Pages * 4096UL);
        Assert.That(engine.PageState(0, EngineFixture.Addr(1)), Is.Null, "a re-registered range starts empty");
        Assert.That(engine.UnregisterRegion(12345), Is.False);
    }
}
