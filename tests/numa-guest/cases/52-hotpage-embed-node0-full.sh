# HotPage embedded, node 0 smaller than the hot set: a helper (nodefill) binds and touches node 0's
# free memory until only the watermark (promote_headroom_pct=10 of node 0's MemTotal, about 98 MiB)
# plus 4 MiB is free, half of the 8 MiB hot set. 10, not the default 2: in this guest the kernel's own
# watermarks of node 0 are higher than 2% (DMA32 min about 33 MiB, high about 50 MiB, raised for THP),
# so below them the kernel itself refuses (OOM for a bound allocation, -ENOMEM for a move) before
# HotPage's watermark is reached. Passes when HotPage promotes up to the watermark and stops there:
# some hot pages moved but fewer than 95%, its counters say rounds hit the watermark
# (pgpromote_watermark_rounds > 0 and no -ENOMEM from the kernel, pgpromote_fail_nomem = 0, read
# through hotpage_counter), the workload ran to the end (no crash), and node 0's free memory after
# every round that promoted stayed at or above the watermark less 512 KiB for other allocations
# (the workload's own, the kernel's). Free memory here is the buddy lists plus the per-CPU lists
# (/proc/zoneinfo): MemFree alone lags behind a move, whose pages come from the per-CPU lists first
# (refilled from MemFree in batches). HotPage budgets each round by MemFree (never more than the
# allocator holds), so its moves alone cannot take that sum below the watermark; MemFree's own
# minimum is printed too.
. /hotpage/lib.sh
need_embed || exit 0
steady_memfree   # MemFree would jump by more than the 4 MiB of room this case leaves
pct=10; room_kb=4096; slack_kb=512
tiered-embed --total-mib "$WL_TOTAL_MIB" --hot-mib "$WL_HOT_MIB" --seconds 8 --quiet --wait-signal \
    --headroom-pct "$pct" --hotpage-config '{"tunables": {"max_tracked_pages": 65536, "max_candidates": 65536}}' \
    > "$CASE_DIR/wl.out" 2>&1 &
wl=$!
await_ready || exit 0
reserve=$(lfield "$CASE_DIR/wl.out" hotpage reserve_kb)
fill_and_release $((reserve + room_kb)) " (see its steps above)" || exit 0
f=$CASE_DIR/wl.out
hot=$(field "$f" hot_final); nhot=$(field "$f" hot_pages); cmax=$(field "$f" cold_moved_max)
wm=$(lfield "$f" counters pgpromote_watermark_rounds); succ=$(lfield "$f" counters pgpromote_success)
nomem=$(lfield "$f" counters pgpromote_fail_nomem); fmin=$(lfield "$f" embed free_pcp_min_kb)
d="hot_final=${hot:-?}/${nhot:-?} cold_moved_max=${cmax:-?} pgpromote_success=${succ:-?}"
d="$d pgpromote_watermark_rounds=${wm:-?} pgpromote_fail_nomem=${nomem:-?} rounds=$(lfield "$f" embed rounds)"
d="$d node0_free_at_start_kb=$free0 reserve_kb=$reserve room_pages_at_start=$(( (free0 - reserve) / 4 ))"
d="$d after_promoting_rounds: free_pcp_min_kb=${fmin:-?} memfree_min_kb=$(lfield "$f" embed free_min_kb)"
d="$d slack_kb=$slack_kb workload_rc=$wl_rc"
why=""
if [ "$wl_rc" -ne 0 ] || [ -z "$hot" ] || [ -z "$wm" ] || [ -z "$fmin" ]; then why="workload exit $wl_rc or no figures"
elif [ "$hot" -eq 0 ] || [ "$fmin" -lt 0 ]; then why="nothing was promoted"
elif [ $((hot * 100)) -ge $((nhot * 95)) ]; then why="the hot set fit: node 0 was not smaller than it"
elif [ "$wm" -eq 0 ]; then why="no round reported the watermark (pgpromote_watermark_rounds=0)"
elif [ "$nomem" -ne 0 ]; then why="the kernel refused moves (-ENOMEM): its watermark, not HotPage's, was reached"
elif [ "$fmin" -lt $((reserve - slack_kb)) ]; then why="node 0's free memory went below the watermark after a promotion"
fi
if [ -z "$why" ]; then result "$CASE_NAME" PASS "$d"; else result "$CASE_NAME" FAIL "$why: $d"; fi
