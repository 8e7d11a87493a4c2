using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using HotPage.Engine.Records;
using HotPage.Engine.Sources;
using HotPage.Interop.Linux;

namespace HotPage.Sources.Tests;

/// <summary>The perf ring reader on hand-built rings (wrap-around, lost and unknown records).</summary>
[TestFixture]
public unsafe class PerfRingReaderTests
{
    private const ulong SampleType = LibC.PERF_SAMPLE_TID | LibC.PERF_SAMPLE_TIME | LibC.PERF_SAMPLE_ADDR;
    private const int DataSize = 4096;

    private byte* _ring;

    [SetUp]
    public void Allocate()
    {
        _ring = (byte*)NativeMemory.AlignedAlloc(4096 + DataSize, 4096);
        NativeMemory.Clear(_ring, 4096 + DataSize);
        Page->data_offset = 4096;
        Page->data_size = DataSize;
    }

    [TearDown]
    public void Free() => NativeMemory.AlignedFree(_ring);

    private perf_event_mmap_page* Page => (perf_event_mmap_page*)_ring;

    /// <summary>Writes a record at the kernel's head, wrapping at the end of the data area as the kernel does.</summary>
    private void Put(uint type, params ulong[] body)
    {
        var bytes = new byte[8 + (body.Length * 8)];
        var h = new perf_event_header { type = type, misc = 0, size = (ushort)bytes.Length };
        MemoryMarshal.Write(bytes, in h);
        for (int i = 0; i < body.Length; i++)
        {
            BitConverter.TryWriteBytes(bytes.AsSpan(8 + (i * 8)), body[i]);
        }

        ulong head = Page->data_head;
        for (int i = 0; i < bytes.Length; i++)
        {
            _ring[4096 + (int)((head + (ulong)i) & (DataSize - 1))] = bytes[i];
        }

        Page->data_head = head + (ulong)bytes.Length;
    }

    private static ulong Tid(int pid, int tid) => (uint)pid | ((ulong)(uint)tid << 32);

    [Test]
    public void SamplesAreDecodedInTheLayoutAskedFor()
    {
        Put(LibC.PERF_RECORD_SAMPLE, Tid(42, 43), 1000, 0x7f00_1234);
        var reader = new PerfRingReader(_ring, 0, SampleType);
        var samples = new PerfSample[8];

        int n = reader.Read(samples);

        Assert.That(n, Is.EqualTo(1), "one sample");
        Assert.That(samples[0], Is.EqualTo(new PerfSample(42, 43, 1000, 0x7f00_1234, 0, 0)), "pid, tid, time and address in the kernel's order");
        Assert.That(Page->data_tail, Is.EqualTo(Page->data_head), "the space is handed back");
    }

    [Test]
    public void ARecordThatRunsPastTheEndIsReassembled()
    {
        Page->data_head = Page->data_tail = DataSize - 16; // the next 32-byte sample starts 16 bytes before the end
        Put(LibC.PERF_RECORD_SAMPLE, Tid(1, 2), 77, 0xdead_b000);
        Put(LibC.PERF_RECORD_SAMPLE, Tid(1, 2), 78, 0xdead_c000);
        var reader = new PerfRingReader(_ring, 0, SampleType);
        var samples = new PerfSample[8];

        int n = reader.Read(samples);

        Assert.That(n, Is.EqualTo(2), "both samples");
        Assert.That(samples.Take(2).Select(s => s.Address), Is.EqualTo(new ulong[] { 0xdead_b000, 0xdead_c000 }), "the wrapped one is whole");
        Assert.That(reader.WrappedRecords, Is.EqualTo(1), "one record wrapped");
    }

    [Test]
    public void LostRecordsAreCountedAndUnknownRecordsSkippedBySize()
    {
        Put(LibC.PERF_RECORD_SAMPLE, Tid(1, 1), 1, 0x1000);
        Put(LibC.PERF_RECORD_LOST, 0, 17);
        Put(99, 1, 2, 3, 4, 5);
        Put(LibC.PERF_RECORD_LOST, 0, 3);
        Put(LibC.PERF_RECORD_SAMPLE, Tid(1, 1), 2, 0x2000);
        var reader = new PerfRingReader(_ring, 0, SampleType);
        var samples = new PerfSample[8];

        int n = reader.Read(samples);

        Assert.That(n, Is.EqualTo(2), "the samples on both sides of the other records");
        Assert.That((reader.LostRecords, reader.LostSamples), Is.EqualTo((2L, 20L)), "two lost records, 17 + 3 samples");
        Assert.That(reader.SkippedRecords, Is.EqualTo(1), "the unknown type is skipped by its size");
    }

    [Test]
    public void AFullDestinationLeavesTheRestInTheRing()
    {
        for (int i = 0; i < 5; i++)
        {
            Put(LibC.PERF_RECORD_SAMPLE, Tid(1, 1), (ulong)i, 0x1000 * (ulong)(i + 1));
        }

        var reader = new PerfRingReader(_ring, 0, SampleType);
        var samples = new PerfSample[3];

        int first = reader.Read(samples);
        int second = reader.Read(samples);

        Assert.That((first, second), Is.EqualTo((3, 2)), "three, then the remaining two");
        Assert.That(samples[1].Address, Is.EqualTo(0x5000UL), "in order");
    }

    [Test]
    public void SampleFieldsItCannotDecodeAreRefused()
    {
        Assert.Throws<ArgumentException>(() => _ = new PerfRingReader(_ring, 0, SampleType | (1UL << 5)), "a call chain cannot be decoded by this reader");
    }
}

/// <summary>perf sampling for real: software page-fault events of a child process (this kernel samples them without a PMU).</summary>
[TestFixture]
[Platform("Linux")]
[NonParallelizable]
public class PerfSamplingTests
{
    [Test]
    public void PageFaultSamplesWithAddressesInsideTheChildsMappingArrive()
    {
        using var child = new Child(256);
        var sink = new CollectingSink();
        using var source = new PerfSamplingSource(sink, Tunables.Fast(), new PerfSourceOptions { RingDataPages = 64 });
        Assume.That(source.Probe().IsAvailable, Is.True, source.Probe().Reason);
        source.Attach(child.Pid);

        child.Write(0, 256);
        SourceTickResult r = source.Tick(0);

        HashSet<ulong> pages = sink.Pages(child.Pid);
        Assert.That(pages.Count(p => p >= child.Base && p < child.End), Is.EqualTo(256), "a fault sample for every one of the 256 new pages");
        Assert.That(sink.Reports.All(x => x.Record.Source == AccessSource.PerfSample && x.Record.Nid == -1), Is.True, "tagged perf, NUMA_NO_NODE");
        Assert.That(r.Reported, Is.EqualTo(sink.Reports.Count), "the tick counts what it reported");
        Assert.That(source.LostSamples, Is.Zero, "a 64-page ring holds them all");
    }

    [Test]
    public void ATinyRingLosesSamplesAndSaysHowMany()
    {
        using var child = new Child(2048);
        var sink = new CollectingSink();
        using var source = new PerfSamplingSource(sink, Tunables.Fast(), new PerfSourceOptions { RingDataPages = 1 });
        Assume.That(source.Probe().IsAvailable, Is.True, source.Probe().Reason);
        source.Attach(child.Pid);

        child.Write(0, 1024); // 1024 samples of 32 bytes into a 4 KiB ring
        source.Tick(0);
        child.Write(1024, 16); // the kernel writes its LOST record before the next sample
        source.Tick(1);

        Assert.That(source.LostSamples, Is.GreaterThan(0), "the full ring lost samples and the reader counted them");
        Assert.That(source.Samples + source.LostSamples, Is.GreaterThanOrEqualTo(1024), "every fault is either a sample or counted as lost");
        Assert.That(sink.Pages(child.Pid).Where(p => p >= child.PageAddress(1024) && p < child.PageAddress(1040)).Count(), Is.EqualTo(16), "after the loss, samples flow again");
    }

    [Test]
    public void WithoutAMemoryAccessPmuTheChoiceSaysSoPlainly()
    {
        string root = Path.Combine(Path.GetTempPath(), "hotpage-pmu-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(root, "software"));
        File.WriteAllText(Path.Combine(root, "software", "type"), "1\n");
        try
        {
            PerfEventChoice choice = PerfEventChoice.Choose(root);

            Assert.That(choice.Description, Is.EqualTo("no memory-access sampling PMU: hardware events are not available (this is a VM without a PMU); using software page-fault samples"), "the message");
            Assert.That((choice.Type, choice.Config, choice.IsMemoryAccessEvent), Is.EqualTo((LibC.PERF_TYPE_SOFTWARE, LibC.PERF_COUNT_SW_PAGE_FAULTS, false)), "the software page-fault event");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Test]
    public void PebsMemLoadsIsEncodedFromTheSysfsEventAndFormat()
    {
        string root = Path.Combine(Path.GetTempPath(), "hotpage-pmu-" + Guid.NewGuid().ToString("N"));
        string cpu = Path.Combine(root, "cpu");
        Directory.CreateDirectory(Path.Combine(cpu, "events"));
        Directory.CreateDirectory(Path.Combine(cpu, "format"));
        File.WriteAllText(Path.Combine(cpu, "type"), "4\n");
        File.WriteAllText(Path.Combine(cpu, "events", "mem-loads"), "event=0xcd,umask=0x1,ldlat=3\n");
        File.WriteAllText(Path.Combine(cpu, "format", "event"), "config:0-7\n");
        File.WriteAllText(Path.Combine(cpu, "format", "umask"), "config:8-15\n");
        File.WriteAllText(Path.Combine(cpu, "format", "ldlat"), "config1:0-15\n");
        try
        {
            PerfEventChoice choice = PerfEventChoice.Choose(root);

            Assert.That((choice.Type, choice.Config, choice.Config1, choice.Precise, choice.IsMemoryAccessEvent), Is.EqualTo((4u, 0x1cdUL, 3UL, true, true)), "type 4, event|umask<<8, ldlat in config1, precise");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Test]
    public void AmdIbsOpIsChosenByItsPmuType()
    {
        string root = Path.Combine(Path.GetTempPath(), "hotpage-pmu-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(root, "ibs_op"));
        File.WriteAllText(Path.Combine(root, "ibs_op", "type"), "11\n");
        try
        {
            PerfEventChoice choice = PerfEventChoice.Choose(root);

            Assert.That((choice.Type, choice.IsMemoryAccessEvent), Is.EqualTo((11u, true)), "the dynamic PMU type of ibs_op");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Test]
    public void ThisMachineFallsBackToSoftwareSamplesWhenItHasNoCpuPmu()
    {
        if (Directory.Exists("/sys/bus/event_source/devices/cpu"))
        {
            Assert.Ignore("this machine has a CPU PMU");
        }

        Assert.That(PerfEventChoice.Choose("/sys/bus/event_source/devices").Description, Is.EqualTo(PerfEventChoice.NoPmuMessage), "a VM without a PMU");
    }

    [Test]
    public void AttachingAPidThatDoesNotExistNamesIt()
    {
        using var source = new PerfSamplingSource(new CollectingSink(), Tunables.Fast());
        int pid = Tunables.DeadPid();

        var e = Assert.Throws<SourceException>(() => source.Attach(pid));

        Assert.That(e!.Message, Does.Contain($"pid {pid}").And.Contain("no such process"), "pid and reason");
        Assert.That(source.OpenRings, Is.Zero, "nothing left open");
    }
}

/// <summary>The perf_event bindings against the installed kernel headers.</summary>
[TestFixture]
[Platform("Linux")]
public unsafe class PerfEventLayoutTests
{
    [Test]
    public void StructLayoutsAgreeWithLinuxPerfEventH()
    {
        var c = new StringBuilder("#include <linux/perf_event.h>\n#include <stddef.h>\n#include <sys/ioctl.h>\n");
        void Offset(string type, string field, long value) => c.AppendLine($"_Static_assert(offsetof(struct {type}, {field}) == {value}, \"{type}.{field}\");");
        perf_event_attr a = default;
        byte* b = (byte*)&a;
        Offset("perf_event_attr", "type", (byte*)&a.type - b);
        Offset("perf_event_attr", "size", (byte*)&a.size - b);
        Offset("perf_event_attr", "config", (byte*)&a.config - b);
        Offset("perf_event_attr", "sample_period", (byte*)&a.sample_period - b);
        Offset("perf_event_attr", "sample_type", (byte*)&a.sample_type - b);
        Offset("perf_event_attr", "read_format", (byte*)&a.read_format - b);
        Offset("perf_event_attr", "wakeup_events", (byte*)&a.wakeup_events - b);
        Offset("perf_event_attr", "bp_type", (byte*)&a.bp_type - b);
        Offset("perf_event_attr", "config1", (byte*)&a.config1 - b);
        Offset("perf_event_attr", "config2", (byte*)&a.config2 - b);
        Offset("perf_event_attr", "branch_sample_type", (byte*)&a.branch_sample_type - b);
        Offset("perf_event_attr", "sample_regs_user", (byte*)&a.sample_regs_user - b);
        Offset("perf_event_attr", "sample_stack_user", (byte*)&a.sample_stack_user - b);
        Offset("perf_event_attr", "clockid", (byte*)&a.clockid - b);
        Offset("perf_event_attr", "sample_regs_intr", (byte*)&a.sample_regs_intr - b);
        Offset("perf_event_attr", "aux_watermark", (byte*)&a.aux_watermark - b);
        Offset("perf_event_attr", "sample_max_stack", (byte*)&a.sample_max_stack - b);
        Offset("perf_event_attr", "aux_sample_size", (byte*)&a.aux_sample_size - b);
        Offset("perf_event_attr", "sig_data", (byte*)&a.sig_data - b);
        c.AppendLine($"_Static_assert(sizeof(struct perf_event_attr) >= {sizeof(perf_event_attr)}, \"perf_event_attr size\");");
        c.AppendLine($"_Static_assert(PERF_ATTR_SIZE_VER7 == {sizeof(perf_event_attr)}, \"VER7\");");
        perf_event_mmap_page m = default;
        byte* mb = (byte*)&m;
        Offset("perf_event_mmap_page", "version", (byte*)&m.version - mb);
        Offset("perf_event_mmap_page", "data_head", (byte*)&m.data_head - mb);
        Offset("perf_event_mmap_page", "data_tail", (byte*)&m.data_tail - mb);
        Offset("perf_event_mmap_page", "data_offset", (byte*)&m.data_offset - mb);
        Offset("perf_event_mmap_page", "data_size", (byte*)&m.data_size - mb);
        c.AppendLine($"_Static_assert(sizeof(struct perf_event_header) == {sizeof(perf_event_header)}, \"header size\");");
        perf_event_header h = default;
        Offset("perf_event_header", "misc", (byte*)&h.misc - (byte*)&h);
        Offset("perf_event_header", "size", (byte*)&h.size - (byte*)&h);
        // The bitfield word: set each named bit in a struct and compare with the C bitfield.
        c.AppendLine("static const union { struct perf_event_attr a; unsigned long long w[16]; } u_disabled = { .a = { .disabled = 1 } };");
        c.AppendLine("#define BIT(name, v) _Static_assert(sizeof(struct perf_event_attr) > 0, #name);");
        c.AppendLine("int check_bits(void) { struct perf_event_attr x = {0}; unsigned long long *w = (unsigned long long*)((char*)&x + 40);");
        c.AppendLine($"x.disabled = 1; if (*w != {PerfEventAttrFlags.Disabled}ULL) return 1; x.disabled = 0;");
        c.AppendLine($"x.inherit = 1; if (*w != {PerfEventAttrFlags.Inherit}ULL) return 2; x.inherit = 0;");
        c.AppendLine($"x.exclude_user = 1; if (*w != {PerfEventAttrFlags.ExcludeUser}ULL) return 3; x.exclude_user = 0;");
        c.AppendLine($"x.exclude_kernel = 1; if (*w != {PerfEventAttrFlags.ExcludeKernel}ULL) return 4; x.exclude_kernel = 0;");
        c.AppendLine($"x.exclude_hv = 1; if (*w != {PerfEventAttrFlags.ExcludeHv}ULL) return 5; x.exclude_hv = 0;");
        c.AppendLine($"x.freq = 1; if (*w != {PerfEventAttrFlags.Freq}ULL) return 6; x.freq = 0;");
        c.AppendLine($"x.watermark = 1; if (*w != {PerfEventAttrFlags.Watermark}ULL) return 7; x.watermark = 0;");
        c.AppendLine($"x.precise_ip = 2; if (*w != {PerfEventAttrFlags.PreciseIp2}ULL) return 8; return 0; }}");
        c.AppendLine("_Static_assert(__builtin_types_compatible_p(__typeof__(&ioctl), int (*)(int, unsigned long, ...)), \"ioctl\");");
        c.AppendLine("int main(void) { return check_bits(); }");

        string dir = Path.Combine(Path.GetTempPath(), "hotpage-perflayout-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string src = Path.Combine(dir, "layout.c"), exe = Path.Combine(dir, "layout");
            File.WriteAllText(src, c.ToString());
            using var gcc = Process.Start(new ProcessStartInfo("gcc", ["-std=gnu11", "-Werror", "-o", exe, src]) { RedirectStandardError = true })!;
            string errors = gcc.StandardError.ReadToEnd();
            gcc.WaitForExit();
            Assert.That(gcc.ExitCode, Is.Zero, "gcc rejected the layout assertions:\n" + errors + "\n" + c);
            using var run = Process.Start(exe)!;
            run.WaitForExit();
            Assert.That(run.ExitCode, Is.Zero, "bitfield check number that failed (0 = all agree)");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
