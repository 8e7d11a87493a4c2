using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using HotPage.Engine.Counters;
using HotPage.Engine.Promotion;
using HotPage.Engine.Sources;
using HotPage.Engine.Tables;
using HotPage.Hosting;
using HotPage.Interop.Platform;

namespace HotPage.Daemon;

/// <summary>
/// <c>hotpaged run</c>: watches processes, registers their anonymous private memory as regions,
/// runs the promoter and the temperature sources, re-reads the memory maps periodically (new
/// mappings, processes that exit), serves the control socket, and stops on SIGINT/SIGTERM or
/// <c>--duration</c> with the final counters.
/// </summary>
internal sealed class Daemon : IDisposable
{
    private readonly HotPageHost _host;
    private readonly Dictionary<int, Watched> _watched = [];
    private readonly Lock _gate = new();
    private readonly System.Collections.Concurrent.ConcurrentQueue<int> _gone = new();
    private readonly string? _cgroup;
    private readonly int _selfPid = Environment.ProcessId;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly List<ITemperatureSource> _sources = [];
    private const int SourceTickMs = 50;
    private bool _statusShown;
    private bool _capacityWarned;
    private long _exited;
    private long _sourceTicks, _sourceTickMsTotal, _sourceTickMsMax;

    private Daemon(HotPageHost host, string? cgroup)
    {
        _host = host;
        _cgroup = cgroup;
        _host.Promoter.Log += line => Log(line);
        // Raised on the promoter's thread under its round lock: queue, and drop on the main loop
        // (taking the daemon's lock here could deadlock with a refresh that calls into the promoter).
        _host.Promoter.ProcessProblem += p =>
        {
            if (p.Error == Errno.ESRCH)
            {
                _gone.Enqueue(p.Pid);
            }
        };
    }

    /// <summary>True when a live status line is drawn (stderr is a terminal and --quiet is not given).</summary>
    public bool StatusLine { get; private set; }

    /// <summary>The process ids watched now.</summary>
    public IReadOnlyCollection<int> Pids
    {
        get
        {
            lock (_gate)
            {
                return [.. _watched.Keys];
            }
        }
    }

    /// <summary>Runs the daemon until stopped; returns the exit code.</summary>
    public static int Run(Options opts)
    {
        HotPageConfig config = opts.Value("config") is string file ? ConfigLoader.LoadFile(file) : new HotPageConfig();
        var pids = new List<int>();
        if (opts.Value("pid") is string pidText)
        {
            foreach (string part in pidText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int pid) || pid <= 0)
                {
                    throw new DaemonException($"--pid: \"{part}\" is not a pid", 2);
                }

                pids.Add(pid);
            }
        }

        pids.AddRange(config.Processes ?? []);
        string? cgroup = opts.Value("cgroup") ?? config.Cgroup;
        if (cgroup is not null)
        {
            pids.AddRange(ProcMaps.CgroupPids(cgroup));
        }

        pids = pids.Distinct().ToList();
        if (pids.Count == 0 && cgroup is null)
        {
            throw new DaemonException("run needs --pid PID[,PID...], --cgroup PATH or \"processes\" in the config", 2);
        }

        double duration = 0;
        if (opts.Value("duration") is string d && (!double.TryParse(d, NumberStyles.Float, CultureInfo.InvariantCulture, out duration) || duration <= 0))
        {
            throw new DaemonException($"--duration: \"{d}\" is not a positive number of seconds", 2);
        }

        List<string> requested = opts.Value("source") is string src
            ? [.. src.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)]
            : config.Sources ?? ["auto"];
        var sourceNotes = new List<string>();
        List<string> sources = Sources.Resolve(requested, Sources.Probe(), sourceNotes);

        // The engine first (a config that does not fit this machine is a configuration error), then
        // every pid must be watchable before anything starts: a clear error naming the pid otherwise.
        using var host = HotPageHost.Create(config);
        var maps = new Dictionary<int, string>();
        foreach (int pid in pids)
        {
            if (pid == Environment.ProcessId)
            {
                throw new DaemonException($"pid {pid}: that is hotpaged itself");
            }

            maps[pid] = ProcMaps.ReadOrThrow(pid);
        }

        using var daemon = new Daemon(host, cgroup) { StatusLine = !opts.Has("quiet") && !Console.IsErrorRedirected };
        return daemon.Loop(maps, sources, sourceNotes, duration, opts.Value("stats-json"), Program.SocketPath(opts.Value("socket") ?? config.Socket),
            opts.Value("metrics-file") ?? config.MetricsFile, config.MapsRefreshMs ?? 2000);
    }

    private int Loop(Dictionary<int, string> maps, List<string> sources, List<string> sourceNotes, double duration, string? statsJson, string socketPath, string? metricsFile, int refreshMs)
    {
        using var stop = new ManualResetEventSlim(false);
        string? signal = null;
        void OnSignal(PosixSignalContext ctx)
        {
            ctx.Cancel = true;
            signal ??= ctx.Signal == PosixSignal.SIGINT ? "SIGINT" : "SIGTERM";
            stop.Set();
        }

        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

        NumaTopology topo = _host.Topology;
        Log($"hotpaged: platform {_host.Platform.Name}, {topo.Nodes.Count} node(s), top tier {string.Join(',', topo.TopTierNodes)}, lower tiers {(topo.LowerTierNodes.Count == 0 ? "none" : string.Join(',', topo.LowerTierNodes))}, residency {(_host.AssumeLowerTier ? "assume-lower" : "query")}, table {_host.Engine.Capacity} pages");
        if (_host.HugePages is { IsAvailable: false } huge)
        {
            Log($"hotpaged: {huge.UnavailableReason}");
        }

        foreach (string note in sourceNotes)
        {
            Log($"hotpaged: {note}");
        }

        Log(sources.Count == 0
            ? "hotpaged: no temperature source runs; pages are tracked and re-checked for residency only"
            : $"hotpaged: sources {string.Join(',', sources)}");
        _sources.AddRange(Sources.Start(sources, _host.Engine));
        try
        {
            return RunSources(maps, duration, statsJson, socketPath, metricsFile, refreshMs, stop, () => signal);
        }
        finally
        {
            // Every source releases what it made in the kernel (DAMON turns off and removes its
            // kdamond), on a normal stop and on an error alike.
            foreach (ITemperatureSource s in _sources)
            {
                try
                {
                    s.Dispose();
                }
#pragma warning disable CA1031 // One source failing to clean up must not keep the others from cleaning up.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    Log($"hotpaged: source {s.Name}: cleanup failed: {ex.Message}");
                }
            }

            _sources.Clear();
        }
    }

    private int RunSources(Dictionary<int, string> maps, double duration, string? statsJson, string socketPath, string? metricsFile, int refreshMs, ManualResetEventSlim stop, Func<string?> signal)
    {
        lock (_gate)
        {
            foreach ((int pid, string text) in maps)
            {
                Watch(pid, text);
            }
        }

        using var control = new ControlServer(socketPath, Handle);
        Log($"hotpaged: control socket {socketPath} (stat, stat json, metrics, tune KEY=VALUE)");
        _host.Promoter.Start();

        long deadline = duration > 0 ? (long)(duration * 1000) : long.MaxValue;
        long nextRefresh = refreshMs;
        long lastPromoted = 0, lastTick = 0;
        long nextSecond = 1000, nextSourceTick = 0;
        string stopReason = "stopped";
        while (true)
        {
            long now = _clock.ElapsedMilliseconds;
            long next = Math.Min(nextSecond, deadline);
            if (_sources.Count > 0)
            {
                next = Math.Min(next, nextSourceTick);
            }

            if (stop.Wait((int)Math.Clamp(next - now, 1, int.MaxValue)))
            {
                stopReason = $"{signal()} received";
                break;
            }

            now = _clock.ElapsedMilliseconds;
            if (now >= deadline)
            {
                stopReason = $"--duration {duration.ToString(CultureInfo.InvariantCulture)} s reached";
                break;
            }

            if (_sources.Count > 0 && now >= nextSourceTick)
            {
                nextSourceTick = now + SourceTickMs;
                TickSources(now);
            }

            if (now < nextSecond)
            {
                continue;
            }

            nextSecond = ((now / 1000) + 1) * 1000;

            if (now >= nextRefresh || !_gone.IsEmpty)
            {
                nextRefresh = now + refreshMs;
                if (!Refresh())
                {
                    stopReason = "no watched process remains";
                    break;
                }
            }

            CounterSnapshot c = Counters();
            long promoted = CounterFormat.Get(c, "pgpromote_success");
            if (metricsFile is not null)
            {
                WriteAtomically(metricsFile, CounterFormat.Prometheus(c));
            }

            if (StatusLine)
            {
                double mbps = (promoted - lastPromoted) * (double)_host.Platform.PageSize / (1 << 20) / Math.Max(0.001, (now - lastTick) / 1000.0);
                Console.Error.Write($"\r\u001b[Kpromoted {promoted} pages ({mbps:F1} MB/s), candidates {CounterFormat.Get(c, "pghot_candidates")}, drops {CounterFormat.Get(c, "pghot_ring_dropped") + CounterFormat.Get(c, "kpromoted_dropped")}, processes {CounterFormat.Get(c, "hotpage_watched_processes")}, regions {CounterFormat.Get(c, "hotpage_tracked_regions")}");
                _statusShown = true;
            }

            lastPromoted = promoted;
            lastTick = now;
        }

        PromoterStopReport report = _host.Promoter.Stop();
        Log($"hotpaged: {stopReason}; stopping after {report.Rounds} rounds: {report.Total.Promoted} pages promoted, {report.Total.Failed} failed, {report.Total.Dropped} dropped, {report.RemainingCandidates} candidates left");
        CounterSnapshot final = Counters();
        Console.Out.Write(CounterFormat.Text(final));
        if (statsJson is not null)
        {
            WriteStats(statsJson, final, stopReason);
        }

        if (metricsFile is not null)
        {
            WriteAtomically(metricsFile, CounterFormat.Prometheus(final));
        }

        return 0;
    }

    /// <summary>The engine's and promoter's counters plus the daemon's own gauges.</summary>
    public CounterSnapshot Counters()
    {
        long regions = 0, pages = 0, processes;
        lock (_gate)
        {
            processes = _watched.Count;
            foreach (Watched w in _watched.Values)
            {
                regions += w.Regions.Count;
                pages += w.Regions.Values.Sum(r => r.PageCount);
            }
        }

        return new CounterSnapshot(_host.GetCounters().Concat(
        [
            new("hotpage_watched_processes", processes),
            new("hotpage_exited_processes", Interlocked.Read(ref _exited)),
            new("hotpage_tracked_regions", regions),
            new("hotpage_tracked_pages", pages),
            new("hotpage_uptime_ms", _clock.ElapsedMilliseconds),
            new("hotpage_source_ticks", Interlocked.Read(ref _sourceTicks)),
            new("hotpage_source_tick_ms_total", Interlocked.Read(ref _sourceTickMsTotal)),
            new("hotpage_source_tick_ms_max", Interlocked.Read(ref _sourceTickMsMax)),
        ]));
    }

    private string Handle(string request)
    {
        try
        {
            if (request == "stat")
            {
                return CounterFormat.Text(Counters());
            }

            if (request == "stat json")
            {
                return CounterFormat.Json(Counters());
            }

            if (request == "metrics")
            {
                return CounterFormat.Prometheus(Counters());
            }

            if (request == "tunables")
            {
                return string.Concat(_host.Engine.Tunables.Values.Select(p => $"{p.Key}={p.Value}\n"));
            }

            if (request.StartsWith("tune ", StringComparison.Ordinal))
            {
                string assignment = request[5..].Trim();
                if (!_host.Engine.Tunables.TrySet(assignment, out string error))
                {
                    return $"error: {error}";
                }

                Log($"hotpaged: tunable set over the control socket: {assignment}");
                return $"ok {assignment}";
            }

            return $"error: unknown request \"{request}\"; requests: stat, stat json, metrics, tunables, tune KEY=VALUE";
        }
#pragma warning disable CA1031 // The control thread answers every request; a failure becomes the reply.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return $"error: {ex.Message}";
        }
    }

    private void Watch(int pid, string mapsText)
    {
        var w = new Watched(pid);
        _watched[pid] = w;
        Sync(w, ProcMaps.Parse(mapsText));
        Log($"hotpaged: watching pid {pid} ({Comm(pid)}): {w.Regions.Count} regions, {w.Regions.Values.Sum(r => r.PageCount)} pages");
        foreach (ITemperatureSource s in _sources)
        {
            try
            {
                s.Attach(pid);
            }
            catch (SourceException ex)
            {
                // This pid goes on without this source (residency is still re-checked); the others go on.
                Log($"hotpaged: cannot attach: {ex.Message}; pid {pid} goes on without the {s.Name} source");
            }
        }
    }

    /// <summary>Ticks every source once (main loop thread only: the sources are not thread-safe).</summary>
    private void TickSources(long nowMs)
    {
        lock (_gate)
        {
            foreach (ITemperatureSource s in _sources)
            {
                SourceTickResult r;
                long t0 = _clock.ElapsedMilliseconds;
                try
                {
                    r = s.Tick(nowMs);
                }
                catch (Exception ex) when (ex is SourceException or IOException or UnauthorizedAccessException or InvalidOperationException)
                {
                    Log($"hotpaged: source {s.Name}: tick failed: {ex.Message}");
                    continue;
                }
                finally
                {
                    // How long the sources hold the main loop (a pass over a large process, DAMON's sysfs reads).
                    long ms = _clock.ElapsedMilliseconds - t0;
                    Interlocked.Increment(ref _sourceTicks);
                    Interlocked.Add(ref _sourceTickMsTotal, ms);
                    if (ms > Interlocked.Read(ref _sourceTickMsMax))
                    {
                        Interlocked.Exchange(ref _sourceTickMsMax, ms);
                    }
                }

                if (r.Errors > 0)
                {
                    Log($"hotpaged: source {s.Name}: {r.Errors} process(es) detached: {r.LastError}");
                }
            }
        }
    }

    private static string Comm(int pid) => Sources.ReadTrimmed($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/comm");

    /// <summary>Registers new mappings and unregisters vanished or resized ones.</summary>
    private void Sync(Watched w, List<Mapping> mappings)
    {
        var wanted = new HashSet<(ulong, ulong)>(mappings.Select(m => (m.Start, m.End)));
        foreach (var key in w.Regions.Keys.Where(k => !wanted.Contains(k)).ToList())
        {
            _host.Engine.UnregisterRegion(w.Regions[key].Id);
            w.Regions.Remove(key);
        }

        foreach (Mapping m in mappings)
        {
            if (w.Regions.ContainsKey((m.Start, m.End)))
            {
                continue;
            }

            try
            {
                Region r = _host.Engine.RegisterRegion(w.Pid, m.Start, m.Length);
                w.Regions[(m.Start, m.End)] = r;
            }
            catch (InvalidOperationException ex) when (ex.Message.Contains("max_tracked_pages", StringComparison.Ordinal))
            {
                if (!_capacityWarned)
                {
                    _capacityWarned = true;
                    Log($"hotpaged: pid {w.Pid}: mapping 0x{m.Start:x}+{m.Length} {m.Name} does not fit in the table ({_host.Engine.Capacity} pages); it and later ones are not tracked: raise max_tracked_pages");
                }
            }
            catch (InvalidOperationException ex)
            {
                // Residency could not be read: the mapping went away meanwhile, or access is denied.
                if (!w.ResidencyWarned)
                {
                    w.ResidencyWarned = true;
                    Log($"hotpaged: pid {w.Pid}: {ex.Message}");
                }
            }
        }
    }

    /// <summary>Re-reads every watched process's maps (and the cgroup); false when nothing is left to watch.</summary>
    private bool Refresh()
    {
        lock (_gate)
        {
            while (_gone.TryDequeue(out int gonePid))
            {
                Drop(gonePid, "exited");
            }

            if (_cgroup is not null)
            {
                try
                {
                    foreach (int pid in ProcMaps.CgroupPids(_cgroup))
                    {
                        if (!_watched.ContainsKey(pid) && pid != _selfPid)
                        {
                            try
                            {
                                Watch(pid, ProcMaps.ReadOrThrow(pid));
                                _host.Promoter.Allow(pid);
                            }
                            catch (DaemonException ex)
                            {
                                Log($"hotpaged: cgroup {_cgroup}: {ex.Message}");
                            }
                        }
                    }
                }
                catch (DaemonException ex)
                {
                    Log($"hotpaged: {ex.Message}");
                }
            }

            foreach (Watched w in _watched.Values.ToList())
            {
                string text;
                try
                {
                    text = ProcMaps.ReadOrThrow(w.Pid);
                }
                catch (DaemonException)
                {
                    Drop(w.Pid, "exited");
                    continue;
                }

                Sync(w, ProcMaps.Parse(text));
            }

            return _watched.Count > 0 || _cgroup is not null;
        }
    }

    private void Drop(int pid, string why)
    {
        if (!_watched.Remove(pid, out Watched? w))
        {
            return;
        }

        foreach (ITemperatureSource s in _sources)
        {
            s.Detach(pid);
        }

        foreach (Region r in w.Regions.Values)
        {
            _host.Engine.UnregisterRegion(r.Id);
        }

        Interlocked.Increment(ref _exited);
        Log($"hotpaged: pid {pid} {why}; its {w.Regions.Count} regions are dropped, {_watched.Count} process(es) still watched");
    }

    private void WriteStats(string path, CounterSnapshot counters, string stopReason)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("stop_reason", stopReason);
            w.WriteNumber("elapsed_ms", _clock.ElapsedMilliseconds);
            w.WriteString("platform", _host.Platform.Name);
            w.WriteString("residency", _host.AssumeLowerTier ? "assume-lower" : "query");
            w.WriteStartArray("pids");
            foreach (int pid in Pids)
            {
                w.WriteNumberValue(pid);
            }

            w.WriteEndArray();
            w.WritePropertyName("counters");
            CounterFormat.WriteJsonObject(w, counters);
            w.WriteEndObject();
        }

        stream.WriteByte((byte)'\n');
        WriteAtomically(path, Encoding.UTF8.GetString(stream.ToArray()));
    }

    private void WriteAtomically(string path, string text)
    {
        try
        {
            string tmp = path + ".tmp";
            File.WriteAllText(tmp, text);
            File.Move(tmp, path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log($"hotpaged: cannot write {path}: {ex.Message}");
        }
    }

    /// <summary>Writes a log line to stderr (clearing the status line first).</summary>
    public void Log(string line)
    {
        string stamp = DateTime.Now.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture);
        lock (Console.Error)
        {
            if (_statusShown)
            {
                Console.Error.Write("\r\u001b[K");
                _statusShown = false;
            }

            Console.Error.WriteLine($"{stamp} {line}");
        }
    }

    /// <summary>Nothing of its own: the host is disposed by the caller.</summary>
    public void Dispose()
    {
        if (_statusShown)
        {
            Console.Error.WriteLine();
        }
    }

    private sealed class Watched(int pid)
    {
        public int Pid { get; } = pid;

        public Dictionary<(ulong Start, ulong End), Region> Regions { get; } = [];

        public bool ResidencyWarned { get; set; }
    }
}
