using System.Numerics;

namespace HotPage.Engine.Bitmaps;

public sealed partial class PageBitmap
{
    /// <summary>The set bits of a bitmap from a position, for <c>foreach</c>; a struct, so nothing is allocated.</summary>
    public readonly struct SetBitEnumerable
    {
        private readonly PageBitmap _bitmap;
        private readonly long _from;

        internal SetBitEnumerable(PageBitmap bitmap, long from)
        {
            _bitmap = bitmap;
            _from = from;
        }

        /// <summary>An enumerator positioned before the first set bit at or after the start.</summary>
        public SetBitEnumerator GetEnumerator() => new(_bitmap, _from);
    }

    /// <summary>
    /// Walks the set bits in increasing order: it keeps the rest of the current word and asks the
    /// summaries for the next non-zero word, so a word is read once and empty stretches not at all.
    /// </summary>
    public struct SetBitEnumerator
    {
        private readonly PageBitmap _bitmap;
        private nuint _word;
        private ulong _bits;
        private long _current;
        private bool _done;

        internal SetBitEnumerator(PageBitmap bitmap, long from)
        {
            _bitmap = bitmap;
            _current = -1;
            if (from >= bitmap._length)
            {
                _done = true;
                return;
            }

            _word = (nuint)((ulong)from >> WordShift);
            _bits = bitmap.ReadWord(_word) & (ulong.MaxValue << (int)(from & BitMask));
        }

        /// <summary>The set bit the enumerator is on.</summary>
        public readonly long Current => _current;

        /// <summary>Moves to the next set bit; false when there is none.</summary>
        public bool MoveNext()
        {
            while (_bits == 0)
            {
                if (_done)
                {
                    return false;
                }

                long next = _bitmap.NextNonZeroWord(_word + 1);
                if (next < 0)
                {
                    _done = true;
                    return false;
                }

                _word = (nuint)next;
                _bits = _bitmap.ReadWord(_word);
            }

            _current = ((long)_word << WordShift) + BitOperations.TrailingZeroCount(_bits);
            _bits &= _bits - 1;
            return true;
        }
    }
}
