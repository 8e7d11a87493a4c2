using BenchmarkDotNet.Running;

namespace HotPage.Perf;

/// <summary>The lab's entry point: every BenchmarkDotNet suite of every subsystem.</summary>
public static class Program
{
    /// <summary>Runs the suites the arguments select (BenchmarkDotNet's own switcher syntax).</summary>
    public static int Main(string[] args)
    {
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
