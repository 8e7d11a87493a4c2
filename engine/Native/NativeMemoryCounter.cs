namespace HotPage.Engine.Native;

/// <summary>
/// Counts the native bytes one engine holds, so that <c>hotpaged stat</c> can print them and
/// tests can assert that everything allocated was freed. One per engine (no process-wide state).
/// </summary>
public sealed class NativeMemoryCounter
{
    private long _bytes;
    private long _allocations;

    /// <summary>Bytes currently allocated.</summary>
    public long Bytes => Volatile.Read(ref _bytes);

    /// <summary>Allocations currently live.</summary>
    public long Allocations => Volatile.Read(ref _allocations);

    internal void Add(long bytes)
    {
        Interlocked.Add(ref _bytes, bytes);
        Interlocked.Increment(ref _allocations);
    }

    internal void Remove(long bytes)
    {
        Interlocked.Add(ref _bytes, -bytes);
        Interlocked.Decrement(ref _allocations);
    }
}
