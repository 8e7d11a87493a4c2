using System.Diagnostics;
using System.Globalization;
using HotPage.Engine;
using HotPage.Engine.Records;
using HotPage.Engine.Selection;
using HotPage.Engine.Tunables;

namespace HotPage.Perf.Engine;

/// <summary>
/// <c>selection-apply-probe [rounds]</c>: single-threaded drain + apply per selection strategy, on the
/// streams and table of <see cref="ApplyBenchmarks"/> (64 Mi pages, <c>max_candidates</c> 1 Mi,
/// uniform and Zipf(0.99), 1 s of clock per 4 Mi records, 5 s window, threshold 2). One thread
/// records a batch of 4096 into its ring and drains it; only the drains are timed, so the figure is
/// the consumer's apply cost per record, where the strategies differ (a heap push and sift-up,
/// or a stack append, per candidate step), without the producers' handoff that makes the
/// BenchmarkDotNet figures vary by 2-4× on this machine. The strategies alternate round by round
/// (heap, stacks, stacks, heap, ...) in one process, so both see the same load; each round is a
/// fresh engine fed <see cref="Invocations"/> × 4 Mi records, the first <see cref="WarmUp"/>
/// invocations untimed (they fault the table in).
/// </summary>
internal static class SelectionApplyProbe
{
    private const int Pages = 1 << 26;
    private const int Records = 1 << 22;
    private const int StreamLength = 1 << 25;
    private const int Invocations = 6;
    private const int WarmUp = 2;
    private const int Batch = 4096;

    /// <summary>Runs the probe; prints one line per stream and strategy.</summary>
    public static int Run(int rounds)
    {
        CandidateSelection[] order = [CandidateSelection.Heap, CandidateSelection.Stacks];
        foreach (StreamKind kind in new[] { StreamKind.Zipf099, StreamKind.Uniform })
        {
            uint[] stream = Streams.Generate(kind, Pages, StreamLength, seed: 20250 + Pages);
            var perRecord = new Dictionary<CandidateSelection, List<double>> { [order[0]] = [], [order[1]] = [] };
            var counters = new Dictionary<CandidateSelection, string>();
            for (int round = 0; round < rounds; round++)
            {
                foreach (CandidateSelection selection in round % 2 == 0 ? order : order.Reverse())
                {
                    (List<double> ns, string summary) = RunOne(selection, stream);
                    perRecord[selection].AddRange(ns);
                    counters[selection] = summary;
                }
            }

            // The same invocation index of the same round saw the same records and clock: pair them.
            var ratios = new ProbeSummary(perRecord[order[1]].Zip(perRecord[order[0]], (b, a) => b / a));
            foreach (CandidateSelection selection in order)
            {
                var ns = new ProbeSummary(perRecord[selection]);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"apply {kind} over {Pages} pages, selection={selection}, ns per record: {ns.Percentiles("F1")}  max {ns.Max:F1}  mean {ns.Mean:F1} ({ns.Count} invocations of {Records}; last engine: {counters[selection]})"));
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"apply {kind}: {order[1]} / {order[0]} per paired invocation: {ratios.Percentiles()}; load {ProbeSummary.LoadAverage()}"));
        }

        return 0;
    }

    private static (List<double> Ns, string Summary) RunOne(CandidateSelection selection, uint[] stream)
    {
        var tunables = new EngineTunables();
        tunables.Set("max_tracked_pages", Pages);
        tunables.Set("max_candidates", 1 << 20);
        tunables.Set("selection", (long)selection);
        using var engine = new HotPageEngine(BenchTopology.TwoTier(), tunables);
        engine.RegisterRegion(BenchTopology.Base, (ulong)Pages << 12);
        var batch = new AccessRecord[Batch];
        var ns = new List<double>();
        ulong time = 1000;
        int window = 0;
        for (int inv = 0; inv < Invocations; inv++)
        {
            time += 1000;
            long ticks = 0;
            for (int at = 0; at < Records; at += Batch)
            {
                for (int i = 0; i < Batch; i++)
                {
                    batch[i] = new AccessRecord(BenchTopology.Address(stream[window + at + i]), BenchTopology.Nid, AccessSource.Application, time);
                }

                engine.RecordAccesses(batch);
                long start = Stopwatch.GetTimestamp();
                engine.Drain();
                ticks += Stopwatch.GetTimestamp() - start;
            }

            window = (window + Records) & (StreamLength - 1);
            if (inv >= WarmUp)
            {
                ns.Add(ticks * 1e9 / Stopwatch.Frequency / Records);
            }
        }

        var c = engine.GetCounters();
        return (ns, $"applied {c["pghot_records_applied"]}, candidates {c["pghot_candidates"]}, pushes {c["pghot_records_heap"]}, full {c["kpromoted_dropped"]}, stale {c["pghot_heap_stale"]}");
    }
}
