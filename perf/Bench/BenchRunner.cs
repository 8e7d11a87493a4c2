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
/// Quick (CI's smoke run): one representative case per benchmark class (its baseline, else its
/// first), the benchmarks tagged <c>[BenchmarkCategory("Smoke")]</c>, and every benchmark the
/// budget names; each with its job cut short (1 launch, 1 warmup, 3 iterations of 25 ms) and run in
/// process. In process, because the out-of-process toolchain builds a generated project per run,
/// which took minutes on the shared 2-core build machine and would not fit CI's 3-minute budget;
/// allocation figures are the same either way (the memory diagnoser counts the thread's bytes).
/// A class with its own <c>[Config]</c> jobs keeps them (shortened in quick mode).
/// Full: every benchmark, BenchmarkDotNet's default job, out of process (so per-job environment
/// variables such as ISA switches take effect), with a 15-minute build timeout: this is what
/// RESULTS.md cites.
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

        Job job = (quick ? Job.Default.WithId("Quick") : Job.Default.WithId("Full")).WithGcServer(false).WithGcConcurrent(false);
        IConfig config = ManualConfig.CreateEmpty()
            .AddJob(job)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddExporter(MarkdownExporter.GitHub, JsonExporter.Full)
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddLogger(ConsoleLogger.Default)
            .WithArtifactsPath(artifacts)
            .WithBuildTimeout(TimeSpan.FromMinutes(15)) // the generated project's build takes minutes on a loaded 2-core machine; the default is 2
            .WithOptions(ConfigOptions.JoinSummary | ConfigOptions.DisableLogFile);

        if (filters.Count > 0)
        {
            config = ((ManualConfig)config).AddFilter(new GlobFilter([.. filters]));
        }

        Type[] types = [.. typeof(BenchRunner).Assembly.GetTypes().Where(IsBenchmarkClass).OrderBy(t => t.FullName, StringComparer.Ordinal)];
        Console.WriteLine($"bench {mode}: {types.Length} benchmark classes in the assembly: {string.Join(", ", types.Select(t => t.Name))}");
        var runs = new List<BenchmarkRunInfo>();
        foreach (Type type in types)
        {
            BenchmarkRunInfo info = BenchmarkConverter.TypeToBenchmarks(type, config);
            BenchmarkCase[] chosen = Choose(info.BenchmarksCases, quick && filters.Count == 0, budget, job.Id);
            if (quick)
            {
                chosen = [.. chosen.Select(c => BenchmarkCase.Create(c.Descriptor, Shorten(c.Job), c.Parameters, c.Config))];
            }

            if (chosen.Length > 0)
            {
                runs.Add(new BenchmarkRunInfo(chosen, info.Type, info.Config));
            }
        }

        int cases = runs.Sum(r => r.BenchmarksCases.Length);
        Console.WriteLine($"bench {mode}: {cases} benchmark cases selected");
        int failed = 0;
        if (cases > 0)
        {
            Summary[] summaries = BenchmarkRunner.Run([.. runs]);
            foreach (Summary s in summaries)
            {
                failed += s.Reports.Count(r => !r.Success);
                failed += s.HasCriticalValidationErrors ? 1 : 0;
            }
        }

        List<MeasuredAllocation> measured = Directory.Exists(resultsDir) ? AllocationBudget.ReadResults(resultsDir) : [];
        if (filters.Count > 0)
        {
            // A filtered run checks only the budget entries it measured; the unfiltered runs catch renamed benchmarks.
            int before = budget.Count;
            budget = [.. budget.Where(e => measured.Any(m => AllocationBudget.Matches(e.Key, m.FullName)))];
            Console.WriteLine($"note: --filter: {before - budget.Count} budget entries not run, not checked");
        }

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

    /// <summary>
    /// The cases to run from one class. A class that declares its own jobs (<c>[Config]</c>) keeps
    /// them instead of the runner's (its author chose them: in process, one invocation per
    /// iteration, and so on). Quick: each class's representative (its baseline, else its first
    /// case), every case tagged <see cref="SmokeCategory"/>, and every case the budget names, so
    /// every subsystem's suite runs at least once and every budget entry is measured.
    /// </summary>
    private static BenchmarkCase[] Choose(BenchmarkCase[] all, bool smokeOnly, IReadOnlyList<KeyValuePair<string, double>> budget, string runnerJobId)
    {
        bool hasOwnJobs = all.Any(c => c.Job.Id != runnerJobId);
        BenchmarkCase[] cases = hasOwnJobs ? [.. all.Where(c => c.Job.Id != runnerJobId)] : all;
        if (!smokeOnly || cases.Length == 0)
        {
            return cases;
        }

        BenchmarkCase representative = cases.FirstOrDefault(c => c.Descriptor.Baseline) ?? cases[0];
        return [.. cases.Where(c =>
            ReferenceEquals(c, representative) ||
            c.Descriptor.Categories.Contains(SmokeCategory, StringComparer.Ordinal) ||
            budget.Any(e => AllocationBudget.Matches(e.Key, FullNameProvider.GetBenchmarkName(c))))];
    }

    /// <summary>A quick version of a job: in process, one launch, one warmup, three iterations (of 25 ms unless the job fixes its invocations).</summary>
    private static Job Shorten(Job job)
    {
        Job quick = job.WithLaunchCount(1).WithWarmupCount(1).WithIterationCount(3).WithToolchain(InProcessEmitToolchain.Instance);
        return job.HasValue(BenchmarkDotNet.Jobs.RunMode.InvocationCountCharacteristic) || job.HasValue(BenchmarkDotNet.Jobs.RunMode.IterationTimeCharacteristic)
            ? quick
            : quick.WithIterationTime(TimeInterval.FromMilliseconds(25));
    }

    private static bool IsBenchmarkClass(Type t) =>
        t is { IsClass: true, IsAbstract: false, IsGenericTypeDefinition: false } &&
        t.GetMethods(BindingFlags.Public | BindingFlags.Instance).Any(m => m.GetCustomAttribute<BenchmarkAttribute>() is not null);
}
