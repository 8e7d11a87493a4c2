using System.Runtime.InteropServices;

namespace HotPage.Interop.Windows;

// handleapi.h
public static unsafe partial class Windows
{
    /// <summary>Closes a handle.</summary>
    [LibraryImport(LibraryNames.Kernel32, SetLastError = true)]
    public static partial BOOL CloseHandle(HANDLE hObject);
}
