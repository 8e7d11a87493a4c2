using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using BenchmarkDotNet.Attributes;
using HotPage.Engine.Records;
using HotPage.Engine.Sources;
using HotPage.Engine.Tunables;
using HotPage.Interop.Linux;
using HotPage.Interop.Platform;

namespace HotPage.Perf.Sources;

/// <summary>
/// The page-table scan's pagemap walk over a mapping of 1 GiB and 16 GiB in this process, against a
/// raw sequential <c>pread</c> of the same pagemap range in the same run (the baseline; goal: the scan
/// within 1.2x of it). The mapping is anonymous MAP_NORESERVE with transparent huge pages off; with
/// <see cref="Touched"/> every 64th page is written (present), otherwise no page is present (the
/// pagemap still has an entry per page). One operation = one full pass over the mapping.
/// <see cref="FullyResident"/> (the interleaved runner only) instead maps one 1 GiB memfd
/// <see cref="MappedGiB"/> times side by side, populated: every page of the range is present, as in
/// a fully resident process of that size, with 1 GiB of memory.
/// </summary>
[SupportedOSPlatform("linux")]
[MemoryDiagnoser]
public unsafe class PagemapScanBenchmarks
{
    private byte* _map;
    private nuint _length;
    private PagemapReader _reader = null!;
    private byte[] _buffer = null!;
    private WalkSource _source = null!;
    private long _pages;

    /// <summary>Mapped size in GiB.</summary>
    [Params(1, 16)]
    public int MappedGiB { get; set; }

    /// <summary>Whether every 64th page is present (written) or none is.</summary>
    [Params(false, true)]
    public bool Touched { get; set; }

    /// <summary>
    /// Every page present: one 1 GiB memfd mapped <see cref="MappedGiB"/> times side by side
    /// (MAP_SHARED | MAP_POPULATE), so the pagemap has a present entry per page. Not a BDN parameter
    /// (populating 64 GiB of page tables takes seconds); the interleaved runner sets it.
    /// </summary>
    public bool FullyResident { get; set; }

    /// <summary>Maps and touches the memory, opens the pagemap, attaches the scan source.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _length = (nuint)MappedGiB << 30;
        _pages = (long)(_length >> 12);
        void* p = LibC.mmap(null, _length, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_PRIVATE | LibC.MAP_ANONYMOUS | LibC.MAP_NORESERVE, -1, 0);
        if (p == LibC.MAP_FAILED || p == null)
        {
            throw new InvalidOperationException($"mmap of {_length} bytes failed: errno {Marshal.GetLastPInvokeError()}");
        }

        _map = (byte*)p;
        _ = LibC.madvise(_map, _length, LibC.MADV_NOHUGEPAGE);
        if (FullyResident)
        {
            MapResident();
        }
        else if (Touched)
        {
            for (nuint off = 0; off < _length; off += 64 * 4096)
            {
                _map[off] = 1;
            }
        }

        _reader = new PagemapReader(0);
        _buffer = GC.AllocateArray<byte>(4096 * 8, pinned: true);
        var tunables = new EngineTunables();
        tunables.Set("scan_size_mb", MappedGiB * 1024L);
        ulong start = (ulong)_map, end = start + _length;
        _source = new WalkSource(tunables, new ScanOptions { WriteClearRefs = false, VmaFilter = v => v.Start >= start && v.End <= end });
        _source.Attach(Environment.ProcessId);
    }

    /// <summary>Replaces the reservation with <see cref="MappedGiB"/> populated shared mappings of one 1 GiB memfd.</summary>
    private void MapResident()
    {
        const nuint GiB = 1u << 30;
        byte* name = stackalloc byte[] { (byte)'s', (byte)'c', (byte)'a', (byte)'n', 0 };
        int fd = LibC.memfd_create(name, 0);
        if (fd < 0)
        {
            throw new InvalidOperationException($"memfd_create failed: errno {Marshal.GetLastPInvokeError()}");
        }

        try
        {
            if (LibC.ftruncate(fd, (long)GiB) != 0)
            {
                throw new InvalidOperationException($"ftruncate of the memfd to 1 GiB failed: errno {Marshal.GetLastPInvokeError()}");
            }

            for (nuint off = 0; off < _length; off += GiB)
            {
                void* m = LibC.mmap(_map + off, GiB, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED | LibC.MAP_FIXED | LibC.MAP_POPULATE, fd, 0);
                if (m != _map + off)
                {
                    throw new InvalidOperationException($"mmap of the memfd at +{off >> 30} GiB failed: errno {Marshal.GetLastPInvokeError()}");
                }
            }
        }
        finally
        {
            _ = LibC.close(fd);
        }
    }

    /// <summary>Releases everything.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _source.Dispose();
        _reader.Dispose();
        _ = LibC.munmap(_map, _length);
    }

    /// <summary>The baseline: pread the mapping's pagemap range, 32 KiB at a time, and nothing else.</summary>
    [Benchmark(Baseline = true)]
    public long RawPread()
    {
        int fd = (int)_reader.Handle.DangerousGetHandle();
        long offset = (long)((ulong)_map >> 12) * 8, end = offset + (_pages * 8), total = 0;
        fixed (byte* b = _buffer)
        {
            while (offset < end)
            {
                nint r = LibC.pread(fd, b, (nuint)Math.Min(_buffer.Length, end - offset), offset);
                if (r <= 0)
                {
                    break;
                }

                offset += r;
                total += r;
            }
        }

        return total;
    }

    /// <summary>One pass of the scan source over the mapping: maps re-read, pagemap walked and every entry classified (the soft-dirty source's loop).</summary>
    [Benchmark]
    public long ScanPass() => _source.ScanSliceNow(Environment.ProcessId, _pages);

    /// <summary>The walk alone: the same pass with the mappings of the last pass kept (no /proc/PID/maps read).</summary>
    [Benchmark]
    public long ScanWalk() => _source.ScanSliceNow(Environment.ProcessId, _pages, rereadMaps: false);

    /// <summary>What a pass adds per process: reading and parsing this process's /proc/self/maps (about 1,400 mappings for a .NET process).</summary>
    [Benchmark]
    public int ReadMaps() => ProcMaps.Read(0).Count;

    /// <summary>The scan machinery with the soft-dirty source's per-entry test, always available (this kernel lacks soft-dirty), no clear_refs.</summary>
    private sealed class WalkSource(EngineTunables tunables, ScanOptions options) : PagemapScanSource(new NullSink(), tunables, options)
    {
        public override string Name => "walk";

        public override AccessSource Tag => AccessSource.SoftDirty;

        public override SourceAvailability Probe() => SourceAvailability.Available("benchmark");

        protected override void ProcessChunk(ScanProcess process, VmaState vma, long firstIndex, ulong firstAddress, ReadOnlySpan<PagemapEntry> entries)
        {
            // Exactly SoftDirtySource.ProcessChunk.
            const ulong PresentAndDirty = (1UL << 63) | (1UL << 55);
            for (int i = NextWithAll(entries, 0, PresentAndDirty); i < entries.Length; i = NextWithAll(entries, i + 1, PresentAndDirty))
            {
                if (IsWatched(entries[i].Pfn))
                {
                    Report(process.Pid, firstAddress + ((ulong)i << 12));
                }
            }
        }
    }

    private sealed class NullSink : IAccessSink
    {
        public int Deliver(int pid, ReadOnlySpan<AccessRecord> records) => 0;
    }
}

/// <summary>
/// The same comparison without BenchmarkDotNet, robust against a shared machine: raw pread and the
/// scan walk alternate, round after round, in one process, and the minimum and median of each are
/// kept. Run: <c>HotPage.Perf sources-interleaved [rounds]</c>.
/// </summary>
[SupportedOSPlatform("linux")]
public static class PagemapScanInterleaved
{
    /// <summary>Prints a table row per (mapped GiB, touched) case.</summary>
    /// <param name="rounds">Measured rounds per case (two more are run first and not kept).</param>
    /// <param name="sizesGiB">Mapped sizes; 64 adds the 64 GiB process of the sources issue.</param>
    public static void Run(int rounds, IReadOnlyList<int> sizesGiB)
    {
        Console.WriteLine("| mapped | present | raw pread min / median | scan walk min / median | scan pass (maps re-read) min / median | walk/raw (median) | pass/raw (median) |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (int gib in sizesGiB)
        {
            foreach (int layout in new[] { 0, 1, 2 })
            {
                var b = new PagemapScanBenchmarks { MappedGiB = gib, Touched = layout == 1, FullyResident = layout == 2 };
                b.Setup();
                try
                {
                    var raw = new List<double>();
                    var walk = new List<double>();
                    var pass = new List<double>();
                    for (int r = 0; r < rounds + 2; r++)
                    {
                        double tr = Time(() => b.RawPread()), tw = Time(() => b.ScanWalk()), tp = Time(() => b.ScanPass());
                        if (r >= 2)
                        {
                            raw.Add(tr);
                            walk.Add(tw);
                            pass.Add(tp);
                        }
                    }

                    string present = layout switch { 1 => "1 in 64 pages", 2 => "every page", _ => "none" };
                    Console.WriteLine($"| {gib} GiB | {present} | {raw.Min():F2} / {Median(raw):F2} ms | {walk.Min():F2} / {Median(walk):F2} ms | {pass.Min():F2} / {Median(pass):F2} ms | {Median(walk) / Median(raw):F2} | {Median(pass) / Median(raw):F2} |");
                }
                finally
                {
                    b.Cleanup();
                }
            }
        }
    }

    private static double Time(Func<long> f)
    {
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        _ = f();
        return System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
    }

    private static double Median(List<double> v)
    {
        var s = v.Order().ToList();
        return s[s.Count / 2];
    }
}
