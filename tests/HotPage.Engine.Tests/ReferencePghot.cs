using HotPage.Interop.Platform;

namespace HotPage.Engine.Tests;

/// <summary>
/// pghot's record semantics written the plain way: a dictionary from page to (frequency, target,
/// time) with 64-bit times. The engine must agree with it on every stream whose times stay
/// within ±2^18 ms of each page's last update.
/// </summary>
internal sealed class ReferencePghot(NumaTopology topology, long windowMs, int threshold)
{
    public readonly Dictionary<long, (int Freq, int Target, long Time)> Pages = [];

    public void Record(long page, int nid, long timeMs)
    {
        int target = topology.DefaultTarget(nid);
        if (!Pages.TryGetValue(page, out var old) || old.Target != target || timeMs - old.Time > windowMs)
        {
            Pages[page] = (1, target, timeMs);
        }
        else
        {
            Pages[page] = (Math.Min(old.Freq + 1, 7), target, Math.Max(old.Time, timeMs));
        }
    }

    public bool IsCandidate(long page) => Pages.TryGetValue(page, out var s) && s.Freq >= threshold;

    /// <summary>What an extraction at <paramref name="nowMs"/> returns for <paramref name="target"/>: hot pages, hottest first.</summary>
    public List<(long Page, int Freq, long Time)> Extractable(int target, long nowMs) =>
        Pages.Where(p => p.Value.Target == target && p.Value.Freq >= threshold && nowMs - p.Value.Time <= windowMs)
             .Select(p => (p.Key, p.Value.Freq, p.Value.Time))
             .OrderByDescending(p => p.Freq).ThenByDescending(p => p.Time)
             .ToList();
}
