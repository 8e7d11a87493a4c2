using System.Runtime.CompilerServices;
using HotPage.Interop.Linux;

namespace HotPage.Engine.Sources;

/// <summary>One decoded <c>PERF_RECORD_SAMPLE</c>: the fields the reader understands (0 when not asked for).</summary>
/// <param name="Pid">Process id (PERF_SAMPLE_TID).</param>
/// <param name="Tid">Thread id (PERF_SAMPLE_TID).</param>
/// <param name="TimeNs">Time stamp (PERF_SAMPLE_TIME).</param>
/// <param name="Address">Data address (PERF_SAMPLE_ADDR).</param>
/// <param name="Ip">Instruction pointer (PERF_SAMPLE_IP).</param>
/// <param name="Cpu">CPU (PERF_SAMPLE_CPU).</param>
public readonly record struct PerfSample(int Pid, int Tid, ulong TimeNs, ulong Address, ulong Ip, uint Cpu);

/// <summary>
/// Reads a perf mmap ring: the <c>perf_event_mmap_page</c> followed by a power-of-two data area.
/// The protocol (perf_event.h): read <c>data_head</c> with acquire semantics, read the records
/// between <c>data_tail</c> and it, then store the new <c>data_tail</c> with release semantics so the
/// kernel may overwrite them. A record that runs past the end of the data area continues at its
/// start: it is copied into a scratch buffer first. <c>PERF_RECORD_LOST</c> records count lost
/// samples; record types the reader does not know are skipped by <c>header.size</c>.
/// </summary>
/// <remarks>The reader does not own the mapping. Samples are decoded in the kernel's field order for
/// the <c>sample_type</c> given at construction; bits the reader cannot decode are refused there.</remarks>
public sealed unsafe class PerfRingReader
{
    private const ulong Supported = LibC.PERF_SAMPLE_IP | LibC.PERF_SAMPLE_TID | LibC.PERF_SAMPLE_TIME | LibC.PERF_SAMPLE_ADDR |
        SampleId | LibC.PERF_SAMPLE_CPU | SamplePeriod | SampleStreamId | SampleIdentifier;

    private const ulong SampleId = 1UL << 6;
    private const ulong SamplePeriod = 1UL << 8;
    private const ulong SampleStreamId = 1UL << 9;
    private const ulong SampleIdentifier = 1UL << 16;

    private readonly perf_event_mmap_page* _page;
    private readonly byte* _data;
    private readonly ulong _size;
    private readonly ulong _sampleType;
    private readonly byte[] _scratch = new byte[65536];

    /// <summary>Creates a reader for the ring mapped at <paramref name="mapping"/>.</summary>
    /// <param name="mapping">The start of the mmap (the metadata page).</param>
    /// <param name="dataSize">The data area's size in bytes when the metadata page does not state it (kernels before 4.1); 0 to take it from the page.</param>
    /// <param name="sampleType">The PERF_SAMPLE_* bits the event was opened with.</param>
    public PerfRingReader(byte* mapping, ulong dataSize, ulong sampleType)
    {
        if (mapping == null)
        {
            throw new ArgumentNullException(nameof(mapping));
        }

        if ((sampleType & ~Supported) != 0)
        {
            throw new ArgumentException($"sample_type bits 0x{sampleType & ~Supported:x} are not decoded by this reader", nameof(sampleType));
        }

        _page = (perf_event_mmap_page*)mapping;
        ulong offset = _page->data_offset != 0 ? _page->data_offset : (ulong)Environment.SystemPageSize;
        _size = _page->data_size != 0 ? _page->data_size : dataSize;
        if (_size == 0 || (_size & (_size - 1)) != 0)
        {
            throw new ArgumentException($"the data area size {_size} is not a power of two", nameof(dataSize));
        }

        _data = mapping + offset;
        _sampleType = sampleType;
    }

    /// <summary>Samples decoded so far.</summary>
    public long Samples { get; private set; }

    /// <summary>Samples the kernel reported lost (sum of PERF_RECORD_LOST counts): the ring was full.</summary>
    public long LostSamples { get; private set; }

    /// <summary>PERF_RECORD_LOST records seen.</summary>
    public long LostRecords { get; private set; }

    /// <summary>Records of other types skipped by their size (throttle, mmap, comm, ...).</summary>
    public long SkippedRecords { get; private set; }

    /// <summary>Records that ran past the end of the data area and were reassembled.</summary>
    public long WrappedRecords { get; private set; }

    /// <summary>Bytes waiting in the ring now.</summary>
    public ulong Pending => Volatile.Read(ref _page->data_head) - _page->data_tail;

    /// <summary>
    /// Decodes records into <paramref name="destination"/> until it is full or the ring is empty and
    /// frees the consumed space. Returns the samples written. Never allocates.
    /// </summary>
    public int Read(Span<PerfSample> destination)
    {
        ulong head = Volatile.Read(ref _page->data_head); // acquire: the records before head are visible
        ulong tail = _page->data_tail;
        int n = 0;
        while (tail < head && n < destination.Length)
        {
            ulong at = tail & (_size - 1);
            perf_event_header h = Unsafe.ReadUnaligned<perf_event_header>(_data + at);
            if (h.size < sizeof(perf_event_header) || h.size > head - tail)
            {
                // A torn or corrupt record: drop what is there rather than loop forever.
                SkippedRecords++;
                tail = head;
                break;
            }

            byte* rec;
            if (at + h.size <= _size)
            {
                rec = _data + at;
            }
            else
            {
                int first = (int)(_size - at);
                fixed (byte* s = _scratch)
                {
                    Buffer.MemoryCopy(_data + at, s, _scratch.Length, first);
                    Buffer.MemoryCopy(_data, s + first, _scratch.Length - first, h.size - first);
                    rec = s;
                    WrappedRecords++;
                    Decode(h, rec, destination, ref n);
                }

                tail += h.size;
                continue;
            }

            Decode(h, rec, destination, ref n);
            tail += h.size;
        }

        Volatile.Write(ref _page->data_tail, tail); // release: the kernel may reuse the space now
        return n;
    }

    private void Decode(perf_event_header h, byte* rec, Span<PerfSample> destination, ref int n)
    {
        switch (h.type)
        {
            case LibC.PERF_RECORD_SAMPLE:
                destination[n++] = DecodeSample(rec + sizeof(perf_event_header));
                Samples++;
                break;
            case LibC.PERF_RECORD_LOST:
                LostRecords++;
                LostSamples += (long)Unsafe.ReadUnaligned<ulong>(rec + sizeof(perf_event_header) + 8);
                break;
            default:
                SkippedRecords++;
                break;
        }
    }

    private PerfSample DecodeSample(byte* p)
    {
        // The kernel's order (perf_output_sample): IDENTIFIER, IP, TID, TIME, ADDR, ID, STREAM_ID, CPU, PERIOD.
        ulong t = _sampleType;
        ulong ip = 0, time = 0, addr = 0;
        int pid = 0, tid = 0;
        uint cpu = 0;
        if ((t & SampleIdentifier) != 0)
        {
            p += 8;
        }

        if ((t & LibC.PERF_SAMPLE_IP) != 0)
        {
            ip = Unsafe.ReadUnaligned<ulong>(p);
            p += 8;
        }

        if ((t & LibC.PERF_SAMPLE_TID) != 0)
        {
            pid = Unsafe.ReadUnaligned<int>(p);
            tid = Unsafe.ReadUnaligned<int>(p + 4);
            p += 8;
        }

        if ((t & LibC.PERF_SAMPLE_TIME) != 0)
        {
            time = Unsafe.ReadUnaligned<ulong>(p);
            p += 8;
        }

        if ((t & LibC.PERF_SAMPLE_ADDR) != 0)
        {
            addr = Unsafe.ReadUnaligned<ulong>(p);
            p += 8;
        }

        if ((t & SampleId) != 0)
        {
            p += 8;
        }

        if ((t & SampleStreamId) != 0)
        {
            p += 8;
        }

        if ((t & LibC.PERF_SAMPLE_CPU) != 0)
        {
            cpu = Unsafe.ReadUnaligned<uint>(p);
        }

        return new PerfSample(pid, tid, time, addr, ip, cpu);
    }
}
