using System.Globalization;
using HotPage.Engine.Sources;

namespace HotPage.Sources.Tests;

/// <summary>
/// A directory tree laid out like the DAMON sysfs ABI (Documentation/admin-guide/mm/damon/usage.rst),
/// with the kernel's side simulated: writing an <c>nr_*</c> file (re)creates the numbered child
/// directories with their default files, writing <c>nr_kdamonds</c> while a kdamond runs fails with
/// EBUSY, writing a file that does not exist fails, and <c>update_schemes_tried_regions</c> fills
/// <c>tried_regions</c> with the planted regions that match scheme 0's access pattern. As in the
/// kernel (measured in the NUMA guest, 6.12), every access-pattern range starts as 0..0, so a scheme
/// whose maxima are not written matches nothing.
/// </summary>
internal sealed class DamonSysfsSimulator : IDamonFiles, IDisposable
{
    public DamonSysfsSimulator(int existingKdamonds = 0, bool existingRunning = false)
    {
        Top = Path.Combine(Path.GetTempPath(), "hotpage-damon-" + Guid.NewGuid().ToString("N"));
        Root = Path.Combine(Top, "admin");
        Directory.CreateDirectory(Path.Combine(Root, "kdamonds"));
        File.WriteAllText(Path.Combine(Root, "kdamonds", "nr_kdamonds"), "0\n");
        if (existingKdamonds > 0)
        {
            KernelWrite(Path.Combine(Root, "kdamonds", "nr_kdamonds"), existingKdamonds.ToString(CultureInfo.InvariantCulture));
            if (existingRunning)
            {
                File.WriteAllText(Path.Combine(Root, "kdamonds", "0", "state"), "on\n");
            }
        }
    }

    public string Top { get; }

    public string Root { get; }

    public string AvailableOperations { get; set; } = "vaddr fvaddr paddr";

    /// <summary>Writes the simulated kernel refuses: (path suffix, value) → the error message.</summary>
    public Dictionary<(string Suffix, string Value), string> Failures { get; } = [];

    /// <summary>Regions the kernel will publish per kdamond on update_schemes_tried_regions.</summary>
    public Dictionary<int, List<DamonRegion>> TriedRegions { get; } = [];

    /// <summary>Every successful write, in order (path relative to the root, value).</summary>
    public List<(string Path, string Value)> Writes { get; } = [];

    public string Read(string path) => File.ReadAllText(path).Trim();

    public bool FileExists(string path) => File.Exists(path);

    public bool DirectoryExists(string path) => Directory.Exists(path);

    public IEnumerable<string> Subdirectories(string path) => Directory.EnumerateDirectories(path).Select(d => Path.GetFileName(d)!);

    public string ReadRel(string rel) => Read(Path.Combine(Root, rel));

    public bool ExistsRel(string rel) => File.Exists(Path.Combine(Root, rel)) || Directory.Exists(Path.Combine(Root, rel));

    public void Write(string path, string value)
    {
        if (!File.Exists(path))
        {
            throw new IOException($"No such file or directory: {path}");
        }

        foreach (((string suffix, string v), string message) in Failures)
        {
            if (path.EndsWith(suffix, StringComparison.Ordinal) && v == value)
            {
                throw new IOException(message);
            }
        }

        KernelWrite(path, value);
        Writes.Add((Path.GetRelativePath(Root, path), value));
    }

    private void KernelWrite(string path, string value)
    {
        string dir = Path.GetDirectoryName(path)!;
        string name = Path.GetFileName(path);
        int n = name.StartsWith("nr_", StringComparison.Ordinal) || name == "nr_regions" ? int.Parse(value, CultureInfo.InvariantCulture) : 0;
        switch (name)
        {
            case "nr_kdamonds":
                foreach (string k in Directory.EnumerateDirectories(dir))
                {
                    if (Read(Path.Combine(k, "state")) == "on")
                    {
                        throw new IOException("Device or resource busy");
                    }
                }

                Recreate(dir, n, KdamondDir);
                break;
            case "nr_contexts":
                Recreate(dir, n, ContextDir);
                break;
            case "nr_targets":
                Recreate(dir, n, d => { Files(d, ("pid_target", "0")); Directory.CreateDirectory(Path.Combine(d, "regions")); Files(Path.Combine(d, "regions"), ("nr_regions", "0")); });
                break;
            case "nr_regions" when Path.GetFileName(dir) == "regions":
                Recreate(dir, n, d => Files(d, ("start", "0"), ("end", "0")));
                break;
            case "nr_schemes":
                Recreate(dir, n, SchemeDir);
                break;
            case "state":
                if (!State(dir, value))
                {
                    return; // a command: the file keeps showing on or off
                }

                break;
        }

        File.WriteAllText(path, value + "\n");
    }

    private bool State(string kdamond, string value)
    {
        string current = Read(Path.Combine(kdamond, "state"));
        switch (value)
        {
            case "on":
            case "off":
                return true;
            case "update_schemes_tried_regions":
                if (current != "on")
                {
                    throw new IOException("Invalid argument");
                }

                int k = int.Parse(Path.GetFileName(kdamond), CultureInfo.InvariantCulture);
                string tried = Path.Combine(kdamond, "contexts", "0", "schemes", "0", "tried_regions");
                string pattern = Path.Combine(kdamond, "contexts", "0", "schemes", "0", "access_pattern");
                bool InRange(string range, ulong v) =>
                    ulong.Parse(Read(Path.Combine(pattern, range, "min")), CultureInfo.InvariantCulture) <= v
                    && v <= ulong.Parse(Read(Path.Combine(pattern, range, "max")), CultureInfo.InvariantCulture);
                List<DamonRegion> regions = (TriedRegions.GetValueOrDefault(k) ?? [])
                    .Where(r => InRange("sz", r.End - r.Start) && InRange("nr_accesses", r.NrAccesses) && InRange("age", r.Age)).ToList();
                Recreate(tried, regions.Count, _ => { });
                for (int i = 0; i < regions.Count; i++)
                {
                    DamonRegion r = regions[i];
                    Files(Path.Combine(tried, i.ToString(CultureInfo.InvariantCulture)),
                        ("start", r.Start.ToString(CultureInfo.InvariantCulture)), ("end", r.End.ToString(CultureInfo.InvariantCulture)),
                        ("nr_accesses", r.NrAccesses.ToString(CultureInfo.InvariantCulture)), ("age", r.Age.ToString(CultureInfo.InvariantCulture)),
                        ("sz_filter_passed", "0"));
                }

                File.WriteAllText(Path.Combine(tried, "total_bytes"), regions.Sum(r => (long)(r.End - r.Start)).ToString(CultureInfo.InvariantCulture) + "\n");
                return false;
            default:
                throw new IOException("Invalid argument");
        }
    }

    private void KdamondDir(string d)
    {
        Files(d, ("state", "off"), ("pid", "-1"));
        Directory.CreateDirectory(Path.Combine(d, "contexts"));
        Files(Path.Combine(d, "contexts"), ("nr_contexts", "0"));
    }

    private void ContextDir(string d)
    {
        Files(d, ("avail_operations", AvailableOperations), ("operations", "vaddr"));
        Files(Path.Combine(d, "monitoring_attrs", "intervals"), ("sample_us", "5000"), ("aggr_us", "100000"), ("update_us", "1000000"));
        Files(Path.Combine(d, "monitoring_attrs", "nr_regions"), ("min", "10"), ("max", "1000"));
        Files(Path.Combine(d, "targets"), ("nr_targets", "0"));
        Files(Path.Combine(d, "schemes"), ("nr_schemes", "0"));
    }

    private static void SchemeDir(string d)
    {
        Files(d, ("action", "stat"), ("apply_interval_us", "0"));
        foreach (string range in new[] { "sz", "nr_accesses", "age" })
        {
            Files(Path.Combine(d, "access_pattern", range), ("min", "0"), ("max", "0"));
        }

        Files(Path.Combine(d, "quotas"), ("ms", "0"), ("bytes", "0"), ("reset_interval_ms", "0"));
        Files(Path.Combine(d, "watermarks"), ("metric", "none"), ("interval_us", "0"), ("high", "0"), ("mid", "0"), ("low", "0"));
        Files(Path.Combine(d, "stats"), ("nr_tried", "0"), ("sz_tried", "0"), ("nr_applied", "0"), ("sz_applied", "0"), ("qt_exceeds", "0"));
        Files(Path.Combine(d, "tried_regions"), ("total_bytes", "0"));
    }

    private static void Recreate(string dir, int n, Action<string> create)
    {
        foreach (string old in Directory.EnumerateDirectories(dir).Where(p => int.TryParse(Path.GetFileName(p), out _)).ToArray())
        {
            Directory.Delete(old, recursive: true);
        }

        for (int i = 0; i < n; i++)
        {
            string d = Path.Combine(dir, i.ToString(CultureInfo.InvariantCulture));
            Directory.CreateDirectory(d);
            create(d);
        }
    }

    private static void Files(string dir, params (string Name, string Value)[] files)
    {
        Directory.CreateDirectory(dir);
        foreach ((string name, string value) in files)
        {
            File.WriteAllText(Path.Combine(dir, name), value + "\n");
        }
    }

    public void Dispose() => Directory.Delete(Top, recursive: true);
}
