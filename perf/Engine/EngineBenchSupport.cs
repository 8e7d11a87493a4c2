using System.Collections.ObjectModel;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using HotPage.Interop.Platform;

namespace HotPage.Perf.Engine;

/// <summary>
/// The engine suite's job: short (1 warm-up, 5 measured iterations, one launch) so that the whole
/// suite stays within minutes on the 2-core build machine, workstation non-concurrent GC, the
/// memory diagnoser (the allocation budget reads its column) and a JSON export for the budget check.
/// </summary>
public sealed class EngineBenchConfig : ManualConfig
{
    /// <summary>Creates the configuration.</summary>
    public EngineBenchConfig()
    {
        AddJob(Job.Default
            .WithLaunchCount(1)
            .WithWarmupCount(1)
            .WithIterationCount(5)
            .WithGcServer(false)
            .WithGcConcurrent(false)
            .WithId("EngineShort"));
        AddDiagnoser(MemoryDiagnoser.Default);
        WithBuildTimeout(TimeSpan.FromMinutes(10)); // the default 2 minutes is not enough while others build on the same 2 cores
        AddExporter(JsonExporter.Full);
    }
}

/// <summary>The machine the engine benchmarks model: node 0 (CPUs, DRAM, top tier) and node 1 (CPU-less, lower tier: how CXL memory appears).</summary>
internal static class BenchTopology
{
    /// <summary>Where the benchmarks' tracked region starts (no memory is needed there: the engine runs without a platform).</summary>
    public const ulong Base = 0x7e00_0000_0000;

    /// <summary>The accessing node the benchmark producers report (node 0, the CPU node).</summary>
    public const int Nid = 0;

    public static NumaTopology TwoTier() => new(
        [
            new NumaNode(0, new ReadOnlyCollection<int>([0, 1]), 16L << 30, 8L << 30, 0),
            new NumaNode(1, new ReadOnlyCollection<int>([]), 256L << 30, 128L << 30, 1),
        ],
        new[,] { { 10, 20 }, { 20, 10 } });

    /// <summary>The address of page <paramref name="page"/> of the tracked region (an offset inside the page, as real reports carry).</summary>
    public static ulong Address(uint page) => Base + ((ulong)page << 12) + 64;
}

/// <summary>The access streams: which pages a workload touches, in order.</summary>
public enum StreamKind
{
    /// <summary>Every page equally likely: the worst case for caches (each record a random page).</summary>
    Uniform,
    /// <summary>Zipf with exponent 0.99 over the pages, ranks scrambled over the table (YCSB's skewed workload).</summary>
    Zipf099,
}

/// <summary>
/// Precomputed page streams. Zipf ranks come from Gray et al.'s generator ("Quickly generating
/// billion-record synthetic databases", SIGMOD 1994, as YCSB uses it); rank r is mapped to page
/// <c>(r * odd) mod pages</c>, a bijection for a power-of-two page count, so hot pages are spread
/// over the table instead of packed at its start.
/// </summary>
internal static class Streams
{
    private const ulong Scramble = 0x9E37_79B9_7F4A_7C15UL;

    /// <summary>A pinned array of <paramref name="count"/> page indices below <paramref name="pages"/> (a power of two).</summary>
    public static uint[] Generate(StreamKind kind, int pages, int count, int seed)
    {
        uint[] stream = GC.AllocateUninitializedArray<uint>(count, pinned: true);
        var random = new Random(seed);
        uint mask = (uint)pages - 1;
        if (kind == StreamKind.Uniform)
        {
            for (int i = 0; i < count; i++)
            {
                stream[i] = (uint)random.Next() & mask;
            }

            return stream;
        }

        var zipf = new ZipfGenerator(pages, 0.99);
        for (int i = 0; i < count; i++)
        {
            ulong rank = (ulong)zipf.Next(random);
            stream[i] = (uint)(rank * Scramble) & mask;
        }

        return stream;
    }

    /// <summary>The i-th of a sequence of distinct pseudo-random pages: page <c>(i * odd) mod pages</c>.</summary>
    public static uint SpreadPage(long i, int pages) => (uint)((ulong)i * Scramble) & ((uint)pages - 1);
}

/// <summary>Zipf(θ) ranks in 0..n−1 (rank 0 the most frequent), by Gray et al.'s closed-form inversion.</summary>
internal sealed class ZipfGenerator
{
    private readonly long _n;
    private readonly double _theta;
    private readonly double _alpha;
    private readonly double _zetan;
    private readonly double _eta;

    public ZipfGenerator(long n, double theta)
    {
        _n = n;
        _theta = theta;
        double zeta2 = Zeta(2, theta);
        _zetan = Zeta(n, theta);
        _alpha = 1.0 / (1.0 - theta);
        _eta = (1 - Math.Pow(2.0 / n, 1 - theta)) / (1 - (zeta2 / _zetan));
    }

    private static double Zeta(long n, double theta)
    {
        double sum = 0;
        for (long i = 1; i <= n; i++)
        {
            sum += 1.0 / Math.Pow(i, theta);
        }

        return sum;
    }

    public long Next(Random random)
    {
        double u = random.NextDouble();
        double uz = u * _zetan;
        if (uz < 1.0)
        {
            return 0;
        }

        if (uz < 1.0 + Math.Pow(0.5, _theta))
        {
            return 1;
        }

        long rank = (long)(_n * Math.Pow((_eta * u) - _eta + 1, _alpha));
        return Math.Min(rank, _n - 1);
    }
}

/// <summary>
/// Worker threads created once (in GlobalSetup) and started per invocation, so that a measured
/// invocation creates no thread and allocates nothing. Each worker waits on its own event, runs
/// <c>work(index)</c>, and counts itself done.
/// </summary>
internal sealed class Crew : IDisposable
{
    private readonly Thread[] _threads;
    private readonly ManualResetEventSlim[] _go;
    private readonly Action<int> _work;
    private int _done;
    private volatile bool _stop;

    public Crew(int size, Action<int> work)
    {
        _work = work;
        _threads = new Thread[size];
        _go = new ManualResetEventSlim[size];
        for (int i = 0; i < size; i++)
        {
            int index = i;
            _go[i] = new ManualResetEventSlim(false, spinCount: 1);
            _threads[i] = new Thread(() => Loop(index)) { IsBackground = true, Name = $"bench-worker-{i}" };
            _threads[i].Start();
        }
    }

    public int Size => _threads.Length;

    private void Loop(int index)
    {
        while (true)
        {
            _go[index].Wait();
            _go[index].Reset();
            if (_stop)
            {
                return;
            }

            _work(index);
            Interlocked.Increment(ref _done);
        }
    }

    /// <summary>Starts every worker on one round of work.</summary>
    public void Start()
    {
        Volatile.Write(ref _done, 0);
        foreach (ManualResetEventSlim e in _go)
        {
            e.Set();
        }
    }

    /// <summary>True once every worker finished the round.</summary>
    public bool Done => Volatile.Read(ref _done) == _threads.Length;

    /// <summary>Waits (spinning, yielding) for the round to finish.</summary>
    public void Join()
    {
        var spin = default(SpinWait);
        while (!Done)
        {
            spin.SpinOnce(sleep1Threshold: -1);
        }
    }

    public void Dispose()
    {
        _stop = true;
        foreach (ManualResetEventSlim e in _go)
        {
            e.Set();
        }

        foreach (Thread t in _threads)
        {
            t.Join();
        }

        foreach (ManualResetEventSlim e in _go)
        {
            e.Dispose();
        }
    }
}
