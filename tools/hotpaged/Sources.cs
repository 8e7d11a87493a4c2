using HotPage.Engine;
using HotPage.Engine.Records;
using HotPage.Engine.Sources;
using HotPage.Engine.Tunables;

namespace HotPage.Daemon;

/// <summary>What this kernel offers a temperature source, and whether this build has the source.</summary>
/// <param name="Name">The source's name on the command line.</param>
/// <param name="KernelSupport">True when the kernel has what the source needs.</param>
/// <param name="Detail">What was checked, for an operator.</param>
/// <param name="InThisBuild">True when this build of hotpaged contains the source.</param>
internal readonly record struct SourceSupport(string Name, bool KernelSupport, string Detail, bool InThisBuild);

/// <summary>
/// The temperature sources for processes that do not report their own accesses, and the one
/// place where <c>hotpaged run --source</c> is wired to them (<c>engine/Sources/</c>). Probing
/// never writes to DAMON's sysfs or any system-wide setting (the soft-dirty probe writes
/// clear_refs of hotpaged itself only).
/// </summary>
internal static class Sources
{
    /// <summary>The source names in the order <c>auto</c> considers them.</summary>
    public static readonly string[] Names = ["scan", "softdirty", "damon", "perf"];

    /// <summary>Asks each source whether this kernel supports it (the sources' own <c>Probe()</c>).</summary>
    public static List<SourceSupport> Probe()
    {
        var tunables = new EngineTunables();
        var support = new List<SourceSupport>();
        foreach (string name in Names)
        {
            using ITemperatureSource source = Create(name, NullSink.Instance, tunables);
            SourceAvailability a = source.Probe();
            support.Add(new SourceSupport(name, a.IsAvailable, a.Reason, true));
        }

        return support;
    }

    /// <summary>
    /// Resolves <c>--source</c> into the sources to start. <c>auto</c>: the idle-page scan if
    /// available, else soft-dirty, else DAMON (whose probe refuses when someone else's kdamonds
    /// exist); plus perf sampling if available. What <c>auto</c> skipped, and why, goes to
    /// <paramref name="notes"/>. An explicit source the kernel does not support is an error with
    /// the source's reason.
    /// </summary>
    /// <exception cref="DaemonException">The source is unknown or not available (exit code 2).</exception>
    public static List<string> Resolve(IReadOnlyList<string> requested, List<SourceSupport> support, List<string> notes)
    {
        var chosen = new List<string>();
        foreach (string name in requested)
        {
            if (name == "auto")
            {
                SourceSupport? table = support.Where(s => s.Name is "scan" or "softdirty" or "damon" && s.KernelSupport && s.InThisBuild).Select(s => (SourceSupport?)s).FirstOrDefault();
                foreach (SourceSupport s in support)
                {
                    bool pick = s.Name == "perf" ? s.KernelSupport && s.InThisBuild : table is { } t && t.Name == s.Name;
                    if (pick)
                    {
                        chosen.Add(s.Name);
                        notes.Add($"source {s.Name} runs: {s.Detail}");
                    }
                    else
                    {
                        notes.Add($"source {s.Name} skipped: {(s.KernelSupport ? $"{table?.Name} is preferred" : s.Detail)}");
                    }
                }

                continue;
            }

            SourceSupport found = support.FirstOrDefault(x => x.Name == name);
            if (found.Name is null)
            {
                throw new DaemonException($"unknown source \"{name}\"; sources: auto, {string.Join(", ", Names)}", 2);
            }

            if (!found.InThisBuild)
            {
                throw new DaemonException($"source {name} is not available in this build", 2);
            }

            if (!found.KernelSupport)
            {
                throw new DaemonException($"source {name}: {found.Detail}", 2);
            }

            chosen.Add(name);
        }

        return chosen.Distinct().ToList();
    }

    /// <summary>
    /// Builds the chosen sources feeding the engine's record path (their tag, NUMA_NO_NODE). The
    /// caller attaches them to the watched processes, ticks them and disposes them.
    /// </summary>
    public static List<ITemperatureSource> Start(IReadOnlyList<string> chosen, HotPageEngine engine)
    {
        var sink = new EngineAccessSink(engine);
        var started = new List<ITemperatureSource>();
        try
        {
            foreach (string name in chosen)
            {
                started.Add(Create(name, sink, engine.Tunables));
            }
        }
        catch
        {
            foreach (ITemperatureSource s in started)
            {
                s.Dispose();
            }

            throw;
        }

        return started;
    }

    private static ITemperatureSource Create(string name, IAccessSink sink, EngineTunables tunables) => name switch
    {
        "scan" => new IdlePageSource(sink, tunables),
        "softdirty" => new SoftDirtySource(sink, tunables),
        "damon" => new DamonSource(sink, tunables, new DamonSourceOptions { Operations = "vaddr" }),
        "perf" => new PerfSamplingSource(sink, tunables),
        _ => throw new DaemonException($"unknown source \"{name}\"", 2),
    };

    /// <summary>A sink for probing: refuses nothing and keeps nothing.</summary>
    private sealed class NullSink : IAccessSink
    {
        public static readonly NullSink Instance = new();

        public int Deliver(int pid, ReadOnlySpan<AccessRecord> records) => 0;
    }

    internal static string ReadTrimmed(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return string.Empty;
        }
    }
}
