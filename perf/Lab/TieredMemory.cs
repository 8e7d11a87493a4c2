using HotPage.Interop.Platform;

namespace HotPage.Perf.Lab;

/// <summary>
/// The lab's machine: one <see cref="SimulatedPlatform"/> (a small fast node 0 and a big slow
/// node 1) holding a working set of <see cref="Pages"/> pages, seen through this decorator so
/// that every move any policy makes is observed on its way back. The simulated platform is the
/// one move implementation and stays the authority: this class only caches each page's node from
/// the platform's own answers (a per-access platform query would dominate the run), and
/// <see cref="Verify"/> checks the cache against the platform at the end.
/// </summary>
/// <remarks>
/// Besides residency it keeps what the metrics need: fast-tier hits, a referenced bit per page
/// for the demotion clock, a "promoted and not yet accessed" bit per page for wasted migrations,
/// and the hot set's membership with the number of its pages on the fast tier.
/// Demotion models kswapd's reclaim in tiering mode: above the high watermark (95% of node 0)
/// a second-chance clock over node 0's pages demotes unreferenced ones, through
/// <see cref="SimulatedPlatform.Demote"/>, until node 0 is at the low watermark (90%).
/// </remarks>
internal sealed class TieredMemory : IMemoryPlatform
{
    /// <summary>Where the working set is mapped in the simulated process (pid 0).</summary>
    public const ulong Base = 0x7f00_0000_0000;

    /// <summary>The node whose pages count as fast-tier hits.</summary>
    public const int FastNode = 0;

    /// <summary>The slow, CPU-less node everything starts on.</summary>
    public const int SlowNode = 1;

    private const int PageShift = 12;

    private readonly byte[] _node;
    private readonly bool[] _referenced;
    private readonly bool[] _accessed;
    private readonly bool[] _promotedUnused;
    private readonly bool[] _hot;
    private readonly long _highWatermark;
    private readonly long _lowWatermark;
    private readonly nint[] _queryPages = new nint[4096];
    private readonly PageStatus[] _queryStatus = new PageStatus[4096];
    private int _clockHand;

    /// <summary>Builds the machine: node 0 holds <paramref name="fastPages"/>, node 1 holds every page, all pages start on node 1.</summary>
    public TieredMemory(int pages, int fastPages)
    {
        Pages = pages;
        FastCapacity = fastPages;
        Sim = new SimulatedPlatform(SimulatedMachine.TwoTier(fastPages, pages + 1024, cpus: 2, seed: 1));
        Sim.Map(0, unchecked((nint)Base), (nuint)((long)pages << PageShift), SlowNode);
        _node = new byte[pages];
        Array.Fill(_node, (byte)SlowNode);
        _referenced = new bool[pages];
        _accessed = new bool[pages];
        _promotedUnused = new bool[pages];
        _hot = new bool[pages];
        _highWatermark = fastPages * 95L / 100;
        _lowWatermark = fastPages * 90L / 100;
    }

    /// <summary>The simulated platform underneath (the authority on residency).</summary>
    public SimulatedPlatform Sim { get; }

    /// <summary>Pages in the working set.</summary>
    public int Pages { get; }

    /// <summary>Pages node 0 holds.</summary>
    public int FastCapacity { get; }

    /// <summary>Pages on node 0 now (from the cache).</summary>
    public long FastUsed { get; private set; }

    /// <summary>The most pages node 0 held at any observation (checked against capacity).</summary>
    public long FastUsedMax { get; private set; }

    /// <summary>Pages moved to node 0 by policies (successful moves).</summary>
    public long Promoted { get; private set; }

    /// <summary>Pages moved to node 1 by policies (none of the lab's policies do; kept for conservation).</summary>
    public long MovedDown { get; private set; }

    /// <summary>Pages demoted by the reclaim clock.</summary>
    public long Demoted { get; private set; }

    /// <summary>Promoted pages that were demoted, or left at the end, before any access.</summary>
    public long Wasted { get; private set; }

    /// <summary>Pages of the current hot set.</summary>
    public int HotSize { get; private set; }

    /// <summary>Pages of the current hot set on node 0.</summary>
    public int HotOnFast { get; private set; }

    /// <summary>The address of page <paramref name="page"/>.</summary>
    public static ulong AddressOf(int page) => Base + ((ulong)page << PageShift);

    /// <summary>The page at <paramref name="address"/>.</summary>
    public static int PageOf(ulong address) => (int)((address - Base) >> PageShift);

    /// <summary>True when the page is on node 0.</summary>
    public bool IsFast(int page) => _node[page] == FastNode;

    /// <summary>One access by the workload: a fast-tier hit or not. Sets the page's referenced bit and clears its "promoted, unused" bit.</summary>
    public bool Access(int page)
    {
        _referenced[page] = true;
        _accessed[page] = true;
        _promotedUnused[page] = false;
        return _node[page] == FastNode;
    }

    /// <summary>
    /// The page's Accessed bit as a page-table walker (DAMON) reads it: true when the page was
    /// accessed since the last call for it; clears it. Separate from the reclaim clock's bit, as
    /// DAMON's idle marking is separate from the LRU's.
    /// </summary>
    public bool TestAndClearAccessed(int page)
    {
        bool was = _accessed[page];
        _accessed[page] = false;
        return was;
    }

    /// <summary>Makes <paramref name="pages"/> the hot set (the time-to-hot metric counts its pages on node 0).</summary>
    public void SetHotSet(ReadOnlySpan<int> pages)
    {
        Array.Clear(_hot);
        int onFast = 0;
        foreach (int p in pages)
        {
            if (!_hot[p])
            {
                _hot[p] = true;
                onFast += _node[p] == FastNode ? 1 : 0;
            }
        }

        HotSize = pages.Length;
        HotOnFast = onFast;
    }

    /// <summary>Runs the demotion clock when node 0 is above its high watermark. Returns pages demoted.</summary>
    public int Reclaim()
    {
        if (FastUsed <= _highWatermark)
        {
            return 0;
        }

        int demoted = 0;
        for (long step = 0; step < 2L * Pages && FastUsed > _lowWatermark; step++)
        {
            int p = _clockHand;
            _clockHand = p + 1 == Pages ? 0 : p + 1;
            if (_node[p] != FastNode)
            {
                continue;
            }

            if (_referenced[p])
            {
                _referenced[p] = false; // second chance
                continue;
            }

            PageStatus st = Sim.Demote(0, unchecked((nint)AddressOf(p)));
            if (st.IsOnNode && st.Node != FastNode)
            {
                SetNode(p, st.Node);
                Demoted++;
                demoted++;
                if (_promotedUnused[p])
                {
                    _promotedUnused[p] = false;
                    Wasted++;
                }
            }
        }

        return demoted;
    }

    /// <summary>Ends a run: promoted pages never accessed since count as wasted.</summary>
    public void Finish()
    {
        for (int p = 0; p < Pages; p++)
        {
            if (_promotedUnused[p])
            {
                _promotedUnused[p] = false;
                Wasted++;
            }
        }
    }

    /// <summary>
    /// Checks the cache against the platform: every page's node as the platform answers it,
    /// node 0's use, conservation of pages, capacity never exceeded, and moves counted here equal
    /// to the platform's own <see cref="SimulatedPlatform.PagesMoved"/>. Returns problems, empty when none.
    /// </summary>
    public List<string> Verify()
    {
        var problems = new List<string>();
        long mismatched = 0;
        for (int first = 0; first < Pages; first += _queryPages.Length)
        {
            int n = Math.Min(_queryPages.Length, Pages - first);
            for (int i = 0; i < n; i++)
            {
                _queryPages[i] = unchecked((nint)AddressOf(first + i));
            }

            PlatformResult r = Sim.QueryPages(0, _queryPages.AsSpan(0, n), _queryStatus.AsSpan(0, n));
            if (!r.IsSuccess)
            {
                problems.Add($"query failed: {r.Error}");
                return problems;
            }

            for (int i = 0; i < n; i++)
            {
                if (_queryStatus[i].Node != _node[first + i])
                {
                    mismatched++;
                }
            }
        }

        if (mismatched != 0)
        {
            problems.Add($"{mismatched} pages: the lab's residency cache disagrees with the platform");
        }

        long used0 = Sim.UsedPages(FastNode), used1 = Sim.UsedPages(SlowNode);
        if (used0 != FastUsed)
        {
            problems.Add($"node 0 holds {used0} pages by the platform, {FastUsed} by the lab");
        }

        if (used0 + used1 != Pages)
        {
            problems.Add($"pages not conserved: {used0} + {used1} != {Pages}");
        }

        if (FastUsedMax > FastCapacity)
        {
            problems.Add($"node 0 held {FastUsedMax} pages, capacity {FastCapacity}");
        }

        if (Sim.PagesMoved != Promoted + MovedDown)
        {
            problems.Add($"moves: the platform moved {Sim.PagesMoved} pages, the lab saw {Promoted + MovedDown}");
        }

        return problems;
    }

    private void SetNode(int page, int node)
    {
        int old = _node[page];
        if (old == node)
        {
            return;
        }

        _node[page] = (byte)node;
        if (node == FastNode)
        {
            FastUsed++;
            FastUsedMax = Math.Max(FastUsedMax, FastUsed);
            HotOnFast += _hot[page] ? 1 : 0;
        }
        else if (old == FastNode)
        {
            FastUsed--;
            HotOnFast -= _hot[page] ? 1 : 0;
        }
    }

    /// <inheritdoc/>
    public string Name => Sim.Name;

    /// <inheritdoc/>
    public int PageSize => Sim.PageSize;

    /// <inheritdoc/>
    public NumaTopology GetTopology() => Sim.GetTopology();

    /// <inheritdoc/>
    public int GetCurrentCpu() => Sim.GetCurrentCpu();

    /// <inheritdoc/>
    public int GetCurrentNode() => Sim.GetCurrentNode();

    /// <inheritdoc/>
    public long GetFreeBytes(int node) => Sim.GetFreeBytes(node);

    /// <inheritdoc/>
    public PlatformResult QueryPages(int pid, ReadOnlySpan<nint> pages, Span<PageStatus> status) => Sim.QueryPages(pid, pages, status);

    /// <summary>Moves pages through the simulated platform, then records each page's new node from the platform's answer.</summary>
    public PlatformResult MovePages(int pid, ReadOnlySpan<nint> pages, ReadOnlySpan<int> nodes, Span<PageStatus> status)
    {
        PlatformResult r = Sim.MovePages(pid, pages, nodes, status);
        if (!r.IsSuccess)
        {
            // A call that stopped part way leaves later status entries unwritten: ask the platform.
            Sim.QueryPages(pid, pages, status);
        }

        for (int i = 0; i < pages.Length; i++)
        {
            if (!status[i].IsOnNode)
            {
                continue;
            }

            ulong address = (ulong)pages[i];
            if (address < Base || address >= Base + ((ulong)Pages << PageShift))
            {
                continue;
            }

            int page = PageOf(address);
            int before = _node[page];
            int after = status[i].Node;
            if (before == after)
            {
                continue;
            }

            SetNode(page, after);
            if (after == FastNode)
            {
                Promoted++;
                _promotedUnused[page] = true;
            }
            else
            {
                MovedDown++;
            }
        }

        return r;
    }

    /// <inheritdoc/>
    public NodeMemory AllocateOnNode(nuint bytes, int node) => Sim.AllocateOnNode(bytes, node);

    /// <inheritdoc/>
    public void Free(NodeMemory memory) => Sim.Free(memory);

    /// <inheritdoc/>
    public void Dispose() => Sim.Dispose();
}
