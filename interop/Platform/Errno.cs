namespace HotPage.Interop.Platform;

/// <summary>
/// The Linux errno values HotPage meets on its paths, with the kernel's numbers (x86-64 and
/// every other Linux architecture share these). Per-page <c>move_pages</c> status uses them
/// negated; the Simulated and Windows platforms report the same values so that the engine
/// has one vocabulary for failures.
/// </summary>
public enum Errno
{
    /// <summary>No error.</summary>
    None = 0,
    /// <summary>Operation not permitted.</summary>
    EPERM = 1,
    /// <summary>No such page (not present) or no such process.</summary>
    ENOENT = 2,
    /// <summary>No such process.</summary>
    ESRCH = 3,
    /// <summary>Interrupted system call.</summary>
    EINTR = 4,
    /// <summary>I/O error.</summary>
    EIO = 5,
    /// <summary>Bad file descriptor.</summary>
    EBADF = 9,
    /// <summary>Try again (page locked or under writeback).</summary>
    EAGAIN = 11,
    /// <summary>Out of memory on the target node.</summary>
    ENOMEM = 12,
    /// <summary>Permission denied (page shared with other processes, or no ptrace access).</summary>
    EACCES = 13,
    /// <summary>Bad address: the address is not mapped.</summary>
    EFAULT = 14,
    /// <summary>Device or resource busy: the page is in use and could not be moved now.</summary>
    EBUSY = 16,
    /// <summary>No such device: the target node does not exist or is not allowed.</summary>
    ENODEV = 19,
    /// <summary>Invalid argument.</summary>
    EINVAL = 22,
    /// <summary>Function not implemented (the kernel lacks the syscall).</summary>
    ENOSYS = 38,
    /// <summary>Operation not supported (for example a Windows page the platform cannot move).</summary>
    EOPNOTSUPP = 95,
}
