using System.Collections.ObjectModel;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using HotPage.Interop.Windows;
using Win = HotPage.Interop.Windows.Windows;

namespace HotPage.Interop.Platform;

/// <summary>
/// The Windows platform: NUMA topology from <c>GetNumaHighestNodeNumber</c>,
/// <c>GetNumaNodeProcessorMaskEx</c> and <c>GetNumaAvailableMemoryNodeEx</c>; the current CPU and
/// node from <c>GetCurrentProcessorNumberEx</c> and <c>GetNumaProcessorNodeEx</c>; residency from
/// <c>QueryWorkingSetEx</c>; node-local memory from sections created with
/// <c>CreateFileMappingNumaW</c> and mapped into placeholders (<c>VirtualAlloc2</c>,
/// <c>MapViewOfFile3</c>).
/// </summary>
/// <remarks>
/// <para>Windows has no <c>move_pages</c>. A page this platform allocated is moved by remapping its
/// allocation-granularity block (64 KiB) in place: a new section on the target node, a copy, then
/// the old view is unmapped to a placeholder and the new one mapped into it. The block moves as a
/// whole, and writes by other threads during the copy are lost: the owner quiesces the block (as
/// an embedder's promoter does). Any other page answers <c>-EOPNOTSUPP</c> unless it already is on
/// the target (success, as Linux answers) or is not mapped (<c>-EFAULT</c>).</para>
/// <para>Windows reports no SLIT distances through these APIs: distances are 10 local, 20 remote;
/// tiers follow the Linux fallback (nodes with CPUs top tier, CPU-less nodes below). A node's total
/// memory is not reported per node either: on a one-node machine it is the physical memory, else
/// the node's available memory at read time (a lower bound).</para>
/// </remarks>
[SupportedOSPlatform("windows")]
public sealed unsafe class WindowsPlatform : IMemoryPlatform
{
    private const int QueryBatch = 512;

    private readonly Lock _gate = new();
    private readonly NumaTopology _topology;
    private readonly int _pageSize;
    private readonly nuint _granule;
    private readonly PSAPI_WORKING_SET_EX_INFORMATION[] _ws = GC.AllocateArray<PSAPI_WORKING_SET_EX_INFORMATION>(QueryBatch, pinned: true);
    private readonly List<OwnedBlock> _owned = [];
    private bool _disposed;

    /// <summary>Creates the platform and reads the topology once.</summary>
    /// <exception cref="PlatformNotSupportedException">Not running on Windows.</exception>
    public WindowsPlatform(IReadOnlyDictionary<int, int>? tierOverride = null)
    {
        if (!OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("WindowsPlatform needs Windows (kernel32 NUMA APIs).");
        }

        SYSTEM_INFO si;
        Win.GetSystemInfo(&si);
        _pageSize = (int)si.dwPageSize;
        _granule = si.dwAllocationGranularity;
        NumaTopology t = ReadTopology();
        _topology = tierOverride is null ? t : t.WithTiers(tierOverride);
        SupportsInPlaceMoves = ProbePlaceholders(_granule);
    }

    /// <summary>
    /// True when the placeholder APIs work here (Windows 10 1803 and later), so memory from
    /// <see cref="AllocateOnNode"/> can move; false where they do not (Wine 8 rejects
    /// MEM_RESERVE_PLACEHOLDER), and then every move of a page not already on its target is <c>-EOPNOTSUPP</c>.
    /// </summary>
    public bool SupportsInPlaceMoves { get; }

    /// <inheritdoc/>
    public string Name => "windows";

    /// <inheritdoc/>
    public int PageSize => _pageSize;

    /// <summary>
    /// Test hook: treat pages already on their target as if they were not, so that a one-node machine
    /// (or Wine) runs the remap and the -EOPNOTSUPP paths for real.
    /// </summary>
    internal bool TestHookAlwaysMove { get; set; }

    /// <summary>Test hook: the step of the last failed placeholder allocation or remap, with its Win32 error (for diagnosis under Wine).</summary>
    internal string? LastPlaceholderFailure { get; private set; }

    /// <summary>Test hook: whether the allocation holding <paramref name="address"/> can be remapped.</summary>
    internal bool IsMovable(nint address)
    {
        lock (_gate)
        {
            int i = FindOwned(address);
            return i >= 0 && _owned[i].Movable;
        }
    }

    private void Fail(string step) => LastPlaceholderFailure = $"{step}: Win32 error {Marshal.GetLastPInvokeError()}";

    /// <summary>The unit in which owned memory moves: the allocation granularity (64 KiB).</summary>
    public nuint MoveGranule => _granule;

    /// <inheritdoc/>
    public NumaTopology GetTopology() => _topology;

    /// <inheritdoc/>
    public int GetCurrentCpu()
    {
        PROCESSOR_NUMBER p;
        Win.GetCurrentProcessorNumberEx(&p);
        return (p.Group * 64) + p.Number;
    }

    /// <inheritdoc/>
    public int GetCurrentNode()
    {
        PROCESSOR_NUMBER p;
        Win.GetCurrentProcessorNumberEx(&p);
        ushort node;
        return Win.GetNumaProcessorNodeEx(&p, &node) ? node : 0;
    }

    /// <inheritdoc/>
    public long GetFreeBytes(int node)
    {
        if (!_topology.Exists(node))
        {
            return -1;
        }

        // An existing node whose free memory cannot be read (Wine 8 fails the call) reports 0: a
        // promoter then sees no headroom and does not promote, the safe side.
        ulong bytes;
        return Win.GetNumaAvailableMemoryNodeEx((ushort)node, &bytes) ? (long)bytes : 0;
    }

    /// <inheritdoc/>
    public PlatformResult QueryPages(int pid, ReadOnlySpan<nint> pages, Span<PageStatus> status)
    {
        if (status.Length != pages.Length)
        {
            ThrowHelper.ThrowSpanLengths(pages.Length, status.Length, nameof(status));
        }

        Errno error = OpenProcess(pid, out HANDLE process);
        if (error != Errno.None)
        {
            return new PlatformResult(error, 0);
        }

        try
        {
            lock (_gate)
            {
                return QueryLocked(process, pages, status);
            }
        }
        finally
        {
            CloseProcess(pid, process);
        }
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

        Errno error = OpenProcess(pid, out HANDLE process);
        if (error != Errno.None)
        {
            return new PlatformResult(error, 0);
        }

        try
        {
            lock (_gate)
            {
                // Where each page is now (also -EFAULT for unmapped pages), then move what can move.
                PlatformResult q = QueryLocked(process, pages, status);
                if (!q.IsSuccess)
                {
                    return q;
                }

                int notMoved = 0;
                for (int i = 0; i < pages.Length; i++)
                {
                    int target = nodes[i];
                    if (!_topology.Exists(target))
                    {
                        return new PlatformResult(Errno.ENODEV, notMoved);
                    }

                    PageStatus now = status[i];
                    if ((now.Node == target && !TestHookAlwaysMove) || now.Error == Errno.EFAULT)
                    {
                        continue;
                    }

                    int block = pid == 0 ? FindOwned(pages[i]) : -1;
                    if (block < 0 || !_owned[block].Movable)
                    {
                        status[i] = PageStatus.Failed(Errno.EOPNOTSUPP);
                        notMoved++;
                        continue;
                    }

                    status[i] = MoveBlock(block, pages[i], target);
                    if (!status[i].IsOnNode)
                    {
                        notMoved++;
                    }
                }

                return new PlatformResult(Errno.None, notMoved);
            }
        }
        finally
        {
            CloseProcess(pid, process);
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Each 64 KiB block is a view of its own section created on <paramref name="node"/>, mapped into a
    /// placeholder, so that <see cref="MovePages"/> can remap it. Where the placeholder APIs are not
    /// available, the memory comes from <c>VirtualAllocExNuma</c> and cannot move (-EOPNOTSUPP).
    /// </remarks>
    public NodeMemory AllocateOnNode(nuint bytes, int node)
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

        nuint length = (bytes + _granule - 1) & ~(_granule - 1);
        NodeMemory memory = TryAllocateMovable(length, node, out OwnedBlock? owned) ?? AllocateFixed(length, node, out owned);
        for (nuint off = 0; off < length; off += (nuint)_pageSize)
        {
            ((byte*)memory.Address)[off] = 0;
        }

        lock (_gate)
        {
            int at = _owned.FindIndex(b => b.Base > memory.Address);
            _owned.Insert(at < 0 ? _owned.Count : at, owned!);
        }

        return memory;
    }

    /// <inheritdoc/>
    public void Free(NodeMemory memory)
    {
        OwnedBlock block;
        lock (_gate)
        {
            int i = FindOwned(memory.Address);
            if (i < 0 || _owned[i].Base != memory.Address)
            {
                ThrowHelper.ThrowArgument($"Free: 0x{memory.Address:x} was not allocated by this platform or was freed already.", nameof(memory));
            }

            block = _owned[i];
            _owned.RemoveAt(i);
        }

        Release(block);
    }

    /// <summary>Frees every allocation still outstanding.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (OwnedBlock b in _owned)
            {
                Release(b);
            }

            _owned.Clear();
        }
    }

    /// <summary>Maps a Win32 error to the errno vocabulary of the engine.</summary>
    internal static Errno ToErrno(int win32Error) => win32Error switch
    {
        0 => Errno.None,
        5 => Errno.EACCES,             // ERROR_ACCESS_DENIED
        8 or 14 or 1455 => Errno.ENOMEM, // ERROR_NOT_ENOUGH_MEMORY, ERROR_OUTOFMEMORY, ERROR_COMMITMENT_LIMIT
        87 => Errno.EINVAL,            // ERROR_INVALID_PARAMETER
        487 => Errno.EFAULT,           // ERROR_INVALID_ADDRESS
        50 or 120 or 127 => Errno.EOPNOTSUPP, // ERROR_NOT_SUPPORTED, ERROR_CALL_NOT_IMPLEMENTED, ERROR_PROC_NOT_FOUND
        _ => Errno.EIO,
    };

    private PlatformResult QueryLocked(HANDLE process, ReadOnlySpan<nint> pages, Span<PageStatus> status)
    {
        fixed (PSAPI_WORKING_SET_EX_INFORMATION* ws = _ws)
        {
            for (int offset = 0; offset < pages.Length; offset += QueryBatch)
            {
                int count = Math.Min(QueryBatch, pages.Length - offset);
                for (int i = 0; i < count; i++)
                {
                    ws[i].VirtualAddress = (void*)pages[offset + i];
                    ws[i].VirtualAttributes = default;
                }

                if (!Win.QueryWorkingSetEx(process, ws, (uint)(count * sizeof(PSAPI_WORKING_SET_EX_INFORMATION))))
                {
                    return new PlatformResult(ToErrno(Marshal.GetLastPInvokeError()), 0);
                }

                for (int i = 0; i < count; i++)
                {
                    if (ws[i].VirtualAttributes.Valid)
                    {
                        status[offset + i] = PageStatus.OnNode((int)ws[i].VirtualAttributes.Node);
                        continue;
                    }

                    // Not in the working set: committed but not present, or not mapped at all.
                    MEMORY_BASIC_INFORMATION mbi;
                    nuint n = Win.VirtualQueryEx(process, (void*)pages[offset + i], &mbi, (nuint)sizeof(MEMORY_BASIC_INFORMATION));
                    status[offset + i] = n != 0 && mbi.State == Win.MEM_COMMIT ? PageStatus.Failed(Errno.ENOENT) : PageStatus.Failed(Errno.EFAULT);
                }
            }
        }

        return PlatformResult.Ok;
    }

    private static Errno OpenProcess(int pid, out HANDLE process)
    {
        if (pid == 0 || unchecked((uint)pid) == Win.GetCurrentProcessId())
        {
            process = Win.GetCurrentProcess();
            return Errno.None;
        }

        process = Win.OpenProcess(Win.PROCESS_QUERY_INFORMATION | Win.PROCESS_VM_READ, false, unchecked((uint)pid));
        if (process.IsNull)
        {
            int error = Marshal.GetLastPInvokeError();
            return error switch
            {
                5 => Errno.EPERM,    // ERROR_ACCESS_DENIED
                87 => Errno.ESRCH,   // ERROR_INVALID_PARAMETER: no such process
                _ => ToErrno(error),
            };
        }

        return Errno.None;
    }

    private static void CloseProcess(int pid, HANDLE process)
    {
        if (pid != 0 && unchecked((uint)pid) != Win.GetCurrentProcessId())
        {
            _ = Win.CloseHandle(process);
        }
    }

    private int FindOwned(nint address)
    {
        int lo = 0, hi = _owned.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_owned[mid].Base <= address)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        int i = lo - 1;
        return i >= 0 && address < _owned[i].Base + (nint)_owned[i].Length ? i : -1;
    }

    private PageStatus MoveBlock(int index, nint address, int target)
    {
        HANDLE[] sections = _owned[index].Sections!;
        OwnedBlock b = _owned[index];
        int g = (int)((nuint)(address - b.Base) / _granule);
        nint blockBase = b.Base + (nint)((nuint)g * _granule);
        HANDLE self = Win.GetCurrentProcess();

        HANDLE section = Win.CreateFileMappingNumaW(HANDLE.INVALID_VALUE, null, Win.PAGE_READWRITE | Win.SEC_COMMIT, 0, (uint)_granule, null, (uint)target);
        if (section.IsNull)
        {
            Fail("CreateFileMappingNumaW");
            return PageStatus.Failed(Errno.ENOMEM);
        }

        void* temp = Win.MapViewOfFile3(section, self, null, 0, _granule, 0, Win.PAGE_READWRITE, null, 0);
        if (temp == null)
        {
            Fail("MapViewOfFile3 (temporary view)");
            _ = Win.CloseHandle(section);
            return PageStatus.Failed(Errno.ENOMEM);
        }

        Buffer.MemoryCopy((void*)blockBase, temp, _granule, _granule);
        _ = Win.UnmapViewOfFile2(self, temp, 0);
        if (!Win.UnmapViewOfFile2(self, (void*)blockBase, Win.MEM_PRESERVE_PLACEHOLDER))
        {
            Fail("UnmapViewOfFile2 (MEM_PRESERVE_PLACEHOLDER)");
            _ = Win.CloseHandle(section);
            return PageStatus.Failed(Errno.EBUSY);
        }

        if (Win.MapViewOfFile3(section, self, (void*)blockBase, 0, _granule, Win.MEM_REPLACE_PLACEHOLDER, Win.PAGE_READWRITE, null, 0) == null)
        {
            Fail("MapViewOfFile3 (MEM_REPLACE_PLACEHOLDER)");

            // Put the old view back: the data stays where it was.
            _ = Win.MapViewOfFile3(sections[g], self, (void*)blockBase, 0, _granule, Win.MEM_REPLACE_PLACEHOLDER, Win.PAGE_READWRITE, null, 0);
            _ = Win.CloseHandle(section);
            return PageStatus.Failed(Errno.EBUSY);
        }

        _ = Win.CloseHandle(sections[g]);
        sections[g] = section;
        return PageStatus.OnNode(target);
    }

    private static bool ProbePlaceholders(nuint granule)
    {
        try
        {
            void* p = Win.VirtualAlloc2(Win.GetCurrentProcess(), null, granule, Win.MEM_RESERVE | Win.MEM_RESERVE_PLACEHOLDER, Win.PAGE_NOACCESS, null, 0);
            if (p == null)
            {
                return false;
            }

            _ = Win.VirtualFree(p, 0, Win.MEM_RELEASE);
            return true;
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }
    }

    private NodeMemory? TryAllocateMovable(nuint length, int node, out OwnedBlock? owned)
    {
        owned = null;
        if (!SupportsInPlaceMoves)
        {
            LastPlaceholderFailure = "placeholders not supported here";
            return null;
        }

        HANDLE self = Win.GetCurrentProcess();
        void* reserve;
        try
        {
            reserve = Win.VirtualAlloc2(self, null, length, Win.MEM_RESERVE | Win.MEM_RESERVE_PLACEHOLDER, Win.PAGE_NOACCESS, null, 0);
        }
        catch (EntryPointNotFoundException)
        {
            LastPlaceholderFailure = "VirtualAlloc2: not exported";
            return null;
        }

        if (reserve == null)
        {
            Fail("VirtualAlloc2 (MEM_RESERVE_PLACEHOLDER)");
            return null;
        }

        int blocks = (int)(length / _granule);
        var sections = new HANDLE[blocks];
        int mapped = 0;
        bool ok = true;
        for (int g = 0; g < blocks && ok; g++)
        {
            nint at = (nint)reserve + (nint)((nuint)g * _granule);
            if (g < blocks - 1)
            {
                // Split the placeholder so that this block is a placeholder of its own.
                ok = Win.VirtualFree((void*)at, _granule, Win.MEM_RELEASE | Win.MEM_PRESERVE_PLACEHOLDER);
                if (!ok)
                {
                    Fail("VirtualFree (split placeholder)");
                    break;
                }
            }

            sections[g] = Win.CreateFileMappingNumaW(HANDLE.INVALID_VALUE, null, Win.PAGE_READWRITE | Win.SEC_COMMIT, 0, (uint)_granule, null, (uint)node);
            ok = !sections[g].IsNull &&
                Win.MapViewOfFile3(sections[g], self, (void*)at, 0, _granule, Win.MEM_REPLACE_PLACEHOLDER, Win.PAGE_READWRITE, null, 0) != null;
            if (ok)
            {
                mapped++;
            }
            else
            {
                Fail(sections[g].IsNull ? "CreateFileMappingNumaW" : "MapViewOfFile3 (into placeholder)");
            }
        }

        if (!ok)
        {
            for (int g = 0; g < blocks; g++)
            {
                if (g < mapped)
                {
                    _ = Win.UnmapViewOfFile2(self, (void*)((nint)reserve + (nint)((nuint)g * _granule)), 0);
                }

                if (!sections[g].IsNull)
                {
                    _ = Win.CloseHandle(sections[g]);
                }
            }

            for (int g = mapped; g < blocks; g++)
            {
                _ = Win.VirtualFree((void*)((nint)reserve + (nint)((nuint)g * _granule)), 0, Win.MEM_RELEASE);
            }

            return null;
        }

        owned = new OwnedBlock((nint)reserve, length, sections);
        return new NodeMemory((nint)reserve, length, node);
    }

    private static NodeMemory AllocateFixed(nuint length, int node, out OwnedBlock owned)
    {
        void* p = Win.VirtualAllocExNuma(Win.GetCurrentProcess(), null, length, Win.MEM_RESERVE | Win.MEM_COMMIT, Win.PAGE_READWRITE, (uint)node);
        if (p == null)
        {
            int error = Marshal.GetLastPInvokeError();
            ThrowHelper.ThrowOutOfMemory($"AllocateOnNode: VirtualAllocExNuma of {length} bytes on node {node} failed: Win32 error {error} ({ToErrno(error)}).");
        }

        owned = new OwnedBlock((nint)p, length, null);
        return new NodeMemory((nint)p, length, node);
    }

    private void Release(OwnedBlock b)
    {
        if (b.Sections is null)
        {
            _ = Win.VirtualFree((void*)b.Base, 0, Win.MEM_RELEASE);
            return;
        }

        HANDLE self = Win.GetCurrentProcess();
        for (int g = 0; g < b.Sections.Length; g++)
        {
            nint at = b.Base + (nint)((nuint)g * _granule);
            _ = Win.UnmapViewOfFile2(self, (void*)at, Win.MEM_PRESERVE_PLACEHOLDER);
            _ = Win.VirtualFree((void*)at, 0, Win.MEM_RELEASE);
            _ = Win.CloseHandle(b.Sections[g]);
        }
    }

    private static NumaTopology ReadTopology()
    {
        uint highest;
        if (!Win.GetNumaHighestNodeNumber(&highest))
        {
            highest = 0;
        }

        var nodes = new List<NumaNode>();
        for (uint n = 0; n <= highest && n <= NumaTopology.MaxNodeId; n++)
        {
            ulong available;
            bool hasMemory = Win.GetNumaAvailableMemoryNodeEx((ushort)n, &available);
            GROUP_AFFINITY affinity;
            bool hasCpus = Win.GetNumaNodeProcessorMaskEx((ushort)n, &affinity);
            if (!hasMemory && !hasCpus)
            {
                continue;
            }

            var cpus = new List<int>();
            if (hasCpus)
            {
                for (int bit = 0; bit < 64; bit++)
                {
                    if ((affinity.Mask & ((nuint)1 << bit)) != 0)
                    {
                        cpus.Add((affinity.Group * 64) + bit);
                    }
                }
            }

            long free = hasMemory ? (long)available : 0;
            nodes.Add(new NumaNode((int)n, new ReadOnlyCollection<int>(cpus), free, free, 0));
        }

        if (nodes.Count == 0)
        {
            nodes.Add(new NumaNode(0, new ReadOnlyCollection<int>(Enumerable.Range(0, Environment.ProcessorCount).ToArray()), 0, 0, 0));
        }

        bool anyCpus = nodes.Any(x => x.HasCpus);
        long physical = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        for (int i = 0; i < nodes.Count; i++)
        {
            nodes[i] = nodes[i] with
            {
                Tier = nodes[i].HasCpus || !anyCpus ? 0 : 1,
                TotalBytes = nodes.Count == 1 ? Math.Max(physical, nodes[i].FreeBytes) : nodes[i].FreeBytes,
            };
        }

        var d = new int[nodes.Count, nodes.Count];
        for (int i = 0; i < nodes.Count; i++)
        {
            for (int j = 0; j < nodes.Count; j++)
            {
                d[i, j] = i == j ? 10 : 20;
            }
        }

        return new NumaTopology(nodes, d);
    }

    /// <summary>Memory this platform allocated: its sections (one per 64 KiB block) when movable, else null.</summary>
    private sealed record OwnedBlock(nint Base, nuint Length, HANDLE[]? Sections)
    {
        public bool Movable => Sections is not null;
    }
}
