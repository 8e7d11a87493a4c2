namespace HotPage.Interop.Linux;

/// <summary>
/// Linux C library and system call bindings, shaped as Tmds.LibC shapes them: one partial class,
/// a file per C header, C names and C types, blittable signatures only. Every binding returns
/// what C returns (-1, MAP_FAILED, a negated errno in a status array) and never throws; the
/// platform layer reads <see cref="System.Runtime.InteropServices.Marshal.GetLastPInvokeError"/>
/// right after the call.
/// </summary>
public static unsafe partial class LibC
{
}
