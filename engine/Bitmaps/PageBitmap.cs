using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using HotPage.Engine.Native;

namespace HotPage.Engine.Bitmaps;

/// <summary>
/// A set of page indices <c>[0, Length)</c> in native memory, with two summary levels so that
/// finding set bits costs in proportion to the set bits, not to <see cref="Length"/>.
/// </summary>
/// <remarks>
/// <para><b>Layout and invariants</b> (the one place they are written down).</para>
/// <list type="number">
/// <item>Words: word <c>w</c> holds bits <c>[64w, 64w + 64)</c>, bit <c>i</c> at position
/// <c>i &amp; 63</c>. Bits at or beyond <see cref="Length"/> in the last word are always zero.</item>
/// <item>Level 1: one bit per word. Bit <c>w</c> is set exactly when word <c>w</c> is non-zero.
/// Level 2: one bit per level-1 word. Bit <c>j</c> is set exactly when level-1 word <c>j</c> is
/// non-zero. Bits beyond the level's count are zero. For 2^28 pages (1 TiB of 4 KiB pages) the
/// words take 32 MiB, level 1 512 KiB, level 2 8 KiB: an empty scan reads 8 KiB.</item>
/// <item>The summaries are exact at every quiescent point (no <see cref="Set"/>/<see cref="Clear"/>
/// in flight); <see cref="VerifySummary"/> checks it. While a Set or Clear is in flight a summary
/// bit may briefly disagree with its word; see <c>SyncSummary</c> for why it cannot stay wrong.</item>
/// <item>Threads: <see cref="Set"/>, <see cref="Clear"/>, <see cref="TrySet"/>, <see cref="TryClear"/>
/// may run on any number of threads at once. Reads (<see cref="IsSet"/>, <see cref="FindNextSet"/>,
/// <see cref="SetBits"/>, <see cref="CopySetBits"/>, <see cref="PopCount"/>) may run beside them
/// and see each concurrently changed bit either before or after its change. Bulk operations
/// (<see cref="And"/>, <see cref="Or"/>, <see cref="AndNot"/>, <see cref="CopyFrom"/>,
/// <see cref="ClearAll"/>), <see cref="SetExclusive"/>, <see cref="ClearExclusive"/> and
/// <see cref="Dispose"/> need exclusive access (no other writer; the exclusive set and clear keep
/// the summaries exact with plain stores, so a bitmap one thread owns pays no locked instruction).</item>
/// </list>
/// <para>Why a bit per word and two levels, not a bit per 512-bit block and one level: a bit per
/// word ties each summary bit to one atomically updated word, so the Set/Clear protocol reasons
/// about one word and one bit; the second level keeps an empty scan of billions of pages under a
/// few hundred KiB (2^34 pages: 512 KiB) where one level would read 1/64 of the bitmap.</para>
/// </remarks>
public sealed unsafe partial class PageBitmap : IDisposable
{
    private const int WordShift = 6;
    private const int BitMask = 63;

    private readonly long _length;
    private readonly nuint _wordCount;
    private readonly nuint _level1Count;
    private readonly nuint _level2Count;
    private readonly bool _ownsMemory;
    private NativeMemoryCounter? _counter;
    private ulong* _words;
    private ulong* _level1;
    private ulong* _level2;

    /// <summary>A planted bug for the race harness (see <c>TestHookSkipConfirmation</c>); always false otherwise.</summary>
    private bool _testHookSkipConfirmation;

    /// <summary>A widened race window for the race harness (see <c>TestHookSyncDelay</c>); always 0 otherwise.</summary>
    private int _testHookSyncDelay;

    /// <summary>The managed thread id whose syncs <see cref="_testHookSyncDelay"/> slows down.</summary>
    private int _testHookSyncDelayThread;

    /// <summary>
    /// The length used by every bounds check: <see cref="Length"/> while alive, 0 once disposed,
    /// so that a use after <see cref="Dispose"/> fails the bounds check and the throw helper
    /// reports it, at no cost to the hot path.
    /// </summary>
    private ulong _limit;

    /// <summary>Creates an empty bitmap of <paramref name="length"/> bits in zeroed native memory.</summary>
    /// <param name="length">The number of pages the set can hold; fixed for the bitmap's lifetime.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is negative.</exception>
    /// <exception cref="OutOfMemoryException">The native memory could not be allocated.</exception>
    public PageBitmap(long length)
        : this(length, null)
    {
    }

    /// <summary>
    /// Creates an empty bitmap of <paramref name="length"/> bits in zeroed native memory whose
    /// bytes (<see cref="NativeBytes"/>) <paramref name="counter"/> counts until <see cref="Dispose"/>
    /// (the engine's and the sources' bitmaps: tests prove with the counter that every bitmap was freed).
    /// </summary>
    /// <param name="length">The number of pages the set can hold; fixed for the bitmap's lifetime.</param>
    /// <param name="counter">Counts the native bytes held; null counts nothing.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is negative.</exception>
    /// <exception cref="OutOfMemoryException">The native memory could not be allocated.</exception>
    public PageBitmap(long length, NativeMemoryCounter? counter)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        _length = length;
        _wordCount = WordsFor(length);
        _level1Count = BitmapLevels.CountAbove(_wordCount);
        _level2Count = BitmapLevels.CountAbove(_level1Count);
        _ownsMemory = true;
        try
        {
            _words = AllocateZeroed(_wordCount);
            _level1 = AllocateZeroed(_level1Count);
            _level2 = AllocateZeroed(_level2Count);
        }
        catch
        {
            FreeAll();
            throw;
        }

        _limit = (ulong)length;
        _counter = counter;
        counter?.Add(NativeBytes);
    }

    /// <summary>Wraps caller-owned zeroed arrays (test hooks: guard-page buffers); never frees them.</summary>
    private PageBitmap(long length, ulong* words, ulong* level1, ulong* level2)
    {
        _length = length;
        _wordCount = WordsFor(length);
        _level1Count = BitmapLevels.CountAbove(_wordCount);
        _level2Count = BitmapLevels.CountAbove(_level1Count);
        _words = words;
        _level1 = level1;
        _level2 = level2;
        _limit = (ulong)length;
    }

    /// <summary>Frees the native memory if <see cref="Dispose"/> was not called.</summary>
    ~PageBitmap() => FreeAll();

    /// <summary>The number of bits (pages), fixed at construction.</summary>
    public long Length => _length;

    /// <summary>Bytes of native memory held: the words and both summary levels.</summary>
    public long NativeBytes => (long)(_wordCount + _level1Count + _level2Count) * sizeof(ulong);

    /// <summary>True when no bit is set (reads level 2 only).</summary>
    public bool IsEmpty
    {
        get
        {
            ThrowIfDisposed();
            return BitmapKernels.IndexOfNonZero(ref *_level2, 0, _level2Count) < 0;
        }
    }

    /// <summary>Sets bit <paramref name="index"/>. Safe from any number of threads.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside <c>[0, Length)</c>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Set(long index) => _ = TrySet(index);

    /// <summary>
    /// Sets bit <paramref name="index"/>; true when this call changed it from clear to set (exactly
    /// one of several racing callers gets true). Safe from any number of threads.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside <c>[0, Length)</c>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TrySet(long index)
    {
        if (unchecked((ulong)index) >= _limit)
        {
            ThrowIndexOutOfRange(index);
        }

        nuint w = (nuint)((ulong)index >> WordShift);
        ulong bit = 1UL << (int)(index & BitMask);
        ref ulong word = ref _words[w];

        // Already set: nothing to write, and no cache line taken from other producers.
        if ((Volatile.Read(ref word) & bit) != 0)
        {
            return false;
        }

        ulong old = Interlocked.Or(ref word, bit);
        if (old == 0)
        {
            SyncSummary(w);
        }

        return (old & bit) == 0;
    }

    /// <summary>Clears bit <paramref name="index"/>. Safe from any number of threads.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside <c>[0, Length)</c>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Clear(long index) => _ = TryClear(index);

    /// <summary>
    /// Clears bit <paramref name="index"/>; true when this call changed it from set to clear.
    /// Safe from any number of threads.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside <c>[0, Length)</c>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryClear(long index)
    {
        if (unchecked((ulong)index) >= _limit)
        {
            ThrowIndexOutOfRange(index);
        }

        nuint w = (nuint)((ulong)index >> WordShift);
        ulong bit = 1UL << (int)(index & BitMask);
        ref ulong word = ref _words[w];
        if ((Volatile.Read(ref word) & bit) == 0)
        {
            return false;
        }

        ulong old = Interlocked.And(ref word, ~bit);
        if (old == bit)
        {
            SyncSummary(w);
        }

        return (old & bit) != 0;
    }

    /// <summary>
    /// Sets bit <paramref name="index"/> with plain stores (no locked instruction), keeping the
    /// summaries exact. Only for a bitmap that one thread owns: no other thread may set, clear or
    /// bulk-update it at the same time (the hotness table's candidate bitmaps, which only the
    /// engine's consumer touches). Reads from other threads see the same states as with
    /// <see cref="Set"/>, except that the word and its summary bits change in separate stores.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside <c>[0, Length)</c>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetExclusive(long index)
    {
        if (unchecked((ulong)index) >= _limit)
        {
            ThrowIndexOutOfRange(index);
        }

        nuint w = (nuint)((ulong)index >> WordShift);
        ref ulong word = ref _words[w];
        ulong old = word;
        word = old | (1UL << (int)(index & BitMask));
        if (old == 0)
        {
            nuint j = w >> WordShift;
            ulong l1 = _level1[j];
            _level1[j] = l1 | (1UL << (int)(w & BitMask));
            if (l1 == 0)
            {
                _level2[j >> WordShift] |= 1UL << (int)(j & BitMask);
            }
        }
    }

    /// <summary>
    /// Clears bit <paramref name="index"/> with plain stores, keeping the summaries exact. The same
    /// single-owner rule as <see cref="SetExclusive"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside <c>[0, Length)</c>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ClearExclusive(long index)
    {
        if (unchecked((ulong)index) >= _limit)
        {
            ThrowIndexOutOfRange(index);
        }

        nuint w = (nuint)((ulong)index >> WordShift);
        ref ulong word = ref _words[w];
        ulong old = word;
        ulong bit = 1UL << (int)(index & BitMask);
        if (old == bit)
        {
            word = 0;
            nuint j = w >> WordShift;
            ulong l1 = _level1[j] & ~(1UL << (int)(w & BitMask));
            _level1[j] = l1;
            if (l1 == 0)
            {
                _level2[j >> WordShift] &= ~(1UL << (int)(j & BitMask));
            }
        }
        else
        {
            word = old & ~bit;
        }
    }

    /// <summary>True when bit <paramref name="index"/> is set.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside <c>[0, Length)</c>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsSet(long index)
    {
        if (unchecked((ulong)index) >= _limit)
        {
            ThrowIndexOutOfRange(index);
        }

        return (Volatile.Read(ref _words[(nuint)((ulong)index >> WordShift)]) & (1UL << (int)(index & BitMask))) != 0;
    }

    /// <summary>
    /// The first set bit at or after <paramref name="from"/>, or -1 when there is none;
    /// <paramref name="from"/> may equal <see cref="Length"/> (then -1).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="from"/> is outside <c>[0, Length]</c>.</exception>
    public long FindNextSet(long from)
    {
        if (CheckFrom(from))
        {
            return -1;
        }

        nuint w = (nuint)((ulong)from >> WordShift);
        ulong bits = Volatile.Read(ref _words[w]) & (ulong.MaxValue << (int)(from & BitMask));
        while (bits == 0)
        {
            long next = NextNonZeroWord(w + 1);
            if (next < 0)
            {
                return -1;
            }

            w = (nuint)next;
            bits = Volatile.Read(ref _words[w]);
        }

        return ((long)w << WordShift) + BitOperations.TrailingZeroCount(bits);
    }

    /// <summary>
    /// The set bits at or after <paramref name="from"/>, in increasing order, without allocating:
    /// <c>foreach (long page in bitmap.SetBits(0)) { … }</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="from"/> is outside <c>[0, Length]</c>.</exception>
    public SetBitEnumerable SetBits(long from = 0)
    {
        _ = CheckFrom(from);
        return new SetBitEnumerable(this, from);
    }

    /// <summary>
    /// Writes the set bits at or after <paramref name="from"/>, in increasing order, into
    /// <paramref name="destination"/> until it is full; returns how many were written. To continue,
    /// call again from the last index written plus one.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="from"/> is outside <c>[0, Length]</c>.</exception>
    public int CopySetBits(long from, Span<long> destination)
    {
        if (CheckFrom(from) || destination.IsEmpty)
        {
            return 0;
        }

        int count = 0;
        nuint w = (nuint)((ulong)from >> WordShift);
        ulong bits = Volatile.Read(ref _words[w]) & (ulong.MaxValue << (int)(from & BitMask));
        while (true)
        {
            long wordBase = (long)w << WordShift;
            while (bits != 0)
            {
                destination[count++] = wordBase + BitOperations.TrailingZeroCount(bits);
                if (count == destination.Length)
                {
                    return count;
                }

                bits &= bits - 1;
            }

            long next = NextNonZeroWord(w + 1);
            if (next < 0)
            {
                return count;
            }

            w = (nuint)next;
            bits = Volatile.Read(ref _words[w]);
        }
    }

    /// <summary>
    /// The number of set bits. Visits only non-empty chunks: a chunk with at least 8 non-zero
    /// words joins a run of such chunks that is counted in one straight pass (sequential reads at
    /// memory bandwidth); a sparser chunk is counted word by word through its level-1 bits.
    /// </summary>
    public long PopCount()
    {
        ThrowIfDisposed();
        long total = 0;
        nuint runStart = 0, runEnd = 0;
        for (nuint g = 0; g < _level2Count; g++)
        {
            ulong groups = _level2[g];
            while (groups != 0)
            {
                nuint j = (g << WordShift) + (nuint)BitOperations.TrailingZeroCount(groups);
                groups &= groups - 1;
                ulong chunk = _level1[j];
                if (BitOperations.PopCount(chunk) >= DenseChunkWords)
                {
                    if (j != runEnd)
                    {
                        total += CountRun(runStart, runEnd);
                        runStart = j;
                    }

                    runEnd = j + 1;
                    continue;
                }

                nuint firstWord = j << WordShift;
                while (chunk != 0)
                {
                    total += BitOperations.PopCount(_words[firstWord + (nuint)BitOperations.TrailingZeroCount(chunk)]);
                    chunk &= chunk - 1;
                }
            }
        }

        return total + CountRun(runStart, runEnd);
    }

    /// <summary>Non-zero words in a chunk from which <see cref="PopCount"/> reads the whole chunk.</summary>
    private const int DenseChunkWords = 8;

    /// <summary>Set bits in chunks <c>[start, end)</c>, in one pass over their words.</summary>
    private long CountRun(nuint start, nuint end)
    {
        if (start == end)
        {
            return 0;
        }

        nuint firstWord = start << WordShift;
        nuint words = Math.Min(end << WordShift, _wordCount) - firstWord;
        return BitmapKernels.PopCount(ref _words[firstWord], words);
    }

    /// <summary>Clears every bit. Needs exclusive access.</summary>
    public void ClearAll()
    {
        ThrowIfDisposed();
        NativeMemory.Clear(_words, _wordCount * sizeof(ulong));
        NativeMemory.Clear(_level1, _level1Count * sizeof(ulong));
        NativeMemory.Clear(_level2, _level2Count * sizeof(ulong));
    }

    /// <summary>Keeps only the bits also set in <paramref name="other"/> (this = this AND other). Needs exclusive access to both.</summary>
    /// <exception cref="ArgumentException"><paramref name="other"/> has another length.</exception>
    public void And(PageBitmap other) => Combine<AndOperator>(other);

    /// <summary>Adds the bits set in <paramref name="other"/> (this = this OR other). Needs exclusive access to both.</summary>
    /// <exception cref="ArgumentException"><paramref name="other"/> has another length.</exception>
    public void Or(PageBitmap other) => Combine<OrOperator>(other);

    /// <summary>
    /// Removes the bits set in <paramref name="other"/> (this = this AND NOT other): "accessed now
    /// and not accessed before", "candidate and not busy". Needs exclusive access to both.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="other"/> has another length.</exception>
    public void AndNot(PageBitmap other) => Combine<AndNotOperator>(other);

    /// <summary>Makes this bitmap a copy of <paramref name="other"/>. Needs exclusive access to both.</summary>
    /// <exception cref="ArgumentException"><paramref name="other"/> has another length.</exception>
    public void CopyFrom(PageBitmap other) => Combine<CopyOperator>(other);

    /// <summary>Frees the native memory. Any later use throws <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        FreeAll();
        GC.SuppressFinalize(this);
    }

    private void FreeAll()
    {
        _limit = 0;
        if (_ownsMemory && _words != null)
        {
            Interlocked.Exchange(ref _counter, null)?.Remove(NativeBytes);
            NativeMemory.AlignedFree(_words);
            NativeMemory.AlignedFree(_level1);
            NativeMemory.AlignedFree(_level2);
        }

        _words = null;
        _level1 = null;
        _level2 = null;
    }

    private void Combine<TOp>(PageBitmap other)
        where TOp : struct, IWordOperator
    {
        ArgumentNullException.ThrowIfNull(other);
        ThrowIfDisposed();
        other.ThrowIfDisposed();
        if (other._length != _length)
        {
            ThrowLengthMismatch(_length, other._length);
        }

        BitmapKernels.Combine<TOp>(Levels, other.Levels);
    }

    private BitmapLevels Levels => new(_words, _level1, _level2, _wordCount);

    /// <summary>
    /// Makes the level-1 bit of word <paramref name="w"/> agree with the word (and level 2 with
    /// level 1), after a Set or Clear changed the word's zero-ness. Why the summaries are exact
    /// once every call has returned:
    /// <list type="number">
    /// <item>Every change of a word's zero-ness is one atomic Or/And whose caller sees the old value
    /// and then calls this method; nothing else writes words while Set/Clear may run.</item>
    /// <item>This method loops: read the word (r1), write the summary bit to match r1 with an atomic
    /// Or/And (a full fence), read the word again (r2); it returns only when r2 agrees with what it
    /// wrote. Every summary write is therefore followed, on its thread, by a confirming read.</item>
    /// <item>Take the last summary write W (writes to one location are totally ordered) and the last
    /// zero-ness change C of the word. The sync started for C writes after C, so that write is
    /// W or comes before W; with full fences C is visible to the read that confirms W. That read
    /// sees the final zero-ness, and W's thread returned only because W wrote the same value.
    /// If the word never changed zero-ness there is no write and both stay zero.</item>
    /// <item>The naive protocol (Set sets the summary bit, Clear clears it, no re-read) fails: Set
    /// makes the word non-zero and is delayed; a Clear makes it zero and clears the bit; the
    /// delayed Set then sets the bit over a zero word. In the other order a Clear's late summary
    /// clear hides a word that a Set made non-zero meanwhile: a lost page.</item>
    /// <item>A level-1 word changes zero-ness only in the atomic write of step 2, whose old value
    /// the writer sees; it then syncs level 2 in the same way, so the argument repeats one level
    /// up.</item>
    /// </list>
    /// The loop ends as soon as the word keeps its zero-ness between two reads: no producer ever
    /// waits for another. Scans concurrent with a sync may briefly see a summary bit that lags its
    /// word; they re-check the word (skipping a zero one) and treat a missed bit as a Set that
    /// happened after the scan passed.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void SyncSummary(nuint w)
    {
        nuint j = w >> WordShift;
        ref ulong word = ref _words[w];
        ref ulong level1 = ref _level1[j];
        ulong bit = 1UL << (int)(w & BitMask);
        while (true)
        {
            bool nonZero = Volatile.Read(ref word) != 0;
            if (_testHookSyncDelay != 0 && Environment.CurrentManagedThreadId == _testHookSyncDelayThread)
            {
                Thread.SpinWait(_testHookSyncDelay);
            }

            if (WriteSummaryBit(ref level1, bit, nonZero))
            {
                SyncLevel2(j);
            }

            if ((Volatile.Read(ref word) != 0) == nonZero || _testHookSkipConfirmation)
            {
                return;
            }
        }
    }

    /// <summary>The level-2 step of <see cref="SyncSummary"/>, for level-1 word <paramref name="j"/>.</summary>
    private void SyncLevel2(nuint j)
    {
        ref ulong level1 = ref _level1[j];
        ref ulong level2 = ref _level2[j >> WordShift];
        ulong bit = 1UL << (int)(j & BitMask);
        while (true)
        {
            bool nonZero = Volatile.Read(ref level1) != 0;
            _ = WriteSummaryBit(ref level2, bit, nonZero);
            if ((Volatile.Read(ref level1) != 0) == nonZero || _testHookSkipConfirmation)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Atomically sets or clears <paramref name="bit"/> of <paramref name="summary"/>; true when
    /// this write changed the summary word's zero-ness (so the level above must follow).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool WriteSummaryBit(ref ulong summary, ulong bit, bool value) =>
        value ? Interlocked.Or(ref summary, bit) == 0 : Interlocked.And(ref summary, ~bit) == bit;

    /// <summary>The first non-zero word at or after <paramref name="start"/> (found through the summaries), or -1.</summary>
    private long NextNonZeroWord(nuint start)
    {
        while (start < _wordCount)
        {
            // Rest of the current level-1 word.
            nuint j = start >> WordShift;
            ulong chunk = Volatile.Read(ref _level1[j]) & (ulong.MaxValue << (int)(start & BitMask));
            if (chunk == 0)
            {
                long next = NextNonZeroLevel1(j + 1);
                if (next < 0)
                {
                    return -1;
                }

                j = (nuint)next;
                chunk = Volatile.Read(ref _level1[j]);
                if (chunk == 0)
                {
                    // A concurrent Clear emptied it after level 2 was read: look further on.
                    start = (j + 1) << WordShift;
                    continue;
                }
            }

            nuint w = (j << WordShift) + (nuint)BitOperations.TrailingZeroCount(chunk);
            if (Volatile.Read(ref _words[w]) != 0)
            {
                return (long)w;
            }

            // The summary was ahead of a concurrent Clear: skip that word.
            start = w + 1;
        }

        return -1;
    }

    /// <summary>The first non-zero level-1 word at or after <paramref name="start"/>, or -1.</summary>
    private long NextNonZeroLevel1(nuint start)
    {
        if (start >= _level1Count)
        {
            return -1;
        }

        nuint g = start >> WordShift;
        ulong groups = Volatile.Read(ref _level2[g]) & (ulong.MaxValue << (int)(start & BitMask));
        if (groups == 0)
        {
            long next = BitmapKernels.IndexOfNonZero(ref *_level2, g + 1, _level2Count);
            if (next < 0)
            {
                return -1;
            }

            g = (nuint)next;
            groups = Volatile.Read(ref _level2[g]);
            if (groups == 0)
            {
                return NextNonZeroLevel1((g + 1) << WordShift);
            }
        }

        return (long)((g << WordShift) + (nuint)BitOperations.TrailingZeroCount(groups));
    }

    /// <summary>Reads word <paramref name="w"/> (for the enumerator).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong ReadWord(nuint w) => Volatile.Read(ref _words[w]);

    /// <summary>
    /// Validates a start position: false for a position inside the bitmap, true for
    /// <see cref="Length"/> itself (nothing left to scan); throws for anything else or once disposed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool CheckFrom(long from)
    {
        if (unchecked((ulong)from) < _limit)
        {
            return false;
        }

        if (from != _length || _words == null)
        {
            ThrowFromOutOfRange(from);
        }

        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ThrowIfDisposed()
    {
        if (_words == null)
        {
            ThrowDisposed();
        }
    }

    private static nuint WordsFor(long length) => (nuint)(((ulong)length + BitMask) >> WordShift);

    private static ulong* AllocateZeroed(nuint words)
    {
        // At least one cache line, a whole number of them, 64-byte aligned, so that no two
        // bitmaps share a line and vector loads of a chunk never split lines.
        nuint bytes = Math.Max((words * sizeof(ulong) + 63) & ~(nuint)63, 64);
        var p = (ulong*)NativeMemory.AlignedAlloc(bytes, 64);
        NativeMemory.Clear(p, bytes);
        return p;
    }

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowIndexOutOfRange(long index)
    {
        ThrowIfDisposed();
        throw new ArgumentOutOfRangeException(nameof(index), index, $"Page index {index} is outside the bitmap [0, {_length}).");
    }

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowFromOutOfRange(long from)
    {
        ThrowIfDisposed();
        throw new ArgumentOutOfRangeException(nameof(from), from, $"Start position {from} is outside [0, {_length}] of the bitmap.");
    }

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowLengthMismatch(long length, long otherLength) =>
        throw new ArgumentException($"Bitmaps differ in length: this has {length} bits, the other {otherLength}.");

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowDisposed() => throw new ObjectDisposedException(nameof(PageBitmap));
}
