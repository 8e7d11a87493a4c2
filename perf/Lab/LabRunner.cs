using System.Diagnostics;
using System.Globalization;
using System.Text;
using HotPage.Perf.Lab.Policies;

namespace HotPage.Perf.Lab;

/// <summary>The lab's sizes and rates. <see cref="Full"/> makes the recorded table; <see cref="Quick"/> is CI's smoke run.</summary>
/// <param name="Pages">Pages in the working set (all start on the slow node).</param>
/// <param name="FastPages">Pages the fast node holds (a quarter of the working set).</param>
/// <param name="TickMs">Virtual time per tick.</param>
/// <param name="DurationMs">Virtual time per run.</param>
/// <param name="AccessesPerTick">Workload accesses per tick.</param>
/// <param name="SampleEvery">One access in this many, drawn at random, is reported to the policy.</param>
/// <param name="BucketMs">Width of one point of the hit-share series.</param>
/// <param name="Seed">The seed of workloads and sampling.</param>
/// <param name="RivalRateMbps">The migration budget of the rival models, in MB/s.</param>
internal sealed record LabParameters(int Pages, int FastPages, int TickMs, long DurationMs, int AccessesPerTick, int SampleEvery, long BucketMs, ulong Seed, long RivalRateMbps)
{
    /// <summary>The recorded configuration: 64 Ki pages (256 MiB), a 64 MiB fast tier, 30 s at 409,600 accesses/s, 1 in 32 sampled.</summary>
    /// <remarks>The rivals' 10 MB/s is what HotPage's defaults move at most: promote_batch 512 per promote_interval_ms 200 = 2560 pages/s.</remarks>
    public static LabParameters Full => new(65536, 16384, 10, 30_000, 4096, 32, 250, 1, 10);

    /// <summary>CI's smoke run: 8 Ki pages, 6 s.</summary>
    public static LabParameters Quick => new(8192, 2048, 10, 6_000, 1024, 32, 250, 1, 10);

    /// <summary>The workloads, freshly seeded.</summary>
    public IReadOnlyList<Func<Workload>> Workloads =>
    [
        () => new ZipfWorkload(0.8, Pages, FastPages / 8, Seed),
        () => new ZipfWorkload(1.0, Pages, FastPages / 8, Seed),
        () => new ZipfWorkload(1.2, Pages, FastPages / 8, Seed),
        () => new PhaseShiftWorkload(Pages, FastPages / 2, DurationMs / 3, Seed),
        () => new ScanWorkload(Pages, FastPages / 8, Seed),
        () => new PingPongWorkload(Pages, FastPages * 3 / 4, DurationMs / 6, Seed),
        () => new LargeHotSetWorkload(Pages, FastPages * 2, Seed),
    ];

    /// <summary>The policies, fresh.</summary>
    public IReadOnlyList<Func<IPolicy>> Policies =>
    [
        () => new NoMigrationPolicy(),
        EnginePolicy.HotPageDefault,
        EnginePolicy.HotPageRoom,
        EnginePolicy.PghotFixed,
        EnginePolicy.BitmapCandidates,
        () => new NumaBalancingPolicy(1000, 65536, 1000, RivalRateMbps, 1000),
        () => new DamonRegionPolicy(100, 10, 1000, 2, RivalRateMbps),
    ];
}

/// <summary>What one (workload, policy) run measured.</summary>
internal sealed class ScenarioResult
{
    public required string Workload { get; init; }

    public required string Policy { get; init; }

    public double HitShare { get; set; }

    public double HitShareLastThird { get; set; }

    public long Migrated { get; set; }

    public long Demoted { get; set; }

    public long Wasted { get; set; }

    /// <summary>Per hot-set epoch: virtual ms from the epoch's start until 95% of it was on the fast tier, or null.</summary>
    public List<long?> TimeToHot { get; } = [];

    public double HotOnFastEnd { get; set; }

    public List<(double X, double Y)> Series { get; } = [];

    public IReadOnlyList<KeyValuePair<string, long>> Counters { get; set; } = [];

    public List<string> Problems { get; } = [];

    public double WallSeconds { get; set; }

    public string TimeToHotText
    {
        get
        {
            if (TimeToHot.Count == 1)
            {
                return TimeToHot[0] is long t ? Seconds(t) : "never";
            }

            var reached = TimeToHot.Where(t => t.HasValue).Select(t => t!.Value).ToList();
            return reached.Count == 0
                ? FormattableString.Invariant($"never (0/{TimeToHot.Count})")
                : FormattableString.Invariant($"{Seconds((long)reached.Average())} ({reached.Count}/{TimeToHot.Count})");
        }
    }

    private static string Seconds(long ms) => FormattableString.Invariant($"{ms / 1000.0:0.0} s");
}

/// <summary>
/// The tiered-memory simulator: runs every policy on every workload in virtual time on a
/// <see cref="TieredMemory"/> and writes a table and one SVG plot per workload.
/// </summary>
internal static class LabRunner
{
    /// <summary>Runs the lab; returns 0 when every scenario completed with sane metrics.</summary>
    public static int Run(LabParameters p, string outDir, string mode, int jobs)
    {
        Directory.CreateDirectory(outDir);
        var total = Stopwatch.StartNew();
        var workloads = p.Workloads;
        var policies = p.Policies;
        var work = new List<(int W, int P)>();
        for (int w = 0; w < workloads.Count; w++)
        {
            for (int q = 0; q < policies.Count; q++)
            {
                work.Add((w, q));
            }
        }

        var results = new ScenarioResult[workloads.Count, policies.Count];
        var descriptions = new string[workloads.Count];
        var policyDescriptions = new string[policies.Count];
        var gate = new Lock();
        Parallel.ForEach(work, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, jobs) }, item =>
        {
            Workload workload = workloads[item.W]();
            using IPolicy policy = policies[item.P]();
            ScenarioResult r;
            try
            {
                r = RunOne(p, workload, policy);
            }
#pragma warning disable CA1031 // A scenario that throws is reported as a failure with its message, and the others go on.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                r = new ScenarioResult { Workload = workload.Name, Policy = policy.Name };
                r.Problems.Add($"threw {ex.GetType().Name}: {ex.Message}");
            }

            lock (gate)
            {
                results[item.W, item.P] = r;
                descriptions[item.W] = workload.Description;
                policyDescriptions[item.P] = policy.Description;
                Console.WriteLine(Line(r));
            }
        });

        int failures = results.Cast<ScenarioResult>().Count(r => r.Problems.Count > 0);
        WriteReport(p, outDir, mode, results, descriptions, policyDescriptions);
        Console.WriteLine(FormattableString.Invariant($"lab {mode}: {results.Length - failures} scenarios ok, {failures} failed, {total.Elapsed.TotalSeconds:0.0} s; table and plots in {outDir}"));
        return failures == 0 ? 0 : 1;
    }

    private static string Line(ScenarioResult r) =>
        (r.Problems.Count == 0 ? "ok   " : "FAIL ") + FormattableString.Invariant(
            $"{r.Workload} / {r.Policy}: hit share {r.HitShare:0.000} (last third {r.HitShareLastThird:0.000}), migrated {r.Migrated}, wasted {r.Wasted}, hot set at 95% {r.TimeToHotText}, {r.WallSeconds:0.0} s wall")
        + (r.Problems.Count == 0 ? string.Empty : " -- " + string.Join("; ", r.Problems));

    /// <summary>Runs one policy on one workload.</summary>
    public static ScenarioResult RunOne(LabParameters p, Workload workload, IPolicy policy)
    {
        var wall = Stopwatch.StartNew();
        var result = new ScenarioResult { Workload = workload.Name, Policy = policy.Name };
        using var memory = new TieredMemory(p.Pages, p.FastPages);
        var clock = new VirtualClock();
        policy.Attach(memory, clock);
        memory.SetHotSet(workload.HotSet);
        var sampler = new LabRandom(p.Seed * 7919);
        ulong sampleBelow = ulong.MaxValue / (ulong)p.SampleEvery;
        long epochStart = 0;
        bool reached = false;
        result.TimeToHot.Add(null);
        long hits = 0, accesses = 0, bucketHits = 0, bucketAccesses = 0, lateHits = 0, lateAccesses = 0;
        long lateFrom = p.DurationMs * 2 / 3;
        long nextBucket = p.BucketMs;
        result.Series.Add((0, 0));
        for (long now = 0; now < p.DurationMs;)
        {
            if (workload.Advance(now))
            {
                memory.SetHotSet(workload.HotSet);
                epochStart = now;
                reached = false;
                result.TimeToHot.Add(null);
            }

            long tickHits = 0;
            for (int i = 0; i < p.AccessesPerTick; i++)
            {
                int page = workload.Next();
                tickHits += memory.Access(page) ? 1 : 0;
                if (sampler.Next() < sampleBelow)
                {
                    policy.OnSample(page, now);
                }
            }

            hits += tickHits;
            accesses += p.AccessesPerTick;
            bucketHits += tickHits;
            bucketAccesses += p.AccessesPerTick;
            if (now >= lateFrom)
            {
                lateHits += tickHits;
                lateAccesses += p.AccessesPerTick;
            }

            clock.Advance(p.TickMs);
            now += p.TickMs;
            policy.OnTick(now);
            memory.Reclaim();
            if (!reached && memory.HotSize > 0 && memory.HotOnFast >= memory.HotSize * 0.95)
            {
                reached = true;
                result.TimeToHot[^1] = now - epochStart;
            }

            if (now >= nextBucket)
            {
                result.Series.Add((now / 1000.0, bucketAccesses == 0 ? 0 : (double)bucketHits / bucketAccesses));
                bucketHits = bucketAccesses = 0;
                nextBucket += p.BucketMs;
            }
        }

        memory.Finish();
        result.HitShare = accesses == 0 ? double.NaN : (double)hits / accesses;
        result.HitShareLastThird = lateAccesses == 0 ? double.NaN : (double)lateHits / lateAccesses;
        result.Migrated = memory.Promoted;
        result.Demoted = memory.Demoted;
        result.Wasted = memory.Wasted;
        result.HotOnFastEnd = memory.HotSize == 0 ? double.NaN : (double)memory.HotOnFast / memory.HotSize;
        result.Counters = policy.Counters;
        result.Problems.AddRange(memory.Verify());
        if (accesses == 0 || result.Series.Any(s => s.Y is < 0 or > 1 || double.IsNaN(s.Y)) || result.HitShare is < 0 or > 1)
        {
            result.Problems.Add("a hit share outside [0, 1]");
        }

        if (memory.Wasted > memory.Promoted)
        {
            result.Problems.Add($"more wasted migrations ({memory.Wasted}) than migrations ({memory.Promoted})");
        }

        result.WallSeconds = wall.Elapsed.TotalSeconds;
        return result;
    }

    private static void WriteReport(LabParameters p, string outDir, string mode, ScenarioResult[,] results, string[] workloads, string[] policies)
    {
        var md = new StringBuilder();
        void L(FormattableString s) => md.Append(s.ToString(CultureInfo.InvariantCulture)).Append('\n');

        L($"# Lab: policies side by side");
        L($"");
        L($"Written by `dotnet run -c Release --project perf -- lab --{mode}` (do not edit by hand).");
        L($"Virtual time; every number below is a pure function of the code and the seed ({p.Seed}).");
        L($"");
        L($"**Machine (simulated):** node 0 (fast, CPUs) holds {p.FastPages} pages ({p.FastPages * 4 / 1024} MiB); node 1 (slow, CPU-less) holds the rest; the working set is {p.Pages} pages of 4 KiB ({p.Pages * 4 / 1024} MiB), all on node 1 at the start.");
        L($"Moves go through `SimulatedPlatform.MovePages`; demotion is a second-chance clock over node 0's pages (kswapd-like) that starts above 95% of node 0 and stops at 90%, through `SimulatedPlatform.Demote`.");
        L($"**Time:** {p.DurationMs / 1000.0:0.#} s per run in ticks of {p.TickMs} ms; {p.AccessesPerTick} accesses per tick ({p.AccessesPerTick * 1000L / p.TickMs:N0} per second); one access in {p.SampleEvery}, drawn at random, is reported to the policy (the same sample for every policy).");
        L($"");
        L($"**Columns.** *hit share*: accesses served by node 0, whole run and its last third. *migrated*: pages promoted. *wasted*: promoted pages not accessed again before being demoted or the run ending (share of migrated). *hot set at 95%*: virtual time from the start of a hot set (a phase) until 95% of it is on node 0, averaged over the phases that got there (reached/phases). *hot on fast at end*: share of the last hot set on node 0 when the run ends.");
        L($"");
        L($"| workload | policy | hit share | hit share, last third | migrated | wasted | hot set at 95% | hot on fast at end |");
        L($"|---|---|---:|---:|---:|---:|---:|---:|");
        for (int w = 0; w < results.GetLength(0); w++)
        {
            for (int q = 0; q < results.GetLength(1); q++)
            {
                ScenarioResult r = results[w, q];
                string wasted = r.Migrated == 0 ? "0" : FormattableString.Invariant($"{r.Wasted} ({100.0 * r.Wasted / r.Migrated:0}%)");
                string fail = r.Problems.Count > 0 ? " **FAILED**" : string.Empty;
                L($"| {r.Workload} | {r.Policy}{fail} | {r.HitShare:0.000} | {r.HitShareLastThird:0.000} | {r.Migrated} | {wasted} | {r.TimeToHotText} | {r.HotOnFastEnd:0.00} |");
            }
        }

        L($"");
        L($"## Plots: fast-tier hit share over time");
        L($"");
        for (int w = 0; w < results.GetLength(0); w++)
        {
            string name = results[w, 0].Workload;
            string file = $"hit-share-{Slug(name)}.svg";
            var plot = new SvgLinePlot
            {
                Title = $"{name}: fast-tier hit share over time",
                XLabel = "virtual time (s)",
                YLabel = FormattableString.Invariant($"share of accesses on node 0 (per {p.BucketMs} ms)"),
            };
            for (int q = 0; q < results.GetLength(1); q++)
            {
                plot.Add(results[w, q].Policy, results[w, q].Series);
            }

            File.WriteAllText(Path.Combine(outDir, file), plot.Render());
            L($"- **{name}**: {workloads[w]}.  ");
            L($"  ![{name}]({file})");
        }

        L($"");
        L($"## Policies");
        L($"");
        for (int q = 0; q < results.GetLength(1); q++)
        {
            L($"- **{results[0, q].Policy}**: {policies[q]}.");
        }

        L($"");
        L($"## Policy counters per workload");
        L($"");
        for (int q = 0; q < results.GetLength(1); q++)
        {
            if (results[0, q].Counters.Count == 0)
            {
                continue;
            }

            L($"**{results[0, q].Policy}**");
            L($"");
            L($"| workload | {string.Join(" | ", results[0, q].Counters.Select(c => c.Key))} |");
            L($"|---|{string.Concat(results[0, q].Counters.Select(_ => "---:|"))}");
            for (int w = 0; w < results.GetLength(0); w++)
            {
                L($"| {results[w, q].Workload} | {string.Join(" | ", results[w, q].Counters.Select(c => c.Value.ToString(CultureInfo.InvariantCulture)))} |");
            }

            L($"");
        }

        L($"Scenarios: {results.Length}; failed sanity checks: {results.Cast<ScenarioResult>().Count(r => r.Problems.Count > 0)} (hit share in [0, 1], the lab's residency equal to the platform's, pages conserved, node 0 never over capacity, moves seen equal to the platform's count).");
        File.WriteAllText(Path.Combine(outDir, "results.md"), md.ToString());
    }

    private static string Slug(string name) =>
        new(name.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : c == '.' ? '_' : '-').ToArray());
}
