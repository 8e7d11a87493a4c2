using System.Runtime.Intrinsics.X86;
using HotPage.Engine.Native;
using HotPage.Engine.Selection;

namespace HotPage.Engine.Tables;

/// <summary>
/// The stack selection strategy (<see cref="CandidateSelection.Stacks"/>): the heap's keys and
/// protocol (a candidate has exactly one valid entry, the one matching its word's frequency and
/// target; stale entries are discarded when popped or compacted away; <c>max_candidates</c>
/// entries per node, compaction under the same 1/16 rule, else the push is dropped and counted
/// <c>kpromoted_dropped</c>), kept in per-frequency LIFO stacks (<see cref="CandidateStacks"/>)
/// instead of a max-heap. Every counter keeps its meaning. What differs is the order within a
/// frequency level: push order, latest first, instead of key order (see <see cref="CandidateStacks"/>);
/// the extracted batch is still sorted by frequency, then recency (<see cref="SortBatch"/>).
/// </summary>
internal sealed unsafe partial class HotnessTable
{
    // Null unless the table selects with stacks; then [n] is non-null exactly for top-tier nodes.
    private readonly CandidateStacks?[]? _stacks;

    private const int StackPrefetchDistance = 16;

    private static CandidateStacks?[] CreateStacks(IReadOnlyList<int> topTierNodes, int nodeIdLimit, long maxCandidates, NativeMemoryCounter counter)
    {
        var stacks = new CandidateStacks?[nodeIdLimit];
        try
        {
            foreach (int node in topTierNodes)
            {
                stacks[node] = new CandidateStacks(maxCandidates, counter);
            }
        }
        catch
        {
            foreach (CandidateStacks? s in stacks)
            {
                s?.Dispose();
            }

            throw;
        }

        return stacks;
    }

    private bool TryGetStacks(int node, out CandidateStacks? stacks)
    {
        CandidateStacks?[] all = _stacks!;
        stacks = unchecked((uint)node) < (uint)all.Length ? all[node] : null;
        return stacks is not null;
    }

    private long StackEntries(int node) => TryGetStacks(node, out CandidateStacks? s) ? s!.Count : 0;

    private bool PushOnStacks(int target, ulong key)
    {
        CandidateStacks? stacks = _stacks![target];
        if (stacks is null)
        {
            return RefuseTarget();
        }

        if (stacks.TryPush(key))
        {
            RecordsHeap++;
            return true;
        }

        // Full: the heap's rule (PushEntry). Compaction keeps each level's order.
        if (CompactionPays(stacks.Count, stacks.Capacity, target))
        {
            var filter = new ValidEntry(this, target);
            StaleDiscarded += stacks.Compact(ref filter);
            if (stacks.TryPush(key))
            {
                RecordsHeap++;
                return true;
            }
        }

        HeapFullDropped++;
        return false;
    }

    // Pops a round into keys[count..] (highest level first, latest push first: a copy of a run per
    // segment, no table access) and prefetches the word and candidate bits of its first
    // StackPrefetchDistance keys; AcceptRound prefetches the rest that far ahead as it validates.
    // Prefetching the whole round at once (or loading its words in one loop, as the bitmap path
    // does) measured 20-25 µs per 512-page batch against 16-17 µs for this: a stack round's pages
    // are random over the table, and a burst of 1024 misses queues behind the few the core can
    // have in flight, while a distance of 8-16 keeps the misses overlapped with the validation.
    private int PopFromStacks(CandidateStacks stacks, Span<ulong> keys, int count)
    {
        int popped = count + stacks.Pop(keys[count..]);
        if (Sse.IsSupported)
        {
            for (int i = count; i < Math.Min(popped, count + StackPrefetchDistance); i++)
            {
                Prefetch(CandidateHeap.KeyPage(keys[i]));
            }
        }

        return popped;
    }

    private void DisposeStacks()
    {
        if (_stacks is null)
        {
            return;
        }

        foreach (CandidateStacks? s in _stacks)
        {
            s?.Dispose();
        }
    }
}
