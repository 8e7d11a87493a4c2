using System.Globalization;
using System.Net;
using System.Text;

namespace HotPage.Perf.Lab;

/// <summary>
/// A line plot written as SVG by hand: axes with ticks and labels, one polyline per series, a
/// legend. Enough for "share over time per policy"; no plotting package needed.
/// </summary>
internal sealed class SvgLinePlot
{
    private static readonly string[] s_colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"];
    private static readonly double[] s_niceSteps = [1.0, 2.0, 2.5, 5.0, 10.0];
    private static readonly string[] s_dashes = ["", "6,3", "2,2", "8,3,2,3", "4,4", "1,3", "10,2"];
    private readonly List<(string Name, IReadOnlyList<(double X, double Y)> Points)> _series = [];

    /// <summary>The title above the plot.</summary>
    public required string Title { get; init; }

    /// <summary>The x axis label.</summary>
    public required string XLabel { get; init; }

    /// <summary>The y axis label.</summary>
    public required string YLabel { get; init; }

    /// <summary>The y range; the x range is taken from the data.</summary>
    public double YMin { get; init; }

    /// <summary>The top of the y range.</summary>
    public double YMax { get; init; } = 1;

    /// <summary>Adds a series drawn in the next color and dash pattern.</summary>
    public void Add(string name, IReadOnlyList<(double X, double Y)> points) => _series.Add((name, points));

    /// <summary>The SVG document.</summary>
    public string Render(int width = 820, int height = 420)
    {
        const int Left = 64, Right = 250, Top = 40, Bottom = 52;
        double plotW = width - Left - Right, plotH = height - Top - Bottom;
        double xMin = _series.SelectMany(s => s.Points).Select(p => p.X).DefaultIfEmpty(0).Min();
        double xMax = _series.SelectMany(s => s.Points).Select(p => p.X).DefaultIfEmpty(1).Max();
        if (xMax <= xMin)
        {
            xMax = xMin + 1;
        }

        double Sx(double x) => Left + ((x - xMin) / (xMax - xMin) * plotW);
        double Sy(double y) => Top + plotH - ((Math.Clamp(y, YMin, YMax) - YMin) / (YMax - YMin) * plotH);

        var sb = new StringBuilder();
        sb.Append(Inv($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"12\">\n"));
        sb.Append(Inv($"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n"));
        sb.Append(Inv($"<text x=\"{Left}\" y=\"22\" font-size=\"15\" font-weight=\"bold\">{Esc(Title)}</text>\n"));

        // Grid and ticks.
        foreach (double y in Ticks(YMin, YMax, 5))
        {
            double py = Sy(y);
            sb.Append(Inv($"<line x1=\"{Left}\" y1=\"{py:0.#}\" x2=\"{Left + plotW:0.#}\" y2=\"{py:0.#}\" stroke=\"#e0e0e0\"/>\n"));
            sb.Append(Inv($"<text x=\"{Left - 6}\" y=\"{py + 4:0.#}\" text-anchor=\"end\">{y:0.##}</text>\n"));
        }

        foreach (double x in Ticks(xMin, xMax, 8))
        {
            double px = Sx(x);
            sb.Append(Inv($"<line x1=\"{px:0.#}\" y1=\"{Top}\" x2=\"{px:0.#}\" y2=\"{Top + plotH:0.#}\" stroke=\"#f0f0f0\"/>\n"));
            sb.Append(Inv($"<line x1=\"{px:0.#}\" y1=\"{Top + plotH:0.#}\" x2=\"{px:0.#}\" y2=\"{Top + plotH + 5:0.#}\" stroke=\"black\"/>\n"));
            sb.Append(Inv($"<text x=\"{px:0.#}\" y=\"{Top + plotH + 18:0.#}\" text-anchor=\"middle\">{x:0.##}</text>\n"));
        }

        // Axes and labels.
        sb.Append(Inv($"<line x1=\"{Left}\" y1=\"{Top}\" x2=\"{Left}\" y2=\"{Top + plotH:0.#}\" stroke=\"black\"/>\n"));
        sb.Append(Inv($"<line x1=\"{Left}\" y1=\"{Top + plotH:0.#}\" x2=\"{Left + plotW:0.#}\" y2=\"{Top + plotH:0.#}\" stroke=\"black\"/>\n"));
        sb.Append(Inv($"<text x=\"{Left + (plotW / 2):0.#}\" y=\"{height - 12}\" text-anchor=\"middle\">{Esc(XLabel)}</text>\n"));
        sb.Append(Inv($"<text x=\"16\" y=\"{Top + (plotH / 2):0.#}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {Top + (plotH / 2):0.#})\">{Esc(YLabel)}</text>\n"));

        // Series and legend.
        for (int i = 0; i < _series.Count; i++)
        {
            (string name, IReadOnlyList<(double X, double Y)> points) = _series[i];
            string color = s_colors[i % s_colors.Length];
            string dash = s_dashes[i % s_dashes.Length];
            string dashAttr = dash.Length > 0 ? $" stroke-dasharray=\"{dash}\"" : string.Empty;
            sb.Append(Inv($"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"{dashAttr} points=\""));
            foreach ((double x, double y) in points)
            {
                sb.Append(Inv($"{Sx(x):0.#},{Sy(y):0.#} "));
            }

            sb.Append("\"/>\n");
            double ly = Top + 10 + (i * 20);
            double lx = Left + plotW + 14;
            sb.Append(Inv($"<line x1=\"{lx:0.#}\" y1=\"{ly:0.#}\" x2=\"{lx + 26:0.#}\" y2=\"{ly:0.#}\" stroke=\"{color}\" stroke-width=\"2\"{dashAttr}/>\n"));
            sb.Append(Inv($"<text x=\"{lx + 32:0.#}\" y=\"{ly + 4:0.#}\">{Esc(name)}</text>\n"));
        }

        sb.Append("</svg>\n");
        return sb.ToString();
    }

    private static IEnumerable<double> Ticks(double min, double max, int target)
    {
        double raw = (max - min) / target;
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = s_niceSteps.Select(m => m * magnitude).First(s => s >= raw);
        for (double v = Math.Ceiling(min / step) * step; v <= max + (step * 1e-9); v += step)
        {
            yield return Math.Round(v, 10);
        }
    }

    private static string Esc(string s) => WebUtility.HtmlEncode(s);

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
