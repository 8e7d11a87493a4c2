using HotPage.Engine.Promotion;
using HotPage.Engine.Records;
using HotPage.Engine.Selection;
using HotPage.Engine.Tunables;
using HotPage.Interop.Platform;

namespace HotPage.Engine.Tests.Promotion;

/// <summary>An engine, a simulated machine and a promoter sharing one manual clock.</summary>
internal sealed class PromoterFixture : IDisposable
{
    public const ulong Base = 0x7f00_0000_0000;
    public const int PageSize = 4096;

    /// <summary>A fixture whose engine selects candidates with <paramref name="selection"/> (the promoter's test classes run under every strategy), then takes <paramref name="tune"/>.</summary>
    public static PromoterFixture WithSelection(CandidateSelection selection, SimulatedMachine machine, long pages, int lowerNode = 1, Action<EngineTunables>? tune = null, Func<IMemoryPlatform, IMemoryPlatform>? wrap = null) =>
        new(machine, pages, lowerNode, t =>
        {
            t.Set("selection", (long)selection);
            tune?.Invoke(t);
        }, wrap);

    /// <summary>Page indices <paramref name="start"/>, <paramref name="start"/> + 1, ..., <paramref name="count"/> of them.</summary>
    public static IEnumerable<long> Range(long start, long count) => Enumerable.Range((int)start, (int)count).Select(i => (long)i);

    public PromoterFixture(SimulatedMachine machine, long pages, int lowerNode = 1, Action<EngineTunables>? tune = null, Func<IMemoryPlatform, IMemoryPlatform>? wrap = null)
    {
        Sim = new SimulatedPlatform(machine);
        Platform = wrap is null ? Sim : wrap(Sim);
        Sim.Map(0, unchecked((nint)Base), (nuint)(pages * PageSize), lowerNode);
        var tunables = new EngineTunables();
        tunables.Set("max_tracked_pages", Math.Max(pages, 1024));
        tunables.Set("ring_capacity", 1 << 16);
        tunables.Set("max_candidates", 1 << 16);
        tunables.Set("promote_interval_ms", 100);
        tune?.Invoke(tunables);
        Clock = new ManualClock();
        Clock.Advance(1000);
        Engine = new HotPageEngine(Platform.GetTopology(), tunables, Platform, Clock);
        Region = Engine.RegisterRegion(Base, (ulong)(pages * PageSize));
        Promoter = new Promoter(Engine, Platform, Clock);
        Promoter.Log += Logs.Add;
        Promoter.ProcessProblem += Problems.Add;
    }

    public SimulatedPlatform Sim { get; }

    public IMemoryPlatform Platform { get; }

    public ManualClock Clock { get; }

    public HotPageEngine Engine { get; }

    public HotPage.Engine.Tables.Region Region { get; }

    public Promoter Promoter { get; }

    public List<string> Logs { get; } = [];

    public List<ProcessProblem> Problems { get; } = [];

    public static nint Addr(long page) => (nint)(Base + (ulong)(page * PageSize));

    /// <summary>Records <paramref name="times"/> accesses to each page in <paramref name="pages"/> at the clock's time.</summary>
    public void Touch(IEnumerable<long> pages, int times = 2)
    {
        foreach (long p in pages)
        {
            for (int i = 0; i < times; i++)
            {
                Engine.RecordAccess((ulong)Addr(p), -1, AccessSource.Application);
            }
        }
    }

    public int NodeOf(long page)
    {
        Span<PageStatus> st = stackalloc PageStatus[1];
        Sim.QueryPages(0, [Addr(page)], st);
        return st[0].Node;
    }

    public long CountOnNode(IEnumerable<long> pages, int node) => pages.Count(p => NodeOf(p) == node);

    public void Dispose()
    {
        Promoter.Dispose();
        Engine.Dispose();
        Sim.Dispose();
    }
}

/// <summary>A platform that forwards every call to an inner one; the test platforms below change one or two answers.</summary>
internal abstract class DelegatingPlatform(IMemoryPlatform inner) : IMemoryPlatform
{
    protected IMemoryPlatform Inner => inner;

    public string Name => inner.Name;

    public int PageSize => inner.PageSize;

    public NumaTopology GetTopology() => inner.GetTopology();

    public int GetCurrentCpu() => inner.GetCurrentCpu();

    public int GetCurrentNode() => inner.GetCurrentNode();

    public virtual long GetFreeBytes(int node) => inner.GetFreeBytes(node);

    public virtual long GetReservedBytes(int node) => inner.GetReservedBytes(node);

    public PlatformResult QueryPages(int pid, ReadOnlySpan<nint> pages, Span<PageStatus> status) => inner.QueryPages(pid, pages, status);

    public virtual PlatformResult MovePages(int pid, ReadOnlySpan<nint> pages, ReadOnlySpan<int> nodes, Span<PageStatus> status) => inner.MovePages(pid, pages, nodes, status);

    public NodeMemory AllocateOnNode(nuint bytes, int node) => inner.AllocateOnNode(bytes, node);

    public void Free(NodeMemory memory) => inner.Free(memory);

    public void Dispose()
    {
    }
}

/// <summary>A platform that overstates free memory, so that moves hit -ENOMEM the way they do when another process takes the memory first.</summary>
internal sealed class OverstatedFreeMemory(IMemoryPlatform inner) : DelegatingPlatform(inner)
{
    public override long GetFreeBytes(int node) => Inner.GetFreeBytes(node) < 0 ? -1 : 1L << 40;
}

/// <summary>A platform that reports a reserve of its own on every node (as Linux's zone high watermarks), otherwise the inner platform.</summary>
internal sealed class KernelReserve(IMemoryPlatform inner, long reservedBytes) : DelegatingPlatform(inner)
{
    public override long GetReservedBytes(int node) => reservedBytes;
}

/// <summary>
/// A platform whose moves fail the way Linux's <c>move_pages</c> does when the target runs out of
/// memory: the pages that fit move, and the call as a whole fails with <c>ENOMEM</c>, with no
/// per-page status stored (here: overwritten with <c>-EINVAL</c>, which no caller may read).
/// </summary>
internal sealed class WholeCallOutOfMemory(IMemoryPlatform inner) : DelegatingPlatform(inner)
{
    public int CallsFailed { get; private set; }

    public override PlatformResult MovePages(int pid, ReadOnlySpan<nint> pages, ReadOnlySpan<int> nodes, Span<PageStatus> status)
    {
        PlatformResult r = Inner.MovePages(pid, pages, nodes, status);
        if (!r.IsSuccess || !status.ToArray().Any(s => s.Error == Errno.ENOMEM))
        {
            return r;
        }

        status.Fill(PageStatus.Failed(Errno.EINVAL));
        CallsFailed++;
        return new PlatformResult(Errno.ENOMEM, 0);
    }
}
