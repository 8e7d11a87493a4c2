using System.Runtime.InteropServices;

namespace HotPage.Interop.Linux;

// sys/mman.h
public static unsafe partial class LibC
{
    /// <summary>Pages may not be accessed.</summary>
    public const int PROT_NONE = 0x0;

    /// <summary>Pages may be read.</summary>
    public const int PROT_READ = 0x1;

    /// <summary>Pages may be written.</summary>
    public const int PROT_WRITE = 0x2;

    /// <summary>Changes are shared (the perf ring: the kernel writes, the reader sees).</summary>
    public const int MAP_SHARED = 0x01;

    /// <summary>Changes are private to the process (copy on write).</summary>
    public const int MAP_PRIVATE = 0x02;

    /// <summary>Place the mapping exactly at the address given, replacing what was mapped there.</summary>
    public const int MAP_FIXED = 0x10;

    /// <summary>Not backed by a file.</summary>
    public const int MAP_ANONYMOUS = 0x20;

    /// <summary>Do not reserve swap for the mapping (large sparse mappings in benchmarks).</summary>
    public const int MAP_NORESERVE = 0x4000;

    /// <summary>Populate (prefault) the mapping.</summary>
    public const int MAP_POPULATE = 0x8000;

    /// <summary>Drop the pages of a range: a private anonymous page is gone (not present) until touched again.</summary>
    public const int MADV_DONTNEED = 4;

    /// <summary>Do not back the range with transparent huge pages.</summary>
    public const int MADV_NOHUGEPAGE = 15;

    /// <summary>Ask for transparent huge pages in the range.</summary>
    public const int MADV_HUGEPAGE = 14;

    /// <summary>What mmap returns on failure: <c>(void*)-1</c>.</summary>
    public static void* MAP_FAILED => unchecked((void*)(nint)(-1));

    /// <summary>mmap(2). Returns <see cref="MAP_FAILED"/> with errno on failure.</summary>
    [LibraryImport(LibraryNames.LibC, SetLastError = true)]
    public static partial void* mmap(void* addr, nuint length, int prot, int flags, int fd, long offset);

    /// <summary>munmap(2). Returns 0, or -1 with errno.</summary>
    [LibraryImport(LibraryNames.LibC, SetLastError = true)]
    public static partial int munmap(void* addr, nuint length);

    /// <summary>madvise(2). Returns 0, or -1 with errno.</summary>
    [LibraryImport(LibraryNames.LibC, SetLastError = true)]
    public static partial int madvise(void* addr, nuint length, int advice);

    /// <summary>memfd_create(2): an anonymous memory-backed file (shmem) named <paramref name="name"/> (NUL-terminated) for debugging. Returns a descriptor, or -1 with errno.</summary>
    [LibraryImport(LibraryNames.LibC, SetLastError = true)]
    public static partial int memfd_create(byte* name, uint flags);
}
