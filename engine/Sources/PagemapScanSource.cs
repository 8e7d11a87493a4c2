using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Versioning;
using HotPage.Engine.Bitmaps;
using HotPage.Engine.Native;
using HotPage.Engine.Records;
using HotPage.Engine.Tunables;
using HotPage.Interop.Platform;

namespace HotPage.Engine.Sources;

/// <summary>Settings shared by the page-table scan sources.</summary>
public sealed record ScanOptions
{
    /// <summary>The proc mount (maps, pagemap, clear_refs).</summary>
    public string ProcRoot { get; init; } = "/proc";

    /// <summary>Maps PFNs to nodes; with <see cref="LowerTierNodes"/>, pages on top-tier nodes are skipped. Null: no filter.</summary>
    public PfnNodeMap? NodeMap { get; init; }

    /// <summary>The nodes whose pages are watched; null: every page (also pages whose PFN is hidden or unknown).</summary>
    public IReadOnlySet<int>? LowerTierNodes { get; init; }

    /// <summary>Which mappings to scan; null: <see cref="Vma.IsEligible"/> (anonymous, private, readable).</summary>
    public Func<Vma, bool>? VmaFilter { get; init; }

    /// <summary>
    /// Whether the source writes <c>/proc/PID/clear_refs</c>: soft-dirty clears the bits at the start of
    /// every pass; idle page tracking flushes the TLB after marking (see <see cref="IdlePageSource"/>).
    /// Off only for benchmarks of the walk itself.
    /// </summary>
    public bool WriteClearRefs { get; init; } = true;
}

/// <summary>
/// The page-table scan machinery shared by <see cref="IdlePageSource"/> and <see cref="SoftDirtySource"/>
/// (the kscand / klruscand analogue in user space): per attached process it walks the eligible
/// mappings of <c>/proc/PID/maps</c> through <c>/proc/PID/pagemap</c>, at most <c>scan_size_mb</c>
/// per <c>scan_period_ms</c>, starting <c>scan_delay_ms</c> after the process was attached, and
/// continues where the last slice stopped, so that a large process is covered over several
/// periods. A pass ends when the walk reaches the last mapping; the maps are re-read at the start
/// of every pass. Reports go to the sink with NUMA_NO_NODE.
/// </summary>
[SupportedOSPlatform("linux")]
public abstract class PagemapScanSource : ITemperatureSource
{
    /// <summary>Pagemap entries read per pread (32 KiB).</summary>
    protected const int ChunkPages = 4096;
    private const int PageShift = 12;

    private readonly IAccessSink _sink;
    private readonly EngineTunables _tunables;
    private readonly Dictionary<int, ScanProcess> _procs = [];
    private readonly PagemapEntry[] _entries = GC.AllocateArray<PagemapEntry>(ChunkPages, pinned: true);
    private readonly AccessRecord[] _records = new AccessRecord[ChunkPages];
    private int _recordCount;
    private long _reported;
    private long _rejected;

    /// <summary>Creates the machinery.</summary>
    protected PagemapScanSource(IAccessSink sink, EngineTunables tunables, ScanOptions? options)
    {
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentNullException.ThrowIfNull(tunables);
        _sink = sink;
        _tunables = tunables;
        Options = options ?? new ScanOptions();
    }

    /// <summary>The options.</summary>
    public ScanOptions Options { get; }

    /// <summary>
    /// Native bytes of the page sets this source holds (one <see cref="PageBitmap"/> per watched
    /// mapping that needed one): a mapping's set is freed when the mapping disappears from the maps,
    /// its process is detached or the source is disposed, so this returns to 0 then.
    /// </summary>
    public NativeMemoryCounter Memory { get; } = new();

    /// <inheritdoc/>
    public abstract string Name { get; }

    /// <inheritdoc/>
    public abstract AccessSource Tag { get; }

    /// <inheritdoc/>
    public IReadOnlyCollection<int> AttachedPids => _procs.Keys;

    /// <summary>Completed passes over <paramref name="pid"/>'s mappings (0 until the first pass ends).</summary>
    public long PassesCompleted(int pid) => _procs.TryGetValue(pid, out ScanProcess? p) ? p.Pass : -1;

    /// <inheritdoc/>
    public abstract SourceAvailability Probe();

    /// <inheritdoc/>
    public void Attach(int pid)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pid);
        if (_procs.ContainsKey(pid))
        {
            return;
        }

        SourceAvailability a = Probe();
        if (!a.IsAvailable)
        {
            throw new SourceException(Name, pid, a.Reason);
        }

        _ = ProcMaps.Read(pid, Options.ProcRoot); // names a missing or inaccessible pid clearly
        PagemapReader reader;
        try
        {
            reader = new PagemapReader(pid);
        }
        catch (PlatformCallException e)
        {
            throw new SourceException(Name, pid, e.Message, e);
        }

        var proc = new ScanProcess(pid, reader);
        try
        {
            OnAttach(proc);
        }
        catch
        {
            reader.Dispose();
            throw;
        }

        _procs.Add(pid, proc);
    }

    /// <inheritdoc/>
    public bool Detach(int pid)
    {
        if (!_procs.Remove(pid, out ScanProcess? p))
        {
            return false;
        }

        p.Reader.Dispose();
        foreach (VmaState v in p.Vmas)
        {
            v.Dispose();
        }

        p.Vmas = [];
        return true;
    }

    /// <inheritdoc/>
    public SourceTickResult Tick(long nowMs)
    {
        long scanned = 0;
        long reported0 = _reported, rejected0 = _rejected;
        int errors = 0;
        string? lastError = null;
        List<int>? gone = null;
        foreach (ScanProcess p in _procs.Values)
        {
            if (p.NextDueMs < 0)
            {
                p.NextDueMs = nowMs + _tunables["scan_delay_ms"];
            }

            if (nowMs < p.NextDueMs)
            {
                continue;
            }

            p.NextDueMs = nowMs + _tunables["scan_period_ms"];
            try
            {
                scanned += ScanSlice(p, _tunables["scan_size_mb"] << (20 - PageShift));
            }
            catch (SourceException e)
            {
                errors++;
                lastError = e.Message;
                (gone ??= []).Add(p.Pid);
            }
        }

        if (gone is not null)
        {
            foreach (int pid in gone)
            {
                Detach(pid);
            }
        }

        return new SourceTickResult(scanned, _reported - reported0, _rejected - rejected0, errors, lastError);
    }

    /// <summary>Scans one slice of <paramref name="pid"/> now, ignoring the period (benchmarks, tests).</summary>
    /// <param name="pid">An attached process.</param>
    /// <param name="budgetPages">Most pages to scan.</param>
    /// <param name="rereadMaps">False: keep the mappings of the last pass (benchmarks of the walk alone).</param>
    internal long ScanSliceNow(int pid, long budgetPages, bool rereadMaps = true) => ScanSlice(_procs[pid], budgetPages, rereadMaps);

    private long ScanSlice(ScanProcess p, long budget, bool rereadMaps = true)
    {
        if (p.VmaIndex == 0 && p.Cursor == 0 && (rereadMaps || p.Vmas.Count == 0))
        {
            BeginPass(p);
        }

        long scanned = 0;
        while (budget > 0 && p.VmaIndex < p.Vmas.Count)
        {
            VmaState v = p.Vmas[p.VmaIndex];
            ulong start = Math.Max(p.Cursor, v.Vma.Start);
            long remaining = (long)((v.Vma.End - start) >> PageShift);
            int n = (int)Math.Min(Math.Min(remaining, budget), ChunkPages);
            if (n > 0)
            {
                PlatformResult r = p.Reader.Read((nint)start, _entries.AsSpan(0, n));
                if (!r.IsSuccess || r.Count < n)
                {
                    if (!Directory.Exists(ProcDir(p.Pid)))
                    {
                        throw new SourceException(Name, p.Pid, "the process exited");
                    }

                    // The mapping changed under the walk (unmapped, shrunk): skip it; the next pass re-reads the maps.
                    n = Math.Max(r.Count, 0);
                    if (n == 0)
                    {
                        p.VmaIndex++;
                        p.Cursor = 0;
                        continue;
                    }
                }

                long firstIndex = (long)((start - v.Vma.Start) >> PageShift);
                ProcessChunk(p, v, firstIndex, start, _entries.AsSpan(0, n));
                scanned += n;
                budget -= n;
                start += (ulong)n << PageShift;
            }

            if (start >= v.Vma.End)
            {
                p.VmaIndex++;
                p.Cursor = 0;
            }
            else
            {
                p.Cursor = start;
            }
        }

        FlushRecords(p.Pid);
        EndSlice(p);
        if (p.VmaIndex >= p.Vmas.Count)
        {
            p.VmaIndex = 0;
            p.Cursor = 0;
            OnPassEnd(p);
            p.Pass++;
        }

        return scanned;
    }

    private void BeginPass(ScanProcess p)
    {
        List<Vma> maps = ProcMaps.Read(p.Pid, Options.ProcRoot);
        Func<Vma, bool> filter = Options.VmaFilter ?? (static v => v.IsEligible);
        var next = new List<VmaState>();
        foreach (Vma vma in maps)
        {
            if (!filter(vma))
            {
                continue;
            }

            // Keep the page sets of mappings that did not change, so marks survive the maps refresh.
            VmaState? old = p.Vmas.Find(s => s.Vma.Start == vma.Start && s.Vma.End == vma.End);
            next.Add(old ?? new VmaState(vma, Memory));
        }

        // Mappings that are gone (or changed their bounds) free their page sets now.
        foreach (VmaState v in p.Vmas)
        {
            if (!next.Contains(v))
            {
                v.Dispose();
            }
        }

        p.Vmas = next;
        OnPassStart(p);
    }

    /// <summary>
    /// The index of the first entry at or after <paramref name="from"/> whose raw value has every bit
    /// of <paramref name="mask"/> set, or <c>entries.Length</c>. Vectorized: a pass over a mostly clean
    /// range (no soft-dirty page) costs about what reading it cost.
    /// </summary>
    protected internal static int NextWithAll(ReadOnlySpan<PagemapEntry> entries, int from, ulong mask)
    {
        ReadOnlySpan<ulong> raw = MemoryMarshal.Cast<PagemapEntry, ulong>(entries);
        int i = from;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<ulong> m = Vector256.Create(mask);
            for (; i + Vector256<ulong>.Count <= raw.Length; i += Vector256<ulong>.Count)
            {
                Vector256<ulong> v = Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(raw), (nuint)i);
                uint hits = Vector256.Equals(v & m, m).ExtractMostSignificantBits();
                if (hits != 0)
                {
                    return i + BitOperations.TrailingZeroCount(hits);
                }
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            Vector128<ulong> m = Vector128.Create(mask);
            for (; i + Vector128<ulong>.Count <= raw.Length; i += Vector128<ulong>.Count)
            {
                Vector128<ulong> v = Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(raw), (nuint)i);
                uint hits = Vector128.Equals(v & m, m).ExtractMostSignificantBits();
                if (hits != 0)
                {
                    return i + BitOperations.TrailingZeroCount(hits);
                }
            }
        }

        for (; i < raw.Length; i++)
        {
            if ((raw[i] & mask) == mask)
            {
                return i;
            }
        }

        return raw.Length;
    }

    /// <summary>True when the page at <paramref name="pfn"/> is one the options ask to watch.</summary>
    protected bool IsWatched(ulong pfn)
    {
        if (Options.LowerTierNodes is null || Options.NodeMap is null || pfn == 0)
        {
            return true;
        }

        int node = Options.NodeMap.NodeOf(pfn);
        return node < 0 || Options.LowerTierNodes.Contains(node);
    }

    /// <summary>Queues one access report for the page at <paramref name="address"/>.</summary>
    protected void Report(int pid, ulong address)
    {
        _records[_recordCount++] = new AccessRecord(address, -1, Tag, 0);
        if (_recordCount == _records.Length)
        {
            FlushRecords(pid);
        }
    }

    private void FlushRecords(int pid)
    {
        if (_recordCount == 0)
        {
            return;
        }

        _rejected += _sink.Deliver(pid, _records.AsSpan(0, _recordCount));
        _reported += _recordCount;
        _recordCount = 0;
    }

    /// <summary>Writes <paramref name="command"/> to <c>/proc/PID/clear_refs</c> (4: clear soft-dirty bits, which also flushes the process's TLB).</summary>
    protected void WriteClearRefs(int pid, string command)
    {
        string path = Path.Combine(ProcDir(pid), "clear_refs");
        try
        {
            File.WriteAllText(path, command);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (!Directory.Exists(ProcDir(pid)))
            {
                throw new SourceException(Name, pid, "the process exited", e);
            }

            throw new SourceException(Name, pid, $"writing '{command}' to {path} failed: {e.Message} (needs ptrace access to the process)", e);
        }
    }

    /// <summary>The process's directory under the proc mount.</summary>
    protected string ProcDir(int pid) => Path.Combine(Options.ProcRoot, pid.ToString(CultureInfo.InvariantCulture));

    /// <summary>Called once when a process is attached (after its maps and pagemap opened); throw <see cref="SourceException"/> to refuse.</summary>
    protected virtual void OnAttach(ScanProcess process)
    {
    }

    /// <summary>Called at the start of every pass, after the maps were re-read.</summary>
    protected virtual void OnPassStart(ScanProcess process)
    {
    }

    /// <summary>Called when a pass has walked every mapping, after the last slice's reports were delivered.</summary>
    protected virtual void OnPassEnd(ScanProcess process)
    {
    }

    /// <summary>Handles <paramref name="entries"/>.Length pagemap entries of mapping <paramref name="vma"/> from page <paramref name="firstIndex"/> (address <paramref name="firstAddress"/>).</summary>
    protected abstract void ProcessChunk(ScanProcess process, VmaState vma, long firstIndex, ulong firstAddress, ReadOnlySpan<PagemapEntry> entries);

    /// <summary>Called at the end of every slice, after its reports were delivered.</summary>
    protected virtual void EndSlice(ScanProcess process)
    {
    }

    /// <summary>Detaches every process.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Detaches every process; subclasses release what they opened.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (int pid in _procs.Keys.ToArray())
            {
                Detach(pid);
            }
        }
    }

    /// <summary>Scan state of one attached process.</summary>
    protected internal sealed class ScanProcess(int pid, PagemapReader reader)
    {
        /// <summary>The process.</summary>
        public int Pid { get; } = pid;

        /// <summary>Its open pagemap.</summary>
        public PagemapReader Reader { get; } = reader;

        /// <summary>The watched mappings of the current pass.</summary>
        public List<VmaState> Vmas { get; set; } = [];

        /// <summary>The mapping the walk is in.</summary>
        public int VmaIndex { get; set; }

        /// <summary>The address the walk continues at (0: the start of the mapping).</summary>
        public ulong Cursor { get; set; }

        /// <summary>When the next slice is due (-1: not yet scheduled; the first tick adds scan_delay_ms).</summary>
        public long NextDueMs { get; set; } = -1;

        /// <summary>Completed passes.</summary>
        public long Pass { get; set; }

        /// <summary>Pages marked in the current slice (idle source).</summary>
        public long MarkedThisSlice { get; set; }
    }

    /// <summary>
    /// A watched mapping and its page set. The set is a <see cref="PageBitmap"/> in native memory,
    /// made on first use and owned by this object alone: the scan source disposes it when the
    /// mapping leaves the maps, the process is detached or the source is disposed.
    /// </summary>
    protected internal sealed class VmaState(Vma vma, NativeMemoryCounter memory) : IDisposable
    {
        private PageBitmap? _marked;

        /// <summary>The mapping.</summary>
        public Vma Vma { get; } = vma;

        /// <summary>Pages the source marked (idle: marked idle at the last visit).</summary>
        internal PageBitmap Marked => _marked ??= new PageBitmap((long)(Vma.Length >> PageShift), memory);

        /// <summary>Frees the page set (a later <see cref="Marked"/> would make a fresh, empty one).</summary>
        public void Dispose()
        {
            _marked?.Dispose();
            _marked = null;
        }
    }
}
