using System.Runtime.InteropServices;

namespace HotPage.Interop.Windows;

// processthreadsapi.h
public static unsafe partial class Windows
{
    /// <summary>Right to query a process's information (QueryWorkingSetEx needs it).</summary>
    public const uint PROCESS_QUERY_INFORMATION = 0x0400;

    /// <summary>Right to read a process's memory.</summary>
    public const uint PROCESS_VM_READ = 0x0010;

    /// <summary>The processor group and number the calling thread runs on.</summary>
    [LibraryImport(LibraryNames.Kernel32)]
    public static partial void GetCurrentProcessorNumberEx(PROCESSOR_NUMBER* ProcNumber);

    /// <summary>The pseudo-handle of the calling process (-1; never closed).</summary>
    [LibraryImport(LibraryNames.Kernel32)]
    public static partial HANDLE GetCurrentProcess();

    /// <summary>The id of the calling process.</summary>
    [LibraryImport(LibraryNames.Kernel32)]
    public static partial uint GetCurrentProcessId();

    /// <summary>Opens a process; null with GetLastError on failure.</summary>
    [LibraryImport(LibraryNames.Kernel32, SetLastError = true)]
    public static partial HANDLE OpenProcess(uint dwDesiredAccess, BOOL bInheritHandle, uint dwProcessId);
}
