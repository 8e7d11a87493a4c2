using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using HotPage.Engine;
using HotPage.Engine.Records;
using HotPage.Engine.Tunables;

namespace HotPage.Perf.Engine;

/// <summary>
/// The producer's cost per record: what a thread reporting an access pays before it goes back to
/// its own work. One invocation reports <see cref="Records"/> accesses (uniform over
/// <see cref="Pages"/> pages) and nothing else; the rings are large enough to take the whole
/// invocation and are drained in <c>[IterationCleanup]</c>, outside the measurement, so the
/// figure is producer-only: finding the ring (the thread's, or a handle's), validation, region
/// lookup and the slot write. It is an uncontended figure: no consumer runs concurrently here, so the ring's
/// lines do not move between cores (the apply benchmarks measure the concurrent case end to end).
/// </summary>
/// <remarks>
/// The baseline is pghot's own record path, which is synchronous: the reporting thread does the
/// hash lookup, bucket lock, record update and heap work itself. Each iteration is a single
/// invocation (iteration cleanup must run between invocations), hence more iterations than the
/// suite's default.
/// </remarks>
[Config(typeof(EngineBenchConfig))]
[InvocationCount(1, 1)]
[IterationCount(60)]
public unsafe class RecordPathBenchmarks
{
    /// <summary>Records per invocation: the ring (twice as large, 768 KiB) stays cache-resident, as a drained ring does.</summary>
    public const int Records = 1 << 14;

    /// <summary>Precomputed addresses; each invocation takes the next <see cref="Records"/> of them, so the baseline's table is not cache-warm.</summary>
    public const int Addresses = 1 << 22;

    /// <summary>Tracked pages.</summary>
    public const int Pages = 1 << 20;

    /// <summary>Records per <c>RecordAccesses</c> call in the batched benchmark.</summary>
    public const int Batch = 256;

    private const ulong TimeMs = 1000;

    private HotPageEngine? _engine;
    private RecordProducer? _producer;
    private long* _casWord;
    private int _offset;
    private PghotBaseline? _pghot;
    private ulong[] _addresses = [];
    private AccessRecord[] _records = [];

    [GlobalSetup]
    public void Setup()
    {
        uint[] pages = Streams.Generate(StreamKind.Uniform, Pages, Addresses, seed: 7);
        _addresses = GC.AllocateUninitializedArray<ulong>(Addresses, pinned: true);
        _records = GC.AllocateArray<AccessRecord>(Addresses, pinned: true);
        _casWord = (long*)NativeMemory.AlignedAlloc(128, 128);
        *_casWord = 0;
        for (int i = 0; i < Addresses; i++)
        {
            _addresses[i] = BenchTopology.Address(pages[i]);
            _records[i] = new AccessRecord(_addresses[i], BenchTopology.Nid, AccessSource.Application, TimeMs);
        }

        var tunables = new EngineTunables();
        tunables.Set("max_tracked_pages", Pages);
        tunables.Set("ring_capacity", 2 * Records); // one ring takes a whole invocation even if the thread never migrates
        _engine = new HotPageEngine(BenchTopology.TwoTier(), tunables);
        _engine.RegisterRegion(BenchTopology.Base, (ulong)Pages << 12);
        _producer = _engine.OpenProducer(); // a second producer ring, beside the one the benchmark thread gets at its first RecordAccess
        _pghot = new PghotBaseline(Pages, nodeCount: 2, heapCapacity: 1 << 20, windowMs: 5000, threshold: 2);
        WarmUpJit();
    }

    // Each iteration here is one short invocation, so the measured run lasts well under the
    // runtime's tiering delay (call counting starts 100 ms after the last tier-0 compilation):
    // without this the record methods were measured as tier-0/OSR code (RecordBatch 23 ns instead
    // of 3.4 ns with DOTNET_TieredCompilation=0). Calling every benchmark body for a second first
    // gets them to tier 1, as a long-running daemon (or the NativeAOT build) runs them.
    private void WarmUpJit()
    {
        long end = Environment.TickCount64 + 1000;
        while (Environment.TickCount64 < end)
        {
            PghotRecordAccess();
            CasFloor();
            RecordSingle();
            DrainRings();
            RecordBatch();
            DrainRings();
            RecordSingleHandle();
            DrainRings();
            RecordBatchHandle();
            DrainRings();
        }

        _offset = 0;
    }

    [IterationCleanup]
    public void DrainRings()
    {
        _engine!.Drain();
        _offset = (_offset + Records) & (Addresses - 1);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        var c = _engine!.GetCounters();
        Console.WriteLine($"// engine: recorded {c["pghot_recorded_accesses"]}, applied {c["pghot_records_applied"]}, dropped {c["pghot_ring_dropped"]}, rejected {c["pghot_rejected"]}");
        _producer!.Dispose();
        _engine.Dispose();
        _pghot!.Dispose();
        NativeMemory.AlignedFree(_casWord);
    }

    /// <summary>pghot 2025: <c>pghot_record_access</c> per record, done by the reporting thread.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Records)]
    public void PghotRecordAccess()
    {
        PghotBaseline pghot = _pghot!;
        ReadOnlySpan<ulong> addresses = _addresses.AsSpan(_offset, Records);
        for (int i = 0; i < addresses.Length; i++)
        {
            pghot.RecordAccess((long)(addresses[i] >> 12), BenchTopology.Nid, (uint)TimeMs);
        }
    }

    /// <summary>
    /// The floor of any multi-producer ring on this machine: one uncontended compare-and-swap per
    /// record on a cache-resident word, nothing else. Not a design: a yardstick for the others.
    /// </summary>
    [Benchmark(OperationsPerInvoke = Records)]
    public long CasFloor()
    {
        long* word = _casWord;
        for (int i = 0; i < Records; i++)
        {
            long seen = *word;
            Interlocked.CompareExchange(ref *word, seen + 1, seen);
        }

        return *word;
    }

    /// <summary>HotPage <c>RecordAccess</c>, one call per record.</summary>
    [Benchmark(OperationsPerInvoke = Records)]
    public int RecordSingle()
    {
        HotPageEngine engine = _engine!;
        ReadOnlySpan<ulong> addresses = _addresses.AsSpan(_offset, Records);
        int recorded = 0;
        for (int i = 0; i < addresses.Length; i++)
        {
            recorded += engine.RecordAccess(addresses[i], BenchTopology.Nid, AccessSource.Application, TimeMs) == RecordResult.Recorded ? 1 : 0;
        }

        return recorded;
    }

    /// <summary>HotPage <c>RecordAccesses</c>, <see cref="Batch"/> records per call.</summary>
    [Benchmark(OperationsPerInvoke = Records)]
    public int RecordBatch()
    {
        HotPageEngine engine = _engine!;
        ReadOnlySpan<AccessRecord> records = _records.AsSpan(_offset, Records);
        int recorded = 0;
        for (int at = 0; at < records.Length; at += Batch)
        {
            recorded += engine.RecordAccesses(records.Slice(at, Batch)).Recorded;
        }

        return recorded;
    }

    /// <summary>A producer handle's <c>Record</c> (<see cref="HotPageEngine.OpenProducer"/>), one call per record: <see cref="RecordSingle"/> without the thread-static ring read.</summary>
    [Benchmark(OperationsPerInvoke = Records)]
    public int RecordSingleHandle()
    {
        RecordProducer producer = _producer!;
        ReadOnlySpan<ulong> addresses = _addresses.AsSpan(_offset, Records);
        int recorded = 0;
        for (int i = 0; i < addresses.Length; i++)
        {
            recorded += producer.Record(addresses[i], BenchTopology.Nid, AccessSource.Application, TimeMs) == RecordResult.Recorded ? 1 : 0;
        }

        return recorded;
    }

    /// <summary>A producer handle's <c>RecordBatch</c>, <see cref="Batch"/> records per call.</summary>
    [Benchmark(OperationsPerInvoke = Records)]
    public int RecordBatchHandle()
    {
        RecordProducer producer = _producer!;
        ReadOnlySpan<AccessRecord> records = _records.AsSpan(_offset, Records);
        int recorded = 0;
        for (int at = 0; at < records.Length; at += Batch)
        {
            recorded += producer.RecordBatch(records.Slice(at, Batch)).Recorded;
        }

        return recorded;
    }
}
