namespace HotPage.Engine.Sources;

/// <summary>
/// Physical pages of one process, sorted by PFN, with their virtual addresses: what turns a DAMON
/// <c>paddr</c> region back into the process's pages, and what gives the physical ranges to monitor.
/// </summary>
public sealed class PfnReverseMap
{
    private readonly ulong[] _pfns;
    private readonly ulong[] _addresses;

    /// <summary>Builds the map from (pfn, virtual address) pairs in any order; PFN 0 (hidden or absent) is skipped.</summary>
    public PfnReverseMap(ReadOnlySpan<(ulong Pfn, ulong Address)> pages)
    {
        var pairs = new List<(ulong Pfn, ulong Address)>(pages.Length);
        foreach ((ulong pfn, ulong address) in pages)
        {
            if (pfn != 0)
            {
                pairs.Add((pfn, address));
            }
        }

        pairs.Sort((a, b) => a.Pfn.CompareTo(b.Pfn));
        _pfns = pairs.Select(p => p.Pfn).ToArray();
        _addresses = pairs.Select(p => p.Address).ToArray();
    }

    /// <summary>Pages in the map.</summary>
    public int Count => _pfns.Length;

    /// <summary>
    /// Physical byte ranges covering every page, at most <paramref name="maxRanges"/>: runs of
    /// contiguous PFNs, with the smallest gaps between runs merged until few enough remain.
    /// </summary>
    public List<(ulong Start, ulong End)> PhysicalRanges(int maxRanges)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxRanges);
        var runs = new List<(ulong First, ulong Last)>();
        foreach (ulong pfn in _pfns)
        {
            if (runs.Count > 0 && pfn <= runs[^1].Last + 1)
            {
                runs[^1] = (runs[^1].First, Math.Max(pfn, runs[^1].Last));
            }
            else
            {
                runs.Add((pfn, pfn));
            }
        }

        if (runs.Count > maxRanges)
        {
            // Keep the (maxRanges - 1) widest gaps; merge across the rest.
            var gaps = new List<(ulong Gap, int After)>(runs.Count - 1);
            for (int i = 0; i + 1 < runs.Count; i++)
            {
                gaps.Add((runs[i + 1].First - runs[i].Last, i));
            }

            var keep = new HashSet<int>(gaps.OrderByDescending(g => g.Gap).ThenBy(g => g.After).Take(maxRanges - 1).Select(g => g.After));
            var merged = new List<(ulong First, ulong Last)>();
            (ulong First, ulong Last) cur = runs[0];
            for (int i = 0; i + 1 < runs.Count; i++)
            {
                if (keep.Contains(i))
                {
                    merged.Add(cur);
                    cur = runs[i + 1];
                }
                else
                {
                    cur = (cur.First, runs[i + 1].Last);
                }
            }

            merged.Add(cur);
            runs = merged;
        }

        return runs.Select(r => (r.First << 12, (r.Last + 1) << 12)).ToList();
    }

    /// <summary>Calls <paramref name="visit"/> with the virtual address of every page whose physical address lies in [<paramref name="start"/>, <paramref name="end"/>); returns how many.</summary>
    public int ForEachIn(ulong start, ulong end, Action<ulong> visit)
    {
        ArgumentNullException.ThrowIfNull(visit);
        ulong firstPfn = start >> 12, endPfn = (end + 4095) >> 12;
        int i = LowerBound(firstPfn);
        int n = 0;
        for (; i < _pfns.Length && _pfns[i] < endPfn; i++, n++)
        {
            visit(_addresses[i]);
        }

        return n;
    }

    private int LowerBound(ulong pfn)
    {
        int lo = 0, hi = _pfns.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_pfns[mid] < pfn)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }
}
