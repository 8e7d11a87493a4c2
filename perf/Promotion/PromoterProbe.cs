using System.Diagnostics;
using System.Globalization;
using HotPage.Engine;
using HotPage.Engine.Promotion;
using HotPage.Engine.Tunables;
using HotPage.Interop.Platform;

namespace HotPage.Perf.Promotion;

/// <summary>
/// The promoter's own cost per page in steady state (<c>promoter-probe [ROUNDS]</c>): the simulated
/// round of <see cref="PromoterOverheadBenchmarks"/> and the bare simulated move, paired per round,
/// after a warm-up of at least three seconds of rounds. <see cref="PromoterOverheadBenchmarks"/>
/// measures 55 rounds per case from a cold start, so its figures depend on how far the JIT has
/// got with the promoter's methods (tier 0, OSR, instrumented, tier 1); this probe measures the
/// code once it is all optimized, as the NativeAOT daemon runs it from its first round.
/// </summary>
internal static class PromoterProbe
{
    private const ulong Base = 0x7f00_0000_0000;

    public static int Run(int rounds)
    {
        Console.WriteLine($"promoter-probe: {rounds} measured rounds per size after >= 3 s of warm-up; simulated platform; times in microseconds");
        Console.WriteLine("pages  move p50  round p10  round p50  round p90  overhead ns/page (p50 round - p50 move)");
        foreach (int pages in (int[])[512, 4096])
        {
            Measure(pages, rounds);
        }

        return 0;
    }

    private static void Measure(int pages, int rounds)
    {
        using var sim = new SimulatedPlatform(SimulatedMachine.TwoTier(1 << 20, 1 << 20));
        sim.Map(0, unchecked((nint)Base), (nuint)(pages * 4096), 1);
        EngineTunables tunables = PromoterBench.Tunables(pages);
        using var engine = new HotPageEngine(sim.GetTopology(), tunables, sim);
        using var promoter = new Promoter(engine, sim);
        long firstPage = engine.RegisterRegion(Base, (ulong)pages * 4096).FirstPage;
        var addresses = new nint[pages];
        var nodes = new int[pages];
        var status = new PageStatus[pages];
        for (int i = 0; i < pages; i++)
        {
            addresses[i] = unchecked((nint)Base) + (i * 4096);
        }

        var move = new double[rounds];
        var round = new double[rounds];
        long warmUntil = Stopwatch.GetTimestamp() + (3 * Stopwatch.Frequency);
        for (int r = -1; r < rounds; r++)
        {
            bool warming = r < 0;
            for (int i = 0; i < pages; i++)
            {
                sim.SetNodeOfPage(0, addresses[i], 1);
            }

            long t0 = Stopwatch.GetTimestamp();
            sim.MovePages(0, addresses, nodes, status);
            double moveUs = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
            for (int i = 0; i < pages; i++)
            {
                sim.SetNodeOfPage(0, addresses[i], 1);
            }

            PromoterBench.PrimeCandidates(engine, firstPage, addresses);
            long t1 = Stopwatch.GetTimestamp();
            PromotionResult result = promoter.RunOnce();
            double roundUs = Stopwatch.GetElapsedTime(t1).TotalMicroseconds;
            if (result.Promoted != pages)
            {
                throw new InvalidOperationException($"promoted {result.Promoted} of {pages}");
            }

            if (warming)
            {
                r = Stopwatch.GetTimestamp() < warmUntil ? -2 : -1; // stay in the warm-up until the time is up
                continue;
            }

            move[r] = moveUs;
            round[r] = roundUs;
        }

        Array.Sort(move);
        Array.Sort(round);
        double p50Move = move[rounds / 2], p50Round = round[rounds / 2];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{pages,5}  {p50Move,8:F1}  {round[rounds / 10],9:F1}  {p50Round,9:F1}  {round[rounds * 9 / 10],9:F1}  {(p50Round - p50Move) * 1000 / pages,8:F1}"));
    }
}
