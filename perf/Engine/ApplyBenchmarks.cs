using BenchmarkDotNet.Attributes;
using HotPage.Engine;
using HotPage.Engine.Records;
using HotPage.Engine.Tunables;

namespace HotPage.Perf.Engine;

/// <summary>
/// Drain+apply throughput, the engine against pghot's own design on the same stream. One
/// invocation pushes <see cref="Records"/> page accesses (a precomputed uniform or Zipf(0.99)
/// stream over the tracked pages) through the whole path and ends when every one is applied:
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><see cref="Engine"/>: <see cref="Producers"/> worker threads report the stream (each its
///   share, in batches of <see cref="ProducerBatch"/> via <c>RecordAccesses</c>; a batch the ring
///   cannot take whole is retried after a spin or yield: the drops are counted, then re-sent) while the benchmark thread, the consumer, drains
///   the rings and applies concurrently. Time is until the last record is applied.</item>
/// <item><see cref="Pghot"/> (baseline): pghot's record path is synchronous, so <see cref="Producers"/>
///   threads (the benchmark thread and, for 2, one worker) call its <c>record_access</c> directly,
///   each on its share.</item>
/// </list>
/// Both see the same stream and the same clock (1 s later every invocation, 5 s window, threshold
/// 2), so pages start new windows and leave and rejoin the candidates as the run goes on. The
/// reported time is per record; records/s = 1e9 / ns. With 2 producers the engine runs three busy
/// threads on this machine's two cores (two producers and the consumer), pghot two.
/// </remarks>
[Config(typeof(EngineBenchConfig))]
public class ApplyBenchmarks
{
    /// <summary>Records per invocation.</summary>
    public const int Records = 1 << 22;

    /// <summary>
    /// Records in the precomputed stream (256 MiB); invocation k takes records k·<see cref="Records"/>
    /// onwards, wrapping after 16 invocations, so that a uniform stream over 64 Mi pages reaches
    /// them all instead of replaying the same 4 Mi pages.
    /// </summary>
    public const int StreamLength = 1 << 26;

    /// <summary>Records a producer hands to <c>RecordAccesses</c> at once.</summary>
    public const int ProducerBatch = 256;

    private const long MaxCandidates = 1 << 20;

    private uint[] _stream = [];
    private HotPageEngine? _engine;
    private PghotBaseline? _pghot;
    private Crew? _crew;
    private uint _timeMs;
    private int _window; // start of this invocation's records in the stream

    /// <summary>The access stream.</summary>
    [Params(StreamKind.Uniform, StreamKind.Zipf099)]
    public StreamKind Stream { get; set; }

    /// <summary>Tracked pages.</summary>
    [Params(1 << 20 /* 4 MiB table: mostly cache-resident */, 1 << 26 /* 256 MiB table: every uniform record a DRAM miss */)]
    public int Pages { get; set; }

    /// <summary>Threads reporting accesses.</summary>
    [Params(1 /* one producer: producer and consumer on the two cores */, 2 /* two producers: contended rings / bucket and heap locks */)]
    public int Producers { get; set; }

    private void Prepare()
    {
        _stream = Streams.Generate(Stream, Pages, StreamLength, seed: 20250 + Pages);
        _timeMs = 1000;
    }

    [GlobalSetup(Target = nameof(Engine))]
    public void SetupEngine()
    {
        Prepare();
        var tunables = new EngineTunables();
        tunables.Set("max_tracked_pages", Pages);
        tunables.Set("max_candidates", MaxCandidates);
        _engine = new HotPageEngine(BenchTopology.TwoTier(), tunables);
        _engine.RegisterRegion(BenchTopology.Base, (ulong)Pages << 12);
        _crew = new Crew(Producers, ProduceEngine);
    }

    [GlobalSetup(Target = nameof(Pghot))]
    public void SetupPghot()
    {
        Prepare();
        _pghot = new PghotBaseline(Pages, nodeCount: 2, heapCapacity: MaxCandidates, windowMs: 5000, threshold: 2);
        _crew = Producers > 1 ? new Crew(Producers - 1, i => ProducePghot(i + 1)) : null;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _crew?.Dispose();
        if (_engine is not null)
        {
            var c = _engine.GetCounters();
            Console.WriteLine($"// engine: applied {c["pghot_records_applied"]}, ring drops (retried) {c["pghot_ring_dropped"]}, candidates {c["pghot_candidates"]}, heap pushes {c["pghot_records_heap"]}, heap full {c["kpromoted_dropped"]}, stale discarded {c["pghot_heap_stale"]}");
            _engine.Dispose();
        }

        if (_pghot is not null)
        {
            Console.WriteLine($"// pghot: heap {_pghot.HeapCount(BenchTopology.Nid)}, heap full {_pghot.HeapFull}");
            _pghot.Dispose();
        }
    }

    private (int Start, int End) Share(int producer) =>
        ((int)((long)Records * producer / Producers), (int)((long)Records * (producer + 1) / Producers));

    private void ProduceEngine(int producer)
    {
        HotPageEngine engine = _engine!;
        (int start, int end) = Share(producer);
        ReadOnlySpan<uint> stream = _stream.AsSpan(_window, Records);
        ulong time = _timeMs;
        Span<AccessRecord> batch = stackalloc AccessRecord[ProducerBatch];
        for (int at = start; at < end; at += ProducerBatch)
        {
            int n = Math.Min(ProducerBatch, end - at);
            for (int i = 0; i < n; i++)
            {
                batch[i] = new AccessRecord(BenchTopology.Address(stream[at + i]), BenchTopology.Nid, AccessSource.Application, time);
            }

            int done = 0;
            var wait = default(SpinWait);
            while (true)
            {
                done += engine.RecordAccesses(batch[done..n]).Recorded;
                if (done == n)
                {
                    break;
                }

                wait.SpinOnce(sleep1Threshold: -1); // the ring is full: let the consumer run
            }
        }
    }

    private void ProducePghot(int producer)
    {
        PghotBaseline pghot = _pghot!;
        (int start, int end) = Share(producer);
        ReadOnlySpan<uint> stream = _stream.AsSpan(_window, Records);
        uint time = _timeMs;
        for (int i = start; i < end; i++)
        {
            pghot.RecordAccess((long)(BenchTopology.Address(stream[i]) >> 12), BenchTopology.Nid, time);
        }
    }

    private void Advance()
    {
        _timeMs += 1000;
        _window = (_window + Records) & (StreamLength - 1);
    }

    /// <summary>pghot 2025: every producer does the hash, lock, record and heap work itself.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Records)]
    public void Pghot()
    {
        Advance();
        _crew?.Start();
        ProducePghot(0);
        _crew?.Join();
    }

    /// <summary>HotPage: producers fill the per-CPU rings while this thread drains and applies.</summary>
    [Benchmark(OperationsPerInvoke = Records)]
    public long Engine()
    {
        Advance();
        HotPageEngine engine = _engine!;
        _crew!.Start();
        long applied = 0;
        var wait = default(SpinWait);
        while (applied < Records)
        {
            long n = engine.Drain();
            applied += n;
            if (n == 0)
            {
                // Spin before yielding, as the producers do: a bare Thread.Yield on every empty
                // drain gave the core away to other processes on this shared machine for a time
                // slice while the producer had records ready.
                wait.SpinOnce(sleep1Threshold: -1);
            }
            else
            {
                wait.Reset();
            }
        }

        _crew.Join();
        return applied;
    }
}
