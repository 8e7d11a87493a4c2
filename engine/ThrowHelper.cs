using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace HotPage.Engine;

/// <summary>Throws kept out of line so that the hot paths that guard with them stay small and inlinable.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowArgumentOutOfRange(string paramName, object? actual, string message) =>
        throw new ArgumentOutOfRangeException(paramName, actual, message);

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowArgument(string paramName, string message) =>
        throw new ArgumentException(message, paramName);

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowInvalidOperation(string message) =>
        throw new InvalidOperationException(message);

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowObjectDisposed(string name) =>
        throw new ObjectDisposedException(name);

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowOutOfMemory(ulong bytes, string what) =>
#pragma warning disable CA2201 // A failed native allocation is an out-of-memory condition; callers handle it as such.
        throw new OutOfMemoryException($"Could not allocate {bytes} bytes of native memory for {what}.");
#pragma warning restore CA2201
}
