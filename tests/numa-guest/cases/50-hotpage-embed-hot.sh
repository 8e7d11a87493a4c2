# HotPage embedded in the workload: tiered-embed (tiered.c linked with libhotpage.so) registers its
# working set, reports its own accesses through hotpage_record_batch and calls hotpage_run_once
# every 100 ms; no daemon, no kernel mechanism (NUMA balancing off). Passes when >= 95% of the hot
# pages reach node 0 and <= 5% of the cold pages ever do, by the workload's own move_pages queries.
# Stops at 95% (at most WL_SECONDS).
. /hotpage/lib.sh
need_embed || exit 0
vmstat_snap "$CASE_DIR/vm0"
run_embed --stop-at-hot95
wl_rc=$?
vmstat_snap "$CASE_DIR/vm1"
embed_verdict "vmstat: $(vmstat_delta "$CASE_DIR/vm0" "$CASE_DIR/vm1")"
