using System.Collections.ObjectModel;
using HotPage.Engine;
using HotPage.Engine.Counters;
using HotPage.Engine.Sources;
using HotPage.Interop.Platform;

namespace HotPage.Sources.Tests;

/// <summary>A source feeding the real engine's record path.</summary>
[TestFixture]
[Platform("Linux")]
[NonParallelizable]
public class EngineFeedTests
{
    [Test]
    public void PerfSamplesOfAChildReachTheEngineTaggedAsPerfSamples()
    {
        var topology = new NumaTopology(
            [new NumaNode(0, new ReadOnlyCollection<int>([0, 1]), 1L << 30, 1L << 29, 0), new NumaNode(1, new ReadOnlyCollection<int>([]), 1L << 30, 1L << 29, 1)],
            new[,] { { 10, 20 }, { 20, 10 } });
        using var engine = new HotPageEngine(topology);
        using var child = new Child(64);
        engine.RegisterRegion(child.Pid, child.Base, (ulong)child.Pages << 12);
        using var source = new PerfSamplingSource(new EngineAccessSink(engine), engine.Tunables);
        Assume.That(source.Probe().IsAvailable, Is.True, source.Probe().Reason);
        source.Attach(child.Pid);

        child.Write(0, 64);
        SourceTickResult r = source.Tick(0);
        engine.Drain();
        CounterSnapshot c = engine.GetCounters();

        Assert.That(r.Reported - r.Rejected, Is.EqualTo(64), "the samples inside the registered region are accepted; faults elsewhere in the child (its stack, stdio buffers) are rejected by the engine");
        Assert.That(c["pghot_recorded_perfsamples"], Is.EqualTo(64), "one applied record per first touch, counted under the perf source");
        Assert.That(engine.PageState(child.Pid, child.Base)?.Frequency, Is.EqualTo(1u), "the page has one access in its window");
    }
}
