namespace HotPage.Interop.Windows;

/// <summary>
/// Win32 bindings, shaped as TerraFX.Interop.Windows shapes them: one partial class, a file per
/// header under <c>um/</c>, the SDK's names and types, <c>HANDLE</c>/<c>BOOL</c> as one-field
/// structs, blittable signatures only. Bindings return what Win32 returns and never throw; the
/// platform layer reads <see cref="System.Runtime.InteropServices.Marshal.GetLastPInvokeError"/>.
/// </summary>
public static unsafe partial class Windows
{
}
