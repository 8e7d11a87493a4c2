using System.Runtime.CompilerServices;

namespace HotPage.Engine.Tables;

/// <summary>
/// Maps (pid, address) to a table index and back. Registration (rare) builds a new sorted array
/// and publishes it; lookups (every record) read the published array without locks or allocation.
/// Table indices come from a first-fit free list over the table's capacity.
/// </summary>
internal sealed class RegionMap
{
    private const int PageShift = 12;
    private readonly object _writeLock = new();
    private readonly long _capacity;
    // Sorted by (Pid, Base). Replaced, never mutated, once published; _byIndex is the same set
    // sorted by FirstPage, published before _regions so a reader that sees a region can resolve it.
    private Region[] _regions = [];
    private Region[] _byIndex = [];
    // Free index ranges (start, count), sorted by start.
    private readonly List<(long Start, long Count)> _free;
    private int _nextId = 1;

    public RegionMap(long capacity)
    {
        _capacity = capacity;
        _free = [(0, capacity)];
    }

    /// <summary>The table's capacity in pages.</summary>
    public long Capacity => _capacity;

    /// <summary>The regions now registered (a snapshot).</summary>
    public IReadOnlyList<Region> Regions => Volatile.Read(ref _regions);

    /// <summary>Pages not assigned to any region.</summary>
    public long FreePages
    {
        get
        {
            lock (_writeLock)
            {
                long sum = 0;
                foreach ((long _, long count) in _free)
                {
                    sum += count;
                }

                return sum;
            }
        }
    }

    /// <summary>Adds a region. Throws with a message naming what is wrong when it overlaps, is misaligned or does not fit.</summary>
    public Region Add(int pid, ulong baseAddress, ulong length)
    {
        if (pid < 0)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(pid), pid, $"pid {pid} is negative.");
        }

        if ((baseAddress & 4095) != 0 || (length & 4095) != 0 || length == 0)
        {
            ThrowHelper.ThrowArgument(nameof(baseAddress), $"A region must start on a page boundary and cover whole pages: base 0x{baseAddress:x}, length {length}.");
        }

        if (baseAddress + length < baseAddress)
        {
            ThrowHelper.ThrowArgument(nameof(length), $"The region 0x{baseAddress:x}+{length} wraps around the address space.");
        }

        long pages = (long)(length >> PageShift);
        lock (_writeLock)
        {
            Region[] current = _regions;
            foreach (Region r in current)
            {
                if (r.Pid == pid && baseAddress < r.End && r.Base < baseAddress + length)
                {
                    ThrowHelper.ThrowArgument(nameof(baseAddress), $"The region 0x{baseAddress:x}+{length} (pid {pid}) overlaps region {r.Id} at 0x{r.Base:x}+{r.Length}.");
                }
            }

            int slot = _free.FindIndex(f => f.Count >= pages);
            if (slot < 0)
            {
                long free = 0;
                foreach ((long _, long freeCount) in _free)
                {
                    free += freeCount;
                }

                ThrowHelper.ThrowInvalidOperation($"The region 0x{baseAddress:x}+{length} needs {pages} table pages but only {free} of max_tracked_pages={_capacity} are free (or not in one piece); raise max_tracked_pages.");
            }

            (long start, long count) = _free[slot];
            if (count == pages)
            {
                _free.RemoveAt(slot);
            }
            else
            {
                _free[slot] = (start + pages, count - pages);
            }

            var region = new Region(_nextId++, pid, baseAddress, length, start);
            var next = new Region[current.Length + 1];
            current.CopyTo(next, 0);
            next[^1] = region;
            Publish(next);
            return region;
        }
    }

    /// <summary>Removes a region by id; its table range returns to the free list. Returns false when no such region.</summary>
    public bool Remove(int id, out Region removed)
    {
        lock (_writeLock)
        {
            Region[] current = _regions;
            int index = Array.FindIndex(current, r => r.Id == id);
            if (index < 0)
            {
                removed = default;
                return false;
            }

            removed = current[index];
            Publish(current.Where((_, i) => i != index).ToArray());
            _free.Add((removed.FirstPage, removed.PageCount));
            _free.Sort((a, b) => a.Start.CompareTo(b.Start));
            for (int i = _free.Count - 1; i > 0; i--)
            {
                if (_free[i - 1].Start + _free[i - 1].Count == _free[i].Start)
                {
                    _free[i - 1] = (_free[i - 1].Start, _free[i - 1].Count + _free[i].Count);
                    _free.RemoveAt(i);
                }
            }

            return true;
        }
    }

    private void Publish(Region[] next)
    {
        Array.Sort(next, static (a, b) => a.Pid != b.Pid ? a.Pid.CompareTo(b.Pid) : a.Base.CompareTo(b.Base));
        Region[] byIndex = (Region[])next.Clone();
        Array.Sort(byIndex, static (a, b) => a.FirstPage.CompareTo(b.FirstPage));
        Volatile.Write(ref _byIndex, byIndex);
        Volatile.Write(ref _regions, next);
    }

    /// <summary>The published regions sorted by (pid, base): replaced on every change, never mutated, so a reader may keep it and compare references to learn of a change.</summary>
    public Region[] Published
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Volatile.Read(ref _regions);
    }

    /// <summary>The table index of the page holding <paramref name="address"/> in <paramref name="pid"/>, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long Lookup(int pid, ulong address)
    {
        Region[] regions = Volatile.Read(ref _regions);
        int i = Find(regions, pid, address);
        if (i < 0)
        {
            return -1;
        }

        ref readonly Region r = ref regions[i];
        return r.FirstPage + (long)((address - r.Base) >> PageShift);
    }

    /// <summary>The index in <paramref name="regions"/> (a <see cref="Published"/> array) of the region holding <paramref name="address"/> in <paramref name="pid"/>, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Find(Region[] regions, int pid, ulong address)
    {
        // Embedders register a few regions: a short linear scan beats a binary search there.
        if (regions.Length <= 4)
        {
            for (int i = 0; i < regions.Length; i++)
            {
                ref readonly Region r = ref regions[i];
                if (r.Pid == pid && unchecked(address - r.Base) < r.Length)
                {
                    return i;
                }
            }

            return -1;
        }

        return FindSorted(regions, pid, address);
    }

    /// <summary>
    /// In <paramref name="regions"/> (a <see cref="Published"/> array), the registered pages from <paramref name="address"/> on, at most <paramref name="remaining"/>
    /// base pages: the table index of the first and, in <paramref name="run"/>, how many follow in
    /// one region (their indices are consecutive); or -1 with <paramref name="run"/> 1 when the page
    /// at <paramref name="address"/> is not registered. One region search per region a folio
    /// crosses instead of one per base page; the pages are exactly those a per-page lookup finds.
    /// </summary>
    public static long Run(Region[] regions, int pid, ulong address, int remaining, out int run)
    {
        int r = Find(regions, pid, address);
        if (r < 0)
        {
            run = 1;
            return -1;
        }

        ref readonly Region region = ref regions[r];
        ulong offset = address - region.Base;
        // Base pages at address, address + 4096, ... below the region's end (offset < Length).
        ulong inRegion = ((region.Length - offset - 1) >> PageShift) + 1;
        run = (int)Math.Min((ulong)remaining, inRegion);
        return region.FirstPage + (long)(offset >> PageShift);
    }

    private static int FindSorted(Region[] regions, int pid, ulong address)
    {
        int lo = 0, hi = regions.Length - 1, found = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            ref readonly Region r = ref regions[mid];
            if (r.Pid < pid || (r.Pid == pid && r.Base <= address))
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        if (found >= 0)
        {
            ref readonly Region r = ref regions[found];
            if (r.Pid == pid && unchecked(address - r.Base) < r.Length)
            {
                return found;
            }
        }

        return -1;
    }

    /// <summary>The region holding table index <paramref name="page"/>, with the page's address; false when none does.</summary>
    public bool TryResolve(long page, out Region region, out ulong address)
    {
        Region[] regions = Volatile.Read(ref _byIndex);
        int lo = 0, hi = regions.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            ref readonly Region r = ref regions[mid];
            if (page < r.FirstPage)
            {
                hi = mid - 1;
            }
            else if (page >= r.FirstPage + r.PageCount)
            {
                lo = mid + 1;
            }
            else
            {
                region = r;
                address = r.Base + ((ulong)(page - r.FirstPage) << PageShift);
                return true;
            }
        }

        region = default;
        address = 0;
        return false;
    }
}
