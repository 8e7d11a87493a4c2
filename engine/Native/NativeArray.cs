using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using HotPage.Interop.Platform;

namespace HotPage.Engine.Native;

/// <summary>
/// A fixed-length, zero-initialised array of <typeparamref name="T"/> in native memory, owned by
/// one object that frees it once.
/// </summary>
/// <remarks>
/// Invariants: <c>_items</c> points to <c>Length * sizeof(T)</c> bytes aligned to
/// <see cref="Alignment"/>, allocated with <see cref="NativeMemory.AlignedAlloc"/> and zeroed, and
/// stays valid until <see cref="Dispose"/>, which frees it exactly once and tells the counter.
/// Element access is not bounds-checked in Release (callers index with values they validated);
/// Debug builds assert. Arrays of <see cref="HugePageThreshold"/> bytes or more are aligned to
/// 2 MiB, rounded up to it, and advised to use transparent huge pages before they are zeroed.
/// </remarks>
internal sealed unsafe class NativeArray<T> : IDisposable where T : unmanaged
{
    /// <summary>Alignment of the first element: a cache line pair (the adjacent-line prefetcher's unit).</summary>
    public const int Alignment = 128;

    private readonly NativeMemoryCounter _counter;
    private T* _items;

    public NativeArray(long length, NativeMemoryCounter counter, string what)
    {
        if (length < 0)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(length), length, "A native array cannot have a negative length.");
        }

        _counter = counter;
        Length = length;
        ulong bytes = (ulong)Math.Max(length, 1) * (ulong)sizeof(T);
        ByteLength = (long)bytes;
        if (bytes >= HugePageThreshold)
        {
            // Huge-page aligned and rounded, advised before the first touch (the clear below), so
            // the kernel backs it with 2 MiB pages where THP allows: one TLB entry covers 512 times
            // more of a table that is read at random.
            ulong rounded = (bytes + (ulong)MemoryAdvice.HugePageSize - 1) & ~((ulong)MemoryAdvice.HugePageSize - 1);
            _items = (T*)NativeMemory.AlignedAlloc((nuint)rounded, (nuint)MemoryAdvice.HugePageSize);
            if (_items != null)
            {
                HugePages = MemoryAdvice.AdviseHugePages(_items, (nuint)rounded);
            }
        }
        else
        {
            _items = (T*)NativeMemory.AlignedAlloc((nuint)bytes, Alignment);
        }

        if (_items == null)
        {
            ThrowHelper.ThrowOutOfMemory(bytes, what);
        }

        NativeMemory.Clear(_items, (nuint)bytes);
        counter.Add(ByteLength);
    }

    /// <summary>Arrays of at least this many bytes are aligned to huge pages and advised to use them (the hotness table, candidate bits and heaps; not the rings).</summary>
    public const long HugePageThreshold = 2 * MemoryAdvice.HugePageSize;

    /// <summary>True when the kernel accepted the huge-page hint for this array.</summary>
    public bool HugePages { get; }

    /// <summary>Number of elements.</summary>
    public long Length { get; }

    /// <summary>Bytes allocated.</summary>
    public long ByteLength { get; }

    /// <summary>The first element; for kernels that take a base pointer inside fenced types.</summary>
    public T* Pointer => _items;

    /// <summary>A reference to element <paramref name="index"/> (not bounds-checked in Release).</summary>
    public ref T this[long index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            System.Diagnostics.Debug.Assert((ulong)index < (ulong)Length, "NativeArray index out of range");
            return ref _items[index];
        }
    }

    /// <summary>A span over <paramref name="count"/> elements from <paramref name="start"/> (checked).</summary>
    public Span<T> Slice(long start, int count)
    {
        if (start < 0 || count < 0 || start + count > Length)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(start), start, $"The slice {start}+{count} is outside 0..{Length}.");
        }

        return new Span<T>(_items + start, count);
    }

    /// <summary>Sets <paramref name="count"/> elements from <paramref name="start"/> to zero.</summary>
    public void Clear(long start, long count)
    {
        if (start < 0 || count < 0 || start + count > Length)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(start), start, $"The range {start}+{count} is outside 0..{Length}.");
        }

        NativeMemory.Clear(_items + start, (nuint)count * (nuint)sizeof(T));
    }

    public void Dispose()
    {
        T* items = _items;
        if (items != null)
        {
            _items = null;
            NativeMemory.AlignedFree(items);
            _counter.Remove(ByteLength);
        }
    }
}
