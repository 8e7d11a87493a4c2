using HotPage.Engine.Bitmaps;
using NUnit.Framework;

namespace HotPage.Engine.Tests.Bitmaps;

/// <summary>
/// Several producers setting and clearing bits at once; the summaries must be exact afterwards.
/// Whether these tests can see a broken protocol is shown by the planted-bug harness in
/// perf/Bitmaps (a unit test cannot be trusted to lose a race on demand).
/// </summary>
[NonParallelizable]
public class PageBitmapConcurrencyTests
{
    private const int Threads = 4;

    [Test]
    public void DisjointBitsInSharedWordsEndExactlyAsEachThreadLeftThem()
    {
        // Thread t owns bit t of every word, so all threads flip the same words between zero
        // and non-zero, and the same level-1 words between empty and not.
        const long Length = 64 * 64 * 3;
        using var bitmap = new PageBitmap(Length);
        var expected = new bool[Length];
        RunThreads(t =>
        {
            var random = new Random(t);
            for (int round = 0; round < 60_000; round++)
            {
                long page = (random.NextInt64(Length / 64) * 64) + t;
                if (random.Next(2) == 0)
                {
                    bitmap.Set(page);
                }
                else
                {
                    bitmap.Clear(page);
                }
            }

            // Leave a known final state: every 3rd word keeps bit t.
            for (long word = 0; word < Length / 64; word++)
            {
                long page = (word * 64) + t;
                if (word % 3 == t % 3)
                {
                    bitmap.Set(page);
                }
                else
                {
                    bitmap.Clear(page);
                }
            }
        });

        for (int t = 0; t < Threads; t++)
        {
            for (long word = 0; word < Length / 64; word++)
            {
                expected[(word * 64) + t] = word % 3 == t % 3;
            }
        }

        Assert.That(bitmap.DescribeSummaryMismatch(), Is.Null, "the summaries are exact once all producers are done");
        BitmapReference.AssertMatches(bitmap, expected, 1, "final state");
    }

    [Test]
    public void OverlappingBitsLeaveAConsistentSummary()
    {
        // All threads set and clear the same few bits, so TrySet/TryClear races and zero-ness
        // flips of one word and of one level-1 word are as frequent as they can be.
        const long Length = 64 * 64 * 2;
        using var bitmap = new PageBitmap(Length);
        long[] hot = [0, 1, 63, 64, 4095, 4096, 4097, Length - 1];
        long setWins = 0, clearWins = 0;
        RunThreads(t =>
        {
            var random = new Random(100 + t);
            long sets = 0, clears = 0;
            for (int round = 0; round < 200_000; round++)
            {
                long page = hot[random.Next(hot.Length)];
                if (random.Next(2) == 0)
                {
                    sets += bitmap.TrySet(page) ? 1 : 0;
                }
                else
                {
                    clears += bitmap.TryClear(page) ? 1 : 0;
                }
            }

            Interlocked.Add(ref setWins, sets);
            Interlocked.Add(ref clearWins, clears);
        });

        Assert.That(bitmap.DescribeSummaryMismatch(), Is.Null, "the summaries are exact once all producers are done");
        Assert.That(setWins - clearWins, Is.EqualTo(bitmap.PopCount()), "each bit's successful sets minus successful clears is its final state");
        var expected = new bool[Length];
        foreach (long page in hot)
        {
            expected[page] = bitmap.IsSet(page);
        }

        BitmapReference.AssertMatches(bitmap, expected, 2, "scans agree with the words");
    }

    [Test]
    public void ScansBesideProducersNeverReportABitThatWasNeverSet()
    {
        const long Length = 64 * 64 * 4;
        using var bitmap = new PageBitmap(Length);
        using var stop = new CancellationTokenSource();
        string? problem = null;
        var scanner = new Thread(() =>
        {
            var buffer = new long[32];
            while (!stop.IsCancellationRequested)
            {
                long previous = -1;
                foreach (long page in bitmap.SetBits())
                {
                    if (page <= previous || page % 7 != 0)
                    {
                        problem ??= $"enumeration gave {page} after {previous}";
                    }

                    previous = page;
                }

                int n = bitmap.CopySetBits(0, buffer);
                for (int i = 0; i < n; i++)
                {
                    if (buffer[i] % 7 != 0 || (i > 0 && buffer[i] <= buffer[i - 1]))
                    {
                        problem ??= $"CopySetBits gave {buffer[i]}";
                    }
                }
            }
        });
        scanner.Start();
        RunThreads(t =>
        {
            var random = new Random(200 + t);
            for (int round = 0; round < 100_000; round++)
            {
                long page = random.NextInt64(Length / 7) * 7;
                if (random.Next(2) == 0)
                {
                    bitmap.Set(page);
                }
                else
                {
                    bitmap.Clear(page);
                }
            }
        });
        stop.Cancel();
        scanner.Join();
        Assert.That(problem, Is.Null, "scans see only bits that producers set (multiples of 7), in increasing order");
        Assert.That(bitmap.DescribeSummaryMismatch(), Is.Null, "the summaries are exact once all producers are done");
    }

    private static void RunThreads(Action<int> body)
    {
        using var start = new Barrier(Threads);
        var threads = new Thread[Threads];
        Exception? failure = null;
        for (int t = 0; t < Threads; t++)
        {
            int id = t;
            threads[t] = new Thread(() =>
            {
                try
                {
                    start.SignalAndWait();
                    body(id);
                }
                catch (Exception e)
                {
                    failure ??= e;
                }
            });
            threads[t].Start();
        }

        foreach (Thread thread in threads)
        {
            thread.Join();
        }

        Assert.That(failure, Is.Null, "no producer thread failed");
    }
}
