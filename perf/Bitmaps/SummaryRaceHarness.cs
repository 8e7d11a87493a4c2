using System.Diagnostics;
using HotPage.Engine.Bitmaps;

namespace HotPage.Perf.Bitmaps;

/// <summary>
/// The race harness for <see cref="PageBitmap"/>'s summary protocol, with a planted-bug control.
/// Each trial races two threads on one bit and then verifies the summaries: in odd trials one
/// thread sets the bit and the other clears it the moment it sees it set (a stale summary "set"
/// over a zero word); in even trials one clears it and the other sets it again the moment it sees
/// it clear (a summary "clear" over a non-zero word: a lost page). Long random runs do not work
/// as a check: any later change of the same word heals a stale summary bit, so the race has to
/// be the last thing that happens before the verification.
/// The window between a sync's read of the word and its summary write is widened by an injected
/// delay on the initiating thread (<c>TestHookDelaySyncOnThisThread</c>) in both variants.
/// The run counts only if the planted variant (confirming read removed,
/// <c>TestHookSkipConfirmation</c>) breaks the summary at least once and the real protocol never.
/// <c>dotnet run -c Release --project perf -- bitmap-race [trials]</c>
/// </summary>
public static class SummaryRaceHarness
{
    private const long Page = 64 * 64; // word 64: level-1 word 1, so level 2 flips too

    /// <summary>
    /// Spins injected between a sync's read of the word and its summary write, on the initiating
    /// thread only (both variants): without it the window is a few nanoseconds and the responder,
    /// which must see the change and make its own, never fits into it.
    /// </summary>
    private const int SyncDelaySpins = 20_000;

    /// <summary>Runs both variants; exit code 0 when the control was caught and the protocol held.</summary>
    public static int Run(int trials)
    {
        var watch = Stopwatch.StartNew();
        int planted = BrokenTrials(trials, plantBug: true);
        int real = BrokenTrials(trials, plantBug: false);
        Console.WriteLine($"planted bug (no confirming read): summary broken in {planted} of {trials} trials");
        Console.WriteLine($"real protocol:                    summary broken in {real} of {trials} trials");
        Console.WriteLine($"2 racing threads per trial, {Environment.ProcessorCount} CPUs, {watch.Elapsed.TotalSeconds:F1} s");
        bool ok = planted > 0 && real == 0;
        Console.WriteLine(ok ? "PASS: the check catches the planted bug and the protocol holds" : "FAIL");
        return ok ? 0 : 1;
    }

    private static int BrokenTrials(int trials, bool plantBug)
    {
        using var bitmap = new PageBitmap(64 * 64 * 2) { TestHookSkipConfirmation = plantBug };
        bitmap.TestHookDelaySyncOnThisThread(SyncDelaySpins);
        int go = -1, done = -1;
        var responder = new Thread(() =>
        {
            for (int trial = 0; trial < trials; trial++)
            {
                // Busy-wait (no yield): the responder must be running when the initiator starts.
                while (Volatile.Read(ref go) != trial)
                {
                    Thread.SpinWait(1);
                }

                bool setTrial = (trial & 1) != 0;
                while (bitmap.IsSet(Page) != setTrial)
                {
                    Thread.SpinWait(1);
                }

                if (setTrial)
                {
                    bitmap.Clear(Page);
                }
                else
                {
                    bitmap.Set(Page);
                }

                Volatile.Write(ref done, trial);
            }
        });
        responder.Start();

        int broken = 0;
        for (int trial = 0; trial < trials; trial++)
        {
            bool setTrial = (trial & 1) != 0;
            bitmap.ClearAll();
            if (!setTrial)
            {
                bitmap.Set(Page);
            }

            Volatile.Write(ref go, trial);
            if (setTrial)
            {
                bitmap.Set(Page);
            }
            else
            {
                bitmap.Clear(Page);
            }

            var spin = new SpinWait();
            while (Volatile.Read(ref done) != trial)
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }

            if (!bitmap.VerifySummary())
            {
                broken++;
            }
        }

        responder.Join();
        return broken;
    }
}
