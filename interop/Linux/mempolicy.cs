namespace HotPage.Interop.Linux;

// linux/mempolicy.h and numaif.h. glibc exports none of these calls (libnuma does), so each is a
// syscall(2) wrapper, the way Tmds.LibC wraps io_setup. Each returns what the kernel returns
// (-1 with errno set on failure) and never throws.
public static unsafe partial class LibC
{
    /// <summary>Default policy: allocate on the local node.</summary>
    public const int MPOL_DEFAULT = 0;

    /// <summary>Prefer one node, fall back to others.</summary>
    public const int MPOL_PREFERRED = 1;

    /// <summary>Allocate only on the nodes of the mask.</summary>
    public const int MPOL_BIND = 2;

    /// <summary>Interleave page by page over the nodes of the mask.</summary>
    public const int MPOL_INTERLEAVE = 3;

    /// <summary>Allocate on the node of the CPU that faults.</summary>
    public const int MPOL_LOCAL = 4;

    /// <summary>get_mempolicy: return the node of the page at addr (with MPOL_F_ADDR) instead of the policy.</summary>
    public const int MPOL_F_NODE = 1 << 0;

    /// <summary>get_mempolicy: look up the policy of the VMA holding addr.</summary>
    public const int MPOL_F_ADDR = 1 << 1;

    /// <summary>get_mempolicy: return the set of nodes the process may use.</summary>
    public const int MPOL_F_MEMS_ALLOWED = 1 << 2;

    /// <summary>mbind: fail (EIO) when existing pages do not conform to the policy.</summary>
    public const int MPOL_MF_STRICT = 1 << 0;

    /// <summary>mbind / move_pages: move pages mapped only by this process.</summary>
    public const int MPOL_MF_MOVE = 1 << 1;

    /// <summary>mbind / move_pages: move pages even when shared (needs CAP_SYS_NICE).</summary>
    public const int MPOL_MF_MOVE_ALL = 1 << 2;

    /// <summary>
    /// move_pages(2): moves <paramref name="count"/> pages of process <paramref name="pid"/> (0 = caller)
    /// to <paramref name="nodes"/>, or with <paramref name="nodes"/> null reports each page's node.
    /// </summary>
    /// <remarks>
    /// NOTE: <paramref name="status"/> receives per page the node the page is on, or a negated errno
    /// (-EFAULT, -ENOENT, -EBUSY, -ENOMEM, -EACCES...). The return value is 0, the number of pages
    /// not moved (positive), or -1 with errno for a failure of the whole call (ESRCH, EPERM, ENODEV,
    /// EINVAL); on such a failure the status of pages before the bad one has been written.
    /// </remarks>
    public static long move_pages(int pid, nuint count, void** pages, int* nodes, int* status, int flags) =>
        syscall((nint)SYS_move_pages, pid, (nint)count, (nint)pages, (nint)nodes, (nint)status, flags);

    /// <summary>get_mempolicy(2): the policy (or with MPOL_F_NODE|MPOL_F_ADDR, the node of the page at <paramref name="addr"/>).</summary>
    public static long get_mempolicy(int* mode, nuint* nodemask, nuint maxnode, void* addr, nuint flags) =>
        syscall((nint)SYS_get_mempolicy, (nint)mode, (nint)nodemask, (nint)maxnode, (nint)addr, (nint)flags);

    /// <summary>mbind(2): sets the policy of [<paramref name="addr"/>, +<paramref name="len"/>).</summary>
    /// <remarks>NOTE: the kernel reads <paramref name="maxnode"/> - 1 bits of the mask (pass bits + 1, as libnuma does).</remarks>
    public static long mbind(void* addr, nuint len, int mode, nuint* nodemask, nuint maxnode, uint flags) =>
        syscall((nint)SYS_mbind, (nint)addr, (nint)len, mode, (nint)nodemask, (nint)maxnode, (nint)flags);

    /// <summary>set_mempolicy(2): sets the calling thread's policy.</summary>
    public static long set_mempolicy(int mode, nuint* nodemask, nuint maxnode) =>
        syscall((nint)SYS_set_mempolicy, mode, (nint)nodemask, (nint)maxnode);
}
