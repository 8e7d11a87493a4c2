using System.Globalization;

namespace HotPage.Engine.Sources;

/// <summary>The file operations the DAMON driver performs (a seam: tests simulate the kernel's side of sysfs).</summary>
public interface IDamonFiles
{
    /// <summary>Writes <paramref name="value"/> to the attribute file at <paramref name="path"/> (as <c>echo value &gt; path</c>).</summary>
    void Write(string path, string value);

    /// <summary>Reads the attribute file at <paramref name="path"/>, trimmed.</summary>
    string Read(string path);

    /// <summary>True when the file exists.</summary>
    bool FileExists(string path);

    /// <summary>True when the directory exists.</summary>
    bool DirectoryExists(string path);

    /// <summary>The names of the subdirectories of <paramref name="path"/>.</summary>
    IEnumerable<string> Subdirectories(string path);
}

/// <summary>The real file system (sysfs).</summary>
public sealed class SysfsFiles : IDamonFiles
{
    /// <summary>The one instance.</summary>
    public static readonly SysfsFiles Instance = new();

    /// <inheritdoc/>
    public void Write(string path, string value) => File.WriteAllText(path, value);

    /// <inheritdoc/>
    public string Read(string path) => File.ReadAllText(path).Trim();

    /// <inheritdoc/>
    public bool FileExists(string path) => File.Exists(path);

    /// <inheritdoc/>
    public bool DirectoryExists(string path) => Directory.Exists(path);

    /// <inheritdoc/>
    public IEnumerable<string> Subdirectories(string path) => Directory.EnumerateDirectories(path).Select(d => Path.GetFileName(d));
}

/// <summary>DAMON monitoring attributes (Documentation/admin-guide/mm/damon/usage.rst, <c>monitoring_attrs/</c>).</summary>
/// <param name="SampleUs">Sampling interval in microseconds.</param>
/// <param name="AggrUs">Aggregation interval: nr_accesses counts the samples that found the region accessed in one such interval.</param>
/// <param name="UpdateUs">Operations update interval (vaddr re-reads the mappings at this interval).</param>
/// <param name="MinRegions">Fewest regions DAMON keeps.</param>
/// <param name="MaxRegions">Most regions DAMON keeps.</param>
/// <param name="HotMinAccesses">A region is hot at or above this nr_accesses (the stat scheme's <c>access_pattern/nr_accesses/min</c>).</param>
public sealed record DamonAttrs(long SampleUs = 5_000, long AggrUs = 100_000, long UpdateUs = 1_000_000, long MinRegions = 10, long MaxRegions = 1000, uint HotMinAccesses = 2);

/// <summary>One monitoring target: a pid (ops <c>vaddr</c>) or physical address ranges (ops <c>paddr</c>).</summary>
/// <param name="Pid">The process (vaddr); for paddr the process whose pages the ranges hold (not written to DAMON).</param>
/// <param name="PhysicalRanges">For paddr: [start, end) physical byte ranges; null for vaddr.</param>
public sealed record DamonTarget(int Pid, IReadOnlyList<(ulong Start, ulong End)>? PhysicalRanges = null);

/// <summary>A region DAMON reported through a scheme's <c>tried_regions</c>.</summary>
/// <param name="Start">First address (virtual for vaddr, physical for paddr).</param>
/// <param name="End">One past the last address.</param>
/// <param name="NrAccesses">Samples that found it accessed per aggregation interval.</param>
/// <param name="Age">Aggregation intervals its access pattern has held.</param>
public readonly record struct DamonRegion(ulong Start, ulong End, uint NrAccesses, uint Age);

/// <summary>A DAMON sysfs operation failed; the message names the file and the reason. The driver's kdamonds are already removed.</summary>
public sealed class DamonException : Exception
{
    /// <summary>Creates the exception.</summary>
    public DamonException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }

    /// <summary>Creates an exception with no details.</summary>
    public DamonException()
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    public DamonException(string message)
        : base(message)
    {
    }
}

/// <summary>
/// Drives kdamonds through the DAMON sysfs ABI (Documentation/admin-guide/mm/damon/usage.rst):
/// <c>kdamonds/nr_kdamonds</c>, <c>kdamonds/K/{state,pid}</c>, <c>contexts/nr_contexts</c>,
/// <c>contexts/0/{avail_operations,operations}</c>, <c>monitoring_attrs/intervals/{sample_us,aggr_us,update_us}</c>,
/// <c>monitoring_attrs/nr_regions/{min,max}</c>, <c>targets/nr_targets</c>, <c>targets/0/pid_target</c>,
/// <c>targets/0/regions/{nr_regions,R/start,R/end}</c>, <c>schemes/nr_schemes</c>,
/// <c>schemes/0/{action,access_pattern/nr_accesses/min}</c>, and after writing
/// <c>update_schemes_tried_regions</c> to <c>state</c>, <c>schemes/0/tried_regions/R/{start,end,nr_accesses,age}</c>.
/// One kdamond per target, each with one context, one target and one stat-only scheme that
/// selects the hot regions.
/// </summary>
/// <remarks>
/// <para>Never disturb anyone else's kdamonds. The ABI has no "add one": writing
/// <c>nr_kdamonds</c> removes and recreates every kdamond directory (losing their settings) and fails
/// with EBUSY while any of them runs. So the driver only starts when <c>nr_kdamonds</c> is 0, and
/// then owns every kdamond it creates; <see cref="Probe"/> says so when someone else's are there.</para>
/// <para>Nothing half set up is left: any failure while starting turns off and removes the
/// kdamonds the driver created (writes <c>off</c>, then <c>nr_kdamonds</c> 0) before the exception
/// leaves; <see cref="Dispose"/> does the same.</para>
/// </remarks>
public sealed class DamonSysfsDriver : IDisposable
{
    /// <summary>The kernel's DAMON sysfs root.</summary>
    public const string DefaultRoot = "/sys/kernel/mm/damon/admin";

    private readonly IDamonFiles _fs;
    private int _owned;
    private bool _running;

    /// <summary>Creates a driver for the DAMON sysfs tree at <paramref name="root"/>.</summary>
    /// <param name="root">The <c>admin</c> directory (tests pass a fixture tree).</param>
    /// <param name="files">File operations; the real file system when null.</param>
    public DamonSysfsDriver(string root = DefaultRoot, IDamonFiles? files = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        Root = root;
        _fs = files ?? SysfsFiles.Instance;
    }

    /// <summary>The <c>admin</c> directory.</summary>
    public string Root { get; }

    /// <summary>The kdamonds this driver created (0 when stopped).</summary>
    public int OwnedKdamonds => _owned;

    /// <summary>True while the driver's kdamonds run.</summary>
    public bool IsRunning => _running;

    private string Kdamonds => Path.Combine(Root, "kdamonds");

    private string Kdamond(int k) => Path.Combine(Kdamonds, k.ToString(CultureInfo.InvariantCulture));

    private string Context(int k) => Path.Combine(Kdamond(k), "contexts", "0");

    /// <summary>Checks that DAMON sysfs is there and free for this driver; never writes.</summary>
    public SourceAvailability Probe()
    {
        string nr = Path.Combine(Kdamonds, "nr_kdamonds");
        if (!_fs.FileExists(nr))
        {
            return SourceAvailability.Missing($"DAMON is not available: this kernel lacks CONFIG_DAMON_SYSFS ({nr} does not exist)");
        }

        int existing;
        try
        {
            existing = int.Parse(_fs.Read(nr), NumberStyles.None, CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return SourceAvailability.Missing($"DAMON sysfs cannot be read ({nr}): {e.Message}");
        }

        if (existing != _owned)
        {
            return SourceAvailability.Missing(
                $"DAMON sysfs already has {existing} kdamond(s) set up by someone else; adding one means rewriting nr_kdamonds, " +
                "which recreates every kdamond directory (and fails with EBUSY while they run), so HotPage leaves DAMON alone");
        }

        return SourceAvailability.Available($"DAMON sysfs at {Root}");
    }

    /// <summary>
    /// Creates one kdamond per target with operations <paramref name="operations"/> (<c>vaddr</c> or
    /// <c>paddr</c>), the attributes, and a stat scheme selecting hot regions, and turns them on.
    /// </summary>
    /// <exception cref="DamonException">A write failed or the kernel lacks the operations; everything the driver created is removed first.</exception>
    public void Start(string operations, IReadOnlyList<DamonTarget> targets, DamonAttrs attrs)
    {
        ArgumentNullException.ThrowIfNull(operations);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(attrs);
        if (operations is not ("vaddr" or "paddr"))
        {
            throw new ArgumentException($"DAMON operations must be vaddr or paddr, not '{operations}'", nameof(operations));
        }

        if (targets.Count == 0)
        {
            throw new ArgumentException("at least one target is needed", nameof(targets));
        }

        if (_owned != 0)
        {
            throw new InvalidOperationException("the driver's kdamonds are already set up; Stop first");
        }

        SourceAvailability a = Probe();
        if (!a.IsAvailable)
        {
            throw new DamonException(a.Reason);
        }

        try
        {
            Write(Path.Combine(Kdamonds, "nr_kdamonds"), targets.Count);
            _owned = targets.Count;
            for (int k = 0; k < targets.Count; k++)
            {
                Configure(k, operations, targets[k], attrs);
            }

            for (int k = 0; k < targets.Count; k++)
            {
                Write(Path.Combine(Kdamond(k), "state"), "on");
            }

            _running = true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DamonException)
        {
            string cleanup = Teardown();
            throw new DamonException(e.Message + cleanup, e is DamonException ? e.InnerException : e);
        }
    }

    private void Configure(int k, string operations, DamonTarget target, DamonAttrs attrs)
    {
        Write(Path.Combine(Kdamond(k), "contexts", "nr_contexts"), 1);
        string ctx = Context(k);
        string avail = Path.Combine(ctx, "avail_operations");
        if (_fs.FileExists(avail))
        {
            string[] ops = _fs.Read(avail).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (!ops.Contains(operations, StringComparer.Ordinal))
            {
                throw new DamonException($"DAMON operations '{operations}' is not available on this kernel (avail_operations: {string.Join(' ', ops)})");
            }
        }

        Write(Path.Combine(ctx, "operations"), operations);
        string ma = Path.Combine(ctx, "monitoring_attrs");
        Write(Path.Combine(ma, "intervals", "sample_us"), attrs.SampleUs);
        Write(Path.Combine(ma, "intervals", "aggr_us"), attrs.AggrUs);
        Write(Path.Combine(ma, "intervals", "update_us"), attrs.UpdateUs);
        Write(Path.Combine(ma, "nr_regions", "min"), attrs.MinRegions);
        Write(Path.Combine(ma, "nr_regions", "max"), attrs.MaxRegions);

        Write(Path.Combine(ctx, "targets", "nr_targets"), 1);
        string t = Path.Combine(ctx, "targets", "0");
        if (operations == "vaddr")
        {
            Write(Path.Combine(t, "pid_target"), target.Pid);
        }
        else
        {
            IReadOnlyList<(ulong Start, ulong End)> ranges = target.PhysicalRanges ?? throw new DamonException($"paddr target for pid {target.Pid} has no physical ranges");
            Write(Path.Combine(t, "regions", "nr_regions"), ranges.Count);
            for (int r = 0; r < ranges.Count; r++)
            {
                string rd = Path.Combine(t, "regions", r.ToString(CultureInfo.InvariantCulture));
                Write(Path.Combine(rd, "start"), ranges[r].Start);
                Write(Path.Combine(rd, "end"), ranges[r].End);
            }
        }

        Write(Path.Combine(ctx, "schemes", "nr_schemes"), 1);
        string s = Path.Combine(ctx, "schemes", "0");
        Write(Path.Combine(s, "action"), "stat");
        // Every range of the pattern: the kernel creates them as 0..0 (a scheme that sets only a
        // minimum matches nothing). Any size and age; nr_accesses from the hot threshold up.
        string pattern = Path.Combine(s, "access_pattern");
        Write(Path.Combine(pattern, "sz", "min"), 0);
        Write(Path.Combine(pattern, "sz", "max"), ulong.MaxValue);
        Write(Path.Combine(pattern, "nr_accesses", "min"), attrs.HotMinAccesses);
        Write(Path.Combine(pattern, "nr_accesses", "max"), uint.MaxValue);
        Write(Path.Combine(pattern, "age", "min"), 0);
        Write(Path.Combine(pattern, "age", "max"), uint.MaxValue);
    }

    /// <summary>
    /// Asks kdamond <paramref name="k"/> to publish the regions its stat scheme selected
    /// (<c>update_schemes_tried_regions</c>) and reads them, in address order.
    /// </summary>
    /// <exception cref="DamonException">The kdamond stopped (its target exited) or a file does not parse.</exception>
    public List<DamonRegion> ReadHotRegions(int k)
    {
        if ((uint)k >= (uint)_owned || !_running)
        {
            throw new InvalidOperationException($"kdamond {k} is not one this driver runs");
        }

        string state = Path.Combine(Kdamond(k), "state");
        try
        {
            _fs.Write(state, "update_schemes_tried_regions");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            string now = SafeRead(state);
            throw new DamonException($"writing update_schemes_tried_regions to {state} failed: {e.Message} (state: {now}; a vaddr kdamond stops when its target exits)", e);
        }

        string dir = Path.Combine(Context(k), "schemes", "0", "tried_regions");
        var result = new List<DamonRegion>();
        if (!_fs.DirectoryExists(dir))
        {
            return result;
        }

        foreach (string name in _fs.Subdirectories(dir))
        {
            if (!int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                continue;
            }

            string r = Path.Combine(dir, name);
            result.Add(new DamonRegion(ReadULong(Path.Combine(r, "start")), ReadULong(Path.Combine(r, "end")),
                (uint)ReadULong(Path.Combine(r, "nr_accesses")), (uint)ReadULong(Path.Combine(r, "age"))));
        }

        result.Sort((a, b) => a.Start.CompareTo(b.Start));
        return result;
    }

    /// <summary>The <c>state</c> of kdamond <paramref name="k"/> (<c>on</c>/<c>off</c>).</summary>
    public string State(int k) => SafeRead(Path.Combine(Kdamond(k), "state"));

    /// <summary>Turns off and removes the driver's kdamonds (nothing when it has none).</summary>
    public void Stop()
    {
        string problems = Teardown();
        if (problems.Length > 0)
        {
            throw new DamonException("removing the driver's kdamonds failed" + problems);
        }
    }

    /// <inheritdoc/>
    public void Dispose() => Teardown();

    private string Teardown()
    {
        if (_owned == 0)
        {
            return string.Empty;
        }

        string problems = string.Empty;
        for (int k = 0; k < _owned; k++)
        {
            string state = Path.Combine(Kdamond(k), "state");
            if (SafeRead(state) == "on")
            {
                try
                {
                    _fs.Write(state, "off");
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    problems += $"; turning off kdamond {k} failed: {e.Message}";
                }
            }
        }

        try
        {
            _fs.Write(Path.Combine(Kdamonds, "nr_kdamonds"), "0");
            _owned = 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problems += $"; removing the kdamonds (nr_kdamonds 0) failed: {e.Message}";
        }

        _running = false;
        return problems;
    }

    private string SafeRead(string path)
    {
        try
        {
            return _fs.Read(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "unreadable";
        }
    }

    private ulong ReadULong(string path)
    {
        string text = _fs.Read(path);
        return ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ulong v)
            ? v
            : throw new DamonException($"{path} holds '{text}', not a number");
    }

    private void Write(string path, long value) => Write(path, value.ToString(CultureInfo.InvariantCulture));

    private void Write(string path, ulong value) => Write(path, value.ToString(CultureInfo.InvariantCulture));

    private void Write(string path, string value)
    {
        try
        {
            _fs.Write(path, value);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DamonException($"writing '{value}' to {path} failed: {e.Message}", e);
        }
    }
}
