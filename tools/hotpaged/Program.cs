using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using HotPage.Engine.Bitmaps;
using HotPage.Engine.Tunables;
using HotPage.Hosting;
using HotPage.Interop.Platform;

namespace HotPage.Daemon;

/// <summary>hotpaged's entry point: parses the command line and runs one command.</summary>
internal static class Program
{
    public const string Usage = """
        usage: hotpaged <command> [options]

        commands:
          topology [--json] [--config FILE]     nodes, CPUs, memory, distances, tiers, sources, vector path
          run --pid PID[,PID...] [options]      watch processes and promote their hot lower-tier pages
              --cgroup PATH                      also watch the processes in PATH/cgroup.procs
              --source auto|scan|softdirty|damon|perf   temperature source(s), comma separated (default auto)
              --config FILE                      JSON config (tunables, tiers, residency, sources, processes)
              --duration SECONDS                 stop after this long (default: until SIGINT/SIGTERM)
              --stats-json FILE                  write the final counters as JSON
              --socket PATH                      control socket (default $XDG_RUNTIME_DIR/hotpaged.sock or /run/hotpaged/hotpaged.sock)
              --metrics-file FILE                rewrite FILE every second with Prometheus text
              --quiet                            no status line
          stat [--json] [--socket PATH]         counters of the running daemon
          metrics [--socket PATH]               counters in Prometheus text format
          tune KEY=VALUE [--socket PATH]        change a run-time tunable of the running daemon
          tunables                              every tunable with its range, default and meaning
          version                               the version and build facts

        exit codes: 0 ok, 1 runtime error, 2 usage or configuration error
        """;

    private static int Main(string[] args)
    {
        try
        {
            if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
            {
                Console.Out.Write(Usage);
                return args.Length == 0 ? 2 : 0;
            }

            var opts = Options.Parse(args.AsSpan(1));
            return args[0] switch
            {
                "topology" => Topology(opts.Only("json", "config")),
                "run" => Daemon.Run(opts.Only("pid", "cgroup", "source", "config", "duration", "stats-json", "socket", "metrics-file", "quiet")),
                "stat" => Client(opts.Only("json", "socket"), opts.Has("json") ? "stat json" : "stat"),
                "metrics" => Client(opts.Only("socket"), "metrics"),
                "tune" => Client(opts.OnlyWithPositionals("socket"), "tune " + opts.SinglePositional("KEY=VALUE")),
                "tunables" => Tunables(opts.Only()),
                "version" or "--version" => Version(),
                _ => throw new DaemonException($"unknown command \"{args[0]}\"; run hotpaged --help", 2),
            };
        }
        catch (DaemonException ex)
        {
            Console.Error.WriteLine($"hotpaged: {ex.Message}");
            return ex.ExitCode;
        }
        catch (ConfigException ex)
        {
            Console.Error.WriteLine($"hotpaged: {ex.Message}");
            return 2;
        }
#pragma warning disable CA1031 // The last line of defence: one readable line and exit code 1, never a stack dump.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Console.Error.WriteLine($"hotpaged: internal error: {ex.GetType().Name}: {ex.Message}");
            return 1;
        }
    }

    /// <summary>The vector width the SIMD bitmap kernels take in this binary (chosen at publish: IlcInstructionSet).</summary>
    public static string VectorPath => BitmapKernels.VectorPath.ToString();

    private static int Version()
    {
        Console.WriteLine($"hotpaged {typeof(Program).Assembly.GetName().Version} ({System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}, vector path {VectorPath})");
        return 0;
    }

    private static int Tunables(Options opts)
    {
        _ = opts;
        foreach (TunableInfo t in EngineTunables.All)
        {
            Console.WriteLine($"{t.Name} = {t.Default}  [{t.Min}..{t.Max}]{(t.Scope == TunableScope.StartOnly ? " (start only)" : string.Empty)}\n    {t.Description}");
        }

        return 0;
    }

    private static string Size(long bytes) => bytes < 0 ? "?" : bytes >= 1L << 30 ? $"{bytes / (double)(1L << 30):F1} GiB" : $"{bytes / (double)(1L << 20):F0} MiB";

    private static string Cpus(System.Collections.ObjectModel.ReadOnlyCollection<int> cpus)
    {
        if (cpus.Count == 0)
        {
            return "-";
        }

        var parts = new List<string>();
        int start = cpus[0], prev = cpus[0];
        foreach (int c in cpus.Skip(1).Append(int.MinValue))
        {
            if (c == prev + 1)
            {
                prev = c;
                continue;
            }

            parts.Add(start == prev ? $"{start}" : $"{start}-{prev}");
            start = prev = c;
        }

        return string.Join(',', parts);
    }

    private static int Topology(Options opts)
    {
        HotPageConfig? config = opts.Value("config") is string file ? ConfigLoader.LoadFile(file) : null;
        using IMemoryPlatform platform = HotPageHost.CreatePlatform(config);
        NumaTopology topo = platform.GetTopology();
        List<SourceSupport> sources = Sources.Probe();
        string numaBalancing = Sources.ReadTrimmed("/proc/sys/kernel/numa_balancing");
        if (opts.Has("json"))
        {
            using var stdout = Console.OpenStandardOutput();
            using var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true });
            w.WriteStartObject();
            w.WriteString("platform", platform.Name);
            w.WriteNumber("page_size", platform.PageSize);
            w.WriteStartArray("nodes");
            foreach (NumaNode n in topo.Nodes)
            {
                w.WriteStartObject();
                w.WriteNumber("id", n.Id);
                w.WriteNumber("tier", n.Tier);
                w.WriteBoolean("top_tier", topo.IsTopTier(n.Id));
                w.WriteStartArray("cpus");
                foreach (int c in n.Cpus)
                {
                    w.WriteNumberValue(c);
                }

                w.WriteEndArray();
                w.WriteNumber("total_bytes", n.TotalBytes);
                w.WriteNumber("free_bytes", platform.GetFreeBytes(n.Id));
                w.WriteStartObject("distances");
                foreach (NumaNode m in topo.Nodes)
                {
                    w.WriteNumber(m.Id.ToString(CultureInfo.InvariantCulture), topo.Distance(n.Id, m.Id));
                }

                w.WriteEndObject();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            WriteIds(w, "top_tier_nodes", topo.TopTierNodes);
            WriteIds(w, "lower_tier_nodes", topo.LowerTierNodes);
            w.WriteStartArray("sources");
            foreach (SourceSupport s in sources)
            {
                w.WriteStartObject();
                w.WriteString("name", s.Name);
                w.WriteBoolean("kernel_support", s.KernelSupport);
                w.WriteBoolean("in_this_build", s.InThisBuild);
                w.WriteString("detail", s.Detail);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteString("numa_balancing", numaBalancing);
            w.WriteString("vector_path", VectorPath);
            w.WriteEndObject();
            w.Flush();
            stdout.Write("\n"u8);
            return 0;
        }

        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"platform {platform.Name}, page size {platform.PageSize}, {topo.Nodes.Count} node(s), vector path {VectorPath}\n");
        sb.Append(CultureInfo.InvariantCulture, $"{"node",-5} {"tier",-5} {"cpus",-12} {"total",-10} {"free",-10} distances\n");
        foreach (NumaNode n in topo.Nodes)
        {
            string tier = n.Tier.ToString(CultureInfo.InvariantCulture) + (topo.IsTopTier(n.Id) ? "*" : string.Empty);
            string distances = string.Join(' ', topo.Nodes.Select(m => topo.Distance(n.Id, m.Id).ToString(CultureInfo.InvariantCulture)));
            sb.Append(CultureInfo.InvariantCulture, $"{n.Id,-5} {tier,-5} {Cpus(n.Cpus),-12} {Size(n.TotalBytes),-10} {Size(platform.GetFreeBytes(n.Id)),-10} {distances}\n");
        }

        sb.Append(CultureInfo.InvariantCulture, $"top tier (*): {string.Join(',', topo.TopTierNodes)}; lower tiers: {(topo.LowerTierNodes.Count == 0 ? "none (nothing to promote; \"residency\": \"assume-lower\" tracks pages anyway)" : string.Join(',', topo.LowerTierNodes))}\n");
        sb.Append("sources:\n");
        foreach (SourceSupport s in sources)
        {
            sb.Append(CultureInfo.InvariantCulture, $"  {s.Name,-10} kernel support: {(s.KernelSupport ? "yes" : "no "),-4} in this build: {(s.InThisBuild ? "yes" : "no "),-4} {s.Detail}\n");
        }

        sb.Append(CultureInfo.InvariantCulture, $"numa_balancing: {(numaBalancing.Length == 0 ? "?" : numaBalancing)}\n");
        Console.Out.Write(sb.ToString());
        return 0;
    }

    private static void WriteIds(Utf8JsonWriter w, string name, IEnumerable<int> ids)
    {
        w.WriteStartArray(name);
        foreach (int id in ids)
        {
            w.WriteNumberValue(id);
        }

        w.WriteEndArray();
    }

    /// <summary>The control socket path: the option, else $XDG_RUNTIME_DIR/hotpaged.sock, else /run/hotpaged/hotpaged.sock.</summary>
    public static string SocketPath(string? option)
    {
        if (!string.IsNullOrEmpty(option))
        {
            return option;
        }

        string? xdg = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        return string.IsNullOrEmpty(xdg) ? "/run/hotpaged/hotpaged.sock" : Path.Combine(xdg, "hotpaged.sock");
    }

    private static int Client(Options opts, string command)
    {
        string path = SocketPath(opts.Value("socket"));
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException ex)
        {
            throw new DaemonException($"no daemon answers at {path} ({ex.SocketErrorCode}); start one with hotpaged run, or pass --socket PATH");
        }

        string reply;
        try
        {
            socket.Send(Encoding.UTF8.GetBytes(command + "\n"));
            var bytes = new List<byte>();
            var buffer = new byte[8192];
            int n;
            while ((n = socket.Receive(buffer)) > 0)
            {
                bytes.AddRange(buffer.AsSpan(0, n));
            }

            reply = Encoding.UTF8.GetString([.. bytes]);
        }
        catch (SocketException ex)
        {
            throw new DaemonException($"the daemon at {path} did not answer ({ex.SocketErrorCode})");
        }

        if (reply.StartsWith("error:", StringComparison.Ordinal))
        {
            Console.Error.Write("hotpaged: " + reply);
            return 1;
        }

        Console.Out.Write(reply);
        return 0;
    }
}

/// <summary>A parsed command line: <c>--name value</c> options, <c>--flag</c> switches and positionals.</summary>
internal sealed class Options
{
    private static readonly HashSet<string> s_flags = ["json", "quiet"];
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly List<string> _positionals = [];

    public static Options Parse(ReadOnlySpan<string> args)
    {
        var o = new Options();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal) || a.Length == 2)
            {
                o._positionals.Add(a);
                continue;
            }

            string name = a[2..];
            string? value = null;
            int eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                value = name[(eq + 1)..];
                name = name[..eq];
            }
            else if (!s_flags.Contains(name))
            {
                if (i + 1 >= args.Length)
                {
                    throw new DaemonException($"option --{name} needs a value", 2);
                }

                value = args[++i];
            }

            if (!o._values.TryAdd(name, value ?? string.Empty))
            {
                throw new DaemonException($"option --{name} is given twice", 2);
            }
        }

        return o;
    }

    /// <summary>Checks that only the named options and no positionals were given; returns this.</summary>
    public Options Only(params string[] allowed)
    {
        if (_positionals.Count > 0)
        {
            throw new DaemonException($"unexpected argument \"{_positionals[0]}\"", 2);
        }

        return OnlyWithPositionals(allowed);
    }

    /// <summary>Checks that only the named options were given; positionals are allowed. Returns this.</summary>
    public Options OnlyWithPositionals(params string[] allowed)
    {
        foreach (string name in _values.Keys)
        {
            if (!allowed.Contains(name))
            {
                throw new DaemonException($"unknown option --{name}{(allowed.Length > 0 ? $"; this command takes --{string.Join(", --", allowed)}" : "; this command takes no options")}", 2);
            }
        }

        return this;
    }

    public bool Has(string name) => _values.ContainsKey(name);

    public string? Value(string name) => _values.TryGetValue(name, out string? v) ? v : null;

    public IReadOnlyList<string> Positionals => _positionals;

    public string SinglePositional(string what)
    {
        if (_positionals.Count != 1)
        {
            throw new DaemonException($"expected one {what} argument, got {_positionals.Count}", 2);
        }

        return _positionals[0];
    }
}
