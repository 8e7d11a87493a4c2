namespace HotPage.Interop.Windows;

/// <summary>A Win32 object handle (winnt.h <c>HANDLE</c>): one pointer-sized field.</summary>
/// <param name="Value">The raw handle.</param>
public readonly record struct HANDLE(nint Value)
{
    /// <summary><c>INVALID_HANDLE_VALUE</c> (-1).</summary>
    public static HANDLE INVALID_VALUE => new(-1);

    /// <summary>The null handle.</summary>
    public static HANDLE NULL => default;

    /// <summary>True for the null handle.</summary>
    public bool IsNull => Value == 0;
}
