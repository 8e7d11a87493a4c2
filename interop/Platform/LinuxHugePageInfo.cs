using System.Runtime.Versioning;
using Microsoft.Win32.SafeHandles;

namespace HotPage.Interop.Platform;

/// <summary>
/// Folio sizes on Linux: a page's PFN from <c>/proc/PID/pagemap</c>, then <c>/proc/kpageflags</c>
/// for the PFNs of its naturally aligned 2 MiB physical block: <c>KPF_THP</c> (bit 22) marks a
/// subpage of a transparent huge page, <c>KPF_COMPOUND_HEAD</c> (15) and <c>KPF_COMPOUND_TAIL</c> (16)
/// give the folio's first page and extent. The folio's virtual base is the page's address minus
/// its offset from the head PFN, which holds whether or not the folio is virtually aligned.
/// Needs root (CAP_SYS_ADMIN) for PFNs and kpageflags; without them every page reads as its own
/// folio and <see cref="UnavailableReason"/> says why.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class LinuxHugePageInfo : IHugePageInfo, IDisposable
{
    private const int KpfCompoundHead = 15;
    private const int KpfCompoundTail = 16;
    private const int KpfHuge = 17;
    private const int KpfThp = 22;
    private const int BlockPages = 512;

    private readonly SafeFileHandle? _kpageflags;
    private readonly Dictionary<int, PagemapReader> _pagemaps = [];
    private readonly PagemapEntry[] _entry = new PagemapEntry[1];
    private readonly byte[] _block = new byte[BlockPages * sizeof(ulong)];
    private readonly int _pageSize = Environment.SystemPageSize;

    /// <summary>Opens <paramref name="kpageflagsPath"/> (default <c>/proc/kpageflags</c>); failure makes the capability unavailable, not an error.</summary>
    public LinuxHugePageInfo(string kpageflagsPath = "/proc/kpageflags")
    {
        try
        {
            _kpageflags = File.OpenHandle(kpageflagsPath, FileMode.Open, FileAccess.Read);
            UnavailableReason = string.Empty;
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            UnavailableReason = $"huge page detection is off: {kpageflagsPath} cannot be read ({ex.Message}); run as root to decide promotions at huge-page granularity";
        }
    }

    /// <inheritdoc/>
    public bool IsAvailable => _kpageflags is not null;

    /// <inheritdoc/>
    public string UnavailableReason { get; }

    /// <inheritdoc/>
    public PlatformResult QueryFolios(int pid, ReadOnlySpan<nint> pages, Span<FolioInfo> folios)
    {
        for (int i = 0; i < pages.Length; i++)
        {
            folios[i] = new FolioInfo(pages[i] & ~(nint)(_pageSize - 1), 1);
        }

        if (_kpageflags is null)
        {
            return PlatformResult.Ok;
        }

        PagemapReader reader;
        try
        {
            if (!_pagemaps.TryGetValue(pid, out reader!))
            {
                reader = new PagemapReader(pid);
                _pagemaps[pid] = reader;
            }
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException or InvalidOperationException)
        {
            return new PlatformResult(Errno.EACCES, pages.Length);
        }

        ReadOnlySpan<ulong> flags = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(_block.AsSpan());
        for (int i = 0; i < pages.Length; i++)
        {
            if (!reader.Read(pages[i], _entry).IsSuccess || !_entry[0].IsPresent || _entry[0].Pfn == 0)
            {
                continue;
            }

            ulong pfn = _entry[0].Pfn;
            ulong blockStart = pfn & ~(ulong)(BlockPages - 1);
            int read;
            try
            {
                read = RandomAccess.Read(_kpageflags, _block, (long)(blockStart * sizeof(ulong)));
            }
            catch (IOException)
            {
                continue;
            }

            int at = (int)(pfn - blockStart);
            if (read < (at + 1) * sizeof(ulong) || (flags[at] & (1UL << KpfThp)) == 0 || (flags[at] & (1UL << KpfHuge)) != 0)
            {
                continue;
            }

            int valid = read / sizeof(ulong);
            int head = at;
            while (head > 0 && (flags[head] & (1UL << KpfCompoundTail)) != 0)
            {
                head--;
            }

            if ((flags[head] & (1UL << KpfCompoundHead)) == 0)
            {
                continue; // the head is outside this block: not a folio we can size
            }

            int end = head + 1;
            while (end < valid && (flags[end] & (1UL << KpfCompoundTail)) != 0)
            {
                end++;
            }

            folios[i] = new FolioInfo((pages[i] & ~(nint)(_pageSize - 1)) - ((at - head) * _pageSize), end - head);
        }

        return PlatformResult.Ok;
    }

    /// <summary>Forgets the pagemap of a process (it exited).</summary>
    public void Forget(int pid)
    {
        if (_pagemaps.Remove(pid, out PagemapReader? reader))
        {
            reader.Dispose();
        }
    }

    /// <summary>Closes kpageflags and every pagemap opened.</summary>
    public void Dispose()
    {
        _kpageflags?.Dispose();
        foreach (PagemapReader r in _pagemaps.Values)
        {
            r.Dispose();
        }

        _pagemaps.Clear();
    }
}
