namespace HotPage.Interop.Windows;

/// <summary>The Win32 <c>BOOL</c> (a 32-bit int; nonzero is true), kept as an int so that signatures stay blittable.</summary>
/// <param name="Value">The raw value.</param>
public readonly record struct BOOL(int Value)
{
    /// <summary>TRUE (1).</summary>
    public static BOOL TRUE => new(1);

    /// <summary>FALSE (0).</summary>
    public static BOOL FALSE => new(0);

    /// <summary>Nonzero is true.</summary>
    public static implicit operator bool(BOOL value) => value.Value != 0;

    /// <summary>True is 1, false 0.</summary>
    public static implicit operator BOOL(bool value) => new(value ? 1 : 0);

    /// <summary>Nonzero is true.</summary>
    public bool ToBoolean() => Value != 0;

    /// <summary>True is 1, false 0.</summary>
    public static BOOL FromBoolean(bool value) => new(value ? 1 : 0);
}
