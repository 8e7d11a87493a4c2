using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using HotPage.Interop.Linux;
using Microsoft.Win32.SafeHandles;

namespace HotPage.Interop.Platform;

/// <summary>A perf event descriptor; <see cref="ReleaseHandle"/> closes it.</summary>
[SupportedOSPlatform("linux")]
public sealed class PerfEventHandle : SafeHandleMinusOneIsInvalid
{
    /// <summary>Creates an invalid handle (for the marshaller).</summary>
    public PerfEventHandle()
        : base(ownsHandle: true)
    {
    }

    internal PerfEventHandle(int fd)
        : base(ownsHandle: true) => SetHandle(fd);

    /// <inheritdoc/>
    protected override bool ReleaseHandle() => LibC.close((int)handle) == 0;
}

/// <summary>
/// One perf event opened with <c>perf_event_open</c>, optionally with its mmap ring (1 metadata page
/// + 2^n data pages, mapped shared and writable so the reader can move <c>data_tail</c>).
/// NOTE: a per-thread event (cpu -1) can only share its ring with events of the same thread
/// (PERF_EVENT_IOC_SET_OUTPUT refuses other targets), so each thread gets its own ring.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed unsafe class PerfEventRing : IDisposable
{
    private byte* _base;
    private nuint _length;

    private PerfEventRing(PerfEventHandle handle, byte* mapping, nuint length)
    {
        Handle = handle;
        _base = mapping;
        _length = length;
    }

    /// <summary>The event's descriptor.</summary>
    public PerfEventHandle Handle { get; }

    /// <summary>The start of the mapping (the <c>perf_event_mmap_page</c>), or null without a ring.</summary>
    public byte* Base => _base;

    /// <summary>Bytes mapped.</summary>
    public nuint Length => _length;

    /// <summary>
    /// Opens <paramref name="attr"/> for thread <paramref name="tid"/> on <paramref name="cpu"/> (-1: any)
    /// and maps a ring of <paramref name="dataPages"/> data pages (a power of two; 0: no ring).
    /// Returns null with the errno and the call that failed; never throws.
    /// </summary>
    public static PerfEventRing? TryOpen(ref perf_event_attr attr, int tid, int cpu, int dataPages, out Errno errno, out string failedCall)
    {
        attr.size = (uint)sizeof(perf_event_attr);
        int fd;
        fixed (perf_event_attr* a = &attr)
        {
            fd = LibC.perf_event_open(a, tid, cpu, -1, LibC.PERF_FLAG_FD_CLOEXEC);
        }

        if (fd < 0)
        {
            errno = (Errno)Marshal.GetLastPInvokeError();
            failedCall = "perf_event_open";
            return null;
        }

        var handle = new PerfEventHandle(fd);
        if (dataPages == 0)
        {
            errno = Errno.None;
            failedCall = string.Empty;
            return new PerfEventRing(handle, null, 0);
        }

        nuint length = (nuint)(1 + dataPages) * (nuint)Environment.SystemPageSize;
        void* map = LibC.mmap(null, length, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED, fd, 0);
        if (map == LibC.MAP_FAILED || map == null)
        {
            errno = (Errno)Marshal.GetLastPInvokeError();
            failedCall = "mmap of the perf ring";
            handle.Dispose();
            return null;
        }

        errno = Errno.None;
        failedCall = string.Empty;
        return new PerfEventRing(handle, (byte*)map, length);
    }

    /// <summary>Unmaps the ring and closes the descriptor.</summary>
    public void Dispose()
    {
        if (_base != null)
        {
            _ = LibC.munmap(_base, _length);
            _base = null;
            _length = 0;
        }

        Handle.Dispose();
    }
}
