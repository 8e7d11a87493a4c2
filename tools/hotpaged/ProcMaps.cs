using System.Globalization;

namespace HotPage.Daemon;

/// <summary>One mapping of <c>/proc/PID/maps</c> that the daemon tracks.</summary>
/// <param name="Start">First byte (page aligned).</param>
/// <param name="End">One past the last byte.</param>
/// <param name="Name">The path column (<c>[heap]</c>, <c>[stack]</c>, <c>[anon:...]</c> or empty).</param>
internal readonly record struct Mapping(ulong Start, ulong End, string Name)
{
    public ulong Length => End - Start;
}

/// <summary>
/// Reads <c>/proc/PID/maps</c> and keeps the mappings whose pages HotPage can promote: anonymous
/// (inode 0), private, readable memory: the heap, stacks, anonymous mmaps. File mappings, shared
/// memory and the kernel's special mappings (<c>[vsyscall]</c>, <c>[vdso]</c>, <c>[vvar]</c>) are left out.
/// </summary>
internal static class ProcMaps
{
    /// <summary>Parses maps text into the trackable mappings.</summary>
    public static List<Mapping> Parse(string text)
    {
        var result = new List<Mapping>();
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            // start-end perms offset dev inode [path]
            string[] f = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 5)
            {
                continue;
            }

            string perms = f[1];
            string name = f.Length > 5 ? f[5].Trim() : string.Empty;
            if (perms.Length < 4 || perms[0] != 'r' || perms[3] != 'p' || f[4] != "0")
            {
                continue;
            }

            if (name.Length > 0 && name != "[heap]" && !name.StartsWith("[stack", StringComparison.Ordinal) && !name.StartsWith("[anon:", StringComparison.Ordinal))
            {
                continue; // [vsyscall], [vdso], [vvar], [uprobes], deleted files, ...
            }

            int dash = f[0].IndexOf('-', StringComparison.Ordinal);
            if (dash < 0
                || !ulong.TryParse(f[0].AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong start)
                || !ulong.TryParse(f[0].AsSpan(dash + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong end)
                || end <= start || (start & 4095) != 0 || (end & 4095) != 0)
            {
                continue;
            }

            result.Add(new Mapping(start, end, name));
        }

        return result;
    }

    /// <summary>
    /// Checks that a process can be watched and returns its maps text; throws with a message naming
    /// the pid and the reason (no such process, not permitted).
    /// </summary>
    /// <exception cref="DaemonException">The process does not exist or cannot be read.</exception>
    public static string ReadOrThrow(int pid)
    {
        string dir = $"/proc/{pid.ToString(CultureInfo.InvariantCulture)}";
        if (!Directory.Exists(dir))
        {
            throw new DaemonException($"pid {pid}: no such process");
        }

        string maps = dir + "/maps";
        try
        {
            string text = File.ReadAllText(maps);
            if (text.Length == 0 && IsZombie(pid))
            {
                throw new DaemonException($"pid {pid}: the process has exited (zombie)");
            }

            return text;
        }
        catch (UnauthorizedAccessException)
        {
            throw new DaemonException($"pid {pid}: cannot read {maps}: permission denied (run as root, or as the process's user with CAP_SYS_NICE to move its pages)");
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new DaemonException($"pid {pid}: no such process");
        }
        catch (IOException ex)
        {
            throw new DaemonException($"pid {pid}: cannot read {maps}: {ex.Message}");
        }
    }

    /// <summary>True when the process is a zombie or gone (state Z or X, or no stat file).</summary>
    public static bool IsZombie(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            int close = stat.LastIndexOf(')');
            return close < 0 || close + 2 >= stat.Length || stat[close + 2] is 'Z' or 'X';
        }
        catch (IOException)
        {
            return true;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The pids listed in a cgroup's <c>cgroup.procs</c>.</summary>
    /// <exception cref="DaemonException">The file cannot be read.</exception>
    public static List<int> CgroupPids(string cgroup)
    {
        string path = Path.Combine(cgroup, "cgroup.procs");
        try
        {
            return File.ReadAllLines(path)
                .Select(l => int.TryParse(l.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int p) ? p : 0)
                .Where(p => p > 0)
                .ToList();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new DaemonException($"cgroup {cgroup}: cannot read {path}: {ex.Message}");
        }
    }
}

/// <summary>An error the daemon reports to the operator as one line and an exit code.</summary>
internal sealed class DaemonException(string message, int exitCode = 1) : Exception(message)
{
    /// <summary>The process exit code: 1 = runtime error, 2 = usage or configuration error.</summary>
    public int ExitCode { get; } = exitCode;
}
