using System.Reflection;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Filters;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Horology;

namespace HotPage.Perf.Bench;

/// <summary>
/// <c>bench --quick|--full [--filter GLOB ...] [--budget FILE]</c>: every BenchmarkDotNet suite in
/// this assembly, whichever subsystem added it, with the memory diagnoser, exported as GitHub
/// markdown and full JSON into <c>BenchmarkDotNet.Artifacts/&lt;mode&gt;/results</c>; then the
/// allocation budget is checked against that JSON.
/// </summary>
/// <remarks>
/// Quick (CI's smoke run): the benchmarks tagged <c>[BenchmarkCategory("Smoke")]</c> plus every
/// benchmark the budget names; a short job (1 launch, 1 warmup, 3 iterations of 25 ms) run in
/// process. In process, because the out-of-process toolchain builds a generated project per run,
/// which took minutes on the shared 2-core build machine and would not fit CI's 3-minute budget;
/// allocation figures are the same either way (the memory diagnoser counts the thread's bytes).
/// Full: every benchmark, BenchmarkDotNet's default job, out of process (so per-job environment
/// variables such as ISA switches take effect): this is what RESULTS.md cites.
/// </remarks>
internal static class BenchRunner
{
    /// <summary>The category that puts a benchmark in the quick run.</summary>
    public const string SmokeCategory = "Smoke";

    /// <summary>Runs the benchmarks; returns 0, or 1 on a budget breach or a benchmark that failed.</summary>
    public static int Run(bool quick, IReadOnlyList<string> filters, string budgetPath, string root)
    {
        string mode = quick ? "quick" : "full";
        string artifacts = Path.Combine(root, "BenchmarkDotNet.Artifacts", mode);
        string resultsDir = Path.Combine(artifacts, "results");
        if (Directory.Exists(resultsDir))
        {
            Directory.Delete(resultsDir, recursive: true); // the check reads only this run's exports
        }

        IReadOnlyList<KeyValuePair<string, double>> budget = File.Exists(budgetPath) ? AllocationBudget.Load(budgetPath) : [];
        if (!File.Exists(budgetPath))
        {
            Console.WriteLine($"note: no allocation budget at {budgetPath}; nothing to check");
        }

        Job job = quick
            ? Job.Default.WithId("Quick").WithLaunchCount(1).WithWarmupCount(1).WithIterationCount(3)
                .WithIterationTime(TimeInterval.FromMilliseconds(25)).WithToolchain(InProcessEmitToolchain.Instance)
            : Job.Default.WithId("Full");
        IConfig config = ManualConfig.CreateEmpty()
            .AddJob(job.WithGcServer(false).WithGcConcurrent(false))
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddExporter(MarkdownExporter.GitHub, JsonExporter.Full)
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddLogger(ConsoleLogger.Default)
            .WithArtifactsPath(artifacts)
            .WithOptions(ConfigOptions.JoinSummary | ConfigOptions.DisableLogFile);

        var selected = new List<IFilter>();
        if (filters.Count > 0)
        {
            selected.Add(new GlobFilter([.. filters]));
        }
        else if (quick)
        {
            selected.Add(new DisjunctionFilter(
                new AnyCategoriesFilter([SmokeCategory]),
                new SimpleFilter(b => budget.Any(e => AllocationBudget.Matches(e.Key, FullNameProvider.GetBenchmarkName(b))))));
        }

        if (selected.Count > 0)
        {
            config = ((ManualConfig)config).AddFilter([.. selected]);
        }

        Type[] types = [.. typeof(BenchRunner).Assembly.GetTypes().Where(IsBenchmarkClass).OrderBy(t => t.FullName, StringComparer.Ordinal)];
        Console.WriteLine($"bench {mode}: {types.Length} benchmark classes in the assembly: {string.Join(", ", types.Select(t => t.Name))}");
        BenchmarkRunInfo[] runs = [.. types.Select(t => BenchmarkConverter.TypeToBenchmarks(t, config)).Where(r => r.BenchmarksCases.Length > 0)];
        int cases = runs.Sum(r => r.BenchmarksCases.Length);
        Console.WriteLine($"bench {mode}: {cases} benchmark cases selected");
        int failed = 0;
        if (cases > 0)
        {
            Summary[] summaries = BenchmarkRunner.Run(runs);
            foreach (Summary s in summaries)
            {
                failed += s.Reports.Count(r => !r.Success);
                failed += s.HasCriticalValidationErrors ? 1 : 0;
            }
        }

        List<MeasuredAllocation> measured = Directory.Exists(resultsDir) ? AllocationBudget.ReadResults(resultsDir) : [];
        (List<string> lines, int breaches) = AllocationBudget.Check(budget, measured);
        foreach (string line in lines)
        {
            Console.WriteLine(line);
        }

        Console.WriteLine($"bench {mode}: {measured.Count} benchmarks exported to {resultsDir}; {failed} failed to run; {budget.Count - breaches} budget entries held, {breaches} breached");
        return breaches == 0 && failed == 0 ? 0 : 1;
    }

    /// <summary><c>budget --results FILE|DIR [--budget FILE]</c>: only the check, against exports already made.</summary>
    public static int CheckOnly(string results, string budgetPath)
    {
        (List<string> lines, int breaches) = AllocationBudget.Check(AllocationBudget.Load(budgetPath), AllocationBudget.ReadResults(results));
        foreach (string line in lines)
        {
            Console.WriteLine(line);
        }

        Console.WriteLine($"budget: {lines.Count(l => l.StartsWith("ok", StringComparison.Ordinal))} held, {breaches} breached");
        return breaches == 0 ? 0 : 1;
    }

    private static bool IsBenchmarkClass(Type t) =>
        t is { IsClass: true, IsAbstract: false, IsGenericTypeDefinition: false } &&
        t.GetMethods(BindingFlags.Public | BindingFlags.Instance).Any(m => m.GetCustomAttribute<BenchmarkAttribute>() is not null);
}
