using System.Globalization;
using System.Runtime.Versioning;
using HotPage.Engine.Records;
using HotPage.Engine.Tunables;
using HotPage.Interop.Platform;

namespace HotPage.Engine.Sources;

/// <summary>Settings of <see cref="DamonSource"/>.</summary>
public sealed record DamonSourceOptions
{
    /// <summary>The DAMON sysfs <c>admin</c> directory.</summary>
    public string Root { get; init; } = DamonSysfsDriver.DefaultRoot;

    /// <summary>File operations (tests simulate the kernel); null: the real file system.</summary>
    public IDamonFiles? Files { get; init; }

    /// <summary><c>vaddr</c> (monitor the process's address space) or <c>paddr</c> (monitor the physical ranges its pages occupy, mapped back through pagemap).</summary>
    public string Operations { get; init; } = "vaddr";

    /// <summary>Monitoring attributes and the hot threshold.</summary>
    public DamonAttrs Attrs { get; init; } = new();

    /// <summary>The proc mount.</summary>
    public string ProcRoot { get; init; } = "/proc";

    /// <summary>Most physical ranges given to a paddr target.</summary>
    public int MaxPhysicalRanges { get; init; } = 32;
}

/// <summary>
/// DAMON as a temperature source: a kdamond per attached process (see <see cref="DamonSysfsDriver"/>),
/// each with a stat scheme that selects regions at or above the hot threshold. Every
/// <c>scan_period_ms</c> (the first <c>scan_delay_ms</c> after attaching) it asks for the selected
/// regions and reports their pages, hottest regions first, at most <c>scan_size_mb</c> per process
/// per period, with NUMA_NO_NODE.
/// </summary>
/// <remarks>
/// Attaching or detaching a process restarts the source's kdamonds (the sysfs ABI cannot add one
/// without recreating all). With <c>paddr</c>, the physical ranges and the PFN-to-address map are
/// taken when the process is attached; pages that move later (a promotion changes the PFN) are
/// found again after a re-attach.
/// </remarks>
[SupportedOSPlatform("linux")]
public sealed class DamonSource : ITemperatureSource
{
    private readonly IAccessSink _sink;
    private readonly EngineTunables _tunables;
    private readonly DamonSysfsDriver _driver;
    private readonly List<DamonTarget> _targets = [];
    private readonly Dictionary<int, PfnReverseMap> _reverse = [];
    private readonly AccessRecord[] _records = new AccessRecord[4096];
    private int _recordCount;
    private long _rejected;
    private long _nextDueMs = -1;

    /// <summary>Creates the source; nothing is written to DAMON until a process is attached.</summary>
    public DamonSource(IAccessSink sink, EngineTunables tunables, DamonSourceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentNullException.ThrowIfNull(tunables);
        _sink = sink;
        _tunables = tunables;
        Options = options ?? new DamonSourceOptions();
        if (Options.Operations is not ("vaddr" or "paddr"))
        {
            throw new ArgumentException($"DAMON operations must be vaddr or paddr, not '{Options.Operations}'", nameof(options));
        }

        _driver = new DamonSysfsDriver(Options.Root, Options.Files);
    }

    /// <summary>The options.</summary>
    public DamonSourceOptions Options { get; }

    /// <summary>The driver (state, owned kdamonds).</summary>
    public DamonSysfsDriver Driver => _driver;

    /// <inheritdoc/>
    public string Name => "damon";

    /// <inheritdoc/>
    public AccessSource Tag => AccessSource.Damon;

    /// <inheritdoc/>
    public IReadOnlyCollection<int> AttachedPids => _targets.Select(t => t.Pid).ToArray();

    /// <inheritdoc/>
    public SourceAvailability Probe() => _driver.Probe();

    /// <inheritdoc/>
    public void Attach(int pid)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pid);
        if (_targets.Exists(t => t.Pid == pid))
        {
            return;
        }

        string dir = Path.Combine(Options.ProcRoot, pid.ToString(CultureInfo.InvariantCulture));
        if (!Directory.Exists(dir))
        {
            throw new SourceException(Name, pid, $"no such process ({dir} does not exist)");
        }

        DamonTarget target = new(pid);
        if (Options.Operations == "paddr")
        {
            PfnReverseMap map = BuildReverseMap(pid);
            if (map.Count == 0)
            {
                throw new SourceException(Name, pid, "no present pages with known PFNs to monitor with paddr (PFNs need CAP_SYS_ADMIN)");
            }

            _reverse[pid] = map;
            target = new DamonTarget(pid, map.PhysicalRanges(Options.MaxPhysicalRanges));
        }

        _targets.Add(target);
        try
        {
            Restart();
        }
        catch (DamonException e)
        {
            _targets.RemoveAt(_targets.Count - 1);
            _reverse.Remove(pid);
            TryRestartQuietly();
            throw new SourceException(Name, pid, e.Message, e);
        }
    }

    /// <inheritdoc/>
    public bool Detach(int pid)
    {
        int i = _targets.FindIndex(t => t.Pid == pid);
        if (i < 0)
        {
            return false;
        }

        _targets.RemoveAt(i);
        _reverse.Remove(pid);
        TryRestartQuietly();
        return true;
    }

    private void Restart()
    {
        _driver.Stop();
        if (_targets.Count > 0)
        {
            _driver.Start(Options.Operations, _targets, Options.Attrs);
        }
    }

    private void TryRestartQuietly()
    {
        try
        {
            Restart();
        }
        catch (DamonException)
        {
            // The driver removed its kdamonds; the next Tick reports the targets as failing.
        }
    }

    /// <inheritdoc/>
    public SourceTickResult Tick(long nowMs)
    {
        if (_targets.Count == 0)
        {
            return default;
        }

        if (_nextDueMs < 0)
        {
            _nextDueMs = nowMs + _tunables["scan_delay_ms"];
        }

        if (nowMs < _nextDueMs)
        {
            return default;
        }

        _nextDueMs = nowMs + _tunables["scan_period_ms"];
        long budgetPerProcess = _tunables["scan_size_mb"] << 8;
        long scanned = 0, reported = 0, rejected0 = _rejected;
        int errors = 0;
        string? lastError = null;
        List<int>? failed = null;
        for (int k = 0; k < _targets.Count; k++)
        {
            int pid = _targets[k].Pid;
            List<DamonRegion> regions;
            try
            {
                if (!_driver.IsRunning)
                {
                    throw new DamonException("the source's kdamonds are not running (a restart failed)");
                }

                regions = _driver.ReadHotRegions(k);
            }
            catch (DamonException e)
            {
                errors++;
                lastError = $"{Name} source, pid {pid}: {e.Message}";
                (failed ??= []).Add(pid);
                continue;
            }

            regions.Sort((a, b) => b.NrAccesses != a.NrAccesses ? b.NrAccesses.CompareTo(a.NrAccesses) : b.Age.CompareTo(a.Age));
            long budget = budgetPerProcess;
            foreach (DamonRegion r in regions)
            {
                if (budget <= 0 || r.NrAccesses < Options.Attrs.HotMinAccesses)
                {
                    break;
                }

                long pages = (long)((r.End - r.Start) >> 12);
                scanned += pages;
                if (_reverse.TryGetValue(pid, out PfnReverseMap? map))
                {
                    long left = budget;
                    int n = map.ForEachIn(r.Start, r.End, address =>
                    {
                        if (left-- > 0)
                        {
                            Add(pid, address);
                        }
                    });
                    n = (int)Math.Min(n, budget);
                    budget -= n;
                    reported += n;
                }
                else
                {
                    long n = Math.Min(pages, budget);
                    ulong first = r.Start & ~4095UL;
                    for (long p = 0; p < n; p++)
                    {
                        Add(pid, first + ((ulong)p << 12));
                    }

                    budget -= n;
                    reported += n;
                }
            }

            Flush(pid);
        }

        if (failed is not null)
        {
            foreach (int pid in failed)
            {
                Detach(pid);
            }
        }

        return new SourceTickResult(scanned, reported, _rejected - rejected0, errors, lastError);
    }

    private void Add(int pid, ulong address)
    {
        _records[_recordCount++] = new AccessRecord(address, -1, AccessSource.Damon, 0);
        if (_recordCount == _records.Length)
        {
            Flush(pid);
        }
    }

    private void Flush(int pid)
    {
        if (_recordCount > 0)
        {
            _rejected += _sink.Deliver(pid, _records.AsSpan(0, _recordCount));
            _recordCount = 0;
        }
    }

    private PfnReverseMap BuildReverseMap(int pid)
    {
        List<Vma> maps = ProcMaps.Read(pid, Options.ProcRoot);
        PagemapReader reader;
        try
        {
            reader = new PagemapReader(pid);
        }
        catch (PlatformCallException e)
        {
            throw new SourceException(Name, pid, e.Message, e);
        }

        using (reader)
        {
            var pages = new List<(ulong, ulong)>();
            var entries = new PagemapEntry[4096];
            foreach (Vma v in maps)
            {
                if (!v.IsEligible)
                {
                    continue;
                }

                for (ulong a = v.Start; a < v.End; a += (ulong)entries.Length << 12)
                {
                    int n = (int)Math.Min((ulong)entries.Length, (v.End - a) >> 12);
                    PlatformResult r = reader.Read((nint)a, entries.AsSpan(0, n));
                    for (int i = 0; i < r.Count; i++)
                    {
                        if (entries[i].Pfn != 0)
                        {
                            pages.Add((entries[i].Pfn, a + ((ulong)i << 12)));
                        }
                    }
                }
            }

            return new PfnReverseMap(pages.ToArray());
        }
    }

    /// <summary>Turns off and removes the source's kdamonds.</summary>
    public void Dispose()
    {
        _targets.Clear();
        _reverse.Clear();
        _driver.Dispose();
    }
}
