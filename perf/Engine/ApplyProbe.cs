using System.Diagnostics;
using System.Globalization;
using HotPage.Engine;
using HotPage.Engine.Records;
using HotPage.Engine.Tunables;

namespace HotPage.Perf.Engine;

/// <summary>
/// <c>apply-probe [rounds] [--case uniform,zipf] [--pages 1,64] [--mode single,xcore,pipe]</c>: where
/// <see cref="ApplyBenchmarks"/>' time goes, per round instead of per iteration's mean, for each
/// stream and table size (Mi pages):
/// <list type="bullet">
/// <item><c>single</c>: one thread reports 16 Ki records (256 per <c>RecordAccesses</c> call, as the
///   benchmark's producers) into its own ring, then drains them; report and drain are timed apart.
///   A round is 1 Mi records of the same kind of stream as the benchmark's (a 16 Mi-record one), and
///   time moves 1 s per round (the benchmark: per 4 Mi records); the drain figure is the consumer's
///   work alone, on ring lines that this core just wrote (no cross-core transfer).</item>
/// <item><c>xcore</c>: the same, but a worker thread reports each 16 Ki records and this thread drains
///   them once the worker is done: the drain reads ring lines another core wrote (the handoff's
///   line transfers) without the two threads running at the same time.</item>
/// <item><c>pipe</c>: the benchmark's own <see cref="ApplyBenchmarks.Engine"/> invocation (1 and 2
///   producer threads reporting 4 Mi records while this thread drains and applies), timed per
///   invocation: the handoff between cores included.</item>
/// </list>
/// Each line gives ns per record: min, p10, median, p90 over the rounds after the first few
/// (JIT tiering). On this shared 2-core machine read the min and median, and compare only lines of one run.
/// </summary>
internal static class ApplyProbe
{
    private const int SingleRound = 1 << 20;
    private const int SingleChunk = 1 << 14;
    private const int WarmupRounds = 3;

    /// <summary>Runs the probe; prints one line per case and mode.</summary>
    public static int Run(string[] args)
    {
        int rounds = args.Length > 1 && !args[1].StartsWith('-') ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20;
        string[] kinds = Values(args, "--case", ["uniform", "zipf"]);
        string[] sizes = Values(args, "--pages", ["1", "64"]);
        string[] modes = Values(args, "--mode", ["single", "xcore", "pipe"]);
        Console.WriteLine($"// apply-probe: {rounds} rounds (first {WarmupRounds} dropped); ns per record: min, p10, median, p90; load {ProbeSummary.LoadAverage()}");
        foreach (string kindName in kinds)
        {
            StreamKind kind = kindName.StartsWith('u') ? StreamKind.Uniform : StreamKind.Zipf099;
            foreach (string size in sizes)
            {
                int pages = int.Parse(size, CultureInfo.InvariantCulture) << 20;
                if (modes.Contains("single"))
                {
                    Single(kind, pages, rounds, otherThread: false);
                }

                if (modes.Contains("xcore"))
                {
                    Single(kind, pages, rounds, otherThread: true);
                }

                if (modes.Contains("pipe"))
                {
                    foreach (int producers in new[] { 1, 2 })
                    {
                        Pipeline(kind, pages, producers, rounds);
                    }
                }
            }
        }

        Console.WriteLine($"// load {ProbeSummary.LoadAverage()}");
        return 0;
    }

    private static void Single(StreamKind kind, int pages, int rounds, bool otherThread)
    {
        uint[] stream = Streams.Generate(kind, pages, ApplyBenchmarks.StreamLength / 4, seed: 20250 + pages);
        var tunables = new EngineTunables();
        tunables.Set("max_tracked_pages", pages);
        tunables.Set("max_candidates", 1 << 20);
        using var engine = new HotPageEngine(BenchTopology.TwoTier(), tunables);
        engine.RegisterRegion(BenchTopology.Base, (ulong)pages << 12);
        var batch = new AccessRecord[ApplyBenchmarks.ProducerBatch];
        double[] report = new double[rounds], drain = new double[rounds];
        int at = 0;
        ulong time = 1000;
        long reportTicks = 0;

        // Reports one chunk (16 Ki records) from the calling thread.
        void ReportChunk(int unused)
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int b = 0; b < SingleChunk; b += batch.Length)
            {
                for (int i = 0; i < batch.Length; i++)
                {
                    batch[i] = new AccessRecord(BenchTopology.Address(stream[at++]), BenchTopology.Nid, AccessSource.Application, time);
                }

                at &= stream.Length - 1;
                engine.RecordAccesses(batch);
            }

            reportTicks += Stopwatch.GetTimestamp() - t0;
        }

        using Crew? worker = otherThread ? new Crew(1, ReportChunk) : null;
        for (int round = 0; round < rounds; round++)
        {
            long drainTicks = 0;
            reportTicks = 0;
            for (int chunk = 0; chunk < SingleRound; chunk += SingleChunk)
            {
                if (worker is not null)
                {
                    worker.Start();
                    worker.Join();
                }
                else
                {
                    ReportChunk(0);
                }

                long t1 = Stopwatch.GetTimestamp();
                engine.Drain();
                drainTicks += Stopwatch.GetTimestamp() - t1;
            }

            time += 1000;
            report[round] = reportTicks * (1e9 / Stopwatch.Frequency) / SingleRound;
            drain[round] = drainTicks * (1e9 / Stopwatch.Frequency) / SingleRound;
        }

        string mode = otherThread ? "xcore " : "single";
        Print($"{mode} {Name(kind, pages)} report (incl. filling the batch)", report);
        Print($"{mode} {Name(kind, pages)} drain+apply", drain);
    }

    private static void Pipeline(StreamKind kind, int pages, int producers, int rounds)
    {
        var bench = new ApplyBenchmarks { Stream = kind, Pages = pages, Producers = producers };
        bench.SetupEngine();
        double[] ns = new double[rounds];
        try
        {
            for (int round = 0; round < rounds; round++)
            {
                long start = Stopwatch.GetTimestamp();
                bench.Engine();
                ns[round] = Stopwatch.GetElapsedTime(start).TotalNanoseconds / ApplyBenchmarks.Records;
            }
        }
        finally
        {
            bench.Cleanup();
        }

        Print($"pipe   {Name(kind, pages)} {producers}p end to end", ns);
    }

    private static string Name(StreamKind kind, int pages) => $"{(kind == StreamKind.Uniform ? "uniform" : "zipf")} {pages >> 20,2} Mi";

    private static void Print(string what, double[] values)
    {
        var summary = new ProbeSummary(values[Math.Min(values.Length - 1, WarmupRounds)..]);
        Console.WriteLine($"{what,-52}: {summary.Percentiles(width: 6)}  ({summary.Count} rounds)");
    }

    private static string[] Values(string[] args, string name, string[] all)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1].Split(',') : all;
    }

}
