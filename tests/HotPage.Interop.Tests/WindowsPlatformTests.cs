using System.Runtime.CompilerServices;
using System.Runtime.Versioning;
using HotPage.Interop.Platform;
using HotPage.Interop.Windows;
using Win = HotPage.Interop.Windows.Windows;

namespace HotPage.Interop.Tests;

[TestFixture]
[Platform("Win")]
[SupportedOSPlatform("windows")]
public class WindowsPlatformContractTests : PlatformContractTests
{
    private readonly List<nint> _untouched = [];

    protected override IMemoryPlatform CreatePlatform() => new WindowsPlatform();

    /// <summary>A committed page never touched is not in the working set: QueryWorkingSetEx reports it invalid.</summary>
    protected override unsafe nint NotPresentPage(IMemoryPlatform platform, nint candidate)
    {
        void* p = Win.VirtualAllocExNuma(Win.GetCurrentProcess(), null, 4096, Win.MEM_RESERVE | Win.MEM_COMMIT, Win.PAGE_READWRITE, 0);
        Assert.That(p != null, Is.True, "VirtualAllocExNuma");
        _untouched.Add((nint)p);
        return (nint)p;
    }

    [TearDown]
    public unsafe void ReleaseUntouched()
    {
        foreach (nint p in _untouched)
        {
            _ = Win.VirtualFree((void*)p, 0, Win.MEM_RELEASE);
        }

        _untouched.Clear();
    }
}

[TestFixture]
[Platform("Win")]
[SupportedOSPlatform("windows")]
public class WindowsPlatformTests
{
    [Test]
    public void TopologyListsEveryProcessorOnSomeNode()
    {
        using var platform = new WindowsPlatform();
        NumaTopology t = platform.GetTopology();

        Assert.That(t.Nodes.SelectMany(n => n.Cpus).Count(), Is.EqualTo(Environment.ProcessorCount), "GetNumaNodeProcessorMaskEx covers all processors");
        // Wine 8 answers GetNumaAvailableMemoryNodeEx with 0 bytes; Windows reports the node's free memory.
        Assert.That(t[0].FreeBytes, Is.GreaterThanOrEqualTo(0L), "GetNumaAvailableMemoryNodeEx succeeded for node 0");
        Assert.That(platform.GetFreeBytes(0), Is.GreaterThanOrEqualTo(0L), "free bytes of node 0 now");
    }

    [Test]
    public unsafe void OwnedMemoryIsRemappedInPlaceAndKeepsItsData()
    {
        using var platform = new WindowsPlatform { TestHookAlwaysMove = true };
        NodeMemory m = platform.AllocateOnNode(2 * platform.MoveGranule, 0);
        var data = new Span<byte>((void*)m.Address, (int)m.Length);
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (byte)(i * 7);
        }

        nint[] pages = [m.Address + 4096, m.Address + (nint)platform.MoveGranule];
        var status = new PageStatus[2];

        PlatformResult r = platform.MovePages(0, pages, [0, 0], status);

        if (platform.SupportsInPlaceMoves)
        {
            Assert.That(platform.IsMovable(m.Address), Is.True, $"placeholder allocation: {platform.LastPlaceholderFailure}");
            Assert.That(r, Is.EqualTo(PlatformResult.Ok), $"both blocks remapped: {platform.LastPlaceholderFailure}");
            Assert.That(status, Is.All.EqualTo(PageStatus.OnNode(0)), "each page reports its new node");
        }
        else
        {
            // Wine 8: VirtualAlloc2 rejects MEM_RESERVE_PLACEHOLDER (ERROR_INVALID_PARAMETER), so the memory came from VirtualAllocExNuma.
            Assert.That(platform.IsMovable(m.Address), Is.False, "no placeholders, no remappable memory");
            Assert.That(r, Is.EqualTo(new PlatformResult(Errno.None, 2)), "the call succeeds with both pages left behind");
            Assert.That(status, Is.All.EqualTo(PageStatus.Failed(Errno.EOPNOTSUPP)), "a clear not-supported per page");
        }

        bool same = true;
        for (int i = 0; i < data.Length; i++)
        {
            same &= data[i] == (byte)(i * 7);
        }

        Assert.That(same, Is.True, "the data is intact at the same address");
        platform.QueryPages(0, pages, status);
        Assert.That(status, Is.All.EqualTo(PageStatus.OnNode(0)), "the pages are resident on node 0");
        platform.Free(m);
    }

    [Test]
    public unsafe void MemoryThePlatformDoesNotOwnCannotMove()
    {
        using var platform = new WindowsPlatform { TestHookAlwaysMove = true };
        byte[] buffer = GC.AllocateArray<byte>(8192, pinned: true);
        buffer.AsSpan().Fill(1);
        nint page = ((nint)Unsafe.AsPointer(ref buffer[0]) + 4095) & ~(nint)4095;
        var status = new PageStatus[1];

        PlatformResult r = platform.MovePages(0, [page], [0], status);

        Assert.That(r.Error, Is.EqualTo(Errno.None), "a page that cannot move fails alone");
        Assert.That(status[0], Is.EqualTo(PageStatus.Failed(Errno.EOPNOTSUPP)), "managed memory is not the platform's to move");
        GC.KeepAlive(buffer);
    }

    [Test]
    public void OwnPidIsThisProcess()
    {
        using var platform = new WindowsPlatform();
        NodeMemory m = platform.AllocateOnNode(4096, 0);
        var status = new PageStatus[1];

        PlatformResult r = platform.QueryPages(Environment.ProcessId, [m.Address], status);

        Assert.That((r, status[0]), Is.EqualTo((PlatformResult.Ok, PageStatus.OnNode(0))), "QueryWorkingSetEx through the own pid");
        platform.Free(m);
    }
}

/// <summary>Struct sizes and bit fields of the Windows bindings against the SDK's x64 layout (runs anywhere).</summary>
[TestFixture]
public class WindowsLayoutTests
{
    [Test]
    public void StructSizesMatchTheSdk()
    {
        Assert.That(Unsafe.SizeOf<GROUP_AFFINITY>(), Is.EqualTo(16), "GROUP_AFFINITY");
        Assert.That(Unsafe.SizeOf<PROCESSOR_NUMBER>(), Is.EqualTo(4), "PROCESSOR_NUMBER");
        Assert.That(Unsafe.SizeOf<PSAPI_WORKING_SET_EX_INFORMATION>(), Is.EqualTo(16), "PSAPI_WORKING_SET_EX_INFORMATION");
        Assert.That(Unsafe.SizeOf<MEM_EXTENDED_PARAMETER>(), Is.EqualTo(16), "MEM_EXTENDED_PARAMETER");
        Assert.That(Unsafe.SizeOf<MEMORY_BASIC_INFORMATION>(), Is.EqualTo(48), "MEMORY_BASIC_INFORMATION");
        Assert.That(Unsafe.SizeOf<SYSTEM_INFO>(), Is.EqualTo(48), "SYSTEM_INFO");
        Assert.That(Unsafe.SizeOf<HANDLE>(), Is.EqualTo(8), "HANDLE");
        Assert.That(Unsafe.SizeOf<BOOL>(), Is.EqualTo(4), "BOOL");
    }

    [Test]
    public void WorkingSetBlockBitsDecode()
    {
        // Valid, ShareCount 2, protection PAGE_READWRITE (4), node 5, locked.
        var block = new PSAPI_WORKING_SET_EX_BLOCK { Flags = 1 | (2 << 1) | (4 << 4) | (5 << 16) | (1 << 22) };

        Assert.That((block.Valid, block.ShareCount, block.Win32Protection, block.Node, block.Locked, block.Shared), Is.EqualTo((true, 2u, 4u, 5u, true, false)), "bit positions of psapi.h");
    }
}
