using BenchmarkDotNet.Running;
using HotPage.Perf.Bench;
using HotPage.Perf.Lab;

namespace HotPage.Perf;

/// <summary>
/// The lab's one entry point (<c>dotnet run -c Release --project perf -- MODE ...</c>):
/// <list type="bullet">
/// <item><c>bench --quick|--full [--filter GLOB ...] [--budget FILE]</c>: the BenchmarkDotNet suites of every subsystem, exports, allocation budget check;</item>
/// <item><c>lab --quick|--full [--out DIR] [--jobs N]</c>: the tiered-memory simulator, policies side by side;</item>
/// <item><c>selection-apply-probe [ROUNDS]</c>: single-threaded drain+apply for heap and stack selection, paired per invocation;</item>
/// <item><c>budget --results FILE|DIR [--budget FILE]</c>: the allocation budget check alone, on exports already made;</item>
/// <item><c>extract-probe [ROUNDS]</c>, <c>apply-probe [ROUNDS] [--case uniform,zipf] [--pages 1,64] [--mode single,xcore,pipe]</c>: the engine's extraction and drain+apply timed per call or round;</item>
/// <item><c>promoter-probe [ROUNDS]</c>: the promoter's simulated round against the bare simulated move, paired per round, after a warm-up (steady-state JIT code);</item>
/// <item><c>bitmap-race [TRIALS]</c>: the bitmap summary race harness with its planted-bug control;</item>
/// <item>anything else: BenchmarkDotNet's own switcher (<c>--list flat</c>, <c>--filter</c>, <c>--job</c>, ...).</item>
/// </list>
/// </summary>
public static class Program
{
    /// <summary>Runs the mode the first argument names; the exit code is non-zero on any failure.</summary>
    public static int Main(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        string root = FindRoot();
        string mode = args.Length > 0 ? args[0] : string.Empty;
        bool quick = args.Contains("--quick");
        bool full = args.Contains("--full");
        string budget = Option(args, "--budget") ?? Path.Combine(root, "perf", "allocation-budget.json");
        switch (mode)
        {
            case "bench" when quick != full:
                return BenchRunner.Run(quick, Options(args, "--filter"), budget, root);
            case "lab" when quick != full:
                string outDir = Option(args, "--out") ?? (quick ? Path.Combine(root, "artifacts", "lab-quick") : Path.Combine(root, "perf", "lab"));
                int jobs = int.TryParse(Option(args, "--jobs"), out int j) ? j : Environment.ProcessorCount;
                return LabRunner.Run(quick ? LabParameters.Quick : LabParameters.Full, outDir, quick ? "quick" : "full", jobs);
            case "selection-apply-probe":
                return Engine.SelectionApplyProbe.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 4);
            case "sources-interleaved" when OperatingSystem.IsLinux():
                Sources.PagemapScanInterleaved.Run(
                    args.Length > 1 && !args[1].StartsWith('-') ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 30,
                    Option(args, "--gib") is string sizes ? [.. sizes.Split(',').Select(x => int.Parse(x, System.Globalization.CultureInfo.InvariantCulture))] : [1, 16]);
                return 0;
            case "extract-probe":
                return Engine.ExtractProbe.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 40);
            case "apply-probe":
                return Engine.ApplyProbe.Run(args);
            case "promoter-probe":
                return Promotion.PromoterProbe.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 2000);
            case "bitmap-race":
                return Bitmaps.SummaryRaceHarness.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1000);
            case "budget" when Option(args, "--results") is string results:
                return BenchRunner.CheckOnly(results, budget);
            case "bench" or "lab" or "budget":
                Console.Error.WriteLine("usage: bench --quick|--full [--filter GLOB ...] [--budget FILE] | lab --quick|--full [--out DIR] [--jobs N] | budget --results FILE|DIR [--budget FILE]");
                return 2;
            default:
                BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
                return 0;
        }
    }

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static List<string> Options(string[] args, string name)
    {
        var values = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == name)
            {
                for (int k = i + 1; k < args.Length && !args[k].StartsWith("--", StringComparison.Ordinal); k++)
                {
                    values.Add(args[k]);
                }
            }
        }

        return values;
    }

    /// <summary>The repository root: the nearest directory up from here holding <c>HotPage.sln</c>; else the current directory.</summary>
    private static string FindRoot()
    {
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (DirectoryInfo? d = new(start); d is not null; d = d.Parent)
            {
                if (File.Exists(Path.Combine(d.FullName, "HotPage.sln")))
                {
                    return d.FullName;
                }
            }
        }

        return Directory.GetCurrentDirectory();
    }
}
