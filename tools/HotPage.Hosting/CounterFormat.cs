using System.Globalization;
using System.Text;
using System.Text.Json;
using HotPage.Engine.Counters;

namespace HotPage.Hosting;

/// <summary>Counters as text: <c>/proc/vmstat</c> lines, JSON, and Prometheus text exposition.</summary>
public static class CounterFormat
{
    /// <summary>Counters that are levels (gauges) rather than event totals.</summary>
    private static readonly HashSet<string> s_gauges = new(StringComparer.Ordinal)
    {
        "pghot_records_inflight", "pghot_candidates", "pghot_tracked_capacity", "hotpage_native_bytes", "hot_threshold",
        "hotpage_watched_processes", "hotpage_tracked_regions", "hotpage_tracked_pages", "hotpage_source_tick_ms_max",
        "hotpage_producer_rings",
    };

    /// <summary>True when the counter is a level (a gauge in Prometheus terms).</summary>
    public static bool IsGauge(string name) => s_gauges.Contains(name);

    /// <summary>One <c>name value</c> line per counter.</summary>
    public static string Text(IEnumerable<KeyValuePair<string, long>> counters)
    {
        ArgumentNullException.ThrowIfNull(counters);
        var sb = new StringBuilder();
        foreach ((string name, long value) in counters)
        {
            sb.Append(name).Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        return sb.ToString();
    }

    /// <summary>
    /// Prometheus text format 0.0.4: each counter as <c>hotpage_&lt;name&gt;</c> (names that already
    /// start with <c>hotpage_</c> keep theirs) with a <c># TYPE</c> line, counter or gauge.
    /// </summary>
    public static string Prometheus(IEnumerable<KeyValuePair<string, long>> counters)
    {
        ArgumentNullException.ThrowIfNull(counters);
        var sb = new StringBuilder();
        foreach ((string name, long value) in counters)
        {
            string metric = name.StartsWith("hotpage_", StringComparison.Ordinal) ? name : "hotpage_" + name;
            sb.Append("# TYPE ").Append(metric).Append(IsGauge(name) ? " gauge\n" : " counter\n");
            sb.Append(metric).Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        return sb.ToString();
    }

    /// <summary>Writes the counters as a JSON object (name → value) with <paramref name="writer"/>.</summary>
    public static void WriteJsonObject(Utf8JsonWriter writer, IEnumerable<KeyValuePair<string, long>> counters)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(counters);
        writer.WriteStartObject();
        foreach ((string name, long value) in counters)
        {
            writer.WriteNumber(name, value);
        }

        writer.WriteEndObject();
    }

    /// <summary>The counters as a JSON object text.</summary>
    public static string Json(IEnumerable<KeyValuePair<string, long>> counters)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            WriteJsonObject(writer, counters);
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Looks a counter up in a snapshot.</summary>
    public static long Get(CounterSnapshot snapshot, string name) => snapshot is not null && snapshot.TryGetValue(name, out long v) ? v : 0;
}
