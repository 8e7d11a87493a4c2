using System.Diagnostics;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using HotPage.Interop.Linux;
using HotPage.Interop.Platform;

namespace HotPage.Interop.Tests;

/// <summary>
/// Checks the bindings against the real Linux headers: emits C with a <c>_Static_assert</c> for every
/// constant of <see cref="LibC"/> (taken by reflection, so a new constant is checked without editing
/// this test), every <see cref="Errno"/> value, the sizes of the types crossing the boundary and the
/// function types of the libc entry points, and compiles it with gcc.
/// </summary>
[TestFixture]
[Platform("Linux")]
public class CLayoutTests
{
    [Test]
    public void BindingsAgreeWithTheInstalledHeaders()
    {
        string source = GenerateSource();

        (int exit, string errors) = Compile(source);

        Assert.That(exit, Is.Zero, "gcc rejected the layout assertions:\n" + errors + "\n--- source ---\n" + source);
        Assert.That(source, Does.Contain("(SYS_move_pages) == 279LL").And.Contain("(MPOL_MF_MOVE) == 2LL"), "the assertions cover the syscall numbers and the flags");
    }

    [Test]
    public void AWrongConstantIsCaught()
    {
        (int exit, string errors) = Compile(GenerateSource() + "_Static_assert((long long)(SYS_move_pages) == 280LL, \"planted\");\n");

        Assert.That(exit, Is.Not.Zero, "a planted wrong syscall number must fail the compile");
        Assert.That(errors, Does.Contain("planted"), "gcc names the failing assertion");
    }

    private static (int Exit, string Errors) Compile(string source)
    {
        string dir = Path.Combine(Path.GetTempPath(), "hotpage-clayout-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        string file = Path.Combine(dir, Guid.NewGuid().ToString("N") + ".c");
        File.WriteAllText(file, source);
        var psi = new ProcessStartInfo("gcc", ["-std=gnu11", "-fsyntax-only", "-Werror", file]) { RedirectStandardError = true, RedirectStandardOutput = true };
        Process gcc;
        try
        {
            gcc = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Assert.Fail("gcc is not installed (.ci/install-deps.sh installs it).");
            throw;
        }

        using (gcc)
        {
            string errors = gcc.StandardError.ReadToEnd();
            gcc.WaitForExit();
            File.Delete(file);
            return (gcc.ExitCode, errors);
        }
    }

    private static string GenerateSource()
    {
        var c = new StringBuilder();
        c.AppendLine("#define _GNU_SOURCE");
        foreach (string h in new[] { "sys/syscall.h", "sys/mman.h", "sys/types.h", "fcntl.h", "unistd.h", "sched.h", "errno.h", "stdint.h", "stddef.h", "linux/mempolicy.h", "linux/perf_event.h" })
        {
            c.AppendLine($"#include <{h}>");
        }

        foreach (FieldInfo f in typeof(LibC).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral).OrderBy(f => f.Name, StringComparer.Ordinal))
        {
            object value = f.GetRawConstantValue()!;
            c.AppendLine($"_Static_assert((long long)({f.Name}) == {Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture)}LL, \"LibC.{f.Name}\");");
        }

        foreach (Errno e in Enum.GetValues<Errno>().Where(e => e != Errno.None))
        {
            c.AppendLine($"_Static_assert({e} == {(int)e}, \"Errno.{e}\");");
        }

        c.AppendLine($"_Static_assert(sizeof(void*) == {IntPtr.Size}, \"nint is a pointer\");");
        c.AppendLine($"_Static_assert(sizeof(size_t) == {UIntPtr.Size}, \"nuint is size_t\");");
        c.AppendLine($"_Static_assert(sizeof(unsigned long) == {UIntPtr.Size}, \"nuint is a nodemask word\");");
        c.AppendLine($"_Static_assert(sizeof(off_t) == {sizeof(long)}, \"long is off_t\");");
        c.AppendLine($"_Static_assert(sizeof(int) == {Unsafe.SizeOf<PageStatus>()}, \"PageStatus is move_pages's int status\");");
        c.AppendLine($"_Static_assert(sizeof(uint64_t) == {Unsafe.SizeOf<PagemapEntry>()}, \"PagemapEntry is a pagemap u64\");");
        c.AppendLine("_Static_assert(MAP_FAILED == (void*)-1, \"MAP_FAILED\");");

        // The function types of the libc entry points the bindings declare.
        c.AppendLine("#define SAME(f, t) _Static_assert(__builtin_types_compatible_p(__typeof__(&f), t), #f)");
        c.AppendLine("SAME(getcpu, int (*)(unsigned int*, unsigned int*));");
        c.AppendLine("SAME(pread, ssize_t (*)(int, void*, size_t, off_t));");
        c.AppendLine("SAME(mmap, void* (*)(void*, size_t, int, int, int, off_t));");
        c.AppendLine("SAME(munmap, int (*)(void*, size_t));");
        c.AppendLine("SAME(madvise, int (*)(void*, size_t, int));");
        c.AppendLine("SAME(close, int (*)(int));");
        c.AppendLine("SAME(ftruncate, int (*)(int, off_t));");
        c.AppendLine("SAME(memfd_create, int (*)(const char*, unsigned int));");
        c.AppendLine("SAME(syscall, long (*)(long, ...));");
        return c.ToString();
    }
}
