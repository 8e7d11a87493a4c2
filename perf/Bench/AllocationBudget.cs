using System.Globalization;
using System.Text.Json;

namespace HotPage.Perf.Bench;

/// <summary>One benchmark's measured allocation, from BenchmarkDotNet's JSON export.</summary>
/// <param name="FullName">BenchmarkDotNet's full name: <c>Namespace.Type.Method(Param: value, ...)</c>.</param>
/// <param name="BytesPerOperation">Bytes allocated per operation; null when the export has no memory figures (the benchmark failed or ran without the memory diagnoser).</param>
internal readonly record struct MeasuredAllocation(string FullName, double? BytesPerOperation)
{
    /// <summary>The full name without the parameter list.</summary>
    public string MethodName => FullName.IndexOf('(', StringComparison.Ordinal) is int i and >= 0 ? FullName[..i] : FullName;
}

/// <summary>
/// The allocation budget: <c>perf/allocation-budget.json</c> maps a benchmark to the bytes per
/// operation it may allocate (0 for the record and promote paths). A key names a benchmark by
/// BenchmarkDotNet's full name, with or without the parameter list (without: every parameter
/// case must hold), or by a suffix after a dot (<c>RecordRing.Record</c>). Keys starting with
/// <c>$</c> or <c>_</c> are comments. A budgeted benchmark missing from the results is a breach:
/// a renamed benchmark must not pass by disappearing.
/// </summary>
internal static class AllocationBudget
{
    /// <summary>Reads a budget file: a JSON object of name to bytes.</summary>
    /// <exception cref="InvalidDataException">The file is not such an object; the message names the file and the entry.</exception>
    public static IReadOnlyList<KeyValuePair<string, double>> Load(string path)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"{path}: expected a JSON object of benchmark name to allowed bytes per operation.");
        }

        var list = new List<KeyValuePair<string, double>>();
        foreach (JsonProperty e in doc.RootElement.EnumerateObject())
        {
            if (e.Name.StartsWith('$') || e.Name.StartsWith('_'))
            {
                continue;
            }

            if (e.Value.ValueKind != JsonValueKind.Number || e.Value.GetDouble() < 0)
            {
                throw new InvalidDataException($"{path}: \"{e.Name}\" must be a number of bytes (0 or more), not {e.Value.GetRawText()}.");
            }

            list.Add(new(e.Name, e.Value.GetDouble()));
        }

        return list;
    }

    /// <summary>Reads every benchmark of BenchmarkDotNet's JSON exports (<c>*-report*.json</c>) in <paramref name="pathOrDirectory"/>.</summary>
    public static List<MeasuredAllocation> ReadResults(string pathOrDirectory)
    {
        IEnumerable<string> files = Directory.Exists(pathOrDirectory)
            ? Directory.EnumerateFiles(pathOrDirectory, "*-report*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            : [pathOrDirectory];
        var results = new List<MeasuredAllocation>();
        foreach (string file in files)
        {
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(file));
            if (!doc.RootElement.TryGetProperty("Benchmarks", out JsonElement benchmarks))
            {
                continue;
            }

            foreach (JsonElement b in benchmarks.EnumerateArray())
            {
                string name = b.GetProperty("FullName").GetString() ?? string.Empty;
                double? bytes = b.TryGetProperty("Memory", out JsonElement memory) && memory.ValueKind == JsonValueKind.Object &&
                    memory.TryGetProperty("BytesAllocatedPerOperation", out JsonElement v) && v.ValueKind == JsonValueKind.Number
                    ? v.GetDouble()
                    : null;
                results.Add(new MeasuredAllocation(name, bytes));
            }
        }

        return results;
    }

    /// <summary>True when <paramref name="key"/> names the benchmark <paramref name="fullName"/>.</summary>
    public static bool Matches(string key, string fullName)
    {
        string method = fullName.IndexOf('(', StringComparison.Ordinal) is int i and >= 0 ? fullName[..i] : fullName;
        return key == fullName || key == method || method.EndsWith("." + key, StringComparison.Ordinal) || fullName.EndsWith("." + key, StringComparison.Ordinal);
    }

    /// <summary>Checks each budget entry; returns one line per entry, <c>ok</c> or <c>FAIL</c>, and the number of breaches.</summary>
    public static (List<string> Lines, int Breaches) Check(IReadOnlyList<KeyValuePair<string, double>> budget, IReadOnlyList<MeasuredAllocation> results)
    {
        var lines = new List<string>();
        int breaches = 0;
        foreach ((string key, double allowed) in budget)
        {
            var matched = results.Where(r => Matches(key, r.FullName)).ToList();
            if (matched.Count == 0)
            {
                lines.Add($"FAIL budget {key}: no such benchmark in the results (renamed, removed, or not run)");
                breaches++;
                continue;
            }

            var over = matched.Where(r => r.BytesPerOperation is not double b || b > allowed).ToList();
            if (over.Count == 0)
            {
                double worst = matched.Max(r => r.BytesPerOperation!.Value);
                lines.Add(string.Create(CultureInfo.InvariantCulture, $"ok   budget {key}: {worst:0.#} B/op <= {allowed:0.#} B/op ({matched.Count} case(s))"));
                continue;
            }

            breaches++;
            foreach (MeasuredAllocation r in over)
            {
                lines.Add(r.BytesPerOperation is double b
                    ? string.Create(CultureInfo.InvariantCulture, $"FAIL budget {key}: {r.FullName} allocates {b:0.#} B/op, allowed {allowed:0.#} B/op")
                    : $"FAIL budget {key}: {r.FullName} has no memory figures (it failed, or ran without the memory diagnoser)");
            }
        }

        return (lines, breaches);
    }
}
