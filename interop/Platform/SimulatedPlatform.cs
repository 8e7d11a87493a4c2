using System.Collections.ObjectModel;
using System.Numerics;
using System.Runtime.InteropServices;

namespace HotPage.Interop.Platform;

/// <summary>
/// A deterministic tiered-memory machine for tests and the lab: nodes, tiers, capacities,
/// distances and the node of every simulated page, with <c>move_pages(2)</c>'s semantics and
/// status codes. Same description, same seed and same calls give the same answers.
/// </summary>
/// <remarks>
/// <para>Model. A process (pid 0 is the caller; other pids are added with <see cref="AddProcess"/>
/// or by <see cref="Map(int, nint, nuint, int)"/>) owns mappings, kept sorted by base address and
/// found by binary search (with a last-hit shortcut, since batches are mostly sequential). Each
/// mapping holds one node per page in an array, so a query or a move costs one array access per
/// page and allocates nothing. Every present page counts against its node's capacity.</para>
/// <para>Moves, per page, in Linux's order: an address outside every mapping is <c>-EFAULT</c>; a
/// page not present is <c>-ENOENT</c>; a page already on its target succeeds without using
/// capacity; a busy page (<see cref="MarkBusy(nint, bool)"/>, or drawn with
/// <see cref="SimulatedMachine.BusyProbability"/>) is <c>-EBUSY</c>; a full target is <c>-ENOMEM</c>.
/// A target node that does not exist stops the call with <c>ENODEV</c>, whether its id is in range
/// or not, as Linux 6.x does (pages before it were processed, as the kernel does). An unknown pid is
/// <c>ESRCH</c>; a pid marked not permitted is <c>EPERM</c>.</para>
/// <para>Thread safety: one lock per call (not per page). The alternative, per-mapping locks, buys
/// nothing for a simulator that drives one promoter at a time.</para>
/// </remarks>
public sealed class SimulatedPlatform : IMemoryPlatform, IHugePageInfo
{
    private const int NotPresent = -1;

    private readonly Lock _gate = new();
    private readonly SimulatedMachine _machine;
    private readonly int _pageShift;
    private readonly long[] _capacity;
    private readonly long[] _used;
    private readonly bool[] _exists;
    private readonly int[] _tier;
    private readonly int[,] _distance;
    private readonly int[] _nodeOfCpu;
    private readonly long[] _failedByErrno = new long[128];
    private readonly Dictionary<int, SimulatedProcess> _processes = new();
    private readonly Dictionary<nint, NodeMemory> _allocations = new();
    private readonly ulong _busyThreshold;
    private readonly bool _alwaysBusy;
    private ulong _random;
    private long _pagesMoved;
    private long _hugePagesMoved;
    private int _currentCpu;
    private bool _disposed;

    /// <summary>Builds the machine <paramref name="machine"/> describes, with no mappings yet.</summary>
    /// <exception cref="ArgumentException">The description is inconsistent.</exception>
    public SimulatedPlatform(SimulatedMachine machine)
    {
        ArgumentNullException.ThrowIfNull(machine);
        if (machine.PageSize < 4096 || !BitOperations.IsPow2(machine.PageSize))
        {
            ThrowHelper.ThrowArgument($"The page size {machine.PageSize} is not a power of two of at least 4096.", nameof(machine));
        }

        if (machine.BusyProbability is < 0 or > 1 || double.IsNaN(machine.BusyProbability))
        {
            ThrowHelper.ThrowArgument($"The busy probability {machine.BusyProbability} is outside [0, 1].", nameof(machine));
        }

        _machine = machine;
        _pageShift = BitOperations.Log2((uint)machine.PageSize);
        int count = machine.Nodes.Count;
        int[,] distances = machine.Distances ?? DefaultDistances(count);

        // NumaTopology validates ids, duplicates and the matrix shape; build it once to fail early.
        NumaTopology shape = BuildTopology(machine.Nodes, distances, null);
        int limit = shape.NodeIdLimit;
        _capacity = new long[limit];
        _used = new long[limit];
        _exists = new bool[limit];
        _tier = new int[limit];
        _distance = new int[limit, limit];
        int maxCpu = -1;
        foreach (SimulatedNode n in machine.Nodes)
        {
            if (n.CapacityPages < 0)
            {
                ThrowHelper.ThrowArgument($"Node {n.Id} has a negative capacity ({n.CapacityPages} pages).", nameof(machine));
            }

            _capacity[n.Id] = n.CapacityPages;
            _exists[n.Id] = true;
            _tier[n.Id] = n.Tier;
            foreach (int cpu in n.Cpus)
            {
                maxCpu = Math.Max(maxCpu, cpu);
            }
        }

        for (int i = 0; i < count; i++)
        {
            for (int j = 0; j < count; j++)
            {
                _distance[machine.Nodes[i].Id, machine.Nodes[j].Id] = distances[i, j];
            }
        }

        _nodeOfCpu = new int[maxCpu + 1];
        Array.Fill(_nodeOfCpu, -1);
        foreach (SimulatedNode n in machine.Nodes)
        {
            foreach (int cpu in n.Cpus)
            {
                if (cpu < 0 || _nodeOfCpu[cpu] != -1)
                {
                    ThrowHelper.ThrowArgument($"CPU {cpu} of node {n.Id} is negative or belongs to two nodes.", nameof(machine));
                }

                _nodeOfCpu[cpu] = n.Id;
            }
        }

        _currentCpu = maxCpu >= 0 ? Array.FindIndex(_nodeOfCpu, n => n >= 0) : 0;
        _alwaysBusy = machine.BusyProbability >= 1.0;
        _busyThreshold = _alwaysBusy ? ulong.MaxValue : (ulong)(machine.BusyProbability * 18446744073709551616.0);
        _random = SplitMix(machine.Seed) | 1;
        _processes[0] = new SimulatedProcess();
    }

    /// <inheritdoc/>
    public string Name => "simulated";

    /// <inheritdoc/>
    public int PageSize => _machine.PageSize;

    /// <summary>Pages moved to another node since creation (successful moves only).</summary>
    public long PagesMoved
    {
        get
        {
            lock (_gate)
            {
                return _pagesMoved;
            }
        }
    }

    /// <summary>
    /// The CPU <see cref="GetCurrentCpu"/> reports (the simulated thread's CPU). Setting it to a CPU
    /// the machine does not have throws.
    /// </summary>
    public int CurrentCpu
    {
        get => _currentCpu;
        set
        {
            if ((uint)value >= (uint)_nodeOfCpu.Length || _nodeOfCpu[value] < 0)
            {
                ThrowHelper.ThrowArgumentOutOfRange(nameof(value), value, $"The simulated machine has no CPU {value}.");
            }

            _currentCpu = value;
        }
    }

    /// <inheritdoc/>
    public NumaTopology GetTopology()
    {
        lock (_gate)
        {
            return BuildTopology(_machine.Nodes, _machine.Distances ?? DefaultDistances(_machine.Nodes.Count), _used);
        }
    }

    /// <inheritdoc/>
    public int GetCurrentCpu() => _currentCpu;

    /// <inheritdoc/>
    public int GetCurrentNode() => (uint)_currentCpu < (uint)_nodeOfCpu.Length ? Math.Max(_nodeOfCpu[_currentCpu], 0) : 0;

    /// <inheritdoc/>
    public long GetFreeBytes(int node)
    {
        lock (_gate)
        {
            return NodeExists(node) ? (_capacity[node] - _used[node]) << _pageShift : -1;
        }
    }

    /// <summary>Pages the node holds at most; -1 when it does not exist.</summary>
    public long CapacityPages(int node) => NodeExists(node) ? _capacity[node] : -1;

    /// <summary>Present pages on the node now; -1 when it does not exist.</summary>
    public long UsedPages(int node)
    {
        lock (_gate)
        {
            return NodeExists(node) ? _used[node] : -1;
        }
    }

    /// <summary>Free pages on the node now; -1 when it does not exist.</summary>
    public long FreePages(int node)
    {
        lock (_gate)
        {
            return NodeExists(node) ? _capacity[node] - _used[node] : -1;
        }
    }

    /// <summary>Page moves that failed with <paramref name="errno"/> since creation.</summary>
    public long FailedMoves(Errno errno)
    {
        lock (_gate)
        {
            return (uint)errno < (uint)_failedByErrno.Length ? _failedByErrno[(int)errno] : 0;
        }
    }

    /// <summary>Adds a process with no mappings. A pid that is not permitted answers <c>EPERM</c> to every query and move.</summary>
    /// <exception cref="ArgumentException">The pid is negative or already exists.</exception>
    public void AddProcess(int pid, bool permitted = true)
    {
        lock (_gate)
        {
            pid = NormalizePid(pid);
            if (pid < 0 || _processes.ContainsKey(pid))
            {
                ThrowHelper.ThrowArgument($"The simulated process {pid} is negative or already exists.", nameof(pid));
            }

            _processes[pid] = new SimulatedProcess { Permitted = permitted };
        }
    }

    /// <summary>Allows or denies access to a simulated process (denied: <c>EPERM</c>).</summary>
    /// <exception cref="ArgumentException">No such process.</exception>
    public void SetPermitted(int pid, bool permitted)
    {
        lock (_gate)
        {
            GetProcessOrThrow(pid).Permitted = permitted;
        }
    }

    /// <summary>
    /// Declares a mapping of <paramref name="length"/> bytes (rounded up to pages) at
    /// <paramref name="baseAddress"/> in process <paramref name="pid"/> (created if new), every page
    /// present on <paramref name="node"/>, counting against that node's capacity.
    /// </summary>
    /// <exception cref="ArgumentException">The base is not page aligned, the range overlaps a mapping, or the node does not exist.</exception>
    /// <exception cref="OutOfMemoryException">The node has no room for the pages.</exception>
    public void Map(int pid, nint baseAddress, nuint length, int node) => Map(pid, baseAddress, length, node, present: true);

    /// <summary>
    /// Declares a mapping as <see cref="Map(int, nint, nuint, int)"/> does; with
    /// <paramref name="present"/> false the pages are mapped but not present (<c>-ENOENT</c>) and use
    /// no capacity until <see cref="SetNodeOfPage"/> places them.
    /// </summary>
    public void Map(int pid, nint baseAddress, nuint length, int node, bool present)
    {
        lock (_gate)
        {
            pid = NormalizePid(pid);
            if ((baseAddress & (PageSize - 1)) != 0 || baseAddress <= 0)
            {
                ThrowHelper.ThrowArgument($"Map: the base 0x{baseAddress:x} of pid {pid} is not a positive page-aligned address.", nameof(baseAddress));
            }

            if (length == 0 || length > (nuint)(nint.MaxValue - baseAddress))
            {
                ThrowHelper.ThrowArgument($"Map: the length {length} at 0x{baseAddress:x} of pid {pid} is zero or runs past the address space.", nameof(length));
            }

            if (!NodeExists(node))
            {
                ThrowHelper.ThrowArgumentOutOfRange(nameof(node), node, $"Map: pid {pid}: there is no node {node}.");
            }

            long pages = (long)((length + (nuint)PageSize - 1) >> _pageShift);
            if (pages > Array.MaxLength)
            {
                ThrowHelper.ThrowArgument($"Map: {pages} pages is more than one simulated mapping holds.", nameof(length));
            }

            nint end = baseAddress + (nint)(pages << _pageShift);
            if (!_processes.TryGetValue(pid, out SimulatedProcess? process))
            {
                process = new SimulatedProcess();
                _processes[pid] = process;
            }

            if (process.Overlaps(baseAddress, end))
            {
                ThrowHelper.ThrowArgument($"Map: 0x{baseAddress:x}..0x{end:x} of pid {pid} overlaps an existing mapping.", nameof(baseAddress));
            }

            if (present && _capacity[node] - _used[node] < pages)
            {
                ThrowHelper.ThrowOutOfMemory($"Map: node {node} has {_capacity[node] - _used[node]} free pages; pid {pid} asked for {pages} (ENOMEM).");
            }

            var nodes = new int[pages];
            Array.Fill(nodes, present ? node : NotPresent);
            if (present)
            {
                _used[node] += pages;
            }

            process.Insert(new SimulatedMapping(baseAddress, end, nodes, new byte[pages]));
        }
    }

    /// <summary>Base pages in a simulated transparent huge page (2 MiB of 4 KiB pages).</summary>
    public const int HugePagePages = 512;

    /// <summary>
    /// Declares a mapping backed by transparent huge pages: like <see cref="Map(int, nint, nuint, int)"/>,
    /// but a move of any of its pages moves the whole naturally aligned 2 MiB frame, as the kernel
    /// moves a THP folio. Base and length must be 2 MiB aligned.
    /// </summary>
    public void MapHuge(int pid, nint baseAddress, nuint length, int node)
    {
        nint hugeBytes = (nint)HugePagePages << _pageShift;
        if ((baseAddress & (hugeBytes - 1)) != 0 || ((nint)length & (hugeBytes - 1)) != 0)
        {
            ThrowHelper.ThrowArgument($"MapHuge: 0x{baseAddress:x}+{length} of pid {pid} is not 2 MiB aligned.", nameof(baseAddress));
        }

        Map(pid, baseAddress, length, node);
        lock (_gate)
        {
            SimulatedMapping m = FindOrThrow(pid, baseAddress, out _);
            Array.Fill(m.Flags, SimulatedMapping.Huge);
        }
    }

    /// <summary>Huge pages moved whole (each also counts its base pages in <see cref="PagesMoved"/>).</summary>
    public long HugePagesMoved
    {
        get
        {
            lock (_gate)
            {
                return _hugePagesMoved;
            }
        }
    }

    /// <inheritdoc/>
    bool IHugePageInfo.IsAvailable => true;

    /// <inheritdoc/>
    string IHugePageInfo.UnavailableReason => string.Empty;

    /// <inheritdoc/>
    public PlatformResult QueryFolios(int pid, ReadOnlySpan<nint> pages, Span<FolioInfo> folios)
    {
        lock (_gate)
        {
            Errno error = GetProcess(pid, out SimulatedProcess? process);
            for (int i = 0; i < pages.Length; i++)
            {
                nint page = pages[i] & ~(nint)(PageSize - 1);
                folios[i] = new FolioInfo(page, 1);
                if (error == Errno.None && process!.Find(page) is { } m && (m.Flags[(page - m.Base) >> _pageShift] & SimulatedMapping.Huge) != 0)
                {
                    folios[i] = new FolioInfo(page & ~(((nint)HugePagePages << _pageShift) - 1), HugePagePages);
                }
            }

            return error == Errno.None ? PlatformResult.Ok : new PlatformResult(error, 0);
        }
    }

    /// <summary>
    /// Removes <paramref name="length"/> bytes at <paramref name="address"/> (whole pages) from
    /// process <paramref name="pid"/>'s mappings: queries and moves of them answer <c>-EFAULT</c>
    /// afterwards, and their pages return to their nodes' free capacity.
    /// </summary>
    public void Unmap(int pid, nint address, nuint length)
    {
        lock (_gate)
        {
            SimulatedProcess process = GetProcessOrThrow(pid);
            nint start = address & ~(nint)(PageSize - 1);
            nint end = (nint)(((nuint)address + length + (nuint)PageSize - 1) & ~(nuint)(PageSize - 1));
            process.Remove(start, end, _pageShift, _used);
        }
    }

    /// <summary>Unmaps from the calling process (pid 0); see <see cref="Unmap(int, nint, nuint)"/>.</summary>
    public void Unmap(nint address, nuint length) => Unmap(0, address, length);

    /// <summary>Marks the page at <paramref name="address"/> of process <paramref name="pid"/> busy (every move of it fails with <c>-EBUSY</c>) or not.</summary>
    /// <exception cref="ArgumentException">The address is not mapped.</exception>
    public void MarkBusy(int pid, nint address, bool busy = true)
    {
        lock (_gate)
        {
            SimulatedMapping m = FindOrThrow(pid, address, out long index);
            m.Flags[index] = busy ? (byte)(m.Flags[index] | SimulatedMapping.Busy) : (byte)(m.Flags[index] & ~SimulatedMapping.Busy);
        }
    }

    /// <summary>Marks a page of the calling process busy; see <see cref="MarkBusy(int, nint, bool)"/>.</summary>
    public void MarkBusy(nint address, bool busy = true) => MarkBusy(0, address, busy);

    /// <summary>Makes the pages of the range not present (swapped out, never touched): <c>-ENOENT</c> afterwards; their capacity is released.</summary>
    public void MarkNotPresent(int pid, nint address, nuint length)
    {
        lock (_gate)
        {
            for (nuint off = 0; off < length; off += (nuint)PageSize)
            {
                SimulatedMapping m = FindOrThrow(pid, address + (nint)off, out long index);
                int node = m.Nodes[index];
                if (node >= 0)
                {
                    _used[node]--;
                    m.Nodes[index] = NotPresent;
                }
            }
        }
    }

    /// <summary>
    /// Places one page on <paramref name="node"/> whatever its state (a present page moves, a page
    /// not present becomes present there), ignoring busy marks but not capacity: the lab's hook for
    /// demotion and first touch. Returns the page's status afterwards (<c>-ENOMEM</c> when the node
    /// is full, <c>-EFAULT</c> when the address is not mapped, <c>-ENODEV</c> for no such node).
    /// </summary>
    public PageStatus SetNodeOfPage(int pid, nint address, int node)
    {
        lock (_gate)
        {
            if (!NodeExists(node))
            {
                return PageStatus.Failed(Errno.ENODEV);
            }

            if (!_processes.TryGetValue(NormalizePid(pid), out SimulatedProcess? process))
            {
                return PageStatus.Failed(Errno.ESRCH);
            }

            SimulatedMapping? m = process.Find(address);
            if (m is null)
            {
                return PageStatus.Failed(Errno.EFAULT);
            }

            long index = (address - m.Base) >> _pageShift;
            int current = m.Nodes[index];
            if (current == node)
            {
                return PageStatus.OnNode(node);
            }

            if (_used[node] >= _capacity[node])
            {
                return PageStatus.Failed(Errno.ENOMEM);
            }

            if (current >= 0)
            {
                _used[current]--;
            }

            _used[node]++;
            m.Nodes[index] = node;
            return PageStatus.OnNode(node);
        }
    }

    /// <summary>
    /// Demotes one page: moves it to the nearest node of a lower tier than its own that has room
    /// (ties: lowest id). Returns the new status; <c>-ENOMEM</c> when no lower tier has room or none exists.
    /// </summary>
    public PageStatus Demote(int pid, nint address)
    {
        int target;
        lock (_gate)
        {
            if (!_processes.TryGetValue(NormalizePid(pid), out SimulatedProcess? process))
            {
                return PageStatus.Failed(Errno.ESRCH);
            }

            SimulatedMapping? m = process.Find(address);
            if (m is null)
            {
                return PageStatus.Failed(Errno.EFAULT);
            }

            int current = m.Nodes[(address - m.Base) >> _pageShift];
            if (current < 0)
            {
                return PageStatus.Failed(Errno.ENOENT);
            }

            target = -1;
            for (int n = 0; n < _exists.Length; n++)
            {
                if (_exists[n] && _tier[n] > _tier[current] && _used[n] < _capacity[n] &&
                    (target < 0 || _distance[current, n] < _distance[current, target]))
                {
                    target = n;
                }
            }
        }

        return target < 0 ? PageStatus.Failed(Errno.ENOMEM) : SetNodeOfPage(pid, address, target);
    }

    /// <inheritdoc/>
    public PlatformResult QueryPages(int pid, ReadOnlySpan<nint> pages, Span<PageStatus> status)
    {
        if (status.Length != pages.Length)
        {
            ThrowHelper.ThrowSpanLengths(pages.Length, status.Length, nameof(status));
        }

        lock (_gate)
        {
            Errno error = GetProcess(pid, out SimulatedProcess? process);
            if (error != Errno.None)
            {
                return new PlatformResult(error, 0);
            }

            for (int i = 0; i < pages.Length; i++)
            {
                SimulatedMapping? m = process!.Find(pages[i]);
                if (m is null)
                {
                    status[i] = PageStatus.Failed(Errno.EFAULT);
                    continue;
                }

                int node = m.Nodes[(pages[i] - m.Base) >> _pageShift];
                status[i] = node >= 0 ? PageStatus.OnNode(node) : PageStatus.Failed(Errno.ENOENT);
            }

            return PlatformResult.Ok;
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

        lock (_gate)
        {
            Errno error = GetProcess(pid, out SimulatedProcess? process);
            if (error != Errno.None)
            {
                return new PlatformResult(error, 0);
            }

            int notMoved = 0;
            for (int i = 0; i < pages.Length; i++)
            {
                int target = nodes[i];
                if (!NodeExists(target))
                {
                    return new PlatformResult(Errno.ENODEV, notMoved);
                }

                int result = MoveOne(process!, pages[i], target);
                status[i] = new PageStatus(result);
                if (result < 0)
                {
                    _failedByErrno[Math.Min(-result, _failedByErrno.Length - 1)]++;
                    if (result is -(int)Errno.EBUSY or -(int)Errno.ENOMEM or -(int)Errno.EAGAIN)
                    {
                        notMoved++;
                    }
                }
            }

            return new PlatformResult(Errno.None, notMoved);
        }
    }

    /// <inheritdoc/>
    /// <remarks>Real memory (callers read and write it), page aligned and zeroed, mapped in pid 0 on <paramref name="node"/>.</remarks>
    public unsafe NodeMemory AllocateOnNode(nuint bytes, int node)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (bytes == 0)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(bytes), bytes, "AllocateOnNode: zero bytes.");
        }

        if (!NodeExists(node))
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(node), node, $"AllocateOnNode: there is no node {node}.");
        }

        nuint length = (bytes + (nuint)PageSize - 1) & ~(nuint)(PageSize - 1);
        void* p = NativeMemory.AlignedAlloc(length, (nuint)PageSize);
        if (p == null)
        {
            ThrowHelper.ThrowOutOfMemory($"AllocateOnNode: {length} bytes on node {node}: the process is out of memory (ENOMEM).");
        }

        NativeMemory.Clear(p, length);
        try
        {
            Map(0, (nint)p, length, node);
        }
        catch
        {
            NativeMemory.AlignedFree(p);
            throw;
        }

        var memory = new NodeMemory((nint)p, length, node);
        lock (_gate)
        {
            _allocations[(nint)p] = memory;
        }

        return memory;
    }

    /// <inheritdoc/>
    public unsafe void Free(NodeMemory memory)
    {
        lock (_gate)
        {
            if (!_allocations.Remove(memory.Address, out NodeMemory known))
            {
                ThrowHelper.ThrowArgument($"Free: 0x{memory.Address:x} was not allocated by this platform or was freed already.", nameof(memory));
            }

            _processes[0].Remove(known.Address, known.Address + (nint)known.Length, _pageShift, _used);
        }

        NativeMemory.AlignedFree((void*)memory.Address);
    }

    /// <summary>Frees every allocation still outstanding.</summary>
    public unsafe void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (NodeMemory m in _allocations.Values)
            {
                NativeMemory.AlignedFree((void*)m.Address);
            }

            _allocations.Clear();
        }
    }

    private int MoveOne(SimulatedProcess process, nint address, int target)
    {
        SimulatedMapping? m = process.Find(address);
        if (m is null)
        {
            return -(int)Errno.EFAULT;
        }

        long index = (address - m.Base) >> _pageShift;
        int current = m.Nodes[index];
        if (current < 0)
        {
            return -(int)Errno.ENOENT;
        }

        if (current == target)
        {
            return target;
        }

        if ((m.Flags[index] & SimulatedMapping.Huge) != 0)
        {
            return MoveHuge(m, index, target);
        }

        if ((m.Flags[index] & SimulatedMapping.Busy) != 0 || DrawBusy())
        {
            return -(int)Errno.EBUSY;
        }

        if (_used[target] >= _capacity[target])
        {
            return -(int)Errno.ENOMEM;
        }

        _used[current]--;
        _used[target]++;
        m.Nodes[index] = target;
        _pagesMoved++;
        return target;
    }

    // A THP folio moves whole: every base page of the aligned frame, all or nothing.
    private int MoveHuge(SimulatedMapping m, long index, int target)
    {
        long first = index & ~(long)(HugePagePages - 1);
        long end = Math.Min(first + HugePagePages, m.Nodes.Length);
        long toMove = 0;
        for (long i = first; i < end; i++)
        {
            if ((m.Flags[i] & SimulatedMapping.Busy) != 0)
            {
                return -(int)Errno.EBUSY;
            }

            if (m.Nodes[i] >= 0 && m.Nodes[i] != target)
            {
                toMove++;
            }
        }

        if (toMove == 0)
        {
            return target;
        }

        if (DrawBusy())
        {
            return -(int)Errno.EBUSY;
        }

        if (_capacity[target] - _used[target] < toMove)
        {
            return -(int)Errno.ENOMEM;
        }

        for (long i = first; i < end; i++)
        {
            int current = m.Nodes[i];
            if (current >= 0 && current != target)
            {
                _used[current]--;
                _used[target]++;
                m.Nodes[i] = target;
            }
        }

        _pagesMoved += toMove;
        _hugePagesMoved++;
        return target;
    }

    private bool DrawBusy()
    {
        if (_busyThreshold == 0)
        {
            return false;
        }

        // xorshift64*: one multiply per draw, and the sequence depends only on the seed and the call order.
        ulong x = _random;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        _random = x;
        return _alwaysBusy || unchecked(x * 0x2545F4914F6CDD1DUL) < _busyThreshold;
    }

    private bool NodeExists(int node) => (uint)node < (uint)_exists.Length && _exists[node];

    private static int NormalizePid(int pid) => pid == Environment.ProcessId ? 0 : pid;

    private Errno GetProcess(int pid, out SimulatedProcess? process)
    {
        if (!_processes.TryGetValue(NormalizePid(pid), out process))
        {
            return Errno.ESRCH;
        }

        return process.Permitted ? Errno.None : Errno.EPERM;
    }

    private SimulatedProcess GetProcessOrThrow(int pid)
    {
        if (!_processes.TryGetValue(NormalizePid(pid), out SimulatedProcess? process))
        {
            ThrowHelper.ThrowArgument($"There is no simulated process {pid}.", nameof(pid));
        }

        return process;
    }

    private SimulatedMapping FindOrThrow(int pid, nint address, out long index)
    {
        SimulatedMapping? m = GetProcessOrThrow(pid).Find(address);
        if (m is null)
        {
            ThrowHelper.ThrowArgument($"0x{address:x} is not mapped in simulated process {pid}.", nameof(address));
        }

        index = (address - m.Base) >> _pageShift;
        return m;
    }

    private NumaTopology BuildTopology(IReadOnlyList<SimulatedNode> nodes, int[,] distances, long[]? used)
    {
        var list = new NumaNode[nodes.Count];
        for (int i = 0; i < nodes.Count; i++)
        {
            SimulatedNode n = nodes[i];
            long usedPages = used is null ? 0 : used[n.Id];
            list[i] = new NumaNode(n.Id, new ReadOnlyCollection<int>(n.Cpus.Order().ToArray()), n.CapacityPages << _pageShift, (n.CapacityPages - usedPages) << _pageShift, n.Tier);
        }

        return new NumaTopology(list, distances);
    }

    private static int[,] DefaultDistances(int count)
    {
        var d = new int[count, count];
        for (int i = 0; i < count; i++)
        {
            for (int j = 0; j < count; j++)
            {
                d[i, j] = i == j ? 10 : 20;
            }
        }

        return d;
    }

    private static ulong SplitMix(ulong seed)
    {
        unchecked
        {
            ulong z = seed + 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}

/// <summary>One simulated mapping: [Base, End) with the node of each page (or not present) and per-page flags.</summary>
internal sealed class SimulatedMapping(nint baseAddress, nint end, int[] nodes, byte[] flags)
{
    /// <summary>Flag: every move of the page fails with -EBUSY.</summary>
    public const byte Busy = 1;

    /// <summary>The page belongs to a transparent huge page: it moves with its whole 2 MiB frame.</summary>
    public const byte Huge = 2;

    public nint Base { get; } = baseAddress;

    public nint End { get; } = end;

    /// <summary>Node per page; -1 when not present.</summary>
    public int[] Nodes { get; } = nodes;

    public byte[] Flags { get; } = flags;
}

/// <summary>A simulated process: mappings sorted by base, never overlapping.</summary>
internal sealed class SimulatedProcess
{
    private readonly List<SimulatedMapping> _mappings = [];
    private SimulatedMapping? _last;

    public bool Permitted { get; set; } = true;

    public SimulatedMapping? Find(nint address)
    {
        SimulatedMapping? last = _last;
        if (last is not null && address >= last.Base && address < last.End)
        {
            return last;
        }

        int i = UpperBound(address) - 1;
        if (i >= 0)
        {
            SimulatedMapping m = _mappings[i];
            if (address < m.End)
            {
                _last = m;
                return m;
            }
        }

        return null;
    }

    public bool Overlaps(nint start, nint end)
    {
        int i = UpperBound(end - 1) - 1;
        return i >= 0 && _mappings[i].End > start;
    }

    public void Insert(SimulatedMapping mapping) => _mappings.Insert(UpperBound(mapping.Base), mapping);

    /// <summary>Removes [start, end) from every mapping it touches, splitting partly covered ones and releasing capacity.</summary>
    public void Remove(nint start, nint end, int pageShift, long[] used)
    {
        _last = null;
        for (int i = _mappings.Count - 1; i >= 0; i--)
        {
            SimulatedMapping m = _mappings[i];
            if (m.End <= start || m.Base >= end)
            {
                continue;
            }

            nint cutStart = Math.Max(m.Base, start);
            nint cutEnd = Math.Min(m.End, end);
            long first = (cutStart - m.Base) >> pageShift;
            long last = (cutEnd - m.Base) >> pageShift;
            for (long p = first; p < last; p++)
            {
                if (m.Nodes[p] >= 0)
                {
                    used[m.Nodes[p]]--;
                }
            }

            _mappings.RemoveAt(i);
            long total = m.Nodes.LongLength;
            if (last < total)
            {
                _mappings.Insert(i, new SimulatedMapping(cutEnd, m.End, m.Nodes[(int)last..], m.Flags[(int)last..]));
            }

            if (first > 0)
            {
                _mappings.Insert(i, new SimulatedMapping(m.Base, cutStart, m.Nodes[..(int)first], m.Flags[..(int)first]));
            }
        }
    }

    private int UpperBound(nint address)
    {
        int lo = 0, hi = _mappings.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_mappings[mid].Base <= address)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }
}
