using System.Globalization;
using System.Runtime.Versioning;
using HotPage.Engine.Records;
using HotPage.Engine.Tunables;
using HotPage.Interop.Linux;
using HotPage.Interop.Platform;

namespace HotPage.Engine.Sources;

/// <summary>Settings of <see cref="PerfSamplingSource"/>.</summary>
public sealed record PerfSourceOptions
{
    /// <summary>Where the PMUs are described (tests pass a fixture).</summary>
    public string EventSourceRoot { get; init; } = "/sys/bus/event_source/devices";

    /// <summary>The proc mount (threads of a process).</summary>
    public string ProcRoot { get; init; } = "/proc";

    /// <summary>Events per sample; 0: 1 for page faults, 10007 for memory-access events (a prime, to avoid lockstep with loops).</summary>
    public ulong SamplePeriod { get; init; }

    /// <summary>Data pages per ring (a power of two).</summary>
    public int RingDataPages { get; init; } = 16;

    /// <summary>The event; null: <see cref="PerfEventChoice.Choose"/>.</summary>
    public PerfEventChoice? Event { get; init; }
}

/// <summary>
/// perf sampling as a temperature source: for every thread of an attached process an event with
/// <c>PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_ADDR</c> and its own mmap ring; each
/// <see cref="Tick"/> drains every ring and reports the sampled data addresses with NUMA_NO_NODE.
/// The event is a memory-access event (PEBS mem-loads, IBS op) where the PMU offers one, else the
/// software page-fault event (the probe says so). Threads started after attaching are picked up at
/// the next tick.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed unsafe class PerfSamplingSource : ITemperatureSource
{
    private const ulong SampleType = LibC.PERF_SAMPLE_TID | LibC.PERF_SAMPLE_TIME | LibC.PERF_SAMPLE_ADDR;

    private readonly IAccessSink _sink;
    private readonly Dictionary<int, Dictionary<int, (PerfEventRing Ring, PerfRingReader Reader)>> _procs = [];
    private readonly PerfSample[] _samples = new PerfSample[1024];
    private readonly AccessRecord[] _records = new AccessRecord[1024];
    private PerfEventChoice? _event;

    /// <summary>Creates the source; nothing is opened until a process is attached.</summary>
    public PerfSamplingSource(IAccessSink sink, EngineTunables tunables, PerfSourceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentNullException.ThrowIfNull(tunables);
        _sink = sink;
        Options = options ?? new PerfSourceOptions();
        if (Options.RingDataPages <= 0 || (Options.RingDataPages & (Options.RingDataPages - 1)) != 0)
        {
            throw new ArgumentException($"RingDataPages must be a power of two, not {Options.RingDataPages}", nameof(options));
        }
    }

    /// <summary>The options.</summary>
    public PerfSourceOptions Options { get; }

    /// <summary>The event sampled.</summary>
    public PerfEventChoice Event => _event ??= Options.Event ?? PerfEventChoice.Choose(Options.EventSourceRoot);

    /// <inheritdoc/>
    public string Name => "perf";

    /// <inheritdoc/>
    public AccessSource Tag => AccessSource.PerfSample;

    /// <inheritdoc/>
    public IReadOnlyCollection<int> AttachedPids => _procs.Keys;

    /// <summary>Samples lost because a ring was full (PERF_RECORD_LOST), over every ring so far.</summary>
    public long LostSamples { get; private set; }

    /// <summary>Samples decoded so far.</summary>
    public long Samples { get; private set; }

    /// <summary>Samples without a data address (ignored).</summary>
    public long SamplesWithoutAddress { get; private set; }

    /// <inheritdoc/>
    public SourceAvailability Probe()
    {
        perf_event_attr attr = MakeAttr(Event);
        PerfEventRing? ring = PerfEventRing.TryOpen(ref attr, 0, -1, 0, out Errno errno, out _);
        if (ring is null)
        {
            return SourceAvailability.Missing($"perf sampling is not available: perf_event_open of {Event.Description} failed with {errno}{Hint(errno)}");
        }

        ring.Dispose();
        return SourceAvailability.Available(Event.Description);
    }

    private static string Hint(Errno errno) => errno switch
    {
        Errno.EACCES or Errno.EPERM => " (not permitted: needs CAP_PERFMON or a lower /proc/sys/kernel/perf_event_paranoid)",
        Errno.ENOENT or Errno.ENODEV or Errno.EOPNOTSUPP => " (the PMU does not support this event or sampling)",
        Errno.ESRCH => " (no such process)",
        _ => string.Empty,
    };

    private perf_event_attr MakeAttr(PerfEventChoice e)
    {
        perf_event_attr attr = default;
        attr.type = e.Type;
        attr.config = e.Config;
        attr.config1 = e.Config1;
        attr.sample_period = Options.SamplePeriod != 0 ? Options.SamplePeriod : e.IsMemoryAccessEvent ? 10007UL : 1UL;
        attr.sample_type = SampleType;
        attr.flags = PerfEventAttrFlags.ExcludeKernel | PerfEventAttrFlags.ExcludeHv | (e.Precise ? PerfEventAttrFlags.PreciseIp2 : 0);
        attr.wakeup_events = 0;
        return attr;
    }

    /// <inheritdoc/>
    public void Attach(int pid)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pid);
        if (_procs.ContainsKey(pid))
        {
            return;
        }

        string taskDir = Path.Combine(Options.ProcRoot, pid.ToString(CultureInfo.InvariantCulture), "task");
        if (!Directory.Exists(taskDir))
        {
            throw new SourceException(Name, pid, $"no such process ({taskDir} does not exist)");
        }

        var rings = new Dictionary<int, (PerfEventRing, PerfRingReader)>();
        try
        {
            string? error = OpenThreads(pid, rings, taskDir);
            if (rings.Count == 0)
            {
                throw new SourceException(Name, pid, error ?? "the process has no threads");
            }
        }
        catch
        {
            foreach ((PerfEventRing ring, _) in rings.Values)
            {
                ring.Dispose();
            }

            throw;
        }

        _procs.Add(pid, rings);
    }

    private string? OpenThreads(int pid, Dictionary<int, (PerfEventRing, PerfRingReader)> rings, string taskDir)
    {
        string? error = null;
        IEnumerable<string> tasks;
        try
        {
            tasks = Directory.EnumerateDirectories(taskDir).ToArray();
        }
        catch (DirectoryNotFoundException)
        {
            return "the process exited";
        }

        foreach (string t in tasks)
        {
            if (!int.TryParse(Path.GetFileName(t), NumberStyles.None, CultureInfo.InvariantCulture, out int tid) || rings.ContainsKey(tid))
            {
                continue;
            }

            perf_event_attr attr = MakeAttr(Event);
            PerfEventRing? ring = PerfEventRing.TryOpen(ref attr, tid, -1, Options.RingDataPages, out Errno errno, out string call);
            if (ring is null)
            {
                // A thread that exited between the listing and the open is not an error.
                if (errno != Errno.ESRCH)
                {
                    error = $"{call} for thread {tid} failed with {errno}{Hint(errno)}";
                }

                continue;
            }

            rings.Add(tid, (ring, new PerfRingReader(ring.Base, (ulong)Options.RingDataPages * (ulong)Environment.SystemPageSize, SampleType)));
        }

        if (error is not null && rings.Count == 0)
        {
            return error;
        }

        return rings.Count == 0 ? "the process has no threads left (it exited)" : null;
    }

    /// <inheritdoc/>
    public bool Detach(int pid)
    {
        if (!_procs.Remove(pid, out var rings))
        {
            return false;
        }

        foreach ((PerfEventRing ring, _) in rings.Values)
        {
            ring.Dispose();
        }

        return true;
    }

    /// <inheritdoc/>
    public SourceTickResult Tick(long nowMs)
    {
        long scanned = 0, reported = 0, rejected = 0;
        int errors = 0;
        string? lastError = null;
        List<int>? gone = null;
        foreach ((int pid, var rings) in _procs)
        {
            List<int>? deadThreads = null;
            foreach ((int tid, (PerfEventRing ring, PerfRingReader reader)) in rings)
            {
                long lostBefore = reader.LostSamples;
                int n;
                while ((n = reader.Read(_samples)) > 0)
                {
                    scanned += n;
                    Samples += n;
                    int r = 0;
                    for (int i = 0; i < n; i++)
                    {
                        ulong addr = _samples[i].Address;
                        if (addr == 0)
                        {
                            SamplesWithoutAddress++;
                            continue;
                        }

                        _records[r++] = new AccessRecord(addr, -1, AccessSource.PerfSample, 0);
                    }

                    rejected += _sink.Deliver(pid, _records.AsSpan(0, r));
                    reported += r;
                }

                LostSamples += reader.LostSamples - lostBefore;
                if (!Directory.Exists(Path.Combine(Options.ProcRoot, pid.ToString(CultureInfo.InvariantCulture), "task", tid.ToString(CultureInfo.InvariantCulture))))
                {
                    (deadThreads ??= []).Add(tid);
                }
            }

            if (deadThreads is not null)
            {
                foreach (int tid in deadThreads)
                {
                    rings.Remove(tid, out var dead);
                    dead.Ring.Dispose();
                }
            }

            string taskDir = Path.Combine(Options.ProcRoot, pid.ToString(CultureInfo.InvariantCulture), "task");
            if (!Directory.Exists(taskDir))
            {
                errors++;
                lastError = $"{Name} source, pid {pid}: the process exited";
                (gone ??= []).Add(pid);
                continue;
            }

            _ = OpenThreads(pid, rings, taskDir); // new threads
        }

        if (gone is not null)
        {
            foreach (int pid in gone)
            {
                Detach(pid);
            }
        }

        return new SourceTickResult(scanned, reported, rejected, errors, lastError);
    }

    /// <summary>Rings open now (one per watched thread).</summary>
    public int OpenRings => _procs.Values.Sum(r => r.Count);

    /// <summary>Closes every ring.</summary>
    public void Dispose()
    {
        foreach (int pid in _procs.Keys.ToArray())
        {
            Detach(pid);
        }
    }
}
