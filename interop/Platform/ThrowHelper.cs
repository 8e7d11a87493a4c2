using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace HotPage.Interop.Platform;

/// <summary>
/// Out-of-line throws for the platform layer, so that the methods that may throw stay small and
/// inlinable. Every message names the call, and where they apply the pid and the node.
/// </summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowArgument(string message, string paramName) => throw new ArgumentException(message, paramName);

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowArgumentOutOfRange(string paramName, object? value, string message) => throw new ArgumentOutOfRangeException(paramName, value, message);

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowInvalidOperation(string message) => throw new InvalidOperationException(message);

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    [SuppressMessage("Usage", "CA2201", Justification = "IMemoryPlatform.AllocateOnNode documents OutOfMemoryException, as NativeMemory does.")]
    public static void ThrowOutOfMemory(string message) => throw new OutOfMemoryException(message);

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowPlatform(string call, int pid, int node, Errno errno, int raw) =>
        throw new PlatformCallException(call, pid, node, errno, raw);

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowSpanLengths(int pages, int other, string otherName) =>
        throw new ArgumentException($"{otherName} has {other} entries but there are {pages} pages; the spans must be the same length.", otherName);

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowObjectDisposed(string name) => throw new ObjectDisposedException(name);
}

/// <summary>
/// A setup call into the operating system failed (open, mmap, mbind, reading topology). The
/// message names the call, the pid and the node; <see cref="Errno"/> and <see cref="RawErrno"/>
/// carry the cause. The steady-state paths (query, move) never throw this: they return values.
/// </summary>
public sealed class PlatformCallException : IOException
{
    /// <summary>Creates the exception for <paramref name="call"/> failing with <paramref name="errno"/>.</summary>
    public PlatformCallException(string call, int pid, int node, Errno errno, int rawErrno)
        : base(FormatMessage(call, pid, node, errno, rawErrno))
    {
        Call = call;
        Pid = pid;
        Node = node;
        Errno = errno;
        RawErrno = rawErrno;
        HResult = rawErrno;
    }

    /// <summary>Creates an exception with a message only (for serializers and tools).</summary>
    public PlatformCallException(string message)
        : base(message)
    {
        Call = string.Empty;
    }

    /// <summary>Creates an exception with a message and an inner exception.</summary>
    public PlatformCallException(string message, Exception innerException)
        : base(message, innerException)
    {
        Call = string.Empty;
    }

    /// <summary>Creates an exception with no details.</summary>
    public PlatformCallException()
    {
        Call = string.Empty;
    }

    /// <summary>The call that failed, as C names it ("open /proc/42/pagemap", "mbind").</summary>
    public string Call { get; }

    /// <summary>The process the call was about (0 = this process).</summary>
    public int Pid { get; }

    /// <summary>The node the call was about, or -1 when none.</summary>
    public int Node { get; }

    /// <summary>The typed errno.</summary>
    public Errno Errno { get; }

    /// <summary>The raw errno value the call left (for values <see cref="Platform.Errno"/> does not name).</summary>
    public int RawErrno { get; }

    private static string FormatMessage(string call, int pid, int node, Errno errno, int raw)
    {
        string name = Enum.IsDefined(errno) ? errno.ToString() : $"errno {raw}";
        string who = pid == 0 ? "this process" : $"pid {pid}";
        string where = node >= 0 ? $", node {node}" : string.Empty;
        return $"{call} failed for {who}{where}: {name} ({raw}).";
    }
}
