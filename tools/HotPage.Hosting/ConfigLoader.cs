using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using HotPage.Engine.Tunables;

namespace HotPage.Hosting;

/// <summary>A configuration that cannot be used; the message names the key or value at fault.</summary>
public sealed class ConfigException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ConfigException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public ConfigException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>Creates the exception with a generic message.</summary>
    public ConfigException()
        : base("The configuration is not valid.")
    {
    }
}

/// <summary>Parses and validates configuration text: syntax, unknown keys, tunable ranges, tiers, residency mode.</summary>
public static partial class ConfigLoader
{
    /// <summary>Keys a configuration may hold, for error messages.</summary>
    public const string KnownKeys = "tunables, tiers, residency, sources, processes, cgroup, socket, metrics_file, maps_refresh_ms";

    /// <summary>The residency modes.</summary>
    public static readonly IReadOnlyList<string> ResidencyModes = ["query", "assume-lower"];

    /// <summary>The source names the daemon accepts.</summary>
    public static readonly IReadOnlyList<string> SourceNames = ["auto", "scan", "softdirty", "damon", "perf"];

    /// <summary>Reads a configuration file.</summary>
    /// <exception cref="ConfigException">The file cannot be read or its content is not valid; the message names the file and the fault.</exception>
    public static HotPageConfig LoadFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"config {path}: cannot read it: {ex.Message}", ex);
        }

        try
        {
            return Parse(text);
        }
        catch (ConfigException ex)
        {
            throw new ConfigException($"config {path}: {ex.Message}", ex);
        }
    }

    /// <summary>Parses and validates configuration text (JSON; comments and trailing commas allowed).</summary>
    /// <exception cref="ConfigException">The text is not valid; the message names the key or value.</exception>
    public static HotPageConfig Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        HotPageConfig? config;
        try
        {
            config = JsonSerializer.Deserialize(json, HotPageConfigContext.Default.HotPageConfig);
        }
        catch (JsonException ex)
        {
            throw new ConfigException(Describe(ex), ex);
        }

        if (config is null)
        {
            throw new ConfigException("the configuration is null; expected a JSON object");
        }

        Validate(config);
        return config;
    }

    private static string Describe(JsonException ex)
    {
        string path = string.IsNullOrEmpty(ex.Path) ? "$" : ex.Path;
        Match m = UnmappedKey().Match(ex.Message);
        if (!m.Success)
        {
            m = UnmappedKeyResourceKey().Match(ex.Message); // binaries trimmed with UseSystemResourceKeys
        }

        if (m.Success)
        {
            string where = path.EndsWith("." + m.Groups[1].Value, StringComparison.Ordinal) ? path[..^(m.Groups[1].Value.Length + 1)] : path;
            if (where == "$")
            {
                return $"unknown key \"{m.Groups[1].Value}\"; known keys: {KnownKeys}";
            }

            return $"unknown key \"{m.Groups[1].Value}\" in {where}";
        }

        Match conv = ConverterType().Match(ex.Message);
        if (conv.Success)
        {
            string expected = conv.Groups[1].Value switch
            {
                "System.Int64" or "System.Int32" => "an integer",
                "System.String" => "a string",
                var t when t.Contains("Dictionary", StringComparison.Ordinal) => "an object",
                var t when t.Contains("List", StringComparison.Ordinal) => "an array",
                var t when t.EndsWith("HotPageConfig", StringComparison.Ordinal) => "an object",
                var t => t,
            };
            return $"bad value at {path}: expected {expected}";
        }

        string line = ex.LineNumber is long l ? $" (line {l + 1}, byte {ex.BytePositionInLine + 1})" : string.Empty;
        return $"not valid JSON at {path}{line}: {ex.Message.Split(" Path:")[0].Split(" LineNumber:")[0]}";
    }

    /// <summary>Checks values the JSON shape cannot: tunable names and ranges, tier node ids, residency and source names.</summary>
    /// <exception cref="ConfigException">A value is not valid.</exception>
    public static void Validate(HotPageConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        ApplyTunables(config, new EngineTunables());

        _ = TierOverride(config);
        if (config.Residency is not null && !ResidencyModes.Contains(config.Residency))
        {
            throw new ConfigException($"residency: \"{config.Residency}\" is not one of {string.Join(", ", ResidencyModes)}");
        }

        if (config.Sources is not null)
        {
            foreach (string s in config.Sources)
            {
                if (!SourceNames.Contains(s))
                {
                    throw new ConfigException($"sources: \"{s}\" is not one of {string.Join(", ", SourceNames)}");
                }
            }
        }

        if (config.Processes is not null)
        {
            foreach (int pid in config.Processes)
            {
                if (pid <= 0)
                {
                    throw new ConfigException($"processes: {pid} is not a pid (must be positive)");
                }
            }
        }

        if (config.MapsRefreshMs is int ms && (ms < 100 || ms > 3_600_000))
        {
            throw new ConfigException($"maps_refresh_ms must be in 100..3600000 (got {ms})");
        }
    }

    /// <summary>The tier override as node id → rank, or null when the config has none.</summary>
    /// <exception cref="ConfigException">A key is not a node id or a rank is negative.</exception>
    public static Dictionary<int, int>? TierOverride(HotPageConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.Tiers is null || config.Tiers.Count == 0)
        {
            return null;
        }

        var result = new Dictionary<int, int>();
        foreach ((string key, int rank) in config.Tiers)
        {
            if (!int.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out int node) || node > Interop.Platform.NumaTopology.MaxNodeId)
            {
                throw new ConfigException($"tiers: \"{key}\" is not a node id (0..{Interop.Platform.NumaTopology.MaxNodeId})");
            }

            if (rank < 0 || rank > 1000)
            {
                throw new ConfigException($"tiers.{key}: the tier rank must be in 0..1000 (got {rank}); 0 is the top tier");
            }

            result[node] = rank;
        }

        return result;
    }

    /// <summary>Applies the config's tunables to <paramref name="tunables"/> (before the engine starts).</summary>
    /// <exception cref="ConfigException">A value is not accepted.</exception>
    public static void ApplyTunables(HotPageConfig config, EngineTunables tunables)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(tunables);
        if (config.Tunables is null)
        {
            return;
        }

        // Order matters for the paired bounds (freq_threshold_min/max): set the max first when it rises.
        foreach ((string name, long value) in config.Tunables.OrderBy(p => p.Key == "freq_threshold_max" ? 0 : 1))
        {
            if (!tunables.TrySet(name, value, out string error))
            {
                throw new ConfigException($"tunables.{name}: {error}");
            }
        }
    }

    [GeneratedRegex("The JSON property '([^']*)' could not be mapped")]
    private static partial Regex UnmappedKey();

    [GeneratedRegex("UnmappedJsonProperty, ([^,]*),")]
    private static partial Regex UnmappedKeyResourceKey();

    [GeneratedRegex(@"could not be converted to ([^ ]+?)\.? Path")]
    private static partial Regex ConverterType();
}
