namespace HotPage.Engine.Promotion;

/// <summary>What one promotion round (or several) did; the layout of <c>hotpage_result_t</c>.</summary>
/// <param name="Candidates">Candidates extracted for moving (after the hotness re-check).</param>
/// <param name="Promoted">Pages now on a top-tier node.</param>
/// <param name="Failed">Pages whose move failed (any cause; busy pages may be retried later).</param>
/// <param name="Dropped">Candidates given up: cold at extraction, retried too often, gone, of a denied process, or in a huge page not hot enough as a whole.</param>
/// <param name="PromotedHuge">Transparent huge pages moved whole (their base pages are not in <paramref name="Promoted"/>: a decision made per huge page is never reported as 4 KiB moves).</param>
public readonly record struct PromotionResult(long Candidates, long Promoted, long Failed, long Dropped, long PromotedHuge = 0)
{
    /// <summary>The sum of two results.</summary>
    public static PromotionResult operator +(PromotionResult a, PromotionResult b) =>
        new(a.Candidates + b.Candidates, a.Promoted + b.Promoted, a.Failed + b.Failed, a.Dropped + b.Dropped, a.PromotedHuge + b.PromotedHuge);

    /// <summary>The sum of two results.</summary>
    public static PromotionResult Add(PromotionResult a, PromotionResult b) => a + b;
}

/// <summary>What <see cref="Promoter.Stop"/> reports: the rounds run and what was left undone.</summary>
/// <param name="Rounds">Rounds completed since start.</param>
/// <param name="Total">The sum of every round's result.</param>
/// <param name="RemainingCandidates">Candidates still queued (not promoted) when the promoter stopped.</param>
public readonly record struct PromoterStopReport(long Rounds, PromotionResult Total, long RemainingCandidates);

/// <summary>Why the promoter gave up on a process.</summary>
/// <param name="Pid">The process.</param>
/// <param name="Error">The errno the platform reported (<c>EACCES</c>, <c>EPERM</c>, <c>ESRCH</c>).</param>
/// <param name="Message">A sentence for the log naming the pid and the reason.</param>
public readonly record struct ProcessProblem(int Pid, HotPage.Interop.Platform.Errno Error, string Message);
