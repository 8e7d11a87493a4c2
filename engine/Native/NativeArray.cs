using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

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
/// Debug builds assert. Large arrays are zeroed lazily by the OS (the allocator maps fresh pages),
/// so a 256 MiB table costs only the pages that are touched.
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
        _items = (T*)NativeMemory.AlignedAlloc((nuint)bytes, Alignment);
        if (_items == null)
        {
            ThrowHelper.ThrowOutOfMemory(bytes, what);
        }

        NativeMemory.Clear(_items, (nuint)bytes);
        counter.Add(ByteLength);
    }

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
