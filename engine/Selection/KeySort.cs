namespace HotPage.Engine.Selection;

/// <summary>A natural merge sort of distinct 64-bit keys, descending: linear on input made of a few monotone runs.</summary>
internal static class KeySort
{
    /// <summary>
    /// Sorts <paramref name="keys"/> descending, using <paramref name="scratch"/> (as long as the
    /// keys) as the other half of each merge pass. Ascending runs are reversed first, so input that
    /// is sorted either way costs one pass; otherwise each pass merges adjacent descending runs.
    /// </summary>
    public static void SortDescending(Span<ulong> keys, Span<ulong> scratch)
    {
        int n = keys.Length;
        int runs = 0;
        for (int i = 0; i < n;)
        {
            int j = i + 1;
            if (j < n && keys[j] > keys[i])
            {
                while (j < n && keys[j] > keys[j - 1])
                {
                    j++;
                }

                keys[i..j].Reverse();
            }
            else
            {
                while (j < n && keys[j] <= keys[j - 1])
                {
                    j++;
                }
            }

            runs++;
            i = j;
        }

        if (runs <= 1)
        {
            return;
        }

        Span<ulong> from = keys, to = scratch;
        bool inKeys = true;
        while (true)
        {
            int merged = 0;
            for (int i = 0; i < n;)
            {
                int mid = RunEnd(from, i);
                int end = mid < n ? RunEnd(from, mid) : n;
                Merge(from[i..mid], from[mid..end], to[i..end]);
                merged++;
                i = end;
            }

            Span<ulong> t = from;
            from = to;
            to = t;
            inKeys = !inKeys;
            if (merged == 1)
            {
                break;
            }
        }

        if (!inKeys)
        {
            from.CopyTo(keys);
        }
    }

    // The end of the non-increasing run that starts at i.
    private static int RunEnd(Span<ulong> s, int i)
    {
        int j = i + 1;
        while (j < s.Length && s[j] <= s[j - 1])
        {
            j++;
        }

        return j;
    }

    private static void Merge(Span<ulong> a, Span<ulong> b, Span<ulong> to)
    {
        int i = 0, j = 0, k = 0;
        while (i < a.Length && j < b.Length)
        {
            to[k++] = a[i] >= b[j] ? a[i++] : b[j++];
        }

        a[i..].CopyTo(to[k..]);
        b[j..].CopyTo(to[(k + a.Length - i)..]);
    }
}
