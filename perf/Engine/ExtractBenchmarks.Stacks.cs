using BenchmarkDotNet.Attributes;
using HotPage.Engine;
using HotPage.Engine.Selection;
using HotPage.Engine.Tables;

namespace HotPage.Perf.Engine;

/// <summary>
/// The same extraction with the stack selection strategy (<c>selection=2</c>): the same tunables,
/// priming stream and requeueing as <see cref="EngineExtract512"/>, so the rows differ only in how
/// candidates are kept (a heap per node, or a LIFO stack per frequency level per node in one pool
/// of the same <c>max_candidates</c> keys).
/// </summary>
public partial class ExtractBenchmarks
{
    private HotPageEngine? _stacksEngine;
    private PromotionCandidate[] _stacksCandidates = [];

    [GlobalSetup(Target = nameof(EngineStacksExtract512))]
    public void SetupStacksEngine()
    {
        _stacksEngine = CreatePrimedEngine(CandidateSelection.Stacks);
        _stacksCandidates = GC.AllocateArray<PromotionCandidate>(Invocations * Batch, pinned: true);
        var c = _stacksEngine.GetCounters();
        Console.WriteLine($"// stacks engine primed: candidates {c["pghot_candidates"]}, entries {_stacksEngine.QueuedCandidates(0)}, full {c["kpromoted_dropped"]}, stale discarded {c["pghot_heap_stale"]}, dropped {c["pghot_ring_dropped"]}");
        WarmUpJit(EngineStacksExtract512, RequeueStacksEngine);
    }

    [IterationSetup(Target = nameof(EngineStacksExtract512))]
    public void RequeueStacksEngine() => RequeueExtracted(_stacksEngine!, _stacksCandidates);

    [GlobalCleanup(Target = nameof(EngineStacksExtract512))]
    public void CleanupStacksEngine() => _stacksEngine?.Dispose();

    /// <summary>HotPage <c>ExtractCandidates</c> with <c>selection=2</c>: pop runs from the highest frequency's stack down, validate, re-check, resolve addresses, sort hottest first.</summary>
    [Benchmark]
    public int EngineStacksExtract512() => ExtractInto(_stacksEngine!, _stacksCandidates);
}
