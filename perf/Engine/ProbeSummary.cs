using System.Globalization;

namespace HotPage.Perf.Engine;

/// <summary>
/// Order statistics of one probe line's samples, formatted the same way by every probe
/// (<see cref="ApplyProbe"/>, <see cref="ExtractProbe"/>, <see cref="SelectionApplyProbe"/>), and
/// the load average the probes print beside them: on a shared machine a probe's figures mean
/// nothing without it.
/// </summary>
internal sealed class ProbeSummary
{
    private readonly double[] _sorted;

    /// <summary>Sorts a copy of <paramref name="samples"/> (at least one).</summary>
    public ProbeSummary(IEnumerable<double> samples)
    {
        _sorted = samples.ToArray();
        if (_sorted.Length == 0)
        {
            throw new ArgumentException("A probe summary needs at least one sample.", nameof(samples));
        }

        Array.Sort(_sorted);
    }

    public int Count => _sorted.Length;

    public double Min => _sorted[0];

    public double Max => _sorted[^1];

    public double Mean => _sorted.Average();

    /// <summary>The sample at rank <c>q × (Count − 1)</c>, rounded down (the median of an even count is the lower middle).</summary>
    public double Quantile(double q) => _sorted[(int)(q * (_sorted.Length - 1))];

    /// <summary><c>min … p10 … median … p90 …</c>, each figure with <paramref name="format"/>, right-aligned in <paramref name="width"/> characters.</summary>
    public string Percentiles(string format = "F2", int width = 0)
    {
        string figure = "{0," + width.ToString(CultureInfo.InvariantCulture) + ":" + format + "}";
        string Figure(double value) => string.Format(CultureInfo.InvariantCulture, figure, value);
        return $"min {Figure(Min)}  p10 {Figure(Quantile(0.1))}  median {Figure(Quantile(0.5))}  p90 {Figure(Quantile(0.9))}";
    }

    /// <summary>The load averages of <c>/proc/loadavg</c>, or <c>?</c> where it cannot be read.</summary>
    public static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Trim();
        }
        catch (IOException)
        {
            return "?";
        }
    }
}
