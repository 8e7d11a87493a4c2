using System.Numerics;

namespace HotPage.Engine.Sources;

/// <summary>
/// A fixed-length set of page indices for the scan sources (pages marked idle, pages seen).
/// </summary>
/// <remarks>
/// The seam for <c>engine/Bitmaps/PageBitmap</c> (the bitmap issue): the sources use only
/// <see cref="Set"/>, <see cref="Clear"/>, <see cref="IsSet"/>, <see cref="PopCount"/> and
/// <see cref="ClearAll"/>, which PageBitmap has under the same names, so switching is a change of
/// this one class's body. Until then a plain word array (the sources walk pages in order, so no
/// summary level is needed here).
/// </remarks>
internal sealed class PageSet
{
    private readonly ulong[] _words;

    /// <summary>Creates an empty set of <paramref name="length"/> pages.</summary>
    public PageSet(long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Length = length;
        _words = new ulong[(length + 63) >> 6];
    }

    /// <summary>The number of pages the set spans.</summary>
    public long Length { get; }

    /// <summary>Adds page <paramref name="index"/>.</summary>
    public void Set(long index) => _words[index >> 6] |= 1UL << (int)(index & 63);

    /// <summary>Removes page <paramref name="index"/>.</summary>
    public void Clear(long index) => _words[index >> 6] &= ~(1UL << (int)(index & 63));

    /// <summary>True when page <paramref name="index"/> is in the set.</summary>
    public bool IsSet(long index) => (_words[index >> 6] & (1UL << (int)(index & 63))) != 0;

    /// <summary>The number of pages in the set.</summary>
    public long PopCount()
    {
        long n = 0;
        foreach (ulong w in _words)
        {
            n += BitOperations.PopCount(w);
        }

        return n;
    }

    /// <summary>Empties the set.</summary>
    public void ClearAll() => Array.Clear(_words);
}
