namespace HotPage.Perf.Lab;

/// <summary>
/// An access pattern over the lab's working set: it draws the page of each access and names the
/// hot set (the pages a good policy should put on the fast tier). Deterministic for a seed.
/// </summary>
internal abstract class Workload
{
    private const ulong Ninety = (ulong)(0.9 * 18446744073709551615.0);

    /// <summary>Creates a workload over <paramref name="pages"/> pages.</summary>
    protected Workload(string name, string description, int pages, ulong seed)
    {
        Name = name;
        Description = description;
        Pages = pages;
        Random = new LabRandom(seed);
    }

    /// <summary>A short name for tables and file names.</summary>
    public string Name { get; }

    /// <summary>One line saying what it does.</summary>
    public string Description { get; }

    /// <summary>Pages in the working set.</summary>
    public int Pages { get; }

    /// <summary>The pages that should be on the fast tier now; empty when the workload has none (a pure scan).</summary>
    public int[] HotSet { get; protected set; } = [];

    /// <summary>The workload's random source.</summary>
    protected LabRandom Random;

    /// <summary>Moves the workload to <paramref name="nowMs"/>; true when the hot set changed.</summary>
    public virtual bool Advance(long nowMs) => false;

    /// <summary>The page of the next access.</summary>
    public abstract int Next();

    /// <summary>Nine accesses in ten to <paramref name="hot"/>, uniformly; the rest uniformly over every page.</summary>
    protected int HotOrAny(int[] hot) => Random.Next() < Ninety ? hot[Random.NextInt(hot.Length)] : Random.NextInt(Pages);

    /// <summary>
    /// <paramref name="count"/> pages in runs of <paramref name="block"/> contiguous pages at random
    /// places (data structures are laid out in runs), avoiding pages in <paramref name="exclude"/>.
    /// </summary>
    protected int[] RandomBlocks(int count, int block, ReadOnlySpan<int> exclude = default)
    {
        int blocks = Pages / block;
        var taken = new bool[blocks];
        foreach (int p in exclude)
        {
            taken[p / block] = true;
        }

        var order = Enumerable.Range(0, blocks).Where(b => !taken[b]).ToArray();
        Random.Shuffle(order);
        int need = (count + block - 1) / block;
        var result = new List<int>(need * block);
        foreach (int b in order.Take(need))
        {
            for (int i = 0; i < block && result.Count < count; i++)
            {
                result.Add((b * block) + i);
            }
        }

        return [.. result];
    }
}

/// <summary>Zipf over all pages: rank k is accessed with probability proportional to 1/k^θ; ranks are scattered over the pages.</summary>
internal sealed class ZipfWorkload : Workload
{
    private readonly double[] _cdf;
    private readonly int[] _pageOfRank;

    /// <summary>Creates a Zipf(θ) workload; the hot set is the <paramref name="hotPages"/> most popular pages.</summary>
    public ZipfWorkload(double theta, int pages, int hotPages, ulong seed)
        : base(FormattableString.Invariant($"zipf-{theta:0.0}"), FormattableString.Invariant($"Zipf θ={theta:0.0} over every page, ranks scattered; hot set = the {hotPages} most popular pages"), pages, seed)
    {
        _cdf = new double[pages];
        double sum = 0;
        for (int k = 0; k < pages; k++)
        {
            sum += 1.0 / Math.Pow(k + 1, theta);
            _cdf[k] = sum;
        }

        for (int k = 0; k < pages; k++)
        {
            _cdf[k] /= sum;
        }

        _pageOfRank = Enumerable.Range(0, pages).ToArray();
        Random.Shuffle(_pageOfRank);
        HotSet = _pageOfRank[..hotPages];
    }

    /// <inheritdoc/>
    public override int Next()
    {
        double u = Random.NextDouble();
        int lo = 0, hi = _cdf.Length - 1;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_cdf[mid] > u)
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }

        return _pageOfRank[lo];
    }
}

/// <summary>A hot set that takes 90% of accesses and moves to other pages every <c>phaseMs</c>.</summary>
internal sealed class PhaseShiftWorkload : Workload
{
    private readonly int _hotPages;
    private readonly long _phaseMs;
    private long _nextPhase;

    /// <summary>Creates the workload: <paramref name="hotPages"/> hot pages in 64-page runs, a new set every <paramref name="phaseMs"/>.</summary>
    public PhaseShiftWorkload(int pages, int hotPages, long phaseMs, ulong seed)
        : base("phase-shift", FormattableString.Invariant($"{hotPages} hot pages (90% of accesses, in 64-page runs) that move elsewhere every {phaseMs / 1000.0:0.#} s"), pages, seed)
    {
        _hotPages = hotPages;
        _phaseMs = phaseMs;
        HotSet = RandomBlocks(hotPages, 64);
        _nextPhase = phaseMs;
    }

    /// <inheritdoc/>
    public override bool Advance(long nowMs)
    {
        if (nowMs < _nextPhase)
        {
            return false;
        }

        _nextPhase += _phaseMs;
        HotSet = RandomBlocks(_hotPages, 64, HotSet);
        return true;
    }

    /// <inheritdoc/>
    public override int Next() => HotOrAny(HotSet);
}

/// <summary>
/// A sequential scan over every page (each page touched 16 times in a row, as a streaming loop
/// touches its cache lines) taking 3 accesses in 4, beside a small hot set taking the rest. The
/// scan should not be promoted: its pages are touched in one burst per pass and not again soon.
/// </summary>
internal sealed class ScanWorkload : Workload
{
    private const int TouchesPerPage = 16;
    private readonly int[] _hot;
    private int _position;
    private int _touches;

    /// <summary>Creates the workload with <paramref name="hotPages"/> hot pages beside the scan.</summary>
    public ScanWorkload(int pages, int hotPages, ulong seed)
        : base("scan", FormattableString.Invariant($"a sequential scan over every page (3 accesses in 4, 16 per page in a row) beside {hotPages} hot pages (1 in 4)"), pages, seed)
    {
        _hot = RandomBlocks(hotPages, 64);
        HotSet = _hot;
    }

    /// <inheritdoc/>
    public override int Next()
    {
        if ((Random.Next() & 3) == 0)
        {
            return _hot[Random.NextInt(_hot.Length)];
        }

        int page = _position;
        if (++_touches == TouchesPerPage)
        {
            _touches = 0;
            _position = _position + 1 == Pages ? 0 : _position + 1;
        }

        return page;
    }
}

/// <summary>
/// Two hot sets, each three quarters of the fast tier and together larger than it, taking turns
/// every <c>periodMs</c>: pages ping-pong between the two nodes for a policy that chases them.
/// </summary>
internal sealed class PingPongWorkload : Workload
{
    private readonly int[] _a;
    private readonly int[] _b;
    private readonly long _periodMs;
    private long _next;

    /// <summary>Creates the workload: two sets of <paramref name="setPages"/> pages, alternating every <paramref name="periodMs"/>.</summary>
    public PingPongWorkload(int pages, int setPages, long periodMs, ulong seed)
        : base("ping-pong", FormattableString.Invariant($"two hot sets of {setPages} pages (each 90% of accesses while active) alternating every {periodMs / 1000.0:0.#} s; together they exceed the fast tier"), pages, seed)
    {
        _a = RandomBlocks(setPages, 64);
        _b = RandomBlocks(setPages, 64, _a);
        _periodMs = periodMs;
        _next = periodMs;
        HotSet = _a;
    }

    /// <inheritdoc/>
    public override bool Advance(long nowMs)
    {
        if (nowMs < _next)
        {
            return false;
        }

        _next += _periodMs;
        HotSet = ReferenceEquals(HotSet, _a) ? _b : _a;
        return true;
    }

    /// <inheritdoc/>
    public override int Next() => HotOrAny(HotSet);
}

/// <summary>A uniformly hot set twice the fast tier's size (90% of accesses): at best half of it fits; churn is waste.</summary>
internal sealed class LargeHotSetWorkload : Workload
{
    /// <summary>Creates the workload with <paramref name="hotPages"/> hot pages.</summary>
    public LargeHotSetWorkload(int pages, int hotPages, ulong seed)
        : base("hot>fast", FormattableString.Invariant($"{hotPages} uniformly hot pages (90% of accesses), twice the fast tier"), pages, seed)
    {
        HotSet = RandomBlocks(hotPages, 64);
    }

    /// <inheritdoc/>
    public override int Next() => HotOrAny(HotSet);
}
