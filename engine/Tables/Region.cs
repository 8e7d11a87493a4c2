namespace HotPage.Engine.Tables;

/// <summary>
/// A registered range of virtual memory whose pages the engine tracks: in the calling process
/// (<see cref="Pid"/> 0, the embedding case) or in a watched process (the daemon). Its pages
/// occupy the table indices <see cref="FirstPage"/> .. <see cref="FirstPage"/> + <see cref="PageCount"/> − 1.
/// </summary>
/// <param name="Id">A handle for unregistering.</param>
/// <param name="Pid">The process (0 = this one).</param>
/// <param name="Base">The first byte (page aligned).</param>
/// <param name="Length">The length in bytes (whole pages).</param>
/// <param name="FirstPage">The table index of the first page.</param>
public readonly record struct Region(int Id, int Pid, ulong Base, ulong Length, long FirstPage)
{
    /// <summary>Pages in the region.</summary>
    public long PageCount => (long)(Length >> 12);

    /// <summary>One past the last byte.</summary>
    public ulong End => Base + Length;
}
