# HotPage embedded, with its default headroom (promote_headroom_pct=2) on a node 0 that is fuller
# than the kernel's own watermarks allow for the hot set: nodefill leaves node 0's high watermark
# plus 8 MiB free, and the hot set (32 MiB) is larger than what lies above the kernel's min
# watermark, while HotPage's reserve (2%) lies below it. So the kernel refuses first: move_pages
# fails as a whole with ENOMEM. Passes when HotPage reads that as -ENOMEM per page (pages counted in
# pgpromote_fail_nomem, the node backed off, no failed calls: pgpromote_fail_other and
# pgpromote_errors 0), promoted some but not 95% of the hot set, moved no cold page, and the
# workload ran to its end. SKIP when this kernel's watermarks do not make that situation.
. /hotpage/lib.sh
need_embed || exit 0
pcp_old=$(cat /proc/sys/vm/percpu_pagelist_high_fraction)
echo 1048576 > /proc/sys/vm/percpu_pagelist_high_fraction   # steady MemFree, as in 52
trap 'echo "$pcp_old" > /proc/sys/vm/percpu_pagelist_high_fraction' EXIT
# Node 0's zone watermarks (pages), summed over its zones.
set -- $(awk '/^Node/ {n = $2} n == "0," && $1 == "min" {m += $2} n == "0," && $1 == "high" {h += $2} END {print m * 4, h * 4}' /proc/zoneinfo)
min_kb=$1; high_kb=$2; hot_mib=32; leave_kb=$((high_kb + 8192))
total_kb=$(awk '/MemTotal:/ {print $4}' /sys/devices/system/node/node0/meminfo); reserve_kb=$((total_kb * 2 / 100))
k="kernel_min_kb=$min_kb kernel_high_kb=$high_kb hotpage_reserve_kb=$reserve_kb leave_kb=$leave_kb hot_kb=$((hot_mib * 1024))"
if [ "$reserve_kb" -ge "$min_kb" ] || [ $((hot_mib * 1024)) -le $((leave_kb - min_kb)) ]; then
    result "$CASE_NAME" SKIP "this kernel's watermarks do not put HotPage's default reserve under them: $k"; exit 0
fi
tiered-embed --total-mib "$WL_TOTAL_MIB" --hot-mib "$hot_mib" --seconds 8 --quiet --wait-signal --record-ms 20 --headroom-pct 2 \
    --hotpage-config '{"tunables": {"max_tracked_pages": 65536, "max_candidates": 65536}}' > "$CASE_DIR/wl.out" 2>&1 &
wl=$!
if ! wait_line "$CASE_DIR/wl.out" ready 60; then
    kill -9 $wl 2>/dev/null; sed 's/^/    | /' "$CASE_DIR/wl.out"
    result "$CASE_NAME" FAIL "workload never became ready"; exit 0
fi
nodefill --node 0 --leave-kb "$leave_kb" > "$CASE_DIR/fill.out" 2>&1 &
fill=$!
i=0
while ! grep -q '^filled' "$CASE_DIR/fill.out" && kill -0 $fill 2>/dev/null && [ $i -lt 900 ]; do
    sleep 0.1; i=$((i + 1))
done
sed 's/^/    fill: /' "$CASE_DIR/fill.out"
if ! grep -q '^filled' "$CASE_DIR/fill.out"; then
    kill -9 $wl $fill 2>/dev/null
    result "$CASE_NAME" FAIL "nodefill did not fill node 0: $k"; exit 0
fi
kill -USR1 $wl
wait $wl; wl_rc=$?
kill -9 $fill 2>/dev/null; wait $fill 2>/dev/null
sed 's/^/    | /' "$CASE_DIR/wl.out"
f=$CASE_DIR/wl.out
hot=$(field "$f" hot_final); nhot=$(field "$f" hot_pages); cmax=$(field "$f" cold_moved_max)
nomem=$(lfield "$f" counters pgpromote_fail_nomem); other=$(lfield "$f" counters pgpromote_fail_other)
errs=$(lfield "$f" counters pgpromote_errors); succ=$(lfield "$f" counters pgpromote_success)
d="hot_final=${hot:-?}/${nhot:-?} cold_moved_max=${cmax:-?} pgpromote_success=${succ:-?} pgpromote_fail_nomem=${nomem:-?}"
d="$d pgpromote_fail_other=${other:-?} pgpromote_errors=${errs:-?} rounds=$(lfield "$f" embed rounds)"
d="$d free_pcp_min_kb=$(lfield "$f" embed free_pcp_min_kb) $k workload_rc=$wl_rc"
why=""
if [ "$wl_rc" -ne 0 ] || [ -z "$hot" ] || [ -z "$nomem" ] || [ -z "$errs" ]; then why="workload exit $wl_rc or no figures"
elif [ "$nomem" -eq 0 ]; then why="the kernel never refused a move (no -ENOMEM)"
elif [ "$other" -ne 0 ] || [ "$errs" -ne 0 ]; then why="moves counted as failed calls, not as -ENOMEM"
elif [ "$hot" -eq 0 ]; then why="nothing was promoted"
elif [ $((hot * 100)) -ge $((nhot * 95)) ]; then why="the hot set fit"
elif [ "$cmax" -ne 0 ]; then why="cold pages moved"
fi
if [ -z "$why" ]; then result "$CASE_NAME" PASS "$d"; else result "$CASE_NAME" FAIL "$why: $d"; fi
