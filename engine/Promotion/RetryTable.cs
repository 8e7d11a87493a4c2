using System.Runtime.CompilerServices;

namespace HotPage.Engine.Promotion;

/// <summary>
/// Retry counts for busy pages (move status -EBUSY/-EAGAIN), in a fixed-size open-addressing
/// table so that counting a retry never allocates. When the table is full a busy page is
/// dropped instead of retried (counted by the caller). Entries are removed when the page moves,
/// is dropped, or goes away.
/// </summary>
internal sealed class RetryTable
{
    private const long EmptyKey = -1;
    private readonly long[] _keys;
    private readonly byte[] _counts;
    private readonly int _mask;
    private int _count;

    public RetryTable(int capacityPow2)
    {
        _keys = new long[capacityPow2];
        _counts = new byte[capacityPow2];
        _mask = capacityPow2 - 1;
        Array.Fill(_keys, EmptyKey);
    }

    public int Count => _count;

    /// <summary>
    /// True when <paramref name="inserts"/> more pages can be counted without any finding the table
    /// full, whatever is removed in between: the promoter may then settle a batch's removals late.
    /// </summary>
    public bool HasRoomFor(int inserts) => ((long)_count + inserts) * 4 <= (long)(_mask + 1) * 3;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Hash(long page) => (int)(unchecked((ulong)page * 0x9E3779B97F4A7C15UL) >> 40) & _mask;

    /// <summary>Adds one retry for <paramref name="page"/>; returns the count now, or -1 when the table is full.</summary>
    public int Increment(long page)
    {
        int i = Hash(page);
        for (int probe = 0; probe <= _mask; probe++, i = (i + 1) & _mask)
        {
            if (_keys[i] == page)
            {
                return _counts[i] = (byte)Math.Min(255, _counts[i] + 1);
            }

            if (_keys[i] == EmptyKey)
            {
                if (_count * 4 >= (_mask + 1) * 3)
                {
                    return -1;
                }

                _keys[i] = page;
                _counts[i] = 1;
                _count++;
                return 1;
            }
        }

        return -1;
    }

    /// <summary>Forgets <paramref name="page"/>'s retries (backward-shift deletion keeps probe chains intact).</summary>
    public void Remove(long page)
    {
        if (_count == 0)
        {
            return; // the common case: every page of a round moved, nothing was ever busy
        }

        int i = Hash(page);
        for (int probe = 0; probe <= _mask; probe++, i = (i + 1) & _mask)
        {
            if (_keys[i] == EmptyKey)
            {
                return;
            }

            if (_keys[i] == page)
            {
                break;
            }
        }

        if (_keys[i] != page)
        {
            return;
        }

        _count--;
        int hole = i;
        int j = (i + 1) & _mask;
        while (_keys[j] != EmptyKey)
        {
            int home = Hash(_keys[j]);
            // Move j into the hole when its home is not in the cyclic range (hole, j].
            bool between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
            if (!between)
            {
                _keys[hole] = _keys[j];
                _counts[hole] = _counts[j];
                hole = j;
            }

            j = (j + 1) & _mask;
        }

        _keys[hole] = EmptyKey;
        _counts[hole] = 0;
    }
}
