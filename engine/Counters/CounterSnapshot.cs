using System.Collections;

namespace HotPage.Engine.Counters;

/// <summary>
/// A consistent set of counter values taken at one moment, named as <c>/proc/vmstat</c> names
/// the same events where the meaning matches. Taking one allocates; the record and promote
/// paths never do.
/// </summary>
public sealed class CounterSnapshot : IReadOnlyList<KeyValuePair<string, long>>
{
    private readonly List<KeyValuePair<string, long>> _values;
    private readonly Dictionary<string, long> _byName;

    /// <summary>Creates a snapshot from name/value pairs (names must be unique).</summary>
    public CounterSnapshot(IEnumerable<KeyValuePair<string, long>> values)
    {
        _values = [.. values];
        _byName = new Dictionary<string, long>(_values, StringComparer.Ordinal);
    }

    /// <summary>The value of the counter named <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No counter has that name; the message lists the known ones.</exception>
    public long this[string name] => _byName.TryGetValue(name, out long v) ? v : throw new KeyNotFoundException($"unknown counter '{name}'; known: {string.Join(", ", _byName.Keys)}");

    /// <summary>The value of the counter named <paramref name="name"/>, if there is one.</summary>
    public bool TryGetValue(string name, out long value) => _byName.TryGetValue(name, out value);

    /// <inheritdoc/>
    public KeyValuePair<string, long> this[int index] => _values[index];

    /// <inheritdoc/>
    public int Count => _values.Count;

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, long>> GetEnumerator() => _values.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>One <c>name value</c> line per counter, as <c>/proc/vmstat</c> prints them.</summary>
    public override string ToString() => string.Join('\n', _values.Select(p => $"{p.Key} {p.Value}"));
}
