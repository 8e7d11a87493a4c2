namespace HotPage.Interop.Platform;

/// <summary>
/// The one interface through which HotPage touches the operating system's memory placement:
/// topology and tiers, the current CPU and node, page residency, page moves and node-local
/// allocation. Implementations: <c>LinuxPlatform</c> (move_pages, sysfs, pagemap),
/// <c>WindowsPlatform</c> (NUMA APIs, QueryWorkingSetEx) and <c>SimulatedPlatform</c>
/// (deterministic tiers for tests and the lab).
/// </summary>
/// <remarks>
/// Contract for the paths the engine runs in steady state (<see cref="QueryPages"/>,
/// <see cref="MovePages"/>, <see cref="GetFreeBytes"/>): they never throw for per-page
/// outcomes and never allocate; each page gets a <see cref="PageStatus"/> and the call as a
/// whole returns a <see cref="PlatformResult"/>. Setup calls (topology, allocation) may throw
/// with a message naming the call, the pid and the node.
/// </remarks>
public interface IMemoryPlatform : IDisposable
{
    /// <summary>A short name for logs ("linux", "windows", "simulated").</summary>
    string Name { get; }

    /// <summary>The base page size in bytes (4096 on x86-64).</summary>
    int PageSize { get; }

    /// <summary>The machine's nodes, distances and tiers. Read once; cached by the caller.</summary>
    NumaTopology GetTopology();

    /// <summary>The CPU the calling thread runs on now.</summary>
    int GetCurrentCpu();

    /// <summary>The node of the CPU the calling thread runs on now.</summary>
    int GetCurrentNode();

    /// <summary>Free bytes on <paramref name="node"/> now, or -1 when the node does not exist.</summary>
    long GetFreeBytes(int node);

    /// <summary>
    /// Bytes of free memory the operating system itself keeps on <paramref name="node"/> (on Linux
    /// the high watermarks of the node's zones: below them kswapd reclaims, and the kernel's own
    /// promotion stops there); a promotion that eats into them is refused or undone. 0 where the
    /// platform has no such reserve or cannot tell.
    /// </summary>
    long GetReservedBytes(int node) => 0;

    /// <summary>
    /// Which node each page is on. <paramref name="pid"/> 0 is the calling process.
    /// <paramref name="status"/>[i] receives the node of <paramref name="pages"/>[i] or a
    /// negated errno (<c>-ENOENT</c>: not present; <c>-EFAULT</c>: not mapped).
    /// </summary>
    PlatformResult QueryPages(int pid, ReadOnlySpan<nint> pages, Span<PageStatus> status);

    /// <summary>
    /// Moves each page of <paramref name="pages"/> to the node named at the same index of
    /// <paramref name="nodes"/>. <paramref name="status"/>[i] receives the page's node after
    /// the call or a negated errno (<c>-ENOMEM</c>, <c>-EBUSY</c>, <c>-EFAULT</c>, <c>-ENOENT</c>,
    /// <c>-EACCES</c>, ...). The call-level result reports whole-call failures (no such process,
    /// not permitted, no such node).
    /// </summary>
    PlatformResult MovePages(int pid, ReadOnlySpan<nint> pages, ReadOnlySpan<int> nodes, Span<PageStatus> status);

    /// <summary>Allocates <paramref name="bytes"/> (rounded up to pages) placed on <paramref name="node"/>.</summary>
    /// <exception cref="OutOfMemoryException">The allocation failed; the message names bytes, node and errno.</exception>
    NodeMemory AllocateOnNode(nuint bytes, int node);

    /// <summary>Releases memory from <see cref="AllocateOnNode"/>.</summary>
    void Free(NodeMemory memory);
}

/// <summary>The call-level outcome of a platform call: success, or an errno naming why the whole call failed.</summary>
/// <param name="Error">The errno; <see cref="Errno.None"/> on success.</param>
/// <param name="Count">For a move: pages that did not end on their target node (the kernel's return value); else 0.</param>
public readonly record struct PlatformResult(Errno Error, int Count)
{
    /// <summary>Success with no pages left behind.</summary>
    public static PlatformResult Ok => default;

    /// <summary>True when the call as a whole succeeded (pages may still have failed one by one).</summary>
    public bool IsSuccess => Error == Errno.None;
}

/// <summary>
/// A block of memory placed on a node: the address a caller uses, and its length. A value, not
/// an owner: the platform that returned it frees it.
/// </summary>
/// <param name="Address">The first byte (page aligned).</param>
/// <param name="Length">The length in bytes (a whole number of pages).</param>
/// <param name="Node">The node it was placed on.</param>
public readonly record struct NodeMemory(nint Address, nuint Length, int Node);
