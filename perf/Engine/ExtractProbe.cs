using System.Diagnostics;
using System.Globalization;
using HotPage.Engine;
using HotPage.Engine.Selection;
using HotPage.Engine.Tables;

namespace HotPage.Perf.Engine;

/// <summary>
/// <c>extract-probe [rounds]</c>: the extraction of <see cref="ExtractBenchmarks"/> (same table,
/// priming, batch and requeueing) timed per call, for each selection strategy, reporting the
/// minimum and percentiles of single extractions instead of an iteration's mean. On a shared
/// 2-core machine the mean of an iteration measures the CPU share the benchmark got (a 20 µs call
/// preempted for milliseconds now and then); the median of single calls measures the code.
/// </summary>
internal static class ExtractProbe
{
    /// <summary>Runs the probe; prints one line per strategy.</summary>
    public static int Run(int rounds)
    {
        foreach (CandidateSelection selection in new[] { CandidateSelection.Bitmap, CandidateSelection.Heap, CandidateSelection.Stacks })
        {
            using HotPageEngine engine = ExtractBenchmarks.CreatePrimedEngine(selection);

            const int Batch = ExtractBenchmarks.Batch, Invocations = ExtractBenchmarks.Invocations;
            PromotionCandidate[] candidates = GC.AllocateArray<PromotionCandidate>(Invocations * Batch, pinned: true);
            int[] written = new int[Invocations];
            double[] micros = new double[rounds * Invocations];
            for (int round = 0; round < rounds; round++)
            {
                for (int s = 0; s < Invocations; s++)
                {
                    foreach (PromotionCandidate c in candidates.AsSpan(s * Batch, written[s]))
                    {
                        engine.Requeue(c.Page);
                    }
                }

                for (int s = 0; s < Invocations; s++)
                {
                    long start = Stopwatch.GetTimestamp();
                    written[s] = engine.ExtractCandidates(0, candidates.AsSpan(s * Batch, Batch), ExtractBenchmarks.ProbeNowMs);
                    micros[(round * Invocations) + s] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
                }
            }

            // The first rounds warm the JIT's tiers up.
            var summary = new ProbeSummary(micros[Math.Min(micros.Length - Invocations, 5 * Invocations)..]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"extract {Batch} of {ExtractBenchmarks.Pages} pages, selection={selection}, us per call: {summary.Percentiles("F1")}  mean {summary.Mean:F1} ({summary.Count} calls, {written[0]} pages in the first; load {ProbeSummary.LoadAverage()})"));
        }

        return 0;
    }
}
