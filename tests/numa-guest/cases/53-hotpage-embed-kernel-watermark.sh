# HotPage embedded, with its default headroom (promote_headroom_pct=2, 20 MiB here) on a node 0
# fuller than the kernel's own watermarks allow for the hot set: nodefill leaves node 0's high
# watermark plus 8 MiB free, and the hot set (32 MiB) is larger than that. HotPage's reserve is never
# below the kernel's (the zones' high watermarks, read from /proc/zoneinfo), so it stops at that
# watermark itself instead of running into the kernel's refusals. Passes when HotPage promoted some
# but not 95% of the hot set, its watermark counter rose, the kernel refused nothing
# (pgpromote_fail_nomem, pgpromote_fail_other and pgpromote_errors all 0), no cold page moved and the
# workload ran to its end. SKIP when this kernel's watermarks are below HotPage's default reserve
# (then the case shows nothing the 52 case does not).
. /hotpage/lib.sh
need_embed || exit 0
steady_memfree
# Node 0's zone watermarks (pages), summed over its zones.
set -- $(awk '/^Node/ {n = $2} n == "0," && $1 == "min" {m += $2} n == "0," && $1 == "high" {h += $2} END {print m * 4, h * 4}' /proc/zoneinfo)
min_kb=$1; high_kb=$2; hot_mib=32; leave_kb=$((high_kb + 8192))
total_kb=$(awk '/MemTotal:/ {print $4}' /sys/devices/system/node/node0/meminfo); reserve_kb=$((total_kb * 2 / 100))
k="kernel_min_kb=$min_kb kernel_high_kb=$high_kb hotpage_reserve_kb=$reserve_kb leave_kb=$leave_kb hot_kb=$((hot_mib * 1024))"
if [ "$reserve_kb" -ge "$high_kb" ]; then
    result "$CASE_NAME" SKIP "HotPage's default reserve is above this kernel's high watermarks: $k"; exit 0
fi
tiered-embed --total-mib "$WL_TOTAL_MIB" --hot-mib "$hot_mib" --seconds 8 --quiet --wait-signal --record-ms 20 --headroom-pct 2 \
    --hotpage-config '{"tunables": {"max_tracked_pages": 65536, "max_candidates": 65536}}' > "$CASE_DIR/wl.out" 2>&1 &
wl=$!
await_ready || exit 0
fill_and_release "$leave_kb" ": $k" || exit 0
f=$CASE_DIR/wl.out
hot=$(field "$f" hot_final); nhot=$(field "$f" hot_pages); cmax=$(field "$f" cold_moved_max)
nomem=$(lfield "$f" counters pgpromote_fail_nomem); other=$(lfield "$f" counters pgpromote_fail_other)
errs=$(lfield "$f" counters pgpromote_errors); succ=$(lfield "$f" counters pgpromote_success)
wm=$(lfield "$f" counters pgpromote_watermark_rounds)
d="hot_final=${hot:-?}/${nhot:-?} cold_moved_max=${cmax:-?} pgpromote_success=${succ:-?} pgpromote_fail_nomem=${nomem:-?}"
d="$d pgpromote_fail_other=${other:-?} pgpromote_errors=${errs:-?} pgpromote_watermark_rounds=${wm:-?} rounds=$(lfield "$f" embed rounds)"
d="$d free_pcp_min_kb=$(lfield "$f" embed free_pcp_min_kb) $k workload_rc=$wl_rc"
why=""
if [ "$wl_rc" -ne 0 ] || [ -z "$hot" ] || [ -z "$nomem" ] || [ -z "$errs" ] || [ -z "$wm" ]; then why="workload exit $wl_rc or no figures"
elif [ "$nomem" -ne 0 ] || [ "$other" -ne 0 ] || [ "$errs" -ne 0 ]; then why="the kernel refused moves: HotPage promoted into its reserve"
elif [ "$wm" -eq 0 ]; then why="HotPage never stopped at its watermark"
elif [ "$hot" -eq 0 ]; then why="nothing was promoted"
elif [ $((hot * 100)) -ge $((nhot * 95)) ]; then why="the hot set fit"
elif [ "$cmax" -ne 0 ]; then why="cold pages moved"
fi
if [ -z "$why" ]; then result "$CASE_NAME" PASS "$d"; else result "$CASE_NAME" FAIL "$why: $d"; fi
