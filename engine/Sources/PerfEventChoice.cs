using System.Globalization;
using HotPage.Interop.Linux;

namespace HotPage.Engine.Sources;

/// <summary>The event a <see cref="PerfSamplingSource"/> samples.</summary>
/// <param name="Type">perf_event_attr.type (a PERF_TYPE_* or a PMU's dynamic type).</param>
/// <param name="Config">perf_event_attr.config.</param>
/// <param name="Config1">perf_event_attr.config1 (PEBS load latency threshold).</param>
/// <param name="Precise">Ask for precise_ip 2 (PEBS).</param>
/// <param name="IsMemoryAccessEvent">True for PEBS mem-loads / IBS op; false for the software page-fault fallback.</param>
/// <param name="Description">What is sampled and why, in plain English.</param>
public sealed record PerfEventChoice(uint Type, ulong Config, ulong Config1, bool Precise, bool IsMemoryAccessEvent, string Description)
{
    /// <summary>The message for machines without a memory-access sampling PMU.</summary>
    public const string NoPmuMessage =
        "no memory-access sampling PMU: hardware events are not available (this is a VM without a PMU); using software page-fault samples";

    /// <summary>The software page-fault event: sampled by every kernel, addresses are the faulting data addresses (first touches, not every access).</summary>
    public static PerfEventChoice PageFaults(string why) =>
        new(LibC.PERF_TYPE_SOFTWARE, LibC.PERF_COUNT_SW_PAGE_FAULTS, 0, false, false, why);

    /// <summary>
    /// Chooses the best event the PMUs under <paramref name="eventSourceRoot"/> (normally
    /// <c>/sys/bus/event_source/devices</c>) offer: Intel PEBS <c>cpu/mem-loads</c>, then AMD IBS
    /// <c>ibs_op</c>, else the software page-fault fallback with <see cref="NoPmuMessage"/>.
    /// </summary>
    public static PerfEventChoice Choose(string eventSourceRoot)
    {
        string cpu = Path.Combine(eventSourceRoot, "cpu");
        string memLoads = Path.Combine(cpu, "events", "mem-loads");
        if (File.Exists(memLoads) && TryReadInt(Path.Combine(cpu, "type"), out int cpuType) &&
            TryEncode(File.ReadAllText(memLoads).Trim(), Path.Combine(cpu, "format"), out ulong config, out ulong config1, out string error))
        {
            return new PerfEventChoice((uint)cpuType, config, config1, true, true, "Intel PEBS cpu/mem-loads (load addresses, precise)");
        }

        string ibs = Path.Combine(eventSourceRoot, "ibs_op");
        if (TryReadInt(Path.Combine(ibs, "type"), out int ibsType))
        {
            return new PerfEventChoice((uint)ibsType, 0, 0, false, true, "AMD IBS op (sampled micro-ops with their data addresses)");
        }

        bool anyHardware = File.Exists(Path.Combine(cpu, "type"));
        return PageFaults(anyHardware
            ? "no memory-access sampling PMU: the CPU PMU offers neither PEBS mem-loads nor IBS op; using software page-fault samples"
            : NoPmuMessage);
    }

    /// <summary>
    /// Encodes a sysfs event string (<c>event=0xcd,umask=0x1,ldlat=3</c>) with the PMU's format
    /// files (<c>format/event</c> = <c>config:0-7</c>, <c>format/ldlat</c> = <c>config1:0-15</c>).
    /// </summary>
    public static bool TryEncode(string eventText, string formatDir, out ulong config, out ulong config1, out string error)
    {
        ArgumentNullException.ThrowIfNull(eventText);
        config = 0;
        config1 = 0;
        foreach (string term in eventText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = term.IndexOf('=', StringComparison.Ordinal);
            string name = eq < 0 ? term : term[..eq];
            string valueText = eq < 0 ? "1" : term[(eq + 1)..];
            ulong value = valueText.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
                ? ulong.Parse(valueText.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture)
                : ulong.Parse(valueText, NumberStyles.None, CultureInfo.InvariantCulture);
            string format = Path.Combine(formatDir, name);
            if (!File.Exists(format))
            {
                error = $"the PMU has no format for '{name}' ({format})";
                return false;
            }

            // "config:0-7", "config1:0-15", "config:8" (one bit); several ranges ("config:0-7,21-23") fill in order.
            string spec = File.ReadAllText(format).Trim();
            int colon = spec.IndexOf(':', StringComparison.Ordinal);
            string field = spec[..colon];
            ulong encoded = 0;
            int used = 0;
            foreach (string range in spec[(colon + 1)..].Split(','))
            {
                string[] ends = range.Split('-');
                int lo = int.Parse(ends[0], CultureInfo.InvariantCulture);
                int hi = ends.Length > 1 ? int.Parse(ends[1], CultureInfo.InvariantCulture) : lo;
                int width = hi - lo + 1;
                ulong part = (value >> used) & (width == 64 ? ulong.MaxValue : (1UL << width) - 1);
                encoded |= part << lo;
                used += width;
            }

            switch (field)
            {
                case "config":
                    config |= encoded;
                    break;
                case "config1":
                    config1 |= encoded;
                    break;
                default:
                    error = $"format field '{field}' of '{name}' is not supported";
                    return false;
            }
        }

        error = string.Empty;
        return true;
    }

    private static bool TryReadInt(string path, out int value)
    {
        value = 0;
        return File.Exists(path) && int.TryParse(File.ReadAllText(path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }
}
