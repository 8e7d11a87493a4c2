using System.Runtime.InteropServices;

namespace HotPage.Engine.Tests.Bitmaps;

/// <summary>
/// Words of native memory placed right against an inaccessible (<c>PROT_NONE</c>) page, after the
/// last word or before the first: a kernel that reads or writes one word outside the span crashes
/// the test run instead of passing by luck. Linux only; a local binding, since the interop project
/// is written elsewhere.
/// </summary>
internal sealed unsafe partial class GuardedBuffer : IDisposable
{
    private const int ProtNone = 0;
    private const int ProtRead = 1;
    private const int ProtWrite = 2;
    private const int MapPrivate = 0x02;
    private const int MapAnonymous = 0x20;

    private readonly byte* _region;
    private readonly nuint _regionBytes;

    /// <summary>Maps zeroed memory for <paramref name="words"/> words with a guard page after it (or before it).</summary>
    public GuardedBuffer(nuint words, bool guardBefore = false)
    {
        nuint page = (nuint)Environment.SystemPageSize;
        nuint dataBytes = words * sizeof(ulong);
        nuint dataPages = (dataBytes + page - 1) / page;
        _regionBytes = (dataPages + 2) * page;
        _region = (byte*)mmap(null, _regionBytes, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
        if ((nint)_region == -1 || _region == null)
        {
            throw new InvalidOperationException($"mmap of {_regionBytes} bytes failed: errno {Marshal.GetLastPInvokeError()}");
        }

        // Guard pages on both sides; the data sits against one of them.
        Check(mprotect(_region, page, ProtNone), "mprotect (first page)");
        Check(mprotect(_region + ((dataPages + 1) * page), page, ProtNone), "mprotect (last page)");
        Pointer = guardBefore
            ? (ulong*)(_region + page)
            : (ulong*)(_region + ((dataPages + 1) * page) - dataBytes);
        Length = words;
    }

    /// <summary>The first word.</summary>
    public ulong* Pointer { get; }

    /// <summary>The number of words.</summary>
    public nuint Length { get; }

    /// <summary>The words as a span.</summary>
    public Span<ulong> Span => new(Pointer, checked((int)Length));

    /// <summary>Unmaps the region.</summary>
    public void Dispose() => _ = munmap(_region, _regionBytes);

    private static void Check(int result, string call)
    {
        if (result != 0)
        {
            throw new InvalidOperationException($"{call} failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial void* mmap(void* addr, nuint length, int prot, int flags, int fd, nint offset);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int mprotect(void* addr, nuint length, int prot);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int munmap(void* addr, nuint length);
}
