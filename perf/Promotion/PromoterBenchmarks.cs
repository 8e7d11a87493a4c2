using System.Runtime.Versioning;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using HotPage.Engine;
using HotPage.Engine.Promotion;
using HotPage.Engine.Records;
using HotPage.Engine.Tunables;
using HotPage.Interop.Platform;

namespace HotPage.Perf.Promotion;

/// <summary>
/// Promoted pages per second through the promoter (drain, extract with re-check, group by
/// process, one move_pages call, per-page feedback and table update) against a raw
/// <c>move_pages</c> of the same pages through the platform, in the same run. The pages are
/// primed as fresh candidates before each invocation (IterationSetup), so both sides move the
/// same 512 (or 4096) pages to node 0 per invocation; on a one-node machine the kernel still does
/// the full call (walks the pages, checks their node, reports status).
/// </summary>
[MemoryDiagnoser]
[Config(typeof(PromoterJob))]
[SupportedOSPlatform("linux")]
public class PromoterBenchmarks
{
    private LinuxPlatform _linux = null!;
    private HotPageEngine _engine = null!;
    private Promoter _promoter = null!;
    private NodeMemory _memory;
    private nint[] _addresses = null!;
    private int[] _nodes = null!;
    private PageStatus[] _status = null!;
    private long _firstPage;

    [Params(512, 4096)]
    public int Pages { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _linux = new LinuxPlatform();
        EngineTunables tunables = PromoterBench.Tunables(Pages);
        _engine = new HotPageEngine(_linux.GetTopology(), tunables);
        _promoter = new Promoter(_engine, _linux);
        _memory = _linux.AllocateOnNode((nuint)(Pages * 4096), _linux.GetTopology().TopTierNodes[0]);
        _firstPage = _engine.RegisterRegion((ulong)_memory.Address, (ulong)_memory.Length).FirstPage;
        _addresses = new nint[Pages];
        _nodes = new int[Pages];
        _status = new PageStatus[Pages];
        for (int i = 0; i < Pages; i++)
        {
            _addresses[i] = _memory.Address + (i * 4096);
            _nodes[i] = _linux.GetTopology().TopTierNodes[0];
        }
    }

    [IterationSetup(Target = nameof(Promoter))]
    public void PrimeCandidates()
    {
        PromoterBench.PrimeCandidates(_engine, _firstPage, _addresses);
    }

    [Benchmark(Baseline = true, Description = "raw move_pages")]
    public int RawMovePages() => _linux.MovePages(0, _addresses, _nodes, _status).Count;

    [Benchmark(Description = "promoter round")]
    public long Promoter()
    {
        PromotionResult r = _promoter.RunOnce();
        if (r.Promoted != Pages)
        {
            throw new InvalidOperationException($"promoted {r.Promoted} of {Pages}");
        }

        return r.Promoted;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _promoter.Dispose();
        _engine.Dispose();
        _linux.Free(_memory);
        _linux.Dispose();
    }
}

/// <summary>
/// The promoter's own cost per page, without the kernel: the same round against the simulated
/// platform, whose move is a few array writes, against the simulated move alone.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(PromoterJob))]
public class PromoterOverheadBenchmarks
{
    private const ulong Base = 0x7f00_0000_0000;
    private SimulatedPlatform _sim = null!;
    private HotPageEngine _engine = null!;
    private Promoter _promoter = null!;
    private nint[] _addresses = null!;
    private int[] _nodes = null!;
    private PageStatus[] _status = null!;
    private long _firstPage;

    [Params(512, 4096)]
    public int Pages { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _sim = new SimulatedPlatform(SimulatedMachine.TwoTier(1 << 20, 1 << 20));
        _sim.Map(0, unchecked((nint)Base), (nuint)(Pages * 4096), 1);
        EngineTunables tunables = PromoterBench.Tunables(Pages);
        _engine = new HotPageEngine(_sim.GetTopology(), tunables, _sim);
        _promoter = new Promoter(_engine, _sim);
        _firstPage = _engine.RegisterRegion(Base, (ulong)Pages * 4096).FirstPage;
        _addresses = new nint[Pages];
        _nodes = new int[Pages];
        _status = new PageStatus[Pages];
        for (int i = 0; i < Pages; i++)
        {
            _addresses[i] = unchecked((nint)Base) + (i * 4096);
            _nodes[i] = 0;
        }
    }

    private void DemoteAll()
    {
        for (int i = 0; i < Pages; i++)
        {
            _sim.SetNodeOfPage(0, _addresses[i], 1);
        }
    }

    [IterationSetup(Target = nameof(SimulatedMove))]
    public void PrimeMove() => DemoteAll();

    [IterationSetup(Target = nameof(PromoterRound))]
    public void PrimeCandidates()
    {
        DemoteAll();
        PromoterBench.PrimeCandidates(_engine, _firstPage, _addresses);
    }

    [Benchmark(Baseline = true, Description = "simulated move_pages")]
    public int SimulatedMove() => _sim.MovePages(0, _addresses, _nodes, _status).Count;

    [Benchmark(Description = "promoter round (simulated)")]
    public long PromoterRound()
    {
        PromotionResult r = _promoter.RunOnce();
        if (r.Promoted != Pages)
        {
            throw new InvalidOperationException($"promoted {r.Promoted} of {Pages}");
        }

        return r.Promoted;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _promoter.Dispose();
        _engine.Dispose();
        _sim.Dispose();
    }
}

/// <summary>
/// One invocation per iteration (each is primed by IterationSetup), in-process: these suites need
/// no per-job environment switches, and an out-of-process build can exceed BenchmarkDotNet's
/// two-minute build timeout on a loaded two-core machine.
/// </summary>
public sealed class PromoterJob : ManualConfig
{
    public PromoterJob() => AddJob(Job.Default
        .WithToolchain(InProcessEmitToolchain.Instance)
        .WithStrategy(RunStrategy.Monitoring)
        .WithWarmupCount(15)
        .WithIterationCount(40)
        .WithInvocationCount(1)
        .WithUnrollFactor(1));
}

/// <summary>What both promoter suites share: the same tunables and the same way of making every page a fresh candidate.</summary>
internal static class PromoterBench
{
    /// <summary>One round moves <paramref name="pages"/> pages: batch that size, no rate limit, no threshold or residency steps.</summary>
    public static EngineTunables Tunables(int pages)
    {
        var tunables = new EngineTunables();
        tunables.Set("max_tracked_pages", 1 << 16);
        tunables.Set("promote_batch", pages);
        tunables.Set("promote_rate_limit_mbps", 0);
        tunables.Set("hot_threshold_auto", 0);
        tunables.Set("residency_scan_pages", 0);
        tunables.Set("max_candidates", 1 << 16);
        return tunables;
    }

    /// <summary>Marks every page lower tier again and reports it twice, so that each is a candidate for the next round.</summary>
    public static void PrimeCandidates(HotPageEngine engine, long firstPage, nint[] addresses)
    {
        ulong now = engine.NowMs;
        for (int i = 0; i < addresses.Length; i++)
        {
            engine.MarkDemoted(firstPage + i);
            engine.RecordAccess((ulong)addresses[i], -1, AccessSource.Application, now);
            engine.RecordAccess((ulong)addresses[i], -1, AccessSource.Application, now);
        }

        engine.Drain();
    }
}
