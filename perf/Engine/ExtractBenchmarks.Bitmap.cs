using BenchmarkDotNet.Attributes;
using HotPage.Engine;
using HotPage.Engine.Selection;
using HotPage.Engine.Tables;

namespace HotPage.Perf.Engine;

/// <summary>
/// The same extraction with the bitmap selection strategy (<c>selection=1</c>): the same tunables,
/// priming stream and requeueing as <see cref="EngineExtract512"/>, so the two rows differ only
/// in how candidates are kept (a heap per node, or a bitmap per frequency level per node).
/// </summary>
public partial class ExtractBenchmarks
{
    private HotPageEngine? _bitmapEngine;
    private PromotionCandidate[] _bitmapCandidates = [];

    /// <summary>The re-check time of every extraction (for <see cref="ExtractProbe"/>).</summary>
    internal const uint ProbeNowMs = NowMs;


    [GlobalSetup(Target = nameof(EngineBitmapExtract512))]
    public void SetupBitmapEngine()
    {
        _bitmapEngine = CreatePrimedEngine(CandidateSelection.Bitmap);
        _bitmapCandidates = GC.AllocateArray<PromotionCandidate>(Invocations * Batch, pinned: true);
        var c = _bitmapEngine.GetCounters();
        Console.WriteLine($"// bitmap engine primed: candidates {c["pghot_candidates"]}, native {_bitmapEngine.Memory.Bytes >> 20} MiB, dropped {c["pghot_ring_dropped"]}");
        WarmUpJit(EngineBitmapExtract512, RequeueBitmapEngine); // as the heap's setup does: else the short run measures tier-0 code
    }

    [IterationSetup(Target = nameof(EngineBitmapExtract512))]
    public void RequeueBitmapEngine() => RequeueExtracted(_bitmapEngine!, _bitmapCandidates);

    [GlobalCleanup(Target = nameof(EngineBitmapExtract512))]
    public void CleanupBitmapEngine() => _bitmapEngine?.Dispose();

    /// <summary>HotPage <c>ExtractCandidates</c> with <c>selection=1</c>: take marked pages from the highest frequency level down, re-check, resolve addresses, sort hottest first.</summary>
    [Benchmark]
    public int EngineBitmapExtract512() => ExtractInto(_bitmapEngine!, _bitmapCandidates);
}
