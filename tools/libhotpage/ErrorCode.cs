namespace HotPage.Native;

/// <summary>
/// The return codes of the C ABI, declared once here and mirrored in <c>hotpage.h</c>
/// (<c>HOTPAGE_OK</c>, <c>HOTPAGE_E_*</c>): 0 or a negative value, errno-style where an errno
/// means the same thing, HotPage's own below -1000 otherwise. Never renumber.
/// </summary>
internal enum ErrorCode
{
    /// <summary>Success.</summary>
    Ok = 0,
    /// <summary>No such entry: an unknown counter name (ENOENT).</summary>
    NoEnt = -2,
    /// <summary>The record ring was full: the report was dropped and counted (EAGAIN).</summary>
    Again = -11,
    /// <summary>Out of memory, or no room left in the table for a region (ENOMEM).</summary>
    NoMem = -12,
    /// <summary>Busy: the background promoter is already running (EBUSY).</summary>
    Busy = -16,
    /// <summary>The region overlaps one already registered (EEXIST).</summary>
    Exist = -17,
    /// <summary>The node is neither -1 nor a node of this machine (ENODEV).</summary>
    Node = -19,
    /// <summary>An argument is invalid: a NULL pointer, a misaligned region (EINVAL).</summary>
    Inval = -22,
    /// <summary>The address is outside every registered region (ERANGE).</summary>
    Range = -34,
    /// <summary>The platform cannot do this here (ENOSYS): not Linux, or a kernel without move_pages.</summary>
    NoSys = -38,
    /// <summary>The source number is not one the engine knows.</summary>
    Source = -1001,
    /// <summary>The configuration JSON is not valid; <c>hotpage_last_error</c> names the key or value.</summary>
    Config = -1002,
    /// <summary>Asking the kernel where pages reside failed (for example the process cannot read its own pagemap).</summary>
    Io = -1003,
    /// <summary>An unexpected internal error; <c>hotpage_last_error</c> has the text. Nothing crossed the boundary.</summary>
    Internal = -1099,
}
