using System.Runtime.InteropServices;
using HotPage.Interop.Platform;

namespace HotPage.Daemon;

/// <summary>What this kernel offers a temperature source, and whether this build has the source.</summary>
/// <param name="Name">The source's name on the command line.</param>
/// <param name="KernelSupport">True when the kernel has what the source needs.</param>
/// <param name="Detail">What was checked, for an operator.</param>
/// <param name="InThisBuild">True when this build of hotpaged contains the source.</param>
internal readonly record struct SourceSupport(string Name, bool KernelSupport, string Detail, bool InThisBuild);

/// <summary>
/// The temperature sources for processes that do not report their own accesses, and the one
/// place where <c>hotpaged run --source</c> is wired to them. Probing only reads: it never writes
/// to DAMON's sysfs, clear_refs or any system-wide setting.
/// </summary>
/// <remarks>
/// The sources (page-table scan with idle page tracking, soft-dirty, DAMON, perf sampling) live
/// in <c>engine/Sources/</c>; until they are in this build every one of them reports
/// <see cref="SourceSupport.InThisBuild"/> false, an explicit <c>--source X</c> is an error naming
/// X, and <c>auto</c> watches residency only (the promoter still re-checks where pages are).
/// Wiring point: <see cref="Start"/>.
/// </remarks>
internal static class Sources
{
    /// <summary>Checks what the kernel offers each source.</summary>
    public static List<SourceSupport> Probe()
    {
        bool pageIdle = File.Exists("/sys/kernel/mm/page_idle/bitmap");
        bool pagemap = File.Exists("/proc/self/pagemap");
        bool softDirty = ProbeSoftDirty(out string sdDetail);
        bool damon = Directory.Exists("/sys/kernel/mm/damon/admin");
        string paranoid = ReadTrimmed("/proc/sys/kernel/perf_event_paranoid");
        bool perf = paranoid.Length > 0;
        return
        [
            new("scan", pageIdle && pagemap, $"idle page tracking {(pageIdle ? "yes" : "no (/sys/kernel/mm/page_idle missing)")}, pagemap {(pagemap ? "yes" : "no")}", false),
            new("softdirty", softDirty, sdDetail, false),
            new("damon", damon, damon ? "DAMON sysfs present (read only here; never written by probing)" : "no /sys/kernel/mm/damon", false),
            new("perf", perf, perf ? $"perf_event_open present, perf_event_paranoid={paranoid}" : "no perf_event_paranoid", false),
        ];
    }

    /// <summary>
    /// Resolves <c>--source</c> into the sources to start. <c>auto</c>: every source this build has
    /// and the kernel supports (possibly none). An explicit source this build lacks, or the kernel
    /// does not support, is an error naming it.
    /// </summary>
    /// <exception cref="DaemonException">The source is not available.</exception>
    public static List<string> Resolve(IReadOnlyList<string> requested, List<SourceSupport> support)
    {
        var chosen = new List<string>();
        foreach (string name in requested)
        {
            if (name == "auto")
            {
                chosen.AddRange(support.Where(s => s.InThisBuild && s.KernelSupport).Select(s => s.Name));
                continue;
            }

            SourceSupport s = support.FirstOrDefault(x => x.Name == name);
            if (s.Name is null)
            {
                throw new DaemonException($"unknown source \"{name}\"; sources: auto, scan, softdirty, damon, perf", 2);
            }

            if (!s.InThisBuild)
            {
                throw new DaemonException($"source {name} is not available in this build", 2);
            }

            if (!s.KernelSupport)
            {
                throw new DaemonException($"source {name} is not supported by this kernel: {s.Detail}", 2);
            }

            chosen.Add(name);
        }

        return chosen.Distinct().ToList();
    }

    /// <summary>
    /// Starts the chosen sources feeding <c>RecordAccess(pid, addr, NUMA_NO_NODE, source, 0)</c>
    /// for the watched processes. No source is in this build yet, so nothing starts.
    /// </summary>
    public static IReadOnlyList<IDisposable> Start(IReadOnlyList<string> chosen, Daemon daemon)
    {
        _ = daemon;
        if (chosen.Count > 0)
        {
            throw new DaemonException($"source {chosen[0]} is not available in this build");
        }

        return [];
    }

    private static unsafe bool ProbeSoftDirty(out string detail)
    {
        // A page written after exec carries the soft-dirty bit when the kernel has
        // CONFIG_MEM_SOFT_DIRTY: read it back from our own pagemap (no clear_refs write needed).
        if (!OperatingSystem.IsLinux())
        {
            detail = "not Linux";
            return false;
        }

        void* page = NativeMemory.AlignedAlloc(4096, 4096);
        try
        {
            *(long*)page = 1;
            using var reader = new PagemapReader(0);
            PagemapEntry e = reader.Read((nint)page);
            bool ok = e.IsPresent && e.IsSoftDirty;
            detail = ok ? "soft-dirty bit seen in pagemap" : "soft-dirty bit not set on a freshly written page (CONFIG_MEM_SOFT_DIRTY missing)";
            return ok;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            detail = $"pagemap not readable: {ex.Message}";
            return false;
        }
        finally
        {
            NativeMemory.AlignedFree(page);
        }
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
