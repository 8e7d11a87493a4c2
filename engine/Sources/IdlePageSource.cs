using System.Buffers.Binary;
using System.Runtime.Versioning;
using HotPage.Engine.Bitmaps;
using HotPage.Engine.Records;
using HotPage.Engine.Tunables;
using HotPage.Interop.Platform;
using Microsoft.Win32.SafeHandles;

namespace HotPage.Engine.Sources;

/// <summary>
/// Finds accessed pages with idle page tracking (<c>/sys/kernel/mm/page_idle/bitmap</c>): each visit
/// of a page reads its idle bit (a page marked idle at the previous visit whose bit is now clear was
/// accessed in between: reported), then marks it idle again. The bitmap file is indexed by PFN:
/// 64-bit words, PFN <c>p</c> is bit <c>p % 64</c> of the word at byte offset <c>p / 64 * 8</c>, read
/// and written 8 bytes at a time; writing a 1 bit marks the page idle, 0 bits change nothing (the
/// source writes back the words it read with its bits added, so a plain fixture file behaves alike).
/// PFNs come from pagemap, so the daemon needs CAP_SYS_ADMIN.
/// </summary>
/// <remarks>
/// <para>The TLB caveat (measured in the guest, ENVIRONMENT.md): marking clears the Accessed bits
/// without a TLB flush, so a later access through a cached translation does not set the bit again
/// and the page reads back idle. After marking a slice the source therefore writes <c>4</c> to
/// <c>/proc/PID/clear_refs</c>, which flushes the process's TLB (<c>1</c> does not). The cost: that
/// write also clears the process's soft-dirty bits (do not combine with <see cref="SoftDirtySource"/>
/// on one process) and walks its page tables once per slice.</para>
/// <para>A page still in a per-CPU LRU batch cannot be marked yet; it reads not idle at the next
/// visit only if it was really accessed or still unmarkable, so fresh pages may be reported once.</para>
/// </remarks>
[SupportedOSPlatform("linux")]
public sealed class IdlePageSource : PagemapScanSource
{
    /// <summary>Where the kernel puts the bitmap.</summary>
    public const string DefaultBitmapPath = "/sys/kernel/mm/page_idle/bitmap";

    private const int MaxRangeWords = 8192;

    /// <summary>Words between two pages' words that are still read in the same run (cheaper than another pair of system calls).</summary>
    private const int MergeGapWords = 4;
    private readonly string _bitmapPath;
    private readonly int[] _pageIndex = new int[ChunkPages];
    private readonly ulong[] _pfn = new ulong[ChunkPages];
    private readonly byte[] _words = GC.AllocateArray<byte>(MaxRangeWords * 8, pinned: true);
    private SafeFileHandle? _bitmap;

    /// <summary>Creates the source.</summary>
    /// <param name="sink">Where reports go.</param>
    /// <param name="tunables">scan_period_ms, scan_size_mb, scan_delay_ms.</param>
    /// <param name="options">Proc root, node filter.</param>
    /// <param name="bitmapPath">The idle bitmap file (tests pass a fixture file).</param>
    public IdlePageSource(IAccessSink sink, EngineTunables tunables, ScanOptions? options = null, string bitmapPath = DefaultBitmapPath)
        : base(sink, tunables, options)
    {
        ArgumentNullException.ThrowIfNull(bitmapPath);
        _bitmapPath = bitmapPath;
    }

    /// <inheritdoc/>
    public override string Name => "idle";

    /// <inheritdoc/>
    public override AccessSource Tag => AccessSource.PageTableScan;

    /// <summary>Bitmap words written (tests check the 8-byte protocol through the fixture).</summary>
    public long BitmapWordsWritten { get; private set; }

    /// <summary>Bitmap words read: about the words that hold the watched pages, not the span of their PFNs.</summary>
    public long BitmapWordsRead { get; private set; }

    /// <inheritdoc/>
    public override SourceAvailability Probe()
    {
        if (!File.Exists(_bitmapPath))
        {
            return SourceAvailability.Missing($"idle page tracking is not available: this kernel lacks CONFIG_IDLE_PAGE_TRACKING ({_bitmapPath} does not exist)");
        }

        try
        {
            _bitmap ??= File.OpenHandle(_bitmapPath, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return SourceAvailability.Missing($"idle page tracking is present but {_bitmapPath} cannot be opened for reading and writing: {e.Message} (needs root)");
        }

        unsafe
        {
            byte* probe = stackalloc byte[1];
            probe[0] = 1;
            using var self = new PagemapReader(0);
            if (self.Read((nint)probe).Pfn == 0)
            {
                return SourceAvailability.Missing("idle page tracking needs page frame numbers, but pagemap hides them from this process (needs CAP_SYS_ADMIN)");
            }
        }

        return SourceAvailability.Available($"idle page tracking through {_bitmapPath}");
    }

    /// <inheritdoc/>
    protected override void ProcessChunk(ScanProcess process, VmaState vma, long firstIndex, ulong firstAddress, ReadOnlySpan<PagemapEntry> entries)
    {
        PageBitmap marked = vma.Marked;
        int n = 0;
        for (int i = 0; i < entries.Length; i++)
        {
            PagemapEntry e = entries[i];
            ulong pfn = e.Pfn;
            if (pfn == 0 || !IsWatched(pfn))
            {
                marked.Clear(firstIndex + i);
                continue;
            }

            _pageIndex[n] = i;
            _pfn[n++] = pfn;
        }

        if (n == 0)
        {
            return;
        }

        // The kernel visits every PFN of the words read or written (and walks the rmap of each idle
        // page among them), so only the words that hold these pages are touched: the pages sorted by
        // PFN, then one read and one write per run of nearby words. Reading the whole span of a
        // chunk's PFNs instead (pages scattered over a 1 GiB node: 262144 PFNs per chunk) took the
        // guest's kernel tens of seconds per pass.
        _pfn.AsSpan(0, n).Sort(_pageIndex.AsSpan(0, n));
        SafeFileHandle bitmap = _bitmap!;
        for (int k = 0; k < n;)
        {
            ulong firstWord = _pfn[k] >> 6;
            int end = k + 1;
            while (end < n && (_pfn[end] >> 6) - (_pfn[end - 1] >> 6) <= MergeGapWords && (_pfn[end] >> 6) - firstWord < MaxRangeWords)
            {
                end++;
            }

            Span<byte> range = _words.AsSpan(0, (int)((_pfn[end - 1] >> 6) - firstWord + 1) * 8);
            int valid = ReadWords(bitmap, firstWord, range);

            // Read: accessed = marked at the last visit and no longer idle.
            for (int j = k; j < end; j++)
            {
                ulong pfn = _pfn[j];
                int at = (int)((pfn >> 6) - firstWord) * 8;
                long index = firstIndex + _pageIndex[j];
                if (at >= valid)
                {
                    marked.Clear(index); // past what the bitmap holds: cannot be tracked
                    continue;
                }

                bool idle = (BinaryPrimitives.ReadUInt64LittleEndian(range[at..]) & (1UL << (int)(pfn & 63))) != 0;
                if (marked.IsSet(index) && !idle)
                {
                    Report(process.Pid, firstAddress + ((ulong)_pageIndex[j] << 12));
                }

                marked.Set(index);
            }

            // Mark: the words as just read with this run's bits added, written back at once. Bits
            // that were 0 stay 0, bits that read 1 (idle) are written as 1 again: for the kernel that
            // re-marks a page that already reads idle (a no-op), and a plain file (the tests'
            // fixture) sees the same result the kernel would.
            for (int j = k; j < end; j++)
            {
                int at = (int)((_pfn[j] >> 6) - firstWord) * 8;
                if (at < valid)
                {
                    ulong w = BinaryPrimitives.ReadUInt64LittleEndian(range[at..]) | (1UL << (int)(_pfn[j] & 63));
                    BinaryPrimitives.WriteUInt64LittleEndian(range[at..], w);
                }
            }

            if (valid > 0)
            {
                WriteWords(bitmap, firstWord, range[..valid]);
            }
            k = end;
        }

        process.MarkedThisSlice += n;
    }

    /// <inheritdoc/>
    protected override void EndSlice(ScanProcess process)
    {
        // The TLB caveat: flush the process's TLB so accesses through cached translations set the Accessed bits again.
        if (process.MarkedThisSlice > 0 && Options.WriteClearRefs)
        {
            WriteClearRefs(process.Pid, "4");
        }

        process.MarkedThisSlice = 0;
    }

    /// <summary>Reads the words from <paramref name="firstWord"/> into <paramref name="buffer"/>; returns how many bytes the bitmap holds there (whole words).</summary>
    private int ReadWords(SafeFileHandle bitmap, ulong firstWord, Span<byte> buffer)
    {
        // NOTE: the kernel's bitmap is a sysfs binary attribute: one read returns at most a page
        // (4 KiB = 512 words), so a longer range takes several reads. A read of 0 bytes is the end
        // of the bitmap: PFNs at or past max_pfn, and also the last word when max_pfn is not a
        // multiple of 64 (the kernel returns 0 for that partial word, and a write to it also returns
        // 0: written back, it would never complete). Words past the end are never written.
        int done = 0;
        while (done < buffer.Length)
        {
            int n = RandomAccess.Read(bitmap, buffer[done..], ((long)firstWord * 8) + done);
            if (n <= 0)
            {
                break;
            }

            done += n;
        }

        done &= ~7;
        buffer[done..].Clear();
        BitmapWordsRead += buffer.Length / 8;
        return done;
    }

    private void WriteWords(SafeFileHandle bitmap, ulong firstWord, ReadOnlySpan<byte> buffer)
    {
        RandomAccess.Write(bitmap, buffer, (long)firstWord * 8);
        BitmapWordsWritten += buffer.Length / 8;
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _bitmap?.Dispose();
        }
    }
}
