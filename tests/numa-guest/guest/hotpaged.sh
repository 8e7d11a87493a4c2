# hotpaged in the guest: helpers for the daemon cases (60-69); sourced after lib.sh.
# The daemon attaches to a running `tiered --wait-signal` workload by pid, with one temperature
# source, and the workload's own move_pages query says where its pages are.
#
# The daemon's tunables for these cases (HP_TUNABLES; why each, see tests/numa-guest/README.md):
#   scan_delay_ms=0          the workload is placed before the daemon starts: no reason to wait
#   scan_period_ms=250       a pass over the 64 MiB workload every 250 ms (default 1000)
#   promote_interval_ms=50   a promotion round 50 ms after candidates appear (default 200)
#   freq_threshold=2         (the default) a page reported in two passes within freq_window_ms
#   promote_batch=4096       the whole hot set (2048 pages) fits one round; with the default 512 the
#                            automatic threshold sees 2048 candidates arrive at once, raises
#                            freq_threshold to 3, the extraction drops the 1536 candidates at 2,
#                            and they qualify again only a pass later
HP_TUNABLES=${HP_TUNABLES:-scan_delay_ms=0 scan_period_ms=250 promote_interval_ms=50 freq_threshold=2 promote_batch=4096}
HP_WL_SECONDS=${HP_WL_SECONDS:-10}   # the bar: 95% of the hot set on node 0 within 10 s

# Prints SKIP and ends the case when the payload has no hotpaged.
hp_require() {
    command -v hotpaged >/dev/null 2>&1 && return 0
    result "$CASE_NAME" SKIP "hotpaged is not in this guest (payload.d/20-hotpaged.sh)"
    exit 0
}

hp_now_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }

# hp_config FILE [KEY=VALUE]...: a hotpaged config with these tunables.
hp_config() {
    f=$1; shift
    { printf '{ "tunables": {'; sep=""
      for kv in "$@"; do printf '%s "%s": %s' "$sep" "${kv%%=*}" "${kv#*=}"; sep=","; done
      printf ' } }\n'; } > "$f"
}

# hp_start_workload [TIERED ARGS]...: starts the standard working set waiting for SIGUSR1, writes its
# ranges to $CASE_DIR/ranges and its output to $CASE_DIR/wl.out; sets WL_PID. Ends the case (FAIL)
# when it does not become ready.
hp_start_workload() {
    tiered --total-mib "$WL_TOTAL_MIB" --hot-mib "$WL_HOT_MIB" --quiet --wait-signal \
        --ranges "$CASE_DIR/ranges" "$@" > "$CASE_DIR/wl.out" 2>&1 &
    WL_PID=$!
    if ! wait_line "$CASE_DIR/wl.out" ready 60; then
        kill -9 "$WL_PID" 2>/dev/null; sed 's/^/    | /' "$CASE_DIR/wl.out"
        result "$CASE_NAME" FAIL "workload never became ready"; exit 1
    fi
}

# hp_start NAME SOURCE [HOTPAGED RUN ARGS]...: starts `hotpaged run --pid $WL_PID --source SOURCE` in
# the background with the config $CASE_DIR/NAME.json (made by hp_config), log $CASE_DIR/NAME.log,
# final counters $CASE_DIR/NAME.out and $CASE_DIR/NAME.stats.json. Sets HP_PID and HP_T0 (uptime ms).
hp_start() {
    n=$1; s=$2; shift 2
    HP_T0=$(hp_now_ms)
    hotpaged run --pid "$WL_PID" --source "$s" --config "$CASE_DIR/$n.json" --quiet \
        --socket "$CASE_DIR/$n.sock" --stats-json "$CASE_DIR/$n.stats.json" --metrics-file "$CASE_DIR/$n.prom" "$@" \
        > "$CASE_DIR/$n.out" 2> "$CASE_DIR/$n.log" &
    HP_PID=$!
}

# hp_wait_log NAME TEXT [SECONDS]: waits until the log of run NAME has a line containing TEXT.
hp_wait_log() {
    i=0; lim=$((${3:-30} * 20))
    while ! grep -q "$2" "$CASE_DIR/$1.log" 2>/dev/null; do
        i=$((i + 1)); [ "$i" -gt "$lim" ] && return 1
        sleep 0.05
    done
}

# hp_wait NAME: waits for the daemon started by hp_start; sets HP_RC and prints its log, indented.
hp_wait() {
    wait "$HP_PID"; HP_RC=$?
    sed 's/^/    hotpaged| /' "$CASE_DIR/$1.log"
}

# hp_counter NAME KEY: a final counter of run NAME (from its stdout), empty if absent.
hp_counter() { awk -v k="$2" '$1 == k { print $2 }' "$CASE_DIR/$1.out"; }

# hp_counters NAME: the counters that tell what a run did, as key=value.
hp_counters() {
    for k in pghot_recorded_accesses pghot_recorded_softdirty pghot_recorded_pgtscans pghot_recorded_damon \
             pghot_skipped_toptier pghot_rejected_address pghot_ring_dropped pghot_candidates \
             pgpromote_success pgpromote_fail_busy pgpromote_fail_gone pgpromote_fail_other kpromoted_dropped \
             pgpromote_rounds hot_threshold hotpage_exited_processes hotpage_source_ticks hotpage_source_tick_ms_total \
             hotpage_source_tick_ms_max; do
        v=$(hp_counter "$1" "$k"); [ -n "$v" ] && [ "$v" != 0 ] && printf '%s=%s ' "$k" "$v"
    done | sed 's/ $//'
}

# hp_poll NAME: while the workload runs, prints the daemon's main counters every 500 ms (debugging aid:
# HP_POLL=1 in a case; it costs the guest's single host thread some time).
hp_poll() {
    while kill -0 "$WL_PID" 2>/dev/null; do
        echo "    poll t=$(( $(hp_now_ms) - HP_T0 )) $(grep -E '^hotpage_(pghot_recorded_accesses|pghot_skipped_toptier|pghot_candidates|pgpromote_success|hot_threshold|pgpromote_rounds|kpromoted_cold_old|kpromoted_dropped|pghot_records_applied|pghot_records_inflight|uptime_ms) ' \
            "$CASE_DIR/$1.prom" 2>/dev/null | sed 's/^hotpage_//' | tr '\n' ' ')"
        sleep 0.25
    done
}

nr_kdamonds() { cat /sys/kernel/mm/damon/admin/kdamonds/nr_kdamonds 2>/dev/null || echo absent; }

# hp_promote_case SOURCE [TIERED ARGS]...: the daemon path. The standard working set with the slow
# cold sweep waits on node 1; hotpaged starts with SOURCE and the case's tunables, the workload is
# signalled once the daemon watches it and runs HP_WL_SECONDS; then the daemon gets SIGTERM. Sets:
#   HP_MS       ms from the daemon's start to the first placement query with >= 95% of the hot pages
#               on node 0 (hot95_ms of the workload + the time between daemon start and signal), or -1
#   HP_OK       1 when that is within HP_WL_SECONDS, >= 95% of the hot pages are on node 0 at the
#               end, at most 5% of the cold pages were ever on node 0, and the daemon exited 0
#   HP_FIGURES  the figures for the result line
hp_promote_case() {
    src=$1; shift
    # shellcheck disable=SC2086
    hp_config "$CASE_DIR/hp.json" $HP_TUNABLES
    hp_start_workload --seconds "$HP_WL_SECONDS" --sweep-mibps "$WL_SWEEP_MIBPS" "$@"
    vmstat_snap "$CASE_DIR/vm0"
    hp_start hp "$src"
    # The workload turns hot once the daemon watches it (its "control socket" line comes after it
    # attached the sources): a busy workload started earlier would only slow the daemon's start-up
    # (both guest CPUs share one host thread). Time still counts from the daemon's start.
    hp_wait_log hp "control socket" 30
    kill -USR1 "$WL_PID"
    t_sig=$(hp_now_ms)
    [ -n "${HP_POLL:-}" ] && hp_poll hp &
    # What runs in the kernel while the daemon does (DAMON: its kdamond).
    sleep 2
    HP_KDAMONDS_DURING=$(nr_kdamonds)
    wait "$WL_PID"; wl_rc=$?
    kill -TERM "$HP_PID" 2>/dev/null
    hp_wait hp
    t_end=$(hp_now_ms)
    # The daemon's own clock starts once its engine is set up: the rest is its start-up in the guest.
    el=$(sed -n 's/.*"elapsed_ms": *\([0-9]*\).*/\1/p' "$CASE_DIR/hp.stats.json" 2>/dev/null | head -1)
    HP_STARTUP_MS=-1; [ -n "$el" ] && HP_STARTUP_MS=$((t_end - HP_T0 - el))
    vmstat_snap "$CASE_DIR/vm1"
    HP_KDAMONDS_AFTER=$(nr_kdamonds)
    sed 's/^/    | /' "$CASE_DIR/wl.out"
    f=$CASE_DIR/wl.out
    nhot=$(field "$f" hot_pages); ncold=$(field "$f" cold_pages)
    h95=$(field "$f" hot95_ms); hot=$(field "$f" hot_final); cmax=$(field "$f" cold_moved_max)
    HP_MS=-1
    [ -n "$h95" ] && [ "$h95" -ge 0 ] && HP_MS=$((h95 + t_sig - HP_T0))
    HP_OK=0
    if [ "$wl_rc" = 0 ] && [ "$HP_RC" = 0 ] && [ -n "$nhot" ] && [ "$HP_MS" -ge 0 ] \
        && [ "$HP_MS" -le $((HP_WL_SECONDS * 1000)) ] && [ $((hot * 100)) -ge $((nhot * 95)) ] \
        && [ $((cmax * 100)) -le $((ncold * 5)) ]; then
        HP_OK=1
    fi
    HP_FIGURES="hot95_from_daemon_start_ms=$HP_MS $(figures) signal_after_ms=$((t_sig - HP_T0)) daemon_startup_ms=$HP_STARTUP_MS daemon_rc=$HP_RC workload_rc=$wl_rc tunables:$(echo "$HP_TUNABLES" | tr ' ' ',') counters: $(hp_counters hp) vmstat: $(vmstat_delta "$CASE_DIR/vm0" "$CASE_DIR/vm1")"
}
