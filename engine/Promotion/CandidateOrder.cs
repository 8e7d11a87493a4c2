using System.Numerics;
using HotPage.Engine.Selection;
using HotPage.Engine.Tables;

namespace HotPage.Engine.Promotion;

/// <summary>
/// Orders a promotion batch by process, then ascending address: the grouping the promoter's one
/// move per process (and its folio runs) needs. Sorts one packed 64-bit key per candidate with
/// <see cref="KeySort"/> and gathers the candidates once, instead of sorting the 32-byte
/// candidates through a comparison delegate (that sort was the second largest per-page term of a
/// simulated round, perf/RESULTS.md).
/// </summary>
/// <remarks>
/// A batch of one process (the common case) is one sort of (address key, index) keys. A batch of
/// several is first sorted by (pid − smallest pid, index), at most 32 + 16 bits, then each
/// process's run by address. The address key is (address − the run's smallest) ≫ s, where s is
/// the number of low bits every address of the run shares (12 for page-aligned ones), so it is
/// exact, and with the index in the low bits every key is distinct, as <see cref="KeySort"/>
/// requires. Registered pages always fit (user addresses below 2^57: at most 45 address bits,
/// and at most 16 index bits for a batch of 65536); a run whose address range does not fit beside
/// its index (hand-made candidates only) takes two stable passes, on the low and the high 32 bits
/// of the difference. No comparison delegate is left. Candidates with equal (pid, address) keep
/// their batch order (the comparison sort did not promise one).
/// </remarks>
internal static class CandidateOrder
{
    /// <summary>
    /// Orders <paramref name="pages"/> by pid, then address, and returns the ordered candidates:
    /// either <paramref name="pages"/> itself or the first <c>pages.Length</c> entries of
    /// <paramref name="other"/>, whichever the last gather wrote; the other one is overwritten
    /// (working space). <paramref name="keys"/>, <paramref name="scratch"/> and
    /// <paramref name="other"/> must be at least as long as <paramref name="pages"/>. No allocation.
    /// </summary>
    public static Span<PromotionCandidate> ByProcessAndAddress(Span<PromotionCandidate> pages, Span<ulong> keys, Span<ulong> scratch, Span<PromotionCandidate> other)
    {
        int n = pages.Length;
        if (n <= 1)
        {
            return pages;
        }

        int minPid = int.MaxValue, maxPid = int.MinValue;
        for (int i = 0; i < n; i++)
        {
            minPid = Math.Min(minPid, pages[i].Pid);
            maxPid = Math.Max(maxPid, pages[i].Pid);
        }

        Span<PromotionCandidate> from = pages, to = other[..n];
        if (minPid == maxPid)
        {
            SortRun(from, keys[..n], scratch[..n], to);
            return to;
        }

        // Group by process first (a stable pass: the index breaks ties), then each group by address.
        int indexBits = IndexBits(n);
        for (int i = 0; i < n; i++)
        {
            keys[i] = ((ulong)((long)pages[i].Pid - minPid) << indexBits) | (uint)i;
        }

        KeySort.SortDescending(keys[..n], scratch[..n]);
        Gather(from, keys[..n], indexBits, to);
        Span<PromotionCandidate> grouped = to;
        to = from;
        from = grouped;
        for (int start = 0; start < n;)
        {
            int end = start + 1;
            while (end < n && from[end].Pid == from[start].Pid)
            {
                end++;
            }

            SortRun(from[start..end], keys[start..end], scratch[start..end], to[start..end]);
            start = end;
        }

        return to;
    }

    // Writes run (one process's candidates) to sorted by ascending address; run may be overwritten.
    private static void SortRun(Span<PromotionCandidate> run, Span<ulong> keys, Span<ulong> scratch, Span<PromotionCandidate> sorted)
    {
        int n = run.Length;
        ulong minAddress = ulong.MaxValue, maxAddress = 0, differ = 0;
        ulong first = run[0].Address;
        for (int i = 0; i < n; i++)
        {
            ulong address = run[i].Address;
            minAddress = Math.Min(minAddress, address);
            maxAddress = Math.Max(maxAddress, address);
            differ |= address ^ first;
        }

        // Low bits every address shares are 0 in every difference from the smallest: dropped.
        int shift = differ == 0 ? 0 : BitOperations.TrailingZeroCount(differ);
        int indexBits = IndexBits(n);
        int addressBits = 64 - BitOperations.LeadingZeroCount((maxAddress - minAddress) >> shift);
        if (addressBits + indexBits <= 64)
        {
            SortByAddressBits(run, keys, scratch, sorted, minAddress, shift, ulong.MaxValue, indexBits);
            return;
        }

        // Too wide beside the index (never for registered pages): two stable passes, the low half of
        // the difference first, then the high half, as a two-digit radix sort.
        SortByAddressBits(run, keys, scratch, sorted, minAddress, 0, uint.MaxValue, indexBits);
        SortByAddressBits(sorted, keys, scratch, run, minAddress, 32, uint.MaxValue, indexBits);
        run.CopyTo(sorted);
    }

    // Sorts by ((address - minAddress) >> shift) & mask, stably (the index breaks ties), from one buffer into the other.
    private static void SortByAddressBits(ReadOnlySpan<PromotionCandidate> from, Span<ulong> keys, Span<ulong> scratch, Span<PromotionCandidate> to, ulong minAddress, int shift, ulong mask, int indexBits)
    {
        for (int i = 0; i < from.Length; i++)
        {
            keys[i] = ((((from[i].Address - minAddress) >> shift) & mask) << indexBits) | (uint)i;
        }

        KeySort.SortDescending(keys, scratch);
        Gather(from, keys, indexBits, to);
    }

    // Bits for indices 0..n-1 (at least 1, so that a shift by them stays below 64 with a key beside them).
    private static int IndexBits(int n) => Math.Max(1, 64 - BitOperations.LeadingZeroCount((ulong)(n - 1)));

    // keys sorted descending, index in the low bits: writes the candidates in ascending key order.
    private static void Gather(ReadOnlySpan<PromotionCandidate> from, ReadOnlySpan<ulong> keys, int indexBits, Span<PromotionCandidate> to)
    {
        ulong indexMask = (1UL << indexBits) - 1;
        int last = keys.Length - 1;
        for (int j = 0; j <= last; j++)
        {
            to[j] = from[(int)(keys[last - j] & indexMask)];
        }
    }
}
