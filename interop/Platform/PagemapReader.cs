using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Text;
using HotPage.Interop.Linux;
using Microsoft.Win32.SafeHandles;

namespace HotPage.Interop.Platform;

/// <summary>
/// One 64-bit entry of <c>/proc/PID/pagemap</c>, decoded as the kernel's
/// Documentation/admin-guide/mm/pagemap.rst lays it out: bit 63 present, 62 swapped, 61 file page
/// or shared anonymous, 56 exclusively mapped, 55 soft-dirty, bits 0-54 the PFN when present (or
/// bits 0-4 swap type and 5-54 swap offset when swapped). The layout is exactly the kernel's
/// <c>u64</c>, so a span of entries is the <c>pread</c> buffer.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public readonly struct PagemapEntry : IEquatable<PagemapEntry>
{
    private const ulong PfnMask = (1UL << 55) - 1;

    /// <summary>The raw entry.</summary>
    public readonly ulong Raw;

    /// <summary>Wraps a raw entry.</summary>
    public PagemapEntry(ulong raw) => Raw = raw;

    /// <summary>Bit 63: the page is in RAM.</summary>
    public bool IsPresent => (Raw & (1UL << 63)) != 0;

    /// <summary>Bit 62: the page is in swap.</summary>
    public bool IsSwapped => (Raw & (1UL << 62)) != 0;

    /// <summary>Bit 61: a file page or a shared anonymous page.</summary>
    public bool IsFileOrSharedAnonymous => (Raw & (1UL << 61)) != 0;

    /// <summary>Bit 56: mapped by this process only.</summary>
    public bool IsExclusive => (Raw & (1UL << 56)) != 0;

    /// <summary>Bit 55: written since soft-dirty bits were last cleared (always 0 when the kernel lacks CONFIG_MEM_SOFT_DIRTY).</summary>
    public bool IsSoftDirty => (Raw & (1UL << 55)) != 0;

    /// <summary>The page frame number when present; 0 when absent or when the reader lacks CAP_SYS_ADMIN (the kernel hides it).</summary>
    public ulong Pfn => IsPresent ? Raw & PfnMask : 0;

    /// <summary>The swap type (bits 0-4) when swapped; else 0.</summary>
    public int SwapType => IsSwapped ? (int)(Raw & 0x1F) : 0;

    /// <summary>The swap offset (bits 5-54) when swapped; else 0.</summary>
    public ulong SwapOffset => IsSwapped ? (Raw & PfnMask) >> 5 : 0;

    /// <inheritdoc/>
    public bool Equals(PagemapEntry other) => Raw == other.Raw;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is PagemapEntry other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => Raw.GetHashCode();

    /// <summary>Equality of raw entries.</summary>
    public static bool operator ==(PagemapEntry left, PagemapEntry right) => left.Raw == right.Raw;

    /// <summary>Inequality of raw entries.</summary>
    public static bool operator !=(PagemapEntry left, PagemapEntry right) => left.Raw != right.Raw;

    /// <summary>"present pfn 0x1234 exclusive" and the like.</summary>
    public override string ToString() =>
        IsPresent ? $"present pfn 0x{Pfn:x}{(IsExclusive ? " exclusive" : "")}{(IsSoftDirty ? " soft-dirty" : "")}" :
        IsSwapped ? $"swapped type {SwapType} offset 0x{SwapOffset:x}" : "not present";
}

/// <summary>The descriptor of an open pagemap file; <see cref="ReleaseHandle"/> closes it.</summary>
/// <remarks>
/// -1 alone is invalid (<see cref="SafeHandleMinusOneIsInvalid"/>), not 0 as well: a process started
/// with stdin closed can get descriptor 0 from open, and treating it as invalid would leak it.
/// </remarks>
[SupportedOSPlatform("linux")]
public sealed class PagemapHandle : SafeHandleMinusOneIsInvalid
{
    /// <summary>Creates an invalid handle (for the marshaller; use <see cref="PagemapReader"/>).</summary>
    public PagemapHandle()
        : base(ownsHandle: true)
    {
    }

    internal PagemapHandle(int fd)
        : base(ownsHandle: true) => SetHandle(fd);

    /// <inheritdoc/>
    protected override bool ReleaseHandle() => LibC.close((int)handle) == 0;
}

/// <summary>
/// Reads <c>/proc/PID/pagemap</c> (pid 0: this process): one 8-byte entry per virtual page, read
/// with <c>pread</c> straight into the caller's span. Opening another process's pagemap needs
/// ptrace read access (same user, or CAP_SYS_PTRACE); PFNs need CAP_SYS_ADMIN (they read as 0
/// without it).
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class PagemapReader : IDisposable
{
    private readonly PagemapHandle _handle;
    private readonly int _pageShift;

    /// <summary>Opens the pagemap of <paramref name="pid"/> (0 = this process).</summary>
    /// <exception cref="PlatformCallException">The open failed; the message names the pid and errno (EACCES/EPERM: not permitted; ENOENT: no such process).</exception>
    public unsafe PagemapReader(int pid)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pid);
        Pid = pid;
        _pageShift = System.Numerics.BitOperations.Log2((uint)Environment.SystemPageSize);
        string path = pid == 0 ? "/proc/self/pagemap" : $"/proc/{pid}/pagemap";
        Span<byte> utf8 = stackalloc byte[64];
        int len = Encoding.UTF8.GetBytes(path, utf8);
        utf8[len] = 0;
        int fd;
        fixed (byte* p = utf8)
        {
            fd = LibC.open(p, LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
        }

        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            string why = errno switch
            {
                (int)Errno.EACCES or (int)Errno.EPERM => " (reading another process's pagemap needs ptrace read access: the same user, or CAP_SYS_PTRACE)",
                (int)Errno.ENOENT => " (no such process)",
                _ => string.Empty,
            };
            throw new PlatformCallException($"open {path}{why}", pid, -1, (Errno)errno, errno);
        }

        _handle = new PagemapHandle(fd);
    }

    /// <summary>The process whose pagemap this is (0 = this process).</summary>
    public int Pid { get; }

    /// <summary>The descriptor, for callers that read it themselves.</summary>
    public PagemapHandle Handle => _handle;

    /// <summary>
    /// Reads the entries of <paramref name="entries"/>.Length consecutive pages starting at the page
    /// holding <paramref name="address"/>. Returns the count read in <see cref="PlatformResult.Count"/>
    /// (fewer at the end of the address space), or the errno of a failed read. Never throws, never allocates.
    /// </summary>
    public unsafe PlatformResult Read(nint address, Span<PagemapEntry> entries)
    {
        long offset = (long)((ulong)address >> _pageShift) * sizeof(ulong);
        nuint wanted = (nuint)entries.Length * sizeof(ulong);
        nuint done = 0;
        bool added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            int fd = (int)_handle.DangerousGetHandle();
            fixed (PagemapEntry* e = entries)
            {
                while (done < wanted)
                {
                    nint r = LibC.pread(fd, (byte*)e + done, wanted - done, offset + (long)done);
                    if (r < 0)
                    {
                        int errno = Marshal.GetLastPInvokeError();
                        if (errno == (int)Errno.EINTR)
                        {
                            continue;
                        }

                        return new PlatformResult((Errno)errno, (int)(done / sizeof(ulong)));
                    }

                    if (r == 0)
                    {
                        break;
                    }

                    done += (nuint)r;
                }
            }
        }
        catch (ObjectDisposedException)
        {
            return new PlatformResult(Errno.EBADF, 0);
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }

        return new PlatformResult(Errno.None, (int)(done / sizeof(ulong)));
    }

    /// <summary>Reads the entry of the page holding <paramref name="address"/>; a default (not present) entry when the read fails.</summary>
    public PagemapEntry Read(nint address)
    {
        PagemapEntry e = default;
        _ = Read(address, new Span<PagemapEntry>(ref e));
        return e;
    }

    /// <summary>Closes the descriptor.</summary>
    public void Dispose() => _handle.Dispose();
}
