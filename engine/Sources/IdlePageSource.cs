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
    private readonly string _bitmapPath;
    private readonly long[] _pageIndex = new long[ChunkPages];
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

    /// <summary>Bitmap words read and written (tests check the 8-byte protocol through the fixture).</summary>
    public long BitmapWordsWritten { get; private set; }

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
        ulong minWord = ulong.MaxValue, maxWord = 0;
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
            minWord = Math.Min(minWord, pfn >> 6);
            maxWord = Math.Max(maxWord, pfn >> 6);
        }

        if (n == 0)
        {
            return;
        }

        SafeFileHandle bitmap = _bitmap!;
        bool oneRange = maxWord - minWord < MaxRangeWords;
        Span<byte> range = _words.AsSpan(0, oneRange ? (int)(maxWord - minWord + 1) * 8 : 8);
        if (oneRange)
        {
            ReadWords(bitmap, minWord, range);
        }

        // Read: accessed = marked at the last visit and no longer idle.
        for (int k = 0; k < n; k++)
        {
            ulong pfn = _pfn[k];
            long index = firstIndex + _pageIndex[k];
            ulong word;
            if (oneRange)
            {
                word = BinaryPrimitives.ReadUInt64LittleEndian(range[((int)((pfn >> 6) - minWord) * 8)..]);
            }
            else
            {
                ReadWords(bitmap, pfn >> 6, range);
                word = BinaryPrimitives.ReadUInt64LittleEndian(range);
            }

            bool idle = (word & (1UL << (int)(pfn & 63))) != 0;
            if (marked.IsSet(index) && !idle)
            {
                Report(process.Pid, firstAddress + ((ulong)_pageIndex[k] << 12));
            }

            marked.Set(index);
        }

        // Mark: the words as just read with this chunk's bits added, written back in one range (or a
        // word per page when the PFNs are far apart). Bits that were 0 stay 0, bits that read 1 (idle)
        // are written as 1 again: for the kernel that re-marks a page that already reads idle (a
        // no-op), and a plain file (the tests' fixture) sees the same result the kernel would.
        if (oneRange)
        {
            for (int k = 0; k < n; k++)
            {
                int at = (int)((_pfn[k] >> 6) - minWord) * 8;
                ulong w = BinaryPrimitives.ReadUInt64LittleEndian(range[at..]) | (1UL << (int)(_pfn[k] & 63));
                BinaryPrimitives.WriteUInt64LittleEndian(range[at..], w);
            }

            WriteWords(bitmap, minWord, range);
        }
        else
        {
            for (int k = 0; k < n; k++)
            {
                ReadWords(bitmap, _pfn[k] >> 6, range);
                ulong w = BinaryPrimitives.ReadUInt64LittleEndian(range) | (1UL << (int)(_pfn[k] & 63));
                BinaryPrimitives.WriteUInt64LittleEndian(range, w);
                WriteWords(bitmap, _pfn[k] >> 6, range);
            }
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

    private static void ReadWords(SafeFileHandle bitmap, ulong firstWord, Span<byte> buffer)
    {
        int done = RandomAccess.Read(bitmap, buffer, (long)firstWord * 8);
        if (done < buffer.Length)
        {
            // Past the end of the bitmap (no such PFN): reads as not idle.
            buffer[done..].Clear();
        }
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
