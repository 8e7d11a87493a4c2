namespace HotPage.Interop.Linux;

// x86-64 system call numbers (asm/unistd_64.h). Another architecture adds its own
// syscall.arch-<arch>.cs; the C layout test checks these against the installed headers.
public static unsafe partial class LibC
{
    /// <summary>mbind(2) on x86-64.</summary>
    public const long SYS_mbind = 237;

    /// <summary>set_mempolicy(2) on x86-64.</summary>
    public const long SYS_set_mempolicy = 238;

    /// <summary>get_mempolicy(2) on x86-64.</summary>
    public const long SYS_get_mempolicy = 239;

    /// <summary>move_pages(2) on x86-64.</summary>
    public const long SYS_move_pages = 279;

    /// <summary>getcpu(2) on x86-64.</summary>
    public const long SYS_getcpu = 309;

    /// <summary>perf_event_open(2) on x86-64.</summary>
    public const long SYS_perf_event_open = 298;
}
