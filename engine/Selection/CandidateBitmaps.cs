using HotPage.Engine.Bitmaps;
using HotPage.Engine.Native;
using HotPage.Engine.Tables;

namespace HotPage.Engine.Selection;

/// <summary>How the hotness table keeps and extracts promotion candidates (the <c>selection</c> tunable).</summary>
public enum CandidateSelection
{
    /// <summary>A bounded max-heap of keys per top-tier node (pghot's design): exact hottest-first by frequency, then recency.</summary>
    Heap = 0,

    /// <summary>
    /// A <see cref="PageBitmap"/> per frequency level per top-tier node: exact hottest-first by
    /// frequency, address order (from a rotating cursor) within a level; no capacity limit.
    /// </summary>
    Bitmap = 1,

    /// <summary>
    /// A LIFO stack of keys per frequency level per top-tier node, the levels sharing one pool of
    /// <c>max_candidates</c> entries (<see cref="CandidateStacks"/>): exact hottest-first by
    /// frequency; within a level by push order, latest first, which is the heap's recency order
    /// when pages reach the level in time order. The default.
    /// </summary>
    Stacks = 2,
}

/// <summary>
/// Candidate marking as bitmaps: for each top-tier target node, one <see cref="PageBitmap"/> per
/// frequency level 1..<see cref="PageWord.MaxFrequency"/> over the whole table. A candidate page
/// has its bit set in exactly one of them, the one of its word's target node and frequency (the
/// hotness table keeps that true when a word changes).
/// </summary>
/// <remarks>
/// <para>Why per-frequency bitmaps rather than one bitmap and a bounded scan: extraction walks
/// the levels from the highest frequency down and takes set bits in order, so a batch holds the
/// highest frequencies exactly, as the heap's does, with no key to keep and no stale entry; the
/// summary levels make taking a bit cost in proportion to the bits taken, not to the table. One
/// bitmap with a bounded scan would need a word read per scanned candidate to learn its frequency
/// and would miss hotter pages beyond the scan bound.</para>
/// <para>What it gives up: within a level the order is address order, not recency. Each
/// (node, level) keeps a cursor where its last extraction stopped and continues from there
/// (wrapping), so a level that refills faster than it drains is served round-robin rather than
/// low addresses first. The batch is not re-sorted by recency (see <c>HotnessTable.ExtractFromBitmaps</c>).</para>
/// <para>Memory: 7 bitmaps per top-tier node, each 1 + 1/64 + 1/4096 bits per tracked page:
/// <see cref="BytesPerPagePerNode"/> ≈ 0.89 B per tracked page per top-tier node, on top of the
/// table's 4.125 B, against the heap's 8 B × <c>max_candidates</c> per node. With one top-tier
/// node that is 5.02 B per tracked page: over issue 2's 4.2 B budget, which is why the default is
/// the stacks (<see cref="CandidateStacks"/>: the heap's keys and memory). No heap is allocated in this mode.</para>
/// <para>Threads: only the consumer (the thread holding the engine's consumer lock) calls this
/// class, as for the rest of the table, so marks are set and cleared with
/// <see cref="PageBitmap.SetExclusive"/> and <see cref="PageBitmap.ClearExclusive"/> (plain
/// stores; the atomic Set/Clear cost a locked instruction or three per mark).</para>
/// </remarks>
internal sealed class CandidateBitmaps : IDisposable
{
    private const int Levels = (int)PageWord.MaxFrequency;

    // [node * Levels + frequency - 1]; null for nodes that are not top tier.
    private readonly PageBitmap?[] _levels;
    private readonly long[] _cursors;

    public CandidateBitmaps(long capacity, IReadOnlyList<int> topTierNodes, int nodeIdLimit, NativeMemoryCounter counter)
    {
        _levels = new PageBitmap?[nodeIdLimit * Levels];
        _cursors = new long[nodeIdLimit * Levels];
        try
        {
            foreach (int node in topTierNodes)
            {
                for (int l = 0; l < Levels; l++)
                {
                    _levels[(node * Levels) + l] = new PageBitmap(capacity, counter);
                }
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Bytes of bitmap per tracked page and top-tier node (7 levels, words and summaries).</summary>
    public static double BytesPerPagePerNode => Levels * (1.0 + (1.0 / 64) + (1.0 / 4096)) / 8;

    /// <summary>True when <paramref name="node"/> has bitmaps (is a top-tier node).</summary>
    public bool HasNode(int node) => unchecked((uint)node) < (uint)(_levels.Length / Levels) && _levels[node * Levels] is not null;

    /// <summary>Marks <paramref name="page"/> as a candidate of <paramref name="node"/> at <paramref name="frequency"/>; false (nothing marked) when the node has no bitmaps.</summary>
    public bool TryAdd(int node, uint frequency, long page)
    {
        PageBitmap? level = _levels[(node * Levels) + (int)frequency - 1];
        if (level is null)
        {
            return false;
        }

        level.SetExclusive(page);
        return true;
    }

    /// <summary>Unmarks <paramref name="page"/> at (<paramref name="node"/>, <paramref name="frequency"/>).</summary>
    public void Remove(int node, uint frequency, long page) => Level(node, frequency).ClearExclusive(page);

    /// <summary>
    /// Copies up to <paramref name="destination"/>.Length marked pages of (<paramref name="node"/>,
    /// <paramref name="frequency"/>) in address order from the level's cursor, wrapping once, and
    /// moves the cursor past the last one; does not unmark them. 0 when the level is empty.
    /// </summary>
    public int Peek(int node, uint frequency, Span<long> destination)
    {
        int slot = (node * Levels) + (int)frequency - 1;
        PageBitmap level = _levels[slot]!;
        long from = _cursors[slot];
        int n = level.CopySetBits(from, destination);
        if (n < destination.Length && from > 0)
        {
            // Wrap: the bits before the cursor; stop at the cursor so that no page comes twice.
            int more = level.CopySetBits(0, destination[n..]);
            int kept = 0;
            while (kept < more && destination[n + kept] < from)
            {
                kept++;
            }

            n += kept;
        }

        if (n > 0)
        {
            long next = destination[n - 1] + 1;
            _cursors[slot] = next >= level.Length ? 0 : next;
        }

        return n;
    }

    private PageBitmap Level(int node, uint frequency) => _levels[(node * Levels) + (int)frequency - 1]!;

    public void Dispose()
    {
        foreach (PageBitmap? b in _levels)
        {
            b?.Dispose();
        }
    }
}
