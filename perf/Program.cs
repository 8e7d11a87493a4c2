using BenchmarkDotNet.Running;

namespace HotPage.Perf;

/// <summary>The lab's entry point: every BenchmarkDotNet suite of every subsystem.</summary>
public static class Program
{
    /// <summary>Runs the suites the arguments select (BenchmarkDotNet's own switcher syntax).</summary>
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "sources-interleaved" && OperatingSystem.IsLinux())
        {
            Sources.PagemapScanInterleaved.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 30);
            return 0;
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
