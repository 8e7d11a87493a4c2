using HotPage.Engine.Records;
using HotPage.Engine.Tunables;
using HotPage.Interop.Platform;

namespace HotPage.Engine.Tests;

/// <summary>Builds small engines for tests: a fresh one per test.</summary>
internal static class EngineFixture
{
    public const ulong Base = 0x7f00_0000_0000;
    public const int Pages = 4096;

    public static EngineTunables SmallTunables(int ringCapacity = 1024, long maxCandidates = 4096, int producerRings = 16)
    {
        var t = new EngineTunables();
        t.Set("max_tracked_pages", 1 << 16);
        t.Set("ring_capacity", ringCapacity);
        t.Set("max_candidates", maxCandidates);
        t.Set("producer_rings", producerRings);
        return t;
    }

    public static HotPageEngine Create(NumaTopology? topology = null, EngineTunables? tunables = null, IMemoryPlatform? platform = null, TimeProvider? time = null)
    {
        var engine = new HotPageEngine(topology ?? TestTopologies.TwoTier(), tunables ?? SmallTunables(), platform, time);
        engine.RegisterRegion(Base, Pages * 4096UL);
        return engine;
    }

    public static ulong Addr(long page) => Base + ((ulong)page * 4096) + 123;

    public static void Record(this HotPageEngine engine, long page, int nid, ulong timeMs) =>
        NUnit.Framework.Assert.That(engine.RecordAccess(Addr(page), nid, AccessSource.Application, timeMs), NUnit.Framework.Is.EqualTo(RecordResult.Recorded));
}
