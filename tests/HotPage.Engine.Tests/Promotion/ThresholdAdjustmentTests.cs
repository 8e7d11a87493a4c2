using HotPage.Engine.Selection;
using HotPage.Engine.Tunables;
using HotPage.Interop.Platform;
using NUnit.Framework;

namespace HotPage.Engine.Tests.Promotion;

/// <summary>
/// The threshold auto-adjust against a simple model of it: rounds every 100 ms, a period of
/// 1000 ms (10 rounds), each round 20 fresh pages hot enough for any threshold (7 reports) and
/// moved at once, the 20 moved the round before demoted again (by "someone", as kswapd would),
/// either unreported since their move (wasted) or reported once (used). The model: one step at
/// most per period; up while more than <c>hot_threshold_waste_pct</c> of the demoted pages were
/// wasted, down while none are; never outside <c>freq_threshold_min</c>..<c>freq_threshold_max</c>
/// (below the minimum only with room, <c>hot_threshold_room_pct</c>, off by default: tests of
/// their own); nothing with <c>hot_threshold_auto=0</c>.
/// </summary>
[TestFixture(CandidateSelection.Heap)]
[TestFixture(CandidateSelection.Bitmap)]
[TestFixture(CandidateSelection.Stacks)]
public class ThresholdAdjustmentTests(CandidateSelection selection)
{
    private const int RoundMs = 100;
    private const int RoundsPerPeriod = 10;
    private const int PagesPerRound = 20;

    private PromoterFixture Fixture(Action<EngineTunables>? tune = null, Func<IMemoryPlatform, IMemoryPlatform>? wrap = null) =>
        PromoterFixture.WithSelection(selection, SimulatedMachine.TwoTier(100_000, 100_000), 4000, tune: t =>
        {
            t.Set("promote_interval_ms", RoundMs);
            t.Set("hot_threshold_period_ms", RoundMs * RoundsPerPeriod);
            tune?.Invoke(t);
        }, wrap: wrap);

    /// <summary>Runs <paramref name="rounds"/> rounds of the model; returns the threshold after each.</summary>
    private static List<long> Run(PromoterFixture f, int rounds, bool used, ref long next)
    {
        var history = new List<long>();
        for (int round = 0; round < rounds; round++)
        {
            f.Clock.Advance(RoundMs);
            long previous = next - PagesPerRound;
            if (previous >= 0)
            {
                if (used)
                {
                    f.Touch(Enumerable.Range((int)previous, PagesPerRound).Select(p => (long)p), times: 1);
                    f.Engine.Drain();
                }

                for (long p = previous; p < next; p++)
                {
                    f.Sim.Demote(0, PromoterFixture.Addr(p));
                }
            }

            f.Touch(Enumerable.Range((int)next, PagesPerRound).Select(p => (long)p), times: 7);
            next += PagesPerRound;
            f.Promoter.RunOnce();
            history.Add(f.Engine.Tunables["freq_threshold"]);
        }

        return history;
    }

    /// <summary>The rounds (0-based) after which the threshold differs from the round before (round -1: <paramref name="start"/>).</summary>
    private static List<int> Steps(List<long> history, long start) =>
        [.. Enumerable.Range(0, history.Count).Where(i => history[i] != (i == 0 ? start : history[i - 1]))];

    [Test]
    public void WastedPromotionsRaiseTheThresholdOneStepPerPeriodUpToTheMaximum()
    {
        using var f = Fixture(t => t.Set("freq_threshold_max", 5));
        long next = 0;
        List<long> history = Run(f, 6 * RoundsPerPeriod, used: false, ref next);
        string trace = string.Join(",", history);
        List<int> steps = Steps(history, 2);
        Assert.That(steps.Select(i => history[i]), Is.EqualTo(new long[] { 3, 4, 5 }), $"one step up at a time, to freq_threshold_max: {trace}");
        Assert.That(steps.Zip(steps.Skip(1), (a, b) => b - a), Is.All.GreaterThanOrEqualTo(RoundsPerPeriod), $"at most one step per period: {trace}");
        Assert.That(steps[0], Is.GreaterThanOrEqualTo(RoundsPerPeriod - 1), $"not before a whole period: {trace}");
        Assert.That(history[^1], Is.EqualTo(5));
        var c = f.Promoter.GetCounters();
        Assert.That(c["pgpromote_threshold_up"], Is.EqualTo(3));
        Assert.That(c["pgpromote_threshold_down"], Is.EqualTo(0));
        Assert.That(c["pgpromote_demoted_unused"], Is.EqualTo(c["pgpromote_demoted_seen"]), "every demoted page was a wasted move");
    }

    [Test]
    public void AfterAStepWasteIsJudgedAgainOnlyOnceAWholeResidencyPassHasRun()
    {
        // 400 pages re-checked per round over a 4000-page region: a pass takes 10 rounds, a period.
        // Demotions seen in the period after a step are of moves made before it; judging them would
        // step again at once (and, with a real lag of seconds, overshoot).
        using var f = Fixture(t => t.Set("residency_scan_pages", 400));
        long next = 0;
        List<long> history = Run(f, 8 * RoundsPerPeriod, used: false, ref next);
        string trace = string.Join(",", history);
        List<int> steps = Steps(history, 2);
        Assert.That(steps, Has.Count.GreaterThanOrEqualTo(2), $"waste still raises it: {trace}");
        Assert.That(steps.Zip(steps.Skip(1), (a, b) => b - a), Is.All.GreaterThan(RoundsPerPeriod), $"not in the period right after a step: {trace}");
    }

    [Test]
    public void WhenThePromotedPagesAreUsedTheThresholdFallsBackToTheMinimumAndNoLower()
    {
        using var f = Fixture(t =>
        {
            t.Set("freq_threshold", 5);
            t.Set("freq_threshold_min", 3);
        });
        long next = 0;
        List<long> history = Run(f, 5 * RoundsPerPeriod, used: true, ref next);
        string trace = string.Join(",", history);
        List<int> steps = Steps(history, 5);
        Assert.That(steps.Select(i => history[i]), Is.EqualTo(new long[] { 4, 3 }), $"one step down at a time, to freq_threshold_min: {trace}");
        Assert.That(steps[1] - steps[0], Is.GreaterThanOrEqualTo(RoundsPerPeriod), trace);
        var c = f.Promoter.GetCounters();
        Assert.That(c["pgpromote_demoted_unused"], Is.EqualTo(0));
        Assert.That(c["pgpromote_demoted_seen"], Is.GreaterThan(0), "pages were demoted, so the room rule cannot have lowered it");
        Assert.That(c["pgpromote_threshold_down"], Is.EqualTo(2));
    }

    [Test]
    public void TheThresholdRisesOnWasteAndFallsBackOnceTheWasteIsGone()
    {
        using var f = Fixture();
        long next = 0;
        List<long> up = Run(f, 3 * RoundsPerPeriod, used: false, ref next);
        Assert.That(up[^1], Is.GreaterThan(2), string.Join(",", up));
        List<long> down = Run(f, 6 * RoundsPerPeriod, used: true, ref next);
        Assert.That(down[^1], Is.EqualTo(2), $"back at freq_threshold_min: {string.Join(",", up)} | {string.Join(",", down)}");
    }

    [TestCase(0, 1, "hot_threshold_auto=0")]
    [TestCase(1, 0, "hot_threshold_waste_pct=0")]
    public void WasteMovesNothingWhenTheAdjustmentOrItsWasteSignalIsOff(int auto, int wastePct, string what)
    {
        using var f = Fixture(t =>
        {
            t.Set("hot_threshold_auto", auto);
            if (wastePct == 0)
            {
                t.Set("hot_threshold_waste_pct", 0);
            }
        });
        long next = 0;
        List<long> history = Run(f, 4 * RoundsPerPeriod, used: false, ref next);
        Assert.That(history, Is.All.EqualTo(2), $"{what}: {string.Join(",", history)}");
        Assert.That(f.Promoter.GetCounters()["pgpromote_demoted_unused"], Is.GreaterThan(0), "the waste was there");
        Assert.That(f.Promoter.GetCounters()["pgpromote_threshold_up"], Is.EqualTo(0));
    }

    [TestCase(1, false)]
    [TestCase(1, true)]
    [TestCase(0, false)]
    public void WithRoomAndNoDemotionTheThresholdGoesBelowTheMinimumAndBackAtOnceWhenEitherEnds(int auto, bool demotion)
    {
        SettableFreeMemory? memory = null;
        using var f = Fixture(
            t =>
            {
                t.Set("hot_threshold_auto", auto);
                t.Set("hot_threshold_room_pct", 6); // off by default
            },
            wrap: p => memory = new SettableFreeMemory(p));
        var history = new List<long>();
        long page = 0;
        for (int round = 0; round < 3 * RoundsPerPeriod; round++)
        {
            f.Clock.Advance(RoundMs);
            f.Touch([page++], times: 2); // a trickle of candidates, nothing demoted: the fast node has room
            f.Promoter.RunOnce();
            history.Add(f.Engine.Tunables["freq_threshold"]);
        }

        string trace = string.Join(",", history);
        if (auto == 0)
        {
            Assert.That(history, Is.All.EqualTo(2), $"hot_threshold_auto=0: {trace}");
            return;
        }

        List<int> steps = Steps(history, 2);
        Assert.That(steps, Has.Count.EqualTo(1), trace);
        Assert.That(history[steps[0]], Is.EqualTo(1), $"one step, to 1: {trace}");
        Assert.That(steps[0], Is.GreaterThanOrEqualTo(RoundsPerPeriod - 1), $"after a whole period with room: {trace}");
        f.Touch([page++], times: 1);
        f.Engine.Drain();
        Assert.That(f.Engine.CandidateCount, Is.EqualTo(1), "at threshold 1 a single report makes a candidate");

        if (demotion)
        {
            f.Sim.Demote(0, PromoterFixture.Addr(0)); // someone demotes a page while the node still has room
        }
        else
        {
            // The node fills: less than hot_threshold_room_pct (6%) free above the headroom (2%).
            memory!.FreeBytes = 100_000L * 4096 * 7 / 100;
        }

        f.Clock.Advance(RoundMs);
        f.Promoter.RunOnce();
        Assert.That(f.Engine.Tunables["freq_threshold"], Is.EqualTo(2), "back to freq_threshold_min in the same round, not a period later");
        var c = f.Promoter.GetCounters();
        Assert.That(c["pgpromote_threshold_down"], Is.EqualTo(1));
        Assert.That(c["pgpromote_threshold_up"], Is.EqualTo(1));
        Assert.That(f.Logs, Has.Some.Contains("freq_threshold 1 -> 2"));
    }

    [Test]
    public void RoomDoesNotLowerTheThresholdWhenRoomPctIsZeroOrPagesAreDemoted()
    {
        using (var f = Fixture()) // hot_threshold_room_pct=0, the default
        {
            long page = 0;
            for (int round = 0; round < 3 * RoundsPerPeriod; round++)
            {
                f.Clock.Advance(RoundMs);
                f.Touch([page++], times: 2);
                f.Promoter.RunOnce();
                Assert.That(f.Engine.Tunables["freq_threshold"], Is.EqualTo(2), "hot_threshold_room_pct=0");
            }
        }

        using (var f = Fixture(t => t.Set("hot_threshold_room_pct", 6)))
        {
            long next = 0;
            List<long> history = Run(f, 3 * RoundsPerPeriod, used: true, ref next);
            Assert.That(history, Is.All.EqualTo(2), $"pages are demoted every period: {string.Join(",", history)}");
        }
    }

    [TestCase(1, 2, true)]  // auto on: back to the minimum at the next round, and the log says why and how to keep it
    [TestCase(0, 1, false)] // auto off: the operator's threshold stays
    public void AThresholdSetBelowTheMinimumIsPutBackOnlyByTheAutoAdjustAndSaysWhy(int auto, long expected, bool logged)
    {
        using var f = Fixture(t => t.Set("hot_threshold_auto", auto));
        f.Engine.Tunables.Set("freq_threshold", 1);
        long next = 0;
        Run(f, 1, used: true, ref next);
        Assert.That(f.Engine.Tunables["freq_threshold"], Is.EqualTo(expected));
        Assert.That(f.Logs.Any(l => l.Contains("set hot_threshold_auto=0 to hold a lower threshold", StringComparison.Ordinal)), Is.EqualTo(logged));
    }

    [Test]
    public void AnOutOfRangeTunableIsRejectedAndTheOldValueStays()
    {
        var t = new EngineTunables();
        Assert.That(t["hot_threshold_waste_pct"], Is.EqualTo(25));
        Assert.That(t["hot_threshold_room_pct"], Is.EqualTo(0));
        Assert.That(t.TrySet("hot_threshold_waste_pct", 101, out string error), Is.False);
        Assert.That(error, Does.Contain("hot_threshold_waste_pct").And.Contain("0..100"));
        Assert.That(t.TrySet("hot_threshold_room_pct", 91, out error), Is.False);
        Assert.That(error, Does.Contain("hot_threshold_room_pct").And.Contain("0..90"));
        Assert.That(t["hot_threshold_waste_pct"], Is.EqualTo(25));
        Assert.That(t["hot_threshold_room_pct"], Is.EqualTo(0));
    }
}

/// <summary>A platform whose free memory on every node is what the test sets (the inner platform's until then).</summary>
internal sealed class SettableFreeMemory(IMemoryPlatform inner) : DelegatingPlatform(inner)
{
    public long? FreeBytes { get; set; }

    public override long GetFreeBytes(int node) => FreeBytes is long b && Inner.GetFreeBytes(node) >= 0 ? b : Inner.GetFreeBytes(node);
}
