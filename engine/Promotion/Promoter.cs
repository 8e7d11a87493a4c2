using HotPage.Engine.Counters;
using HotPage.Engine.Tables;
using HotPage.Interop.Platform;

namespace HotPage.Engine.Promotion;

/// <summary>
/// kpromoted in user space: each round drains the record rings, then for every top-tier target
/// node extracts a batch of the hottest candidates (re-checked), places them within the node's
/// free-memory headroom (or its fallbacks, nearest first), orders the batch by process and address
/// (packed 64-bit keys, <see cref="CandidateOrder"/>), moves it in one batched platform call per
/// process, and hands the outcomes back to the engine in one call per process
/// (<see cref="HotPageEngine.ApplyFeedback"/>: one consumer-lock round trip, not one per page).
/// Runs as a background thread (<see cref="Start"/>/<see cref="Stop"/>) or synchronously (<see cref="RunOnce"/>).
/// </summary>
/// <remarks>
/// Budget per target node and round: <c>promote_batch</c> pages, no more than the rate limit's
/// token bucket holds (<c>promote_rate_limit_mbps</c>, refilled by elapsed time, bursting at
/// most one second's worth), no more than the free memory above <c>promote_headroom_pct</c> (and
/// never into the reserve the kernel keeps itself, <see cref="IMemoryPlatform.GetReservedBytes"/>).
/// Feedback by cause: -ENOMEM backs the node off for <c>promote_nomem_backoff_rounds</c> rounds
/// and requeues the page (its fallbacks take it; a call that fails as a whole with ENOMEM, as
/// Linux's does, is resolved into per-page statuses by a residency query first); -EBUSY/-EAGAIN requeue it, at most
/// <c>promote_retry_max</c> times; -EFAULT/-ENOENT forget it; -EACCES/-EPERM (per page or for the
/// call) stop promotion for that process and raise <see cref="ProcessProblem"/>; a call that
/// fails with ESRCH (process gone) forgets the batch's pages of that process.
/// Threshold auto-adjust (<c>hot_threshold_auto</c>), at most one step per
/// <c>hot_threshold_period_ms</c>, as the kernel adjusts its hot threshold per period and not per
/// scan: <c>freq_threshold</c> goes up when more candidates than two rounds' budget waited all
/// period, or when more than <c>hot_threshold_waste_pct</c> of the pages found demoted in the period
/// had been promoted and not reported since (wasted moves); down when fewer than a quarter of a
/// round's budget waited all period and the waste share is under half the bar; within
/// <c>freq_threshold_min</c>..<c>freq_threshold_max</c>, except that it may go below the minimum,
/// down to 1, while every target has <c>hot_threshold_room_pct</c> free and nothing is demoted (see
/// <see cref="AdjustThreshold"/>).
/// Feedback: a process group's outcomes (promoted page, promoted folio, requeue, forget) are queued
/// in order and applied together after its move, so <see cref="Log"/> and <see cref="ProcessProblem"/>
/// are raised before that group's outcomes reach the table. A busy page's requeue answer (whether
/// it is a candidate again, else it is dropped) is read back from that call; while the retry
/// table could fill within the group, each busy page is applied and settled at once instead, so
/// the table fills exactly as with per-page calls.
/// Steady-state rounds allocate nothing: batch, sort, feedback, address, node and status buffers
/// are arrays sized to <c>promote_batch</c> (re-sized only when the tunable grows).
/// </remarks>
public sealed class Promoter : IDisposable
{
    private readonly HotPageEngine _engine;
    private readonly IMemoryPlatform _platform;
    private readonly TimeProvider _time;
    private readonly NumaTopology _topology;
    private readonly object _roundLock = new();
    private readonly int[] _targets;
    private readonly int[][] _fallbackOrder; // by target node id: top-tier nodes nearest first, itself first
    private readonly NodeBudget[] _budget; // by node id
    private readonly RetryTable _retries = new(1 << 14);
    private readonly HashSet<int> _deniedPids = [];
    private readonly int _pageSize;
    private readonly AutoResetEvent _wake = new(false);
    private readonly ResidencyCursor _cursor = new();
    private readonly IHugePageInfo? _huge;

    private PromotionCandidate[] _batch = [];
    private PromotionCandidate[] _sorted = [];
    private ulong[] _sortKeys = [];
    private ulong[] _sortScratch = [];
    private PageFeedback[] _feedback = [];
    private bool[] _requeued = [];
    private int[] _retryAt = [];
    private int _feedbackCount;
    private int _retryCount;
    private nint[] _addresses = [];
    private int[] _nodes = [];
    private PageStatus[] _status = [];
    private FolioInfo[] _folios = [];
    private int[] _entryFirst = [];
    private int[] _entryCount = [];
    private int[] _entryPages = [];
    private long[] _room = [];
    private nint[] _residencyPages = [];
    private PageStatus[] _residencyStatus = [];

    private Thread? _thread;
    private volatile bool _stopping;
    private long _rounds;
    private PromotionResult _total;

    // Counters (written under _roundLock).
    private long _candidates, _success, _failNoMem, _failBusy, _failGone, _failDenied, _failOther, _failNotMoved;
    private long _retried, _droppedBusy, _droppedDenied, _fallback, _watermarkRounds, _backoffRounds, _rateLimitedRounds;
    private long _thresholdUp, _thresholdDown, _demotedSeen, _demotedUnused, _residencyChecked, _errors;

    // Threshold auto-adjust: the current period's start (timestamp; valid when _periodStarted),
    // whether its conditions held at every round so far, and the demotion counters at its start;
    // residency passes completed, and the pass from which the waste share is judged again.
    private const int MinDemotedToJudgeWaste = 64;
    private long _periodStart, _periodDemoted, _periodUnused, _periodChecked, _residencyPasses, _wasteFromPass;
    private bool _periodStarted, _periodBacklogHigh, _periodBacklogLow, _periodRoom;
    private long _successHuge, _successHugePages, _thpCold, _thpNoRoom;

    /// <summary>Creates a promoter for <paramref name="engine"/>'s candidates, moving pages through <paramref name="platform"/>.</summary>
    /// <param name="engine">The engine whose candidates are promoted.</param>
    /// <param name="platform">Moves pages and reports free memory.</param>
    /// <param name="time">The clock of the rate limit; the system clock when null.</param>
    /// <param name="hugePages">Folio sizes (transparent huge pages); the platform's own when it offers them, else none (every page decided alone).</param>
    public Promoter(HotPageEngine engine, IMemoryPlatform platform, TimeProvider? time = null, IHugePageInfo? hugePages = null)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(platform);
        _engine = engine;
        _platform = platform;
        _time = time ?? TimeProvider.System;
        _topology = engine.Topology;
        _targets = [.. _topology.TopTierNodes];
        _budget = new NodeBudget[_topology.NodeIdLimit];
        _fallbackOrder = new int[_topology.NodeIdLimit][];
        foreach (int t in _targets)
        {
            _fallbackOrder[t] = [.. _topology.FallbackOrder(t)];
        }

        long now = _time.GetTimestamp();
        foreach (int t in _targets)
        {
            _budget[t].LastRefill = now;
            _budget[t].Tokens = -1; // filled on first use: a full second's burst
        }

        _pageSize = platform.PageSize;
        _huge = hugePages ?? platform as IHugePageInfo;
        EnsureBuffers();
    }

    /// <summary>Raised (on the promoter's thread) when a process is given up: not permitted, or gone.</summary>
    public event Action<ProcessProblem>? ProcessProblem;

    /// <summary>A log line for an operator (watermark reached, node backed off, threshold changed, errors).</summary>
    public event Action<string>? Log;

    /// <summary>True while the background thread runs.</summary>
    public bool IsRunning => _thread is not null;

    /// <summary>Rounds completed.</summary>
    public long Rounds => Interlocked.Read(ref _rounds);

    private void EnsureBuffers()
    {
        int batch = (int)_engine.Tunables["promote_batch"];
        if (_batch.Length < batch)
        {
            _batch = GC.AllocateArray<PromotionCandidate>(batch, pinned: true);
            _addresses = GC.AllocateArray<nint>(batch, pinned: true);
            _nodes = GC.AllocateArray<int>(batch, pinned: true);
            _status = GC.AllocateArray<PageStatus>(batch, pinned: true);
            _folios = new FolioInfo[batch];
            _entryFirst = new int[batch];
            _entryCount = new int[batch];
            _entryPages = new int[batch];
            _sorted = new PromotionCandidate[batch];
            _sortKeys = new ulong[batch];
            _sortScratch = new ulong[batch];
            _feedback = new PageFeedback[batch]; // at most one entry per extracted candidate
            _requeued = new bool[batch];
            _retryAt = new int[batch];
        }

        if (_room.Length < _topology.NodeIdLimit)
        {
            _room = new long[_topology.NodeIdLimit];
        }

        int scan = (int)_engine.Tunables["residency_scan_pages"];
        if (_residencyPages.Length < scan)
        {
            _residencyPages = GC.AllocateArray<nint>(scan, pinned: true);
            _residencyStatus = GC.AllocateArray<PageStatus>(scan, pinned: true);
        }
    }

    /// <summary>Drains the rings and runs one promotion round for every top-tier node, synchronously.</summary>
    public PromotionResult RunOnce()
    {
        lock (_roundLock)
        {
            EnsureBuffers();
            _engine.Drain();
            PromotionResult result = default;
            foreach (int target in _targets)
            {
                result += RoundForNode(target);
            }

            RefreshResidencySlice();
            AdjustThreshold();
            _total += result;
            Interlocked.Increment(ref _rounds);
            return result;
        }
    }

    private PromotionResult RoundForNode(int target)
    {
        var tunables = _engine.Tunables;
        int batch = (int)tunables["promote_batch"];
        long rateMbps = tunables["promote_rate_limit_mbps"];

        // Rate limit: a token bucket of bytes per target node.
        ref NodeBudget budget = ref _budget[target];
        long now = _time.GetTimestamp();
        long allowed = batch;
        if (rateMbps > 0)
        {
            double bytesPerSecond = rateMbps * 1024.0 * 1024.0;
            double elapsed = (now - budget.LastRefill) / (double)_time.TimestampFrequency;
            budget.Tokens = budget.Tokens < 0 ? bytesPerSecond : Math.Min(bytesPerSecond, budget.Tokens + (elapsed * bytesPerSecond));
            allowed = Math.Min(batch, (long)(budget.Tokens / _pageSize));
        }
        else
        {
            budget.Tokens = double.MaxValue;
        }

        budget.LastRefill = now;
        if (allowed <= 0)
        {
            _rateLimitedRounds++;
            return default;
        }

        // Headroom: room on the preferred node and its fallbacks, nearest first.
        long totalRoom = 0;
        bool allBackedOff = true;
        foreach (int node in _fallbackOrder[target])
        {
            _room[node] = 0;
            if (_budget[node].BackoffRounds > 0)
            {
                continue;
            }

            allBackedOff = false;

            long room = Math.Max(0, FreeAboveReserve(node, tunables["promote_headroom_pct"]) / _pageSize);
            _room[node] = room;
            totalRoom += room;
        }

        if (budget.BackoffRounds > 0)
        {
            budget.BackoffRounds--;
        }

        if (totalRoom <= 0 && allBackedOff)
        {
            // Every node that could take the pages is skipped after -ENOMEM (logged when it was
            // backed off): a round of its own kind, not the free-memory watermark.
            _backoffRounds++;
            return default;
        }

        if (totalRoom <= 0)
        {
            _watermarkRounds++;
            if (!budget.AtWatermark)
            {
                budget.AtWatermark = true;
                Log?.Invoke($"promoter: node {target} and its fallbacks are at the free-memory watermark (promote_headroom_pct={tunables["promote_headroom_pct"]}, or the kernel's own reserve where larger); promotion to them pauses");
            }

            return default;
        }

        if (budget.AtWatermark)
        {
            budget.AtWatermark = false;
            Log?.Invoke($"promoter: node {target} has room again; promotion resumes");
        }

        int n = (int)Math.Min(Math.Min(allowed, totalRoom), batch);
        long coldBefore = _engine.ColdAtExtraction;
        int extracted = _engine.ExtractCandidates(target, _batch.AsSpan(0, n));
        long cold = _engine.ColdAtExtraction - coldBefore;
        _candidates += extracted;
        if (extracted == 0)
        {
            return new PromotionResult(0, 0, 0, cold);
        }

        // Destinations: fill the preferred node's room first, then the fallbacks in order.
        // Every outcome from here on that changes the table goes to _feedback, applied in order
        // once per process group (ApplyFeedback), and in any case before the round returns.
        int kept = 0;
        long droppedDenied = 0;
        long promoted = 0, promotedHuge = 0, failed = 0, dropped = cold;
        _feedbackCount = 0;
        _retryCount = 0;
        try
        {
            Span<PromotionCandidate> pages = _batch.AsSpan(0, extracted);
            for (int i = 0; i < pages.Length; i++)
            {
                if (_deniedPids.Count > 0 && _deniedPids.Contains(pages[i].Pid))
                {
                    AddFeedback(PageFeedback.Forget(pages[i].Page));
                    droppedDenied++;
                    continue;
                }

                int dest = target;
                foreach (int node in _fallbackOrder[target])
                {
                    if (_room[node] > 0)
                    {
                        dest = node;
                        _room[node]--;
                        break;
                    }
                }

                if (dest != target)
                {
                    _fallback++;
                }

                pages[i].TargetNode = dest;
                pages[kept++] = pages[i];
            }

            _droppedDenied += droppedDenied;
            dropped += droppedDenied;
            pages = CandidateOrder.ByProcessAndAddress(pages[..kept], _sortKeys, _sortScratch, _sorted);

            ulong nowMs = _engine.NowMs;
            for (int start = 0; start < pages.Length;)
            {
                int pid = pages[start].Pid;
                int end = start;
                while (end < pages.Length && pages[end].Pid == pid)
                {
                    end++;
                }

                Span<PromotionCandidate> group = pages[start..end];
                start = end;
                (long p, long h, long f, long d) = MoveGroup(pid, group, ref budget, nowMs);
                promoted += p;
                promotedHuge += h;
                failed += f;
                dropped += d + ApplyFeedback();
            }
        }
        finally
        {
            // Normally empty here; after a throw, the outcomes gathered so far still reach the table.
            dropped += ApplyFeedback();
        }

        return new PromotionResult(extracted, promoted, failed, dropped, promotedHuge);
    }

    /// <summary>
    /// One process's candidates: builds its move entries, makes the one platform call, and turns
    /// each entry's status into counters and feedback (in <c>_feedback</c>, not yet applied).
    /// Returns the pages promoted, folios promoted, pages failed and pages dropped so far (a busy
    /// page's retry that turns out not to be possible is counted as dropped by <see cref="ApplyFeedback"/>).
    /// </summary>
    private (long Promoted, long PromotedHuge, long Failed, long Dropped) MoveGroup(int pid, Span<PromotionCandidate> group, ref NodeBudget budget, ulong nowMs)
    {
        long promoted = 0, promotedHuge = 0, failed = 0, dropped = 0;
        int entries = BuildMoves(pid, group, ref budget, nowMs, ref dropped);
        if (entries == 0)
        {
            return (0, 0, 0, dropped);
        }

        PlatformResult call = _platform.MovePages(pid, _addresses.AsSpan(0, entries), _nodes.AsSpan(0, entries), _status.AsSpan(0, entries));
        if (call.Error == Errno.ENOMEM)
        {
            call = ResolveOutOfMemory(pid, entries);
        }

        if (!call.IsSuccess)
        {
            (long f, long d) = HandleCallFailure(pid, call.Error, group, entries);
            return (0, 0, f, dropped + d);
        }

        // A busy page's requeue is applied with the group's other outcomes, and its retry count
        // dropped afterwards if the requeue failed. That is exact while no retry count can find
        // the table full (the count a late removal would have freed cannot matter); otherwise each
        // busy page's requeue is applied at once, as a per-page call would.
        bool settleEachRetry = !_retries.HasRoomFor(group.Length);
        for (int k = 0; k < entries; k++)
        {
            PageStatus status = _status[k];
            if (_entryPages[k] > 1 && status.IsOnNode && _topology.IsTopTier(status.Node))
            {
                // One decision at huge-page granularity moved the whole folio: counted as such.
                AddFeedback(PageFeedback.PromotedRange(pid, (ulong)_addresses[k], _entryPages[k]));
                for (int i = _entryFirst[k]; i < _entryFirst[k] + _entryCount[k]; i++)
                {
                    _retries.Remove(group[i].Page);
                }

                _successHuge++;
                _successHugePages += _entryPages[k];
                if (budget.Tokens != double.MaxValue)
                {
                    budget.Tokens -= (double)_entryPages[k] * _pageSize;
                }

                promotedHuge++;
                continue;
            }

            for (int i = _entryFirst[k]; i < _entryFirst[k] + _entryCount[k]; i++)
            {
                if (HandlePage(pid, in group[i], status, ref budget, settleEachRetry, ref dropped))
                {
                    promoted++;
                }
                else
                {
                    failed++;
                }
            }
        }

        return (promoted, promotedHuge, failed, dropped);
    }

    /// <summary>
    /// Turns one process's candidates into move entries in <c>_addresses</c>/<c>_nodes</c>. A
    /// candidate in a transparent huge page is decided with the other candidates of its folio: the
    /// folio moves as one entry (its base address) when at least <c>thp_hot_pct</c> of its pages
    /// are hot and its target has room and rate budget for all of it; otherwise its candidates are
    /// dropped (not hot enough as a whole) or requeued (no room now). Returns the entry count.
    /// </summary>
    private int BuildMoves(int pid, Span<PromotionCandidate> group, ref NodeBudget budget, ulong nowMs, ref long dropped)
    {
        int n = group.Length;
        bool huge = _huge is { IsAvailable: true };
        if (huge)
        {
            for (int i = 0; i < n; i++)
            {
                _addresses[i] = (nint)group[i].Address;
            }

            huge = _huge!.QueryFolios(pid, _addresses.AsSpan(0, n), _folios.AsSpan(0, n)).IsSuccess;
        }

        long hotPct = _engine.Tunables["thp_hot_pct"];
        int k = 0;
        for (int i = 0; i < n;)
        {
            if (!huge || !_folios[i].IsLarge)
            {
                AddEntry(ref k, (nint)group[i].Address, group[i].TargetNode, i, 1, 1);
                i++;
                continue;
            }

            FolioInfo folio = _folios[i];
            int j = i + 1;
            while (j < n && _folios[j].Base == folio.Base)
            {
                j++;
            }

            int dest = group[i].TargetNode;
            long extra = folio.Pages - (j - i);
            int hot = _engine.CountHotPages(pid, (ulong)folio.Base, folio.Pages, nowMs);
            if (hot * 100L < hotPct * folio.Pages)
            {
                _thpCold += j - i;
                dropped += j - i;
            }
            else if (_room[dest] < extra || (budget.Tokens != double.MaxValue && budget.Tokens < (double)folio.Pages * _pageSize))
            {
                _thpNoRoom++;
                for (int c = i; c < j; c++)
                {
                    AddFeedback(PageFeedback.Requeue(group[c].Page));
                }
            }
            else
            {
                _room[dest] -= extra;
                AddEntry(ref k, folio.Base, dest, i, j - i, folio.Pages);
            }

            i = j;
        }

        return k;
    }

    private void AddEntry(ref int k, nint address, int node, int first, int count, int pages)
    {
        _addresses[k] = address;
        _nodes[k] = node;
        _entryFirst[k] = first;
        _entryCount[k] = count;
        _entryPages[k] = pages;
        k++;
    }

    // Counts one page's outcome and queues its feedback; true when it is on the top tier now.
    private bool HandlePage(int pid, in PromotionCandidate c, PageStatus status, ref NodeBudget budget, bool settleRetry, ref long dropped)
    {
        if (status.IsOnNode)
        {
            if (_topology.IsTopTier(status.Node))
            {
                AddFeedback(PageFeedback.Promoted(c.Page));
                _retries.Remove(c.Page);
                _success++;
                if (budget.Tokens != double.MaxValue)
                {
                    budget.Tokens -= _pageSize;
                }

                return true;
            }

            // Still on a lower tier without an error: the kernel could not move it this time.
            _failNotMoved++;
            dropped += Retry(c.Page, settleRetry);
            return false;
        }

        switch (status.Error)
        {
            case Errno.ENOMEM:
                _failNoMem++;
                if (_budget[c.TargetNode].BackoffRounds == 0)
                {
                    _budget[c.TargetNode].BackoffRounds = (int)_engine.Tunables["promote_nomem_backoff_rounds"];
                    Log?.Invoke($"promoter: node {c.TargetNode} is out of memory (-ENOMEM); it is skipped for {_budget[c.TargetNode].BackoffRounds} rounds and its fallbacks take the pages");
                }

                AddFeedback(PageFeedback.Requeue(c.Page));
                return false;
            case Errno.EBUSY:
            case Errno.EAGAIN:
                _failBusy++;
                dropped += Retry(c.Page, settleRetry);
                return false;
            case Errno.EFAULT:
            case Errno.ENOENT:
                _failGone++;
                _retries.Remove(c.Page);
                AddFeedback(PageFeedback.Forget(c.Page));
                dropped++;
                return false;
            case Errno.EACCES:
            case Errno.EPERM:
                _failDenied++;
                _retries.Remove(c.Page);
                AddFeedback(PageFeedback.Forget(c.Page));
                Deny(pid, status.Error, $"moving pages of process {pid} is not permitted ({status.Error}); promotion for it stops");
                dropped++;
                return false;
            default:
                _failOther++;
                _retries.Remove(c.Page);
                dropped++;
                return false;
        }
    }

    /// <summary>
    /// A busy or unmoved page: counts a retry and queues its requeue, or drops it when it has been
    /// retried <c>promote_retry_max</c> times (or the retry table is full). Returns the pages
    /// dropped now: 1 or 0. Whether the requeue succeeds is known once it is applied: with
    /// <paramref name="settleNow"/> at once (everything queued before it is applied first, so the
    /// table sees the same sequence), else with the group's other outcomes (<see cref="ApplyFeedback"/>);
    /// a failed requeue drops the page then, as it did when the requeue was a per-page call.
    /// </summary>
    private long Retry(long page, bool settleNow)
    {
        int tries = _retries.Increment(page);
        if (tries < 0 || tries > _engine.Tunables["promote_retry_max"])
        {
            _retries.Remove(page);
            _droppedBusy++;
            return 1;
        }

        _retryAt[_retryCount++] = _feedbackCount;
        AddFeedback(PageFeedback.Requeue(page));
        return settleNow ? ApplyFeedback() : 0;
    }

    private void AddFeedback(PageFeedback feedback) => _feedback[_feedbackCount++] = feedback;

    /// <summary>
    /// Applies the queued outcomes in one engine call (one consumer-lock round trip instead of one
    /// per page), then settles the retries among them: a busy page whose requeue failed is dropped
    /// (its retry count removed, <c>pgpromote_dropped_busy</c>), else counted as retried. Returns
    /// the pages dropped that way.
    /// </summary>
    private long ApplyFeedback()
    {
        if (_feedbackCount == 0)
        {
            return 0;
        }

        int n = _feedbackCount;
        _feedbackCount = 0;
        _engine.ApplyFeedback(_feedback.AsSpan(0, n), _retryCount == 0 ? [] : _requeued.AsSpan(0, n));
        long dropped = 0;
        for (int r = 0; r < _retryCount; r++)
        {
            int at = _retryAt[r];
            if (_requeued[at])
            {
                _retried++;
            }
            else
            {
                _retries.Remove(_feedback[at].Page);
                _droppedBusy++;
                dropped++;
            }
        }

        _retryCount = 0;
        return dropped;
    }

    /// <summary>
    /// Linux's <c>move_pages</c> fails as a whole with <c>ENOMEM</c> when the target node has no page
    /// left for a migration (<c>migrate_pages</c> gives up the batch and stores no status), not with
    /// <c>-ENOMEM</c> per page; pages of earlier batches of the call may have moved. Asks where the
    /// call's pages are now and turns the call into per-page statuses: a page on a top-tier node
    /// moved, any other is <c>-ENOMEM</c> (so the node backs off and the page is requeued, as for a
    /// per-page <c>-ENOMEM</c>). Seen in the NUMA guest with node 0 near the kernel's own watermark.
    /// </summary>
    private PlatformResult ResolveOutOfMemory(int pid, int entries)
    {
        Span<PageStatus> status = _status.AsSpan(0, entries);
        PlatformResult query = _platform.QueryPages(pid, _addresses.AsSpan(0, entries), status);
        for (int k = 0; k < entries; k++)
        {
            if (!query.IsSuccess || (status[k].IsOnNode && !_topology.IsTopTier(status[k].Node)))
            {
                status[k] = PageStatus.Failed(Errno.ENOMEM);
            }
        }

        return PlatformResult.Ok;
    }

    private (long Failed, long Dropped) HandleCallFailure(int pid, Errno error, ReadOnlySpan<PromotionCandidate> group, int entries)
    {
        long pages = 0;
        for (int k = 0; k < entries; k++)
        {
            pages += _entryCount[k];
        }

        switch (error)
        {
            case Errno.ESRCH:
            case Errno.EPERM:
            case Errno.EACCES:
                for (int k = 0; k < entries; k++)
                {
                    for (int i = _entryFirst[k]; i < _entryFirst[k] + _entryCount[k]; i++)
                    {
                        _retries.Remove(group[i].Page);
                        AddFeedback(PageFeedback.Forget(group[i].Page));
                    }
                }

                if (error == Errno.ESRCH)
                {
                    _failGone += pages;
                    Deny(pid, error, $"process {pid} is gone (ESRCH); its pages are dropped");
                }
                else
                {
                    _failDenied += pages;
                    Deny(pid, error, $"moving pages of process {pid} is not permitted ({error}): HotPage needs CAP_SYS_NICE, or the same user, to move another process's pages; promotion for it stops");
                }

                return (pages, pages);
            default:
                _failOther += pages;
                _errors++;
                Log?.Invoke($"promoter: move_pages for pid {pid} failed as a whole with {error}; {pages} pages stay where they are");
                return (pages, 0);
        }
    }

    private void Deny(int pid, Errno error, string message)
    {
        if (_deniedPids.Add(pid))
        {
            Log?.Invoke("promoter: " + message);
            ProcessProblem?.Invoke(new ProcessProblem(pid, error, message));
        }
    }

    /// <summary>Lets promotion resume for a process that was denied or gone (a new process reusing the pid, or permissions fixed).</summary>
    public void Allow(int pid)
    {
        lock (_roundLock)
        {
            _deniedPids.Remove(pid);
        }
    }

    private void RefreshResidencySlice()
    {
        int budget = (int)_engine.Tunables["residency_scan_pages"];
        IReadOnlyList<Region> regions = _engine.Regions;
        if (budget == 0 || regions.Count == 0 || _engine.Platform is null)
        {
            return;
        }

        while (budget > 0)
        {
            if (_cursor.RegionIndex >= regions.Count)
            {
                _cursor.RegionIndex = 0;
                _cursor.Offset = 0;
                _residencyPasses++;
                return; // one pass per round at most
            }

            Region region = regions[_cursor.RegionIndex];
            if (_deniedPids.Count > 0 && _deniedPids.Contains(region.Pid))
            {
                _cursor.RegionIndex++;
                _cursor.Offset = 0;
                continue;
            }

            int n = (int)Math.Min(budget, region.PageCount - _cursor.Offset);
            if (n > 0)
            {
                ResidencyRefresh r = _engine.RefreshResidency(region, _cursor.Offset, _residencyPages.AsSpan(0, n), _residencyStatus.AsSpan(0, n));
                _residencyChecked += r.Queried;
                _demotedSeen += r.Demoted;
                _demotedUnused += r.DemotedUnused;
                budget -= n;
                _cursor.Offset += n;
            }

            if (_cursor.Offset >= region.PageCount)
            {
                _cursor.RegionIndex++;
                _cursor.Offset = 0;
            }
        }
    }

    /// <summary>
    /// The threshold auto-adjust (<c>hot_threshold_auto</c>), once per round. Its signals are
    /// gathered over one period (<c>hot_threshold_period_ms</c>) and judged at the period's end, one
    /// step at most per period, so a burst that a few rounds clear, or one odd round, moves nothing:
    /// <list type="bullet">
    /// <item>backlog: more candidates than two rounds' budget waited at every round of the period
    /// (up), or fewer than a quarter of one (allows down);</item>
    /// <item>waste: of the pages the residency refresh found demoted in the period (at least
    /// <see cref="MinDemotedToJudgeWaste"/>), the share the promoter had moved and that were not
    /// reported between their move and their demotion (<c>pgpromote_demoted_unused</c>); above
    /// <c>hot_threshold_waste_pct</c> up; it must be under half of that to step down;</item>
    /// <item>room: every target node had <c>hot_threshold_room_pct</c> of its memory free above
    /// the headroom at every round and nothing was demoted in the period: the threshold may then go
    /// below <c>freq_threshold_min</c>, down to 1 (a move into free memory displaces nothing; the
    /// kernel's tiering mode promotes on any hint fault while the fast node has enough free
    /// space). A round that finds a target without that room, or a demotion, puts a threshold
    /// below <c>freq_threshold_min</c> back to it at once.</item>
    /// </list>
    /// Allocation-free: a handful of fields, no per-page state.
    /// </summary>
    private void AdjustThreshold()
    {
        var tunables = _engine.Tunables;
        long now = _time.GetTimestamp();
        if (tunables["hot_threshold_auto"] == 0)
        {
            _periodStarted = false; // a later switch-on starts a fresh period
            _engine.JudgePromotions = true;
            return;
        }

        long batch = tunables["promote_batch"];
        long rate = tunables["promote_rate_limit_mbps"];
        double intervalSeconds = tunables["promote_interval_ms"] / 1000.0;
        long perRound = rate == 0 ? batch : Math.Max(1, Math.Min(batch, (long)(rate * 1024.0 * 1024.0 * intervalSeconds / _pageSize)));
        perRound *= _targets.Length;
        long waiting = _engine.CandidateCount;
        long threshold = tunables["freq_threshold"];
        long min = tunables["freq_threshold_min"];
        long max = tunables["freq_threshold_max"];
        long roomPct = tunables["hot_threshold_room_pct"];
        if (!_periodStarted)
        {
            StartPeriod(now);
        }

        _periodBacklogHigh &= waiting > 2 * perRound;
        _periodBacklogLow &= waiting < perRound / 4;
        bool room = roomPct > 0 && (threshold < min || min > 1) && TargetsHaveRoom(roomPct);
        _periodRoom &= room;
        if (threshold < min && (!room || _demotedSeen > _periodDemoted))
        {
            // Below freq_threshold_min only while the targets have room and nothing is demoted:
            // back to it at once (moves made below it are not judged for waste, see SetThreshold).
            SetThreshold(threshold, min, roomPct == 0
                ? "freq_threshold is below freq_threshold_min while hot_threshold_auto keeps it within freq_threshold_min..freq_threshold_max (hot_threshold_room_pct is 0; set hot_threshold_auto=0 to hold a lower threshold)"
                : room ? "pages are being demoted" : "a promotion target has less than hot_threshold_room_pct free");
            StartPeriod(now);
            return;
        }

        if ((now - _periodStart) * 1000.0 / _time.TimestampFrequency < tunables["hot_threshold_period_ms"])
        {
            return;
        }

        long demoted = _demotedSeen - _periodDemoted;
        long unused = _demotedUnused - _periodUnused;
        long wastePct = tunables["hot_threshold_waste_pct"];
        // Demotions are seen a residency pass or more after the moves that led to them: after a
        // step, waste is judged again only once a whole pass has run since, or it would still be
        // judging moves made at the old threshold (and step again, overshooting). Without a
        // residency refresh in the period (residency_scan_pages=0, no region) nothing is held.
        bool holding = wastePct > 0 && _residencyPasses < _wasteFromPass && _residencyChecked > _periodChecked;
        bool judged = wastePct > 0 && !holding && demoted >= MinDemotedToJudgeWaste;
        bool wasteHigh = judged && unused * 100 > wastePct * demoted;
        bool wasteLow = !holding && (!judged || unused * 200 < wastePct * demoted);
        if ((_periodBacklogHigh || wasteHigh) && threshold < max)
        {
            SetThreshold(threshold, threshold + 1, _periodBacklogHigh
                ? $"{waiting} candidates wait but about {perRound} move per round"
                : $"{unused} of {demoted} pages demoted in the last period were promoted and not accessed since");
        }
        else if (_periodBacklogLow && wasteLow && threshold > min)
        {
            SetThreshold(threshold, threshold - 1, $"only {waiting} candidates wait for about {perRound} per round" + (judged ? $" and {unused} of {demoted} demoted pages were promoted and not accessed since" : string.Empty));
        }
        else if (_periodBacklogLow && _periodRoom && demoted == 0 && threshold > 1 && threshold <= min)
        {
            SetThreshold(threshold, threshold - 1, $"every promotion target has at least {roomPct}% free and nothing was demoted for a period");
        }

        StartPeriod(now);
    }

    private void StartPeriod(long now)
    {
        _periodStart = now;
        _periodStarted = true;
        _periodBacklogHigh = _periodBacklogLow = _periodRoom = true;
        _periodDemoted = _demotedSeen;
        _periodUnused = _demotedUnused;
        _periodChecked = _residencyChecked;
    }

    private void SetThreshold(long from, long to, string why)
    {
        _engine.Tunables.Set("freq_threshold", to);
        _engine.JudgePromotions = to >= _engine.Tunables["freq_threshold_min"];
        _wasteFromPass = _residencyPasses + 2; // the pass under way is partly before the step: the next whole one
        if (to > from)
        {
            _thresholdUp++;
        }
        else
        {
            _thresholdDown++;
        }

        Log?.Invoke($"promoter: {why}: freq_threshold {from} -> {to}");
    }

    // True when every target node has roomPct of its memory free above what promotion never eats
    // into (FreeAboveReserve).
    private bool TargetsHaveRoom(long roomPct)
    {
        long headroomPct = _engine.Tunables["promote_headroom_pct"];
        foreach (int node in _targets)
        {
            if (FreeAboveReserve(node, headroomPct) < _topology[node].TotalBytes * roomPct / 100)
            {
                return false;
            }
        }

        return true;
    }

    // Free bytes on the node above what promotion never eats into: headroomPct of the node, or what
    // the kernel keeps free itself (zone high watermarks) where that is larger. A move into the
    // kernel's reserve is refused with ENOMEM, or reclaimed (demoted) again by kswapd. Negative when
    // the node is already below it.
    private long FreeAboveReserve(int node, long headroomPct) =>
        _platform.GetFreeBytes(node) - Math.Max(_topology[node].TotalBytes * headroomPct / 100, _platform.GetReservedBytes(node));

    /// <summary>Starts the background promoter thread: a round every <c>promote_interval_ms</c>, sooner when woken or when a full batch waits.</summary>
    /// <exception cref="InvalidOperationException">It is already running.</exception>
    public void Start()
    {
        lock (_roundLock)
        {
            if (_thread is not null)
            {
                throw new InvalidOperationException("The promoter is already running.");
            }

            _stopping = false;
            _thread = new Thread(Loop) { IsBackground = true, Name = "hotpage-promoter" };
            _thread.Start();
        }
    }

    /// <summary>Asks for a round now (for example when many candidates arrived).</summary>
    public void Wake() => _wake.Set();

    private void Loop()
    {
        while (!_stopping)
        {
            try
            {
                RunOnce();
            }
#pragma warning disable CA1031 // The promoter thread must survive a bad round; the error is counted and logged.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Interlocked.Increment(ref _errors);
                Log?.Invoke($"promoter: a round failed: {ex.GetType().Name}: {ex.Message}");
            }

            if (_stopping)
            {
                break;
            }

            int interval = (int)_engine.Tunables["promote_interval_ms"];
            bool backlog = _engine.CandidateCount >= _engine.Tunables["promote_batch"];
            _wake.WaitOne(backlog ? Math.Max(1, interval / 8) : interval);
        }
    }

    /// <summary>Stops the background thread: the round in flight finishes; reports what was done and what remains. Safe to call when not running.</summary>
    public PromoterStopReport Stop()
    {
        Thread? thread;
        lock (_roundLock)
        {
            thread = _thread;
            _stopping = true;
        }

        _wake.Set();
        thread?.Join();
        lock (_roundLock)
        {
            _thread = null;
            return new PromoterStopReport(Rounds, _total, _engine.CandidateCount);
        }
    }

    /// <summary>The promoter's counters (kernel names where the meaning matches).</summary>
    public IEnumerable<KeyValuePair<string, long>> Counters
    {
        get
        {
            lock (_roundLock)
            {
                return new KeyValuePair<string, long>[]
                {
                    new("pgpromote_candidate", _candidates),
                    new("pgpromote_success", _success),
                    new("pgpromote_success_thp", _successHuge),
                    new("pgpromote_success_thp_pages", _successHugePages),
                    new("pgpromote_thp_cold", _thpCold),
                    new("pgpromote_thp_noroom", _thpNoRoom),
                    new("pgpromote_fail_nomem", _failNoMem),
                    new("pgpromote_fail_busy", _failBusy),
                    new("pgpromote_fail_gone", _failGone),
                    new("pgpromote_fail_denied", _failDenied),
                    new("pgpromote_fail_notmoved", _failNotMoved),
                    new("pgpromote_fail_other", _failOther),
                    new("pgpromote_retried", _retried),
                    new("pgpromote_dropped_busy", _droppedBusy),
                    new("pgpromote_dropped_denied", _droppedDenied),
                    new("pgpromote_fallback", _fallback),
                    new("pgpromote_watermark_rounds", _watermarkRounds),
                    new("pgpromote_nomem_backoff_rounds", _backoffRounds),
                    new("pgpromote_ratelimited_rounds", _rateLimitedRounds),
                    new("pgpromote_threshold_up", _thresholdUp),
                    new("pgpromote_threshold_down", _thresholdDown),
                    new("pgpromote_demoted_seen", _demotedSeen),
                    new("pgpromote_demoted_unused", _demotedUnused),
                    new("pgpromote_residency_checked", _residencyChecked),
                    new("pgpromote_rounds", Rounds),
                    new("pgpromote_errors", Interlocked.Read(ref _errors)),
                    new("hot_threshold", _engine.Tunables["freq_threshold"]),
                };
            }
        }
    }

    /// <summary>The engine's counters and the promoter's, in one snapshot.</summary>
    public CounterSnapshot GetCounters() => new(_engine.GetCounters().Concat(Counters));

    /// <summary>Stops the thread if running.</summary>
    public void Dispose()
    {
        Stop();
        _wake.Dispose();
    }

    private struct NodeBudget
    {
        public double Tokens;
        public long LastRefill;
        public int BackoffRounds;
        public bool AtWatermark;
    }

    private sealed class ResidencyCursor
    {
        public int RegionIndex;
        public long Offset;
    }
}
