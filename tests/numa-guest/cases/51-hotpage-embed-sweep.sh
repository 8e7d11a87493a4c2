# HotPage embedded, with the slow sequential sweep of the kernel cases 31/33/40/41: the same
# workload shape (WL_SECONDS, each cold page read once at WL_SWEEP_MIBPS), every cold read reported
# to HotPage. Passes when the hot set still reaches 95% on node 0, <= 5% of the cold pages ever
# moved, and the sweep read every cold page (else it would prove nothing about them).
. /hotpage/lib.sh
need_embed || exit 0
vmstat_snap "$CASE_DIR/vm0"
run_embed --sweep-mibps "$WL_SWEEP_MIBPS"
wl_rc=$?
vmstat_snap "$CASE_DIR/vm1"
swept=$(field "$CASE_DIR/wl.out" swept); ncold=$(field "$CASE_DIR/wl.out" cold_pages)
if [ -n "$swept" ] && [ "$swept" != "$ncold" ]; then
    result "$CASE_NAME" FAIL "the sweep read $swept of $ncold cold pages: $(figures)"; exit 0
fi
embed_verdict "sweep_mibps=$WL_SWEEP_MIBPS vmstat: $(vmstat_delta "$CASE_DIR/vm0" "$CASE_DIR/vm1")"
