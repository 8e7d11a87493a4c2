using System.Runtime.InteropServices;

namespace HotPage.Interop.Windows;

// psapi.h (kernel32 exports the Win7+ forms with a K32 prefix; psapi.dll forwards to them)
public static unsafe partial class Windows
{
    /// <summary>QueryWorkingSetEx: fills the attributes (valid, node, ...) of each page of <paramref name="pv"/>; <paramref name="cb"/> is the array's size in bytes.</summary>
    [LibraryImport(LibraryNames.Kernel32, EntryPoint = "K32QueryWorkingSetEx", SetLastError = true)]
    public static partial BOOL QueryWorkingSetEx(HANDLE hProcess, void* pv, uint cb);
}
