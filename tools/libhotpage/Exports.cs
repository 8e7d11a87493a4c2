using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using HotPage.Engine;
using HotPage.Engine.Counters;
using HotPage.Engine.Promotion;
using HotPage.Engine.Records;
using HotPage.Hosting;

// Every export catches everything: an exception must never cross the C boundary (that would abort
// the host process). The error is returned as a code and its text kept for hotpage_last_error.
#pragma warning disable CA1031

namespace HotPage.Native;

/// <summary><c>hotpage_result_t</c>: what a promotion round did.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NativeResult
{
    public ulong Candidates;
    public ulong Promoted;
    public ulong Failed;
    public ulong Dropped;
}

/// <summary><c>hotpage_batch_result_t</c>: what a batch of reports became.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NativeBatchResult
{
    public uint Recorded;
    public uint Dropped;
    public uint Rejected;
    public uint Reserved;
}

/// <summary>What a <c>hotpage_t*</c> stands for: a GCHandle to one of these (never a raw managed pointer).</summary>
internal sealed class Instance(HotPageHost host)
{
    public HotPageHost Host { get; } = host;
}

/// <summary>
/// The exports of <c>libhotpage.so</c> (see <c>hotpage.h</c>). Each is an
/// <see cref="UnmanagedCallersOnlyAttribute"/> method with fixed-width arguments whose body is one
/// try/catch; handles are <see cref="GCHandle"/>s to an <see cref="Instance"/> (or, for
/// <c>hotpage_producer_t</c>, to a <see cref="RecordProducer"/>). Record calls are thread-safe (the
/// engine's per-thread and per-CPU record rings), producer calls one thread at a time per producer;
/// open/close of one handle must not race with its use.
/// </summary>
internal static unsafe class Exports
{
    [ThreadStatic]
    private static byte* s_lastError;

    [ThreadStatic]
    private static int s_lastErrorCapacity;

    private static Instance? Get(nint handle) => handle == 0 ? null : GCHandle.FromIntPtr(handle).Target as Instance;

    private static int Fail(ErrorCode code, string message)
    {
        SetLastError(message);
        return (int)code;
    }

    private static void SetLastError(string message)
    {
        try
        {
            int need = Encoding.UTF8.GetByteCount(message) + 1;
            if (need > s_lastErrorCapacity)
            {
                s_lastError = (byte*)NativeMemory.Realloc(s_lastError, (nuint)need);
                s_lastErrorCapacity = need;
            }

            int n = Encoding.UTF8.GetBytes(message, new Span<byte>(s_lastError, need));
            s_lastError[n] = 0;
        }
        catch
        {
            // No memory for the text: the code alone tells the caller.
        }
    }

    private static int Internal(Exception ex) => Fail(ErrorCode.Internal, $"internal error: {ex.GetType().Name}: {ex.Message}");

    [UnmanagedCallersOnly(EntryPoint = "hotpage_open")]
    private static int Open(byte* configJson, nint* handle)
    {
        try
        {
            if (handle == null)
            {
                return Fail(ErrorCode.Inval, "hotpage_open: out is NULL");
            }

            *handle = 0;
            if (Unsafe.SizeOf<AccessRecord>() != 24 || sizeof(NativeResult) != 32)
            {
                return Fail(ErrorCode.Internal, "hotpage_open: this build's record layout does not match hotpage_record_t (24 bytes)");
            }

            HotPageConfig? config = configJson == null ? null : ConfigLoader.Parse(Marshal.PtrToStringUTF8((nint)configJson) ?? string.Empty);
            var host = HotPageHost.Create(config);
            *handle = GCHandle.ToIntPtr(GCHandle.Alloc(new Instance(host)));
            return (int)ErrorCode.Ok;
        }
        catch (ConfigException ex)
        {
            return Fail(ErrorCode.Config, "config: " + ex.Message);
        }
        catch (PlatformNotSupportedException ex)
        {
            return Fail(ErrorCode.NoSys, ex.Message);
        }
        catch (OutOfMemoryException ex)
        {
            return Fail(ErrorCode.NoMem, ex.Message);
        }
        catch (Exception ex)
        {
            return Internal(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "hotpage_close")]
    private static void Close(nint handle)
    {
        try
        {
            if (handle == 0)
            {
                return;
            }

            GCHandle gch = GCHandle.FromIntPtr(handle);
            (gch.Target as Instance)?.Host.Dispose();
            gch.Free();
        }
        catch (Exception ex)
        {
            _ = Internal(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "hotpage_register_region")]
    private static int RegisterRegion(nint handle, void* baseAddress, ulong length)
    {
        try
        {
            Instance? inst = Get(handle);
            if (inst is null)
            {
                return Fail(ErrorCode.Inval, "hotpage_register_region: the handle is NULL");
            }

            ulong b = (ulong)baseAddress;
            if (b == 0 || length == 0 || (b & 4095) != 0 || (length & 4095) != 0 || b + length < b)
            {
                return Fail(ErrorCode.Inval, $"hotpage_register_region: 0x{b:x}+{length}: a region must be non-empty, start on a page boundary and cover whole pages");
            }

            inst.Host.Engine.RegisterRegion(0, b, length);
            return (int)ErrorCode.Ok;
        }
        catch (ArgumentException ex)
        {
            return Fail(ErrorCode.Exist, ex.Message);
        }
        catch (InvalidOperationException ex) when (ex.Message.Contains("max_tracked_pages", StringComparison.Ordinal))
        {
            return Fail(ErrorCode.NoMem, ex.Message);
        }
        catch (InvalidOperationException ex)
        {
            return Fail(ErrorCode.Io, ex.Message);
        }
        catch (Exception ex)
        {
            return Internal(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "hotpage_unregister_region")]
    private static int UnregisterRegion(nint handle, void* baseAddress)
    {
        try
        {
            Instance? inst = Get(handle);
            if (inst is null)
            {
                return Fail(ErrorCode.Inval, "hotpage_unregister_region: the handle is NULL");
            }

            foreach (var r in inst.Host.Engine.Regions)
            {
                if (r.Pid == 0 && r.Base == (ulong)baseAddress)
                {
                    return inst.Host.Engine.UnregisterRegion(r.Id) ? (int)ErrorCode.Ok : Fail(ErrorCode.NoEnt, "hotpage_unregister_region: the region went away meanwhile");
                }
            }

            return Fail(ErrorCode.NoEnt, $"hotpage_unregister_region: no region starts at 0x{(ulong)baseAddress:x}");
        }
        catch (Exception ex)
        {
            return Internal(ex);
        }
    }

    private static int Code(RecordResult result) => result switch
    {
        RecordResult.Recorded => (int)ErrorCode.Ok,
        RecordResult.Dropped => (int)ErrorCode.Again,
        RecordResult.InvalidSource => (int)ErrorCode.Source,
        RecordResult.InvalidNode => (int)ErrorCode.Node,
        RecordResult.OutsideTrackedMemory => (int)ErrorCode.Range,
        _ => (int)ErrorCode.Internal,
    };

    [UnmanagedCallersOnly(EntryPoint = "hotpage_record")]
    private static int Record(nint handle, ulong address, int nid, uint source, ulong timeMs)
    {
        try
        {
            Instance? inst = Get(handle);
            return inst is null ? (int)ErrorCode.Inval : Code(inst.Host.Engine.RecordAccess(0, address, nid, (AccessSource)source, timeMs));
        }
        catch
        {
            return (int)ErrorCode.Internal;
        }
    }

    private static int RecordBatch(nint handle, AccessRecord* records, uint count, NativeBatchResult* result)
    {
        Instance? inst = Get(handle);
        if (inst is null || (records == null && count != 0) || count > int.MaxValue)
        {
            return (int)ErrorCode.Inval;
        }

        return Report(inst.Host.Engine.RecordAccesses(0, new ReadOnlySpan<AccessRecord>(records, (int)count)), result);
    }

    // A batch's return value (records queued) and, when the caller asked for it, its whole result.
    private static int Report(BatchResult r, NativeBatchResult* result)
    {
        if (result != null)
        {
            *result = new NativeBatchResult { Recorded = (uint)r.Recorded, Dropped = (uint)r.Dropped, Rejected = (uint)r.Rejected };
        }

        return r.Recorded;
    }

    [UnmanagedCallersOnly(EntryPoint = "hotpage_record_batch")]
    private static int RecordBatch(nint handle, AccessRecord* records, uint count)
    {
        try
        {
            return RecordBatch(handle, records, count, null);
        }
        catch
        {
            return (int)ErrorCode.Internal;
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "hotpage_record_batch_ex")]
    private static int RecordBatchEx(nint handle, AccessRecord* records, uint count, NativeBatchResult* result)
    {
        try
        {
            return RecordBatch(handle, records, count, result);
        }
        catch
        {
            return (int)ErrorCode.Internal;
        }
    }

    private static RecordProducer? GetProducer(nint producer) => producer == 0 ? null : GCHandle.FromIntPtr(producer).Target as RecordProducer;

    [UnmanagedCallersOnly(EntryPoint = "hotpage_producer_open")]
    private static int ProducerOpen(nint handle, nint* producer)
    {
        try
        {
            if (producer == null)
            {
                return Fail(ErrorCode.Inval, "hotpage_producer_open: out is NULL");
            }

            *producer = 0;
            Instance? inst = Get(handle);
            if (inst is null)
            {
                return Fail(ErrorCode.Inval, "hotpage_producer_open: the handle is NULL");
            }

            RecordProducer p = inst.Host.Engine.OpenProducer();
            *producer = GCHandle.ToIntPtr(GCHandle.Alloc(p));
            return (int)ErrorCode.Ok;
        }
        catch (ObjectDisposedException ex)
        {
            return Fail(ErrorCode.Inval, "hotpage_producer_open: " + ex.Message);
        }
        catch (OutOfMemoryException ex)
        {
            return Fail(ErrorCode.NoMem, ex.Message);
        }
        catch (Exception ex)
        {
            return Internal(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "hotpage_producer_close")]
    private static void ProducerClose(nint producer)
    {
        try
        {
            if (producer == 0)
            {
                return;
            }

            GCHandle gch = GCHandle.FromIntPtr(producer);
            (gch.Target as RecordProducer)?.Dispose();
            gch.Free();
        }
        catch (Exception ex)
        {
            _ = Internal(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "hotpage_producer_record")]
    private static int ProducerRecord(nint producer, ulong address, int nid, uint source, ulong timeMs)
    {
        try
        {
            RecordProducer? p = GetProducer(producer);
            return p is null ? (int)ErrorCode.Inval : Code(p.Record(0, address, nid, (AccessSource)source, timeMs));
        }
        catch (ObjectDisposedException)
        {
            return (int)ErrorCode.Inval; // its engine was closed
        }
        catch
        {
            return (int)ErrorCode.Internal;
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "hotpage_producer_record_batch")]
    private static int ProducerRecordBatch(nint producer, AccessRecord* records, uint count, NativeBatchResult* result)
    {
        try
        {
            RecordProducer? p = GetProducer(producer);
            if (p is null || (records == null && count != 0) || count > int.MaxValue)
            {
                return (int)ErrorCode.Inval;
            }

            return Report(p.RecordBatch(0, new ReadOnlySpan<AccessRecord>(records, (int)count)), result);
        }
        catch (ObjectDisposedException)
        {
            return (int)ErrorCode.Inval; // its engine was closed
        }
        catch
        {
            return (int)ErrorCode.Internal;
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "hotpage_run_once")]
    private static int RunOnce(nint handle, NativeResult* result)
    {
        try
        {
            Instance? inst = Get(handle);
            if (inst is null)
            {
                return Fail(ErrorCode.Inval, "hotpage_run_once: the handle is NULL");
            }

            PromotionResult r = inst.Host.Promoter.RunOnce();
            if (result != null)
            {
                *result = new NativeResult { Candidates = (ulong)r.Candidates, Promoted = (ulong)r.Promoted, Failed = (ulong)r.Failed, Dropped = (ulong)r.Dropped };
            }

            return (int)ErrorCode.Ok;
        }
        catch (Exception ex)
        {
            return Internal(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "hotpage_start")]
    private static int Start(nint handle)
    {
        try
        {
            Instance? inst = Get(handle);
            if (inst is null)
            {
                return Fail(ErrorCode.Inval, "hotpage_start: the handle is NULL");
            }

            if (inst.Host.Promoter.IsRunning)
            {
                return Fail(ErrorCode.Busy, "hotpage_start: the background promoter is already running");
            }

            inst.Host.Promoter.Start();
            return (int)ErrorCode.Ok;
        }
        catch (InvalidOperationException ex)
        {
            return Fail(ErrorCode.Busy, ex.Message);
        }
        catch (Exception ex)
        {
            return Internal(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "hotpage_stop")]
    private static int Stop(nint handle)
    {
        try
        {
            Instance? inst = Get(handle);
            if (inst is null)
            {
                return Fail(ErrorCode.Inval, "hotpage_stop: the handle is NULL");
            }

            _ = inst.Host.Promoter.Stop();
            return (int)ErrorCode.Ok;
        }
        catch (Exception ex)
        {
            return Internal(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "hotpage_counter")]
    private static int Counter(nint handle, byte* name, ulong* value)
    {
        try
        {
            Instance? inst = Get(handle);
            if (inst is null || name == null || value == null)
            {
                return Fail(ErrorCode.Inval, "hotpage_counter: the handle, name or value pointer is NULL");
            }

            string n = Marshal.PtrToStringUTF8((nint)name) ?? string.Empty;
            CounterSnapshot snapshot = inst.Host.GetCounters();
            if (!snapshot.TryGetValue(n, out long v))
            {
                return Fail(ErrorCode.NoEnt, $"hotpage_counter: unknown counter '{n}'; known: {string.Join(", ", snapshot.Select(p => p.Key))}");
            }

            *value = (ulong)v;
            return (int)ErrorCode.Ok;
        }
        catch (Exception ex)
        {
            return Internal(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "hotpage_set_tunable")]
    private static int SetTunable(nint handle, byte* name, long value)
    {
        try
        {
            Instance? inst = Get(handle);
            if (inst is null || name == null)
            {
                return Fail(ErrorCode.Inval, "hotpage_set_tunable: the handle or name is NULL");
            }

            string n = Marshal.PtrToStringUTF8((nint)name) ?? string.Empty;
            return inst.Host.Engine.Tunables.TrySet(n, value, out string error) ? (int)ErrorCode.Ok : Fail(ErrorCode.Inval, error);
        }
        catch (Exception ex)
        {
            return Internal(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "hotpage_last_error")]
    private static byte* LastError()
    {
        try
        {
            return s_lastError != null ? s_lastError : Pointer("\0"u8);
        }
        catch
        {
            return null;
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "hotpage_strerror")]
    private static byte* StrError(int code)
    {
        try
        {
            return Pointer((ErrorCode)code switch
            {
                ErrorCode.Ok => "success\0"u8,
                ErrorCode.NoEnt => "no such counter or region (HOTPAGE_E_NOENT)\0"u8,
                ErrorCode.Again => "record ring full: the report was dropped and counted (HOTPAGE_E_AGAIN)\0"u8,
                ErrorCode.NoMem => "out of memory or no room left in the page table (HOTPAGE_E_NOMEM)\0"u8,
                ErrorCode.Busy => "the background promoter is already running (HOTPAGE_E_BUSY)\0"u8,
                ErrorCode.Exist => "the region overlaps a registered region (HOTPAGE_E_EXIST)\0"u8,
                ErrorCode.Node => "no such NUMA node (HOTPAGE_E_NODE)\0"u8,
                ErrorCode.Inval => "invalid argument (HOTPAGE_E_INVAL)\0"u8,
                ErrorCode.Range => "address outside every registered region (HOTPAGE_E_RANGE)\0"u8,
                ErrorCode.NoSys => "not supported on this platform (HOTPAGE_E_NOSYS)\0"u8,
                ErrorCode.Source => "unknown temperature source (HOTPAGE_E_SOURCE)\0"u8,
                ErrorCode.Config => "invalid configuration JSON (HOTPAGE_E_CONFIG)\0"u8,
                ErrorCode.Io => "could not read where pages reside (HOTPAGE_E_IO)\0"u8,
                ErrorCode.Internal => "internal error (HOTPAGE_E_INTERNAL)\0"u8,
                _ => "unknown error code\0"u8,
            });
        }
        catch
        {
            return null;
        }
    }

    /// <summary>The address of a UTF-8 literal: its bytes live in the image's read-only data for the life of the process.</summary>
    private static byte* Pointer(ReadOnlySpan<byte> literal) => (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(literal));
}
