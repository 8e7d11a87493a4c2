using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using HotPage.Engine.Records;
using HotPage.Engine.Tunables;
using HotPage.Interop.Platform;

namespace HotPage.Engine.Sources;

/// <summary>
/// Finds written pages with soft-dirty (writes only): when a process is attached and at the end of
/// every pass over it, the source writes <c>4</c> to <c>/proc/PID/clear_refs</c> (clearing every
/// soft-dirty bit of the process and write-protecting its pages); each slice of the next pass
/// reports the present, watched pages whose pagemap bit 55 is set again: pages written since the
/// previous pass ended (or since attaching). A slice late in a pass thus covers a longer window than
/// an early one; with <c>scan_size_mb</c> at least the process size every pass is one period and
/// every page has the same window. The clear comes after the walk, never before it in the same
/// pass, or the pass would see nothing.
/// </summary>
/// <remarks>
/// Soft-dirty needs CONFIG_MEM_SOFT_DIRTY. A kernel without it still accepts <c>4</c> in clear_refs
/// and simply never sets bit 55, so <see cref="Probe"/> detects it: it clears its own bits, writes a
/// page, and looks at the bit. Running the idle source on the same process interferes (its TLB
/// flush also writes 4): use one of the two per process.
/// </remarks>
[SupportedOSPlatform("linux")]
public sealed class SoftDirtySource : PagemapScanSource
{
    private SourceAvailability? _probe;

    /// <summary>Creates the source.</summary>
    public SoftDirtySource(IAccessSink sink, EngineTunables tunables, ScanOptions? options = null)
        : base(sink, tunables, options)
    {
    }

    /// <inheritdoc/>
    public override string Name => "softdirty";

    /// <inheritdoc/>
    public override AccessSource Tag => AccessSource.SoftDirty;

    /// <inheritdoc/>
    public override SourceAvailability Probe() => _probe ??= ProbeKernel(Options.ProcRoot);

    /// <summary>
    /// Detects soft-dirty on this kernel: a page of this process is written, its bits cleared with
    /// clear_refs 4, written again, and bit 55 of its pagemap entry read back.
    /// </summary>
    public static unsafe SourceAvailability ProbeKernel(string procRoot = "/proc")
    {
        string clearRefs = Path.Combine(procRoot, "self", "clear_refs");
        if (!File.Exists(clearRefs))
        {
            return SourceAvailability.Missing($"soft-dirty is not available: {clearRefs} does not exist");
        }

        byte* page = (byte*)NativeMemory.AlignedAlloc(4096, 4096);
        try
        {
            page[0] = 1;
            File.WriteAllText(clearRefs, "4");
            using var reader = new PagemapReader(0);
            bool afterClear = reader.Read((nint)page).IsSoftDirty;
            Volatile.Write(ref page[0], 2);
            PagemapEntry e = reader.Read((nint)page);
            if (!e.IsPresent)
            {
                return SourceAvailability.Missing("soft-dirty could not be checked: the probe page is not present after a write");
            }

            return e.IsSoftDirty && !afterClear
                ? SourceAvailability.Available("soft-dirty works: clear_refs 4 clears pagemap bit 55 and a write sets it")
                : SourceAvailability.Missing("soft-dirty is not available: pagemap bit 55 stayed 0 after a write following clear_refs 4 (this kernel lacks CONFIG_MEM_SOFT_DIRTY)");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return SourceAvailability.Missing($"soft-dirty could not be checked: {ex.Message}");
        }
        finally
        {
            NativeMemory.AlignedFree(page);
        }
    }

    /// <inheritdoc/>
    protected override void OnAttach(ScanProcess process)
    {
        if (Options.WriteClearRefs)
        {
            WriteClearRefs(process.Pid, "4");
        }
    }

    /// <inheritdoc/>
    protected override void OnPassEnd(ScanProcess process)
    {
        if (Options.WriteClearRefs)
        {
            WriteClearRefs(process.Pid, "4");
        }
    }

    /// <inheritdoc/>
    protected override void ProcessChunk(ScanProcess process, VmaState vma, long firstIndex, ulong firstAddress, ReadOnlySpan<PagemapEntry> entries)
    {
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
