# Fault: a watched process exits mid-run. hotpaged watches two workloads (--source softdirty); the
# first runs 3 s and exits, the second is signalled only after that and outlives the daemon. The
# daemon must log that the first pid exited, keep promoting the second one's hot pages (>= 95% on
# node 0 by the workload's own query when the daemon has stopped), and exit 0 at the end of
# --duration with exited 1 / watched 1 in its final counters.
. /hotpage/lib.sh
. /hotpage/hotpaged.sh
hp_require
# shellcheck disable=SC2086
hp_config "$CASE_DIR/hp.json" $HP_TUNABLES
tiered --total-mib 16 --hot-mib 2 --quiet --wait-signal --seconds 3 > "$CASE_DIR/wl1.out" 2>&1 &
wl1=$!
hp_start_workload --seconds 30    # the second workload: $WL_PID, standard working set, killed below
wait_line "$CASE_DIR/wl1.out" ready 60 || { result "$CASE_NAME" FAIL "the first workload never became ready"; exit 1; }
HP_T0=$(hp_now_ms)
hotpaged run --pid "$wl1,$WL_PID" --source softdirty --config "$CASE_DIR/hp.json" --quiet --duration 11 \
    --socket "$CASE_DIR/hp.sock" --stats-json "$CASE_DIR/hp.stats.json" > "$CASE_DIR/hp.out" 2> "$CASE_DIR/hp.log" &
HP_PID=$!
hp_wait_log hp "control socket" 30   # both pids watched before the first one starts its 3 s
kill -USR1 "$wl1"
wait "$wl1"; wl1_rc=$?
kill -USR1 "$WL_PID"
hp_wait hp
sleep 0.3   # one more placement query of the second workload, then it goes
kill -9 "$WL_PID"; wait "$WL_PID" 2>/dev/null
sed 's/^/    wl1| /' "$CASE_DIR/wl1.out"
sed 's/^/    | /' "$CASE_DIR/wl.out"
# The second workload's last placement line (it printed every change): hot/cold pages on node 0.
last=$(grep '^placement ' "$CASE_DIR/wl.out" | tail -1)
hot=$(echo "$last" | sed -n 's/.*hot_on_node0=\([0-9]*\)\/\([0-9]*\).*/\1/p'); nhot=$(echo "$last" | sed -n 's/.*hot_on_node0=[0-9]*\/\([0-9]*\).*/\1/p')
cmax=$(echo "$last" | sed -n 's/.*cold_on_node0=\([0-9]*\)\/.*/\1/p'); ncold=$(echo "$last" | sed -n 's/.*cold_on_node0=[0-9]*\/\([0-9]*\).*/\1/p')
exited=$(hp_counter hp hotpage_exited_processes); watched=$(hp_counter hp hotpage_watched_processes)
logged=no; grep -q "pid $wl1 exited" "$CASE_DIR/hp.log" && logged=yes
reason=$(sed -n 's/.*"stop_reason": *"\([^"]*\)".*/\1/p' "$CASE_DIR/hp.stats.json" 2>/dev/null)
d="daemon_rc=$HP_RC exit_logged=$logged stop_reason='$reason' exited=$exited watched_at_end=$watched second_workload_at_daemon_stop: hot_on_node0=$hot/$nhot cold_on_node0=$cmax/$ncold first_workload_rc=$wl1_rc counters: $(hp_counters hp)"
if [ "$HP_RC" = 0 ] && [ "$logged" = yes ] && [ "$exited" = 1 ] && [ "$watched" = 1 ] \
    && echo "$reason" | grep -q -- '--duration' && [ -n "$nhot" ] && [ $((hot * 100)) -ge $((nhot * 95)) ] \
    && [ $((cmax * 100)) -le $((ncold * 5)) ]; then
    result "$CASE_NAME" PASS "$d"
else
    result "$CASE_NAME" FAIL "$d"
fi
