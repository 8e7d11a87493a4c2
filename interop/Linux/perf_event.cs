using System.Runtime.InteropServices;

namespace HotPage.Interop.Linux;

// linux/perf_event.h
public static unsafe partial class LibC
{
    /// <summary>Generalised hardware events (cycles, instructions).</summary>
    public const uint PERF_TYPE_HARDWARE = 0;

    /// <summary>Kernel software events (page faults, context switches): sampled even without a PMU.</summary>
    public const uint PERF_TYPE_SOFTWARE = 1;

    /// <summary>Raw PMU events: config is the PMU's own encoding.</summary>
    public const uint PERF_TYPE_RAW = 4;

    /// <summary>Software event: every page fault (the address is the faulting data address).</summary>
    public const ulong PERF_COUNT_SW_PAGE_FAULTS = 2;

    /// <summary>Software event: minor page faults.</summary>
    public const ulong PERF_COUNT_SW_PAGE_FAULTS_MIN = 5;

    /// <summary>Sample field: instruction pointer.</summary>
    public const ulong PERF_SAMPLE_IP = 1UL << 0;

    /// <summary>Sample field: pid and tid (two u32).</summary>
    public const ulong PERF_SAMPLE_TID = 1UL << 1;

    /// <summary>Sample field: time stamp (u64, perf clock).</summary>
    public const ulong PERF_SAMPLE_TIME = 1UL << 2;

    /// <summary>Sample field: the data address (u64).</summary>
    public const ulong PERF_SAMPLE_ADDR = 1UL << 3;

    /// <summary>Sample field: the CPU (u32 cpu, u32 reserved).</summary>
    public const ulong PERF_SAMPLE_CPU = 1UL << 7;

    /// <summary>Sample field: the memory data source (PEBS/IBS).</summary>
    public const ulong PERF_SAMPLE_DATA_SRC = 1UL << 15;

    /// <summary>Record type: samples were lost (u64 id, u64 lost).</summary>
    public const uint PERF_RECORD_LOST = 2;

    /// <summary>Record type: the event was throttled.</summary>
    public const uint PERF_RECORD_THROTTLE = 5;

    /// <summary>Record type: the event was unthrottled.</summary>
    public const uint PERF_RECORD_UNTHROTTLE = 6;

    /// <summary>Record type: a sample laid out as <c>sample_type</c> asked.</summary>
    public const uint PERF_RECORD_SAMPLE = 9;

    /// <summary>perf_event_open flag: close the descriptor on exec.</summary>
    public const ulong PERF_FLAG_FD_CLOEXEC = 1UL << 3;

    /// <summary>The size of <see cref="perf_event_attr"/> as declared here (PERF_ATTR_SIZE_VER7).</summary>
    public const int PERF_ATTR_SIZE_VER7 = 128;

    /// <summary>ioctl: enable the event.</summary>
    public const ulong PERF_EVENT_IOC_ENABLE = 0x2400;

    /// <summary>ioctl: disable the event.</summary>
    public const ulong PERF_EVENT_IOC_DISABLE = 0x2401;

    /// <summary>ioctl: send this event's records to another event's ring (argument: its descriptor).</summary>
    public const ulong PERF_EVENT_IOC_SET_OUTPUT = 0x2405;

    /// <summary>
    /// perf_event_open(2) through <c>syscall</c> (glibc has no wrapper). Returns a descriptor, or -1 with errno.
    /// </summary>
    /// <remarks>NOTE: <paramref name="pid"/> names one thread (a tid); the process's other threads need their own events.</remarks>
    public static int perf_event_open(perf_event_attr* attr, int pid, int cpu, int group_fd, ulong flags) =>
        (int)syscall((nint)SYS_perf_event_open, (nint)attr, pid, cpu, group_fd, (nint)flags);

    /// <summary>ioctl(2) with one integer argument. Returns what the request returns, or -1 with errno.</summary>
    /// <remarks>NOTE: ioctl is variadic in C; the argument is declared register-wide, as for <c>syscall</c>.</remarks>
    [LibraryImport(LibraryNames.LibC, SetLastError = true)]
    public static partial int ioctl(int fd, ulong request, nint arg);
}

/// <summary>
/// <c>struct perf_event_attr</c> as of PERF_ATTR_SIZE_VER7 (128 bytes). The C bitfield word at
/// offset 40 is <see cref="flags"/>; its bits are named in <see cref="PerfEventAttrFlags"/>.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = LibC.PERF_ATTR_SIZE_VER7)]
public struct perf_event_attr
{
    /// <summary>Major type (PERF_TYPE_*, or a PMU's dynamic type from sysfs).</summary>
    [FieldOffset(0)] public uint type;

    /// <summary>sizeof this struct, for the kernel's versioning.</summary>
    [FieldOffset(4)] public uint size;

    /// <summary>Type-specific event configuration.</summary>
    [FieldOffset(8)] public ulong config;

    /// <summary>Events per sample (or the frequency, with the freq flag).</summary>
    [FieldOffset(16)] public ulong sample_period;

    /// <summary>PERF_SAMPLE_* bits: which fields each sample record carries.</summary>
    [FieldOffset(24)] public ulong sample_type;

    /// <summary>PERF_FORMAT_* bits for read(2).</summary>
    [FieldOffset(32)] public ulong read_format;

    /// <summary>The bitfield word (disabled, inherit, exclude_*, precise_ip, ...).</summary>
    [FieldOffset(40)] public ulong flags;

    /// <summary>Wake up after this many events (or bytes, with the watermark flag).</summary>
    [FieldOffset(48)] public uint wakeup_events;

    /// <summary>Breakpoint type.</summary>
    [FieldOffset(52)] public uint bp_type;

    /// <summary>Extension of config (ldlat for PEBS mem-loads).</summary>
    [FieldOffset(56)] public ulong config1;

    /// <summary>Extension of config1.</summary>
    [FieldOffset(64)] public ulong config2;

    /// <summary>PERF_SAMPLE_BRANCH_* bits.</summary>
    [FieldOffset(72)] public ulong branch_sample_type;

    /// <summary>User registers to dump per sample.</summary>
    [FieldOffset(80)] public ulong sample_regs_user;

    /// <summary>User stack bytes to dump per sample.</summary>
    [FieldOffset(88)] public uint sample_stack_user;

    /// <summary>Clock for time stamps (with the use_clockid flag).</summary>
    [FieldOffset(92)] public int clockid;

    /// <summary>Interrupted registers to dump per sample.</summary>
    [FieldOffset(96)] public ulong sample_regs_intr;

    /// <summary>AUX area wakeup watermark.</summary>
    [FieldOffset(104)] public uint aux_watermark;

    /// <summary>Most call-chain frames.</summary>
    [FieldOffset(108)] public ushort sample_max_stack;

    /// <summary>AUX sample size.</summary>
    [FieldOffset(112)] public uint aux_sample_size;

    /// <summary>Data for SIGTRAP.</summary>
    [FieldOffset(120)] public ulong sig_data;
}

/// <summary>Bits of <see cref="perf_event_attr.flags"/>, in the order of the C bitfield.</summary>
public static class PerfEventAttrFlags
{
    /// <summary>Start disabled (enable with PERF_EVENT_IOC_ENABLE).</summary>
    public const ulong Disabled = 1UL << 0;

    /// <summary>Children inherit the event.</summary>
    public const ulong Inherit = 1UL << 1;

    /// <summary>Do not count user space.</summary>
    public const ulong ExcludeUser = 1UL << 4;

    /// <summary>Do not count the kernel.</summary>
    public const ulong ExcludeKernel = 1UL << 5;

    /// <summary>Do not count the hypervisor.</summary>
    public const ulong ExcludeHv = 1UL << 6;

    /// <summary>sample_period is a frequency in Hz.</summary>
    public const ulong Freq = 1UL << 10;

    /// <summary>Wake up by bytes (wakeup_watermark) instead of events.</summary>
    public const ulong Watermark = 1UL << 14;

    /// <summary>precise_ip = 2 (bits 15-16): ask for zero skid (PEBS).</summary>
    public const ulong PreciseIp2 = 2UL << 15;
}

/// <summary>
/// The head of <c>struct perf_event_mmap_page</c> (the first page of a perf ring): only the fields
/// the ring reader uses, at their C offsets. The data area follows at <see cref="data_offset"/>.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 1088)]
public struct perf_event_mmap_page
{
    /// <summary>Version of this structure.</summary>
    [FieldOffset(0)] public uint version;

    /// <summary>Lowest version this is compatible with.</summary>
    [FieldOffset(4)] public uint compat_version;

    /// <summary>Where the kernel has written to (read with acquire semantics, then read the data).</summary>
    [FieldOffset(1024)] public ulong data_head;

    /// <summary>Where the reader has consumed to (written with release semantics after the data is read).</summary>
    [FieldOffset(1032)] public ulong data_tail;

    /// <summary>Offset of the data area from the start of the mapping.</summary>
    [FieldOffset(1040)] public ulong data_offset;

    /// <summary>Size of the data area (a power of two).</summary>
    [FieldOffset(1048)] public ulong data_size;
}

/// <summary><c>struct perf_event_header</c>: the 8 bytes in front of every ring record.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct perf_event_header
{
    /// <summary>PERF_RECORD_*.</summary>
    public uint type;

    /// <summary>PERF_RECORD_MISC_* bits.</summary>
    public ushort misc;

    /// <summary>Size of the record, header included.</summary>
    public ushort size;
}
