using System.Buffers;
using System.Globalization;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace HotPage.Engine.Sources;

/// <summary>Permission bits of a mapping, as the <c>rwxp</c>/<c>rwxs</c> column of <c>/proc/PID/maps</c> shows them.</summary>
[Flags]
public enum VmaPermissions
{
    /// <summary>No access.</summary>
    None = 0,
    /// <summary>r</summary>
    Read = 1,
    /// <summary>w</summary>
    Write = 2,
    /// <summary>x</summary>
    Execute = 4,
    /// <summary>s (shared); its absence is p (private, copy on write).</summary>
    Shared = 8,
}

/// <summary>One line of <c>/proc/PID/maps</c>: a virtual memory area.</summary>
/// <param name="Start">First address.</param>
/// <param name="End">One past the last address.</param>
/// <param name="Permissions">rwx and shared/private.</param>
/// <param name="Offset">File offset of the mapping.</param>
/// <param name="Device">"major:minor" of the file's device.</param>
/// <param name="Inode">The file's inode; 0 for anonymous memory.</param>
/// <param name="Path">The path or pseudo-path (<c>[heap]</c>, <c>[stack]</c>, <c>[vvar]</c>), or empty for anonymous memory.</param>
public readonly record struct Vma(ulong Start, ulong End, VmaPermissions Permissions, ulong Offset, string Device, ulong Inode, string Path)
{
    /// <summary>Length in bytes.</summary>
    public ulong Length => End - Start;

    /// <summary>Not backed by a file (anonymous, heap, stack).</summary>
    public bool IsAnonymous => Inode == 0 && (Path.Length == 0 || Path == "[heap]" || Path == "[stack]" || Path.StartsWith("[anon:", StringComparison.Ordinal));

    /// <summary>
    /// Memory a promoter may usefully move and a scan should watch: anonymous, private and
    /// readable. Kernel pseudo-mappings (<c>[vvar]</c>, <c>[vdso]</c>, <c>[vsyscall]</c>) and guard
    /// areas (no access) are not eligible; neither are file or shared mappings (their pages
    /// belong to the page cache or to other processes too).
    /// </summary>
    public bool IsEligible =>
        IsAnonymous && (Permissions & VmaPermissions.Read) != 0 && (Permissions & VmaPermissions.Shared) == 0;
}

/// <summary>Parses <c>/proc/PID/maps</c>.</summary>
public static class ProcMaps
{
    /// <summary>Reads and parses the maps of <paramref name="pid"/> (0 = this process).</summary>
    /// <param name="pid">The process.</param>
    /// <param name="procRoot">The proc mount (tests point this at a fixture).</param>
    /// <exception cref="SourceException">The process does not exist or its maps cannot be read.</exception>
    public static List<Vma> Read(int pid, string procRoot = "/proc")
    {
        string path = Path.Combine(procRoot, pid == 0 ? "self" : pid.ToString(CultureInfo.InvariantCulture), "maps");
        byte[] buffer = ArrayPool<byte>.Shared.Rent(256 * 1024);
        int length = 0;
        try
        {
            // Read the whole file into a pooled buffer: a large process's maps run to hundreds of
            // kilobytes, and a string of it would land on the large object heap at every pass.
            using (SafeFileHandle h = File.OpenHandle(path, FileMode.Open, FileAccess.Read))
            {
                int r;
                while ((r = RandomAccess.Read(h, buffer.AsSpan(length), length)) > 0)
                {
                    length += r;
                    if (length == buffer.Length)
                    {
                        byte[] bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        buffer.AsSpan(0, length).CopyTo(bigger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = bigger;
                    }
                }
            }

            return Parse(buffer.AsSpan(0, length));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new SourceException("maps", pid, $"no such process ({path} does not exist)", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new SourceException("maps", pid, $"not permitted to read {path} (needs ptrace read access: the same user, or CAP_SYS_PTRACE)", e);
        }
        catch (IOException e)
        {
            throw new SourceException("maps", pid, $"reading {path} failed: {e.Message}", e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Parses maps text given as UTF-8 bytes (what the kernel writes).</summary>
    public static List<Vma> Parse(ReadOnlySpan<byte> utf8)
    {
        var result = new List<Vma>();
        Span<char> chars = stackalloc char[4096 + 256];
        int lineNo = 0;
        while (!utf8.IsEmpty)
        {
            lineNo++;
            int nl = utf8.IndexOf((byte)'\n');
            ReadOnlySpan<byte> line = nl < 0 ? utf8 : utf8[..nl];
            utf8 = nl < 0 ? default : utf8[(nl + 1)..];
            if (line.IsEmpty)
            {
                continue;
            }

            int n = Encoding.UTF8.GetChars(line[..Math.Min(line.Length, 4096)], chars);
            ReadOnlySpan<char> text = chars[..n].TrimEnd();
            if (text.IsEmpty)
            {
                continue;
            }

            if (!TryParseLine(text, out Vma vma))
            {
                throw new FormatException($"/proc/PID/maps line {lineNo} is not 'start-end perms offset dev inode [path]': '{text.ToString()}'");
            }

            result.Add(vma);
        }

        return result;
    }

    /// <summary>Parses maps text; malformed lines throw <see cref="FormatException"/> naming the line.</summary>
    public static List<Vma> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = new List<Vma>();
        int lineNo = 0;
        foreach (ReadOnlySpan<char> rawLine in text.AsSpan().EnumerateLines())
        {
            lineNo++;
            ReadOnlySpan<char> line = rawLine.TrimEnd();
            if (line.IsEmpty)
            {
                continue;
            }

            if (!TryParseLine(line, out Vma vma))
            {
                throw new FormatException($"/proc/PID/maps line {lineNo} is not 'start-end perms offset dev inode [path]': '{line.ToString()}'");
            }

            result.Add(vma);
        }

        return result;
    }

    /// <summary>Parses one maps line.</summary>
    public static bool TryParseLine(ReadOnlySpan<char> line, out Vma vma)
    {
        vma = default;
        if (!NextField(ref line, out ReadOnlySpan<char> range) || !NextField(ref line, out ReadOnlySpan<char> perms) ||
            !NextField(ref line, out ReadOnlySpan<char> offset) || !NextField(ref line, out ReadOnlySpan<char> dev) ||
            !NextField(ref line, out ReadOnlySpan<char> inode))
        {
            return false;
        }

        int dash = range.IndexOf('-');
        if (dash <= 0 || perms.Length != 4 ||
            !ulong.TryParse(range[..dash], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong start) ||
            !ulong.TryParse(range[(dash + 1)..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong end) ||
            end < start ||
            !ulong.TryParse(offset, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong off) ||
            !ulong.TryParse(inode, NumberStyles.None, CultureInfo.InvariantCulture, out ulong ino))
        {
            return false;
        }

        VmaPermissions p = VmaPermissions.None;
        p |= perms[0] == 'r' ? VmaPermissions.Read : perms[0] == '-' ? 0 : (VmaPermissions)(-1);
        p |= perms[1] == 'w' ? VmaPermissions.Write : perms[1] == '-' ? 0 : (VmaPermissions)(-1);
        p |= perms[2] == 'x' ? VmaPermissions.Execute : perms[2] == '-' ? 0 : (VmaPermissions)(-1);
        p |= perms[3] == 's' ? VmaPermissions.Shared : perms[3] == 'p' ? 0 : (VmaPermissions)(-1);
        if ((int)p < 0)
        {
            return false;
        }

        // The path is the rest of the line after the padding; it may contain spaces.
        string path = line.TrimStart().ToString();
        vma = new Vma(start, end, p, off, dev.ToString(), ino, path);
        return true;
    }

    private static bool NextField(ref ReadOnlySpan<char> line, out ReadOnlySpan<char> field)
    {
        line = line.TrimStart(' ');
        int sp = line.IndexOf(' ');
        if (line.IsEmpty)
        {
            field = default;
            return false;
        }

        field = sp < 0 ? line : line[..sp];
        line = sp < 0 ? default : line[sp..];
        return true;
    }
}
