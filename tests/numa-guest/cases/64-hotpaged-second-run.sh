# Fault: a second `hotpaged run` on the same pid after the first one ended. Run 1 (--source
# softdirty, --duration 7) promotes the hot set; then pagemove puts the hot pages back on node 1
# (as a demotion would); run 2 on the same, still running workload must find and promote them again:
# no state of run 1 (soft-dirty bits it cleared, its control socket) may get in the way.
. /hotpage/lib.sh
. /hotpage/hotpaged.sh
hp_require
# shellcheck disable=SC2086
hp_config "$CASE_DIR/hp1.json" $HP_TUNABLES
cp "$CASE_DIR/hp1.json" "$CASE_DIR/hp2.json"
hp_start_workload --seconds 22
hp_start hp1 softdirty --duration 7
kill -USR1 "$WL_PID"
hp_wait hp1; rc1=$HP_RC
sleep 0.3
after1=$(grep '^placement ' "$CASE_DIR/wl.out" | tail -1 | sed 's/.*hot_on_node0=\([0-9]*\).*/\1/')
mv=$(pagemove "$WL_PID" "$CASE_DIR/ranges" hot 1); mrc=$?
echo "    $mv"
sleep 0.6
back=$(grep '^placement ' "$CASE_DIR/wl.out" | tail -1 | sed 's/.*hot_on_node0=\([0-9]*\).*/\1/')
hp_start hp2 softdirty --duration 8
hp_wait hp2; rc2=$HP_RC
wait "$WL_PID"; wl_rc=$?
sed 's/^/    | /' "$CASE_DIR/wl.out"
nhot=$(field "$CASE_DIR/wl.out" hot_pages); hot=$(field "$CASE_DIR/wl.out" hot_final)
cmax=$(field "$CASE_DIR/wl.out" cold_moved_max); ncold=$(field "$CASE_DIR/wl.out" cold_pages)
p1=$(hp_counter hp1 pgpromote_success); p2=$(hp_counter hp2 pgpromote_success)
d="run1_rc=$rc1 run1_promoted=$p1 hot_on_node0_after_run1=$after1 pagemove_rc=$mrc hot_on_node0_after_pagemove=$back run2_rc=$rc2 run2_promoted=$p2 hot_final=$hot/$nhot cold_moved_max=$cmax/$ncold workload_rc=$wl_rc run2_counters: $(hp_counters hp2)"
if [ "$rc1" = 0 ] && [ "$rc2" = 0 ] && [ "$mrc" = 0 ] && [ "$wl_rc" = 0 ] && [ -n "$nhot" ] \
    && [ $((after1 * 100)) -ge $((nhot * 95)) ] && [ $((back * 100)) -le $((nhot * 5)) ] \
    && [ $((p2 * 100)) -ge $((nhot * 95)) ] && [ $((hot * 100)) -ge $((nhot * 95)) ] && [ $((cmax * 100)) -le $((ncold * 5)) ]; then
    result "$CASE_NAME" PASS "$d"
else
    result "$CASE_NAME" FAIL "$d"
fi
