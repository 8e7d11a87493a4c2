using System.Runtime.InteropServices;

namespace HotPage.Interop.Platform;

/// <summary>
/// One page's answer from a residency query or a move: the node the page is on (zero or
/// positive), or a negated <see cref="Errno"/>. The layout is exactly one <c>int</c>, the
/// element type of <c>move_pages(2)</c>'s <c>status</c> array, so a span of these is passed
/// to the kernel as it is, without copying.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public readonly struct PageStatus : IEquatable<PageStatus>
{
    /// <summary>The raw value: a node id, or a negated errno.</summary>
    public readonly int Value;

    /// <summary>Creates a status from the raw value the kernel writes.</summary>
    public PageStatus(int value) => Value = value;

    /// <summary>A status naming the node the page is on.</summary>
    public static PageStatus OnNode(int node) => new(node);

    /// <summary>A status naming a failure.</summary>
    public static PageStatus Failed(Errno errno) => new(-(int)errno);

    /// <summary>True when the page is on a node (the move succeeded, or the query found it).</summary>
    public bool IsOnNode => Value >= 0;

    /// <summary>The page's node; -1 when <see cref="IsOnNode"/> is false.</summary>
    public int Node => Value >= 0 ? Value : -1;

    /// <summary>The failure cause; <see cref="Errno.None"/> when the page is on a node.</summary>
    public Errno Error => Value >= 0 ? Errno.None : (Errno)(-Value);

    /// <inheritdoc/>
    public bool Equals(PageStatus other) => Value == other.Value;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is PageStatus other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => Value;

    /// <summary>Equality of raw values.</summary>
    public static bool operator ==(PageStatus left, PageStatus right) => left.Value == right.Value;

    /// <summary>Inequality of raw values.</summary>
    public static bool operator !=(PageStatus left, PageStatus right) => left.Value != right.Value;

    /// <summary>"node 1" or "-EBUSY".</summary>
    public override string ToString() => IsOnNode ? $"node {Value}" : $"-{Error}";
}
