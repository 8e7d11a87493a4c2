using System.Text.Json.Serialization;

namespace HotPage.Hosting;

/// <summary>
/// HotPage's configuration, as a JSON document (a file for <c>hotpaged run --config</c>, a string
/// for <c>hotpage_open</c>). Every key is optional; an unknown key is an error that names it.
/// </summary>
/// <remarks>
/// Example: <c>{ "tunables": { "freq_threshold": 3 }, "tiers": { "2": 1 }, "residency": "query",
/// "sources": [ "auto" ], "processes": [ 1234 ] }</c>. The daemon-only keys (<c>sources</c>,
/// <c>processes</c>, <c>cgroup</c>, <c>socket</c>, <c>metrics_file</c>, <c>maps_refresh_ms</c>)
/// are accepted and ignored by the library.
/// </remarks>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class HotPageConfig
{
    /// <summary>Tunable values by name (see <c>hotpaged tunables</c>); each is checked against its range.</summary>
    [JsonPropertyName("tunables")]
    public Dictionary<string, long>? Tunables { get; set; }

    /// <summary>Tier rank by node id ("0" = top tier); replaces what sysfs says for the nodes it names.</summary>
    [JsonPropertyName("tiers")]
    public Dictionary<string, int>? Tiers { get; set; }

    /// <summary>
    /// How registered pages start: <c>"query"</c> (default) asks the kernel where each page is and
    /// tracks only lower-tier pages; <c>"assume-lower"</c> tracks every registered page as if it
    /// were on a lower tier (a testing and benchmarking aid for single-tier machines).
    /// </summary>
    [JsonPropertyName("residency")]
    public string? Residency { get; set; }

    /// <summary>Daemon: temperature sources (<c>auto</c>, <c>scan</c>, <c>softdirty</c>, <c>damon</c>, <c>perf</c>).</summary>
    [JsonPropertyName("sources")]
    public List<string>? Sources { get; set; }

    /// <summary>Daemon: pids to watch (added to <c>--pid</c>).</summary>
    [JsonPropertyName("processes")]
    public List<int>? Processes { get; set; }

    /// <summary>Daemon: a cgroup directory whose <c>cgroup.procs</c> lists processes to watch.</summary>
    [JsonPropertyName("cgroup")]
    public string? Cgroup { get; set; }

    /// <summary>Daemon: the control socket path.</summary>
    [JsonPropertyName("socket")]
    public string? Socket { get; set; }

    /// <summary>Daemon: a file rewritten every second with the counters in Prometheus text format.</summary>
    [JsonPropertyName("metrics_file")]
    public string? MetricsFile { get; set; }

    /// <summary>Daemon: how often the watched processes' memory maps are re-read (new mappings, exits), in milliseconds.</summary>
    [JsonPropertyName("maps_refresh_ms")]
    public int? MapsRefreshMs { get; set; }
}

/// <summary>The source-generated (reflection-free, AOT-safe) JSON contract of <see cref="HotPageConfig"/>.</summary>
[JsonSourceGenerationOptions(ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(HotPageConfig))]
public sealed partial class HotPageConfigContext : JsonSerializerContext
{
}
