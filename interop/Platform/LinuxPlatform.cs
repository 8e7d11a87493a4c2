using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using HotPage.Interop.Linux;
using Microsoft.Win32.SafeHandles;

namespace HotPage.Interop.Platform;

/// <summary>Settings of a <see cref="LinuxPlatform"/>.</summary>
public sealed record LinuxPlatformOptions
{
    /// <summary>Pages per <c>move_pages</c> call; larger batches are split. The kernel itself works in batches, so very large calls gain nothing.</summary>
    public int BatchSize { get; init; } = 4096;

    /// <summary>The sysfs root the topology is read from ("/sys"; a fixture tree in tests).</summary>
    public string SysfsRoot { get; init; } = "/sys";

    /// <summary>Where the zones' watermarks are read ("/proc/zoneinfo"; a fixture file in tests).</summary>
    public string ZoneinfoPath { get; init; } = "/proc/zoneinfo";

    /// <summary>Tier ranks by node id that replace what sysfs says (configuration override); null for none.</summary>
    public IReadOnlyDictionary<int, int>? TierOverride { get; init; }
}

/// <summary>
/// The Linux platform: <c>move_pages(2)</c> for residency and moves, sysfs for topology and tiers,
/// <c>getcpu</c> for the current CPU and node, <c>mmap</c> + <c>mbind</c> for node-local memory.
/// </summary>
/// <remarks>
/// Moves and queries pin the caller's spans and hand them to the kernel as they are (a
/// <c>ReadOnlySpan&lt;nint&gt;</c> is the <c>void**</c> pages array, a <c>Span&lt;PageStatus&gt;</c>
/// the <c>int*</c> status array): no copy and no allocation per call. Errors of the whole call come
/// back as a <see cref="PlatformResult"/>, per-page errors in the status array; nothing on those
/// paths throws except for spans of different lengths (a programming error).
/// </remarks>
[SupportedOSPlatform("linux")]
public sealed class LinuxPlatform : IMemoryPlatform
{
    private readonly LinuxPlatformOptions _options;
    private readonly LinuxTopologyReader _reader;
    private readonly NumaTopology _topology;
    private readonly SafeFileHandle?[] _meminfo;
    private readonly byte[] _meminfoBuffer = GC.AllocateArray<byte>(4096, pinned: true);
    private readonly Lock _meminfoGate = new();
    private readonly long[] _zoneHighPages;
    private byte[] _zoneinfoBuffer = GC.AllocateArray<byte>(16384, pinned: true);
    private SafeFileHandle? _zoneinfo;
    private long _zoneinfoReadAt;
    private bool _zoneinfoRead;
    private bool _disposed;

    /// <summary>How long the zone watermarks read from /proc/zoneinfo are used before being read again (they change only with min_free_kbytes, watermark_scale_factor or memory hotplug).</summary>
    private const long ZoneinfoRefreshMs = 10_000;

    /// <summary>Creates the platform and reads the topology once.</summary>
    /// <exception cref="PlatformNotSupportedException">Not running on Linux.</exception>
    /// <exception cref="IOException">sysfs could not be read.</exception>
    public LinuxPlatform(LinuxPlatformOptions? options = null)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("LinuxPlatform needs Linux (move_pages, sysfs, /proc).");
        }

        _options = options ?? new LinuxPlatformOptions();
        if (_options.BatchSize <= 0)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(options), _options.BatchSize, "The move_pages batch size must be positive.");
        }

        _reader = new LinuxTopologyReader(_options.SysfsRoot);
        _topology = _reader.Read(_options.TierOverride);
        _meminfo = new SafeFileHandle?[_topology.NodeIdLimit];
        _zoneHighPages = new long[_topology.NodeIdLimit];
    }

    /// <inheritdoc/>
    public string Name => "linux";

    /// <inheritdoc/>
    public int PageSize => Environment.SystemPageSize;

    /// <summary>Pages per <c>move_pages</c> call.</summary>
    public int BatchSize => _options.BatchSize;

    /// <inheritdoc/>
    public NumaTopology GetTopology() => _topology;

    /// <inheritdoc/>
    public unsafe int GetCurrentCpu()
    {
        uint cpu;
        return LibC.getcpu(&cpu, null) == 0 ? (int)cpu : Thread.GetCurrentProcessorId();
    }

    /// <inheritdoc/>
    public unsafe int GetCurrentNode()
    {
        uint node;
        return LibC.getcpu(null, &node) == 0 ? (int)node : 0;
    }

    /// <inheritdoc/>
    /// <remarks>Reads the node's sysfs meminfo with <c>pread</c> on a descriptor kept open, into a pinned buffer: no allocation after the first call per node.</remarks>
    public long GetFreeBytes(int node)
    {
        if (!_topology.Exists(node))
        {
            return -1;
        }

        lock (_meminfoGate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            SafeFileHandle handle = _meminfo[node] ??= OpenMeminfo(node);
            int read;
            try
            {
                read = RandomAccess.Read(handle, _meminfoBuffer, 0);
            }
            catch (IOException)
            {
                return -1;
            }

            return ParseMemFree(_meminfoBuffer.AsSpan(0, read));
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// The sum of the <c>high</c> watermarks of the node's zones in /proc/zoneinfo, in bytes; read
    /// again at most every 10 s into a reused pinned buffer (no allocation unless the file outgrows
    /// it). 0 when the file cannot be read (the caller's own headroom then applies alone).
    /// </remarks>
    public long GetReservedBytes(int node)
    {
        if (!_topology.Exists(node))
        {
            return 0;
        }

        lock (_meminfoGate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            long now = Environment.TickCount64;
            if (!_zoneinfoRead || now - _zoneinfoReadAt >= ZoneinfoRefreshMs)
            {
                _zoneinfoRead = true;
                _zoneinfoReadAt = now;
                ReadZoneinfo();
            }

            return _zoneHighPages[node] * PageSize;
        }
    }

    /// <summary>Reads /proc/zoneinfo whole (growing the buffer if it is larger) and parses the high watermarks per node; on an I/O error the watermarks read as 0.</summary>
    private void ReadZoneinfo()
    {
        try
        {
            _zoneinfo ??= File.OpenHandle(_options.ZoneinfoPath, FileMode.Open, FileAccess.Read);
            int length = 0;
            while (true)
            {
                if (length == _zoneinfoBuffer.Length)
                {
                    byte[] larger = GC.AllocateArray<byte>(_zoneinfoBuffer.Length * 2, pinned: true);
                    _zoneinfoBuffer.AsSpan().CopyTo(larger);
                    _zoneinfoBuffer = larger;
                }

                int read = RandomAccess.Read(_zoneinfo, _zoneinfoBuffer.AsSpan(length), length);
                if (read <= 0)
                {
                    break;
                }

                length += read;
            }

            ParseZoneHighWatermarks(_zoneinfoBuffer.AsSpan(0, length), _zoneHighPages);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Array.Clear(_zoneHighPages);
        }
    }

    /// <summary>
    /// Sums the <c>high</c> watermark (pages) of every zone per node from the text of /proc/zoneinfo
    /// into <paramref name="highPages"/> (indexed by node id; nodes beyond its length are ignored).
    /// A zone starts at a line "Node N, zone NAME"; its watermark is the line whose first word is
    /// exactly "high" (the per-CPU lists' "high:" lines are not it).
    /// </summary>
    internal static void ParseZoneHighWatermarks(ReadOnlySpan<byte> text, Span<long> highPages)
    {
        highPages.Clear();
        int node = -1;
        while (!text.IsEmpty)
        {
            int eol = text.IndexOf((byte)'\n');
            ReadOnlySpan<byte> line = eol < 0 ? text : text[..eol];
            text = eol < 0 ? default : text[(eol + 1)..];
            if (line.StartsWith("Node "u8))
            {
                long id = ParseLeadingNumber(line["Node ".Length..], out bool isNumber);
                node = isNumber && id <= int.MaxValue ? (int)id : -1;
                continue;
            }

            line = line.TrimStart((byte)' ');
            if (node >= 0 && node < highPages.Length && line.StartsWith("high "u8))
            {
                long pages = ParseLeadingNumber(line["high".Length..].TrimStart((byte)' '), out bool digits);
                if (digits)
                {
                    highPages[node] += pages;
                }
            }
        }
    }

    // The decimal number at the start of text (digits stops at the first non-digit, or before the
    // value would overflow); digits is false when text does not start with one.
    private static long ParseLeadingNumber(ReadOnlySpan<byte> text, out bool digits)
    {
        long value = 0;
        int i = 0;
        while (i < text.Length && text[i] is >= (byte)'0' and <= (byte)'9' && value <= (long.MaxValue - 9) / 10)
        {
            value = (value * 10) + (text[i] - '0');
            i++;
        }

        digits = i > 0;
        return value;
    }

    /// <inheritdoc/>
    public PlatformResult QueryPages(int pid, ReadOnlySpan<nint> pages, Span<PageStatus> status)
    {
        if (status.Length != pages.Length)
        {
            ThrowHelper.ThrowSpanLengths(pages.Length, status.Length, nameof(status));
        }

        return LinuxMovePages.Run(pid, pages, default, status, _options.BatchSize, query: true);
    }

    /// <inheritdoc/>
    public PlatformResult MovePages(int pid, ReadOnlySpan<nint> pages, ReadOnlySpan<int> nodes, Span<PageStatus> status)
    {
        if (nodes.Length != pages.Length)
        {
            ThrowHelper.ThrowSpanLengths(pages.Length, nodes.Length, nameof(nodes));
        }

        if (status.Length != pages.Length)
        {
            ThrowHelper.ThrowSpanLengths(pages.Length, status.Length, nameof(status));
        }

        return LinuxMovePages.Run(pid, pages, nodes, status, _options.BatchSize, query: false);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// An anonymous private mapping bound to the node with <c>mbind(MPOL_BIND)</c> while every page
    /// is touched, then returned to <c>MPOL_DEFAULT</c>, so that later moves and NUMA balancing treat
    /// it like any other memory (a lasting bind would make balancing skip it).
    /// </remarks>
    public unsafe NodeMemory AllocateOnNode(nuint bytes, int node)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (bytes == 0)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(bytes), bytes, "AllocateOnNode: zero bytes.");
        }

        if (!_topology.Exists(node))
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(node), node, $"AllocateOnNode: there is no node {node}.");
        }

        nuint page = (nuint)PageSize;
        nuint length = (bytes + page - 1) & ~(page - 1);
        void* p = LibC.mmap(null, length, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_PRIVATE | LibC.MAP_ANONYMOUS, -1, 0);
        if (p == LibC.MAP_FAILED || p == null)
        {
            int errno = Marshal.GetLastPInvokeError();
            ThrowHelper.ThrowOutOfMemory($"AllocateOnNode: mmap of {length} bytes for node {node} failed: {(Errno)errno} ({errno}).");
        }

        const int MaskWords = (NumaTopology.MaxNodeId + 2 + 63) / 64;
        nuint* mask = stackalloc nuint[MaskWords];
        new Span<nuint>(mask, MaskWords).Clear();
        mask[node / 64] |= (nuint)1 << (node % 64);
        if (LibC.mbind(p, length, LibC.MPOL_BIND, mask, (nuint)(MaskWords * 64) + 1, 0) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            _ = LibC.munmap(p, length);
            ThrowHelper.ThrowOutOfMemory($"AllocateOnNode: mbind of {length} bytes to node {node} failed: {(Errno)errno} ({errno}).");
        }

        for (nuint off = 0; off < length; off += page)
        {
            ((byte*)p)[off] = 0;
        }

        // Back to the default policy: the pages stay where they were placed.
        _ = LibC.mbind(p, length, LibC.MPOL_DEFAULT, null, 0, 0);
        return new NodeMemory((nint)p, length, node);
    }

    /// <inheritdoc/>
    public unsafe void Free(NodeMemory memory)
    {
        if (memory.Address == 0)
        {
            return;
        }

        Check(LibC.munmap((void*)memory.Address, memory.Length), "munmap", 0, memory.Node);
    }

    /// <summary>Closes the descriptors the platform keeps open.</summary>
    public void Dispose()
    {
        lock (_meminfoGate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (SafeFileHandle? h in _meminfo)
            {
                h?.Dispose();
            }

            _zoneinfo?.Dispose();
        }
    }

    /// <summary>
    /// The setup paths' one error check: a negative <paramref name="result"/> throws a
    /// <see cref="PlatformCallException"/> naming the call, the pid, the node and errno (read first,
    /// before anything else can overwrite it).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static long Check(long result, string call, int pid, int node = -1)
    {
        if (result < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            ThrowHelper.ThrowPlatform(call, pid, node, (Errno)errno, errno);
        }

        return result;
    }

    private SafeFileHandle OpenMeminfo(int node) =>
        File.OpenHandle(Path.Combine(_reader.NodeDirectory, "node" + node.ToString(CultureInfo.InvariantCulture), "meminfo"), FileMode.Open, FileAccess.Read);

    /// <summary>Finds "MemFree:" and parses the kB figure after it, in bytes; -1 when absent.</summary>
    internal static long ParseMemFree(ReadOnlySpan<byte> text)
    {
        int at = text.IndexOf("MemFree:"u8);
        if (at < 0)
        {
            return -1;
        }

        long kb = ParseLeadingNumber(text[(at + "MemFree:".Length)..].TrimStart(" \t"u8), out bool digits);
        return digits ? kb * 1024 : -1;
    }
}

/// <summary>
/// The move_pages(2) loop. Invariants: the spans are pinned with <c>fixed</c> for the whole loop and
/// only their own elements are passed (offset + count never exceeds their common length); the
/// kernel writes only status[0..count) of each chunk; <c>nodes</c> is null exactly in query mode.
/// No allocation: the caller's memory is the syscall's argument arrays.
/// </summary>
internal static unsafe class LinuxMovePages
{
    public static PlatformResult Run(int pid, ReadOnlySpan<nint> pages, ReadOnlySpan<int> nodes, Span<PageStatus> status, int batch, bool query)
    {
        int notMoved = 0;
        fixed (nint* p = pages)
        fixed (int* n = nodes)
        fixed (PageStatus* s = status)
        {
            for (int offset = 0; offset < pages.Length; offset += batch)
            {
                int count = Math.Min(batch, pages.Length - offset);
                long r = LibC.move_pages(pid, (nuint)count, (void**)(p + offset), query ? null : n + offset, (int*)(s + offset), query ? 0 : LibC.MPOL_MF_MOVE);
                if (r < 0)
                {
                    return new PlatformResult((Errno)Marshal.GetLastPInvokeError(), notMoved);
                }

                notMoved += (int)r;
            }
        }

        return new PlatformResult(Errno.None, notMoved);
    }
}
