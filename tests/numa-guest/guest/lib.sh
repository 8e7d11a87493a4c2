# Helpers for the case scripts of the HotPage NUMA guest; a case script starts with
#   . /hotpage/lib.sh
# and runs inside the guest (busybox sh, root) with CASE_NAME (its name) and CASE_DIR (a scratch
# directory, also the working directory) set. It prints one or more result lines through `result`.

# The standard working set (the same for every baseline and, later, for HotPage's cases).
WL_TOTAL_MIB=${WL_TOTAL_MIB:-64}     # 16384 pages of 4 KiB
WL_HOT_MIB=${WL_HOT_MIB:-8}          # 2048 hot pages, one contiguous run in the middle
WL_SECONDS=${WL_SECONDS:-30}         # access phase
WL_SWEEP_MIBPS=${WL_SWEEP_MIBPS:-2}  # slow cold sweep: 56 MiB of cold pages read once in 28 s

# result NAME PASS|FAIL|SKIP DETAILS...
result() { n=$1; s=$2; shift 2; echo "CASE $n $s $*"; }

# The /proc/vmstat counters that tell what the kernel migrated.
VMSTAT_KEYS='pgpromote_success|pgpromote_candidate|pgdemote_kswapd|pgdemote_direct|numa_pte_updates|numa_hint_faults|numa_hint_faults_local|numa_pages_migrated|pgmigrate_success|pgmigrate_fail'
vmstat_snap() { grep -E "^($VMSTAT_KEYS) " /proc/vmstat > "$1"; }
# vmstat_delta BEFORE AFTER: "key=delta ..." for every counter that changed
vmstat_delta() {
    awk 'NR==FNR {b[$1]=$2; next} { d=$2-b[$1]; if (d!=0) printf "%s=%d ", $1, d }' "$1" "$2" | sed 's/ $//'
}

# field FILE KEY: the value of KEY=... on the workload's summary line
field() { grep '^summary ' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }

# Waits until FILE has a line starting with WORD (at most SECONDS, default 30); 0 if it came.
wait_line() {
    i=0; lim=$((${3:-30} * 10))
    while ! grep -q "^$2" "$1" 2>/dev/null; do
        i=$((i + 1)); [ "$i" -gt "$lim" ] && return 1
        sleep 0.1
    done
}

# Runs the standard workload in the foreground, output to $CASE_DIR/wl.out and the console
# (indented). Extra arguments go to tiered. Returns tiered's exit status.
run_workload() { run_standard tiered "$@"; }

# run_standard BINARY ARGS...: BINARY (tiered or tiered-embed) on the standard working set, as above.
run_standard() {
    wl_bin=$1; shift
    "$wl_bin" --total-mib "$WL_TOTAL_MIB" --hot-mib "$WL_HOT_MIB" --seconds "$WL_SECONDS" --quiet "$@" \
        > "$CASE_DIR/wl.out" 2>&1
    rc=$?
    sed 's/^/    | /' "$CASE_DIR/wl.out"
    return $rc
}

# Prints the measured figures of a finished run: hot95_ms (or never), cold pages moved, ...
figures() {
    f=$CASE_DIR/wl.out
    h95=$(field "$f" hot95_ms)
    [ "$h95" = "-1" ] && h95=never
    echo "hot95_ms=$h95 hot_final=$(field "$f" hot_final)/$(field "$f" hot_pages)" \
         "cold_moved=$(field "$f" cold_moved_final)/$(field "$f" cold_pages)" \
         "cold_moved_max=$(field "$f" cold_moved_max) swept=$(field "$f" swept)"
}

nb_knobs() { # the NUMA balancing settings in force, for the record
    d=/sys/kernel/debug/sched/numa_balancing
    k="numa_balancing=$(cat /proc/sys/kernel/numa_balancing)"
    k="$k promote_rate_limit_MBps=$(cat /proc/sys/kernel/numa_balancing_promote_rate_limit_MBps 2>/dev/null || echo absent)"
    if [ -d $d ]; then
        for n in hot_threshold_ms scan_delay_ms scan_period_min_ms scan_period_max_ms scan_size_mb; do
            k="$k $n=$(cat $d/$n)"
        done
    else
        # No CONFIG_SCHED_DEBUG: the kernel's defaults apply and cannot be changed.
        k="$k scan_knobs=kernel-defaults(no-sched-debugfs)"
    fi
    echo "$k"
}

# numa_balancing_case MODE SWEEP_MIBPS: the kernel's own NUMA balancing on the standard workload.
# A measurement: passes when the workload ran and produced its figures.
numa_balancing_case() {
    mode=$1; sweep=$2
    if ! echo "$mode" > /proc/sys/kernel/numa_balancing 2>/dev/null; then
        result "$CASE_NAME" FAIL "numa_balancing=$mode not accepted"; return 1
    fi
    vmstat_snap "$CASE_DIR/vm0"
    run_workload --sweep-mibps "$sweep"
    rc=$?
    vmstat_snap "$CASE_DIR/vm1"
    knobs=$(nb_knobs)
    echo 0 > /proc/sys/kernel/numa_balancing
    if [ "$rc" -ne 0 ] || ! grep -q '^summary ' "$CASE_DIR/wl.out"; then
        result "$CASE_NAME" FAIL "workload exit $rc, no figures"; return 1
    fi
    result "$CASE_NAME" PASS "$(figures) sweep_mibps=$sweep $knobs vmstat: $(vmstat_delta "$CASE_DIR/vm0" "$CASE_DIR/vm1")"
}

# --- HotPage embedded in the workload (tiered-embed: tiered.c linked with libhotpage.so) ---

# lfield FILE PREFIX KEY: the value of KEY=... on the first line of FILE starting with "PREFIX "
lfield() { grep "^$2 " "$1" | head -1 | tr ' ' '\n' | sed -n "s/^$3=//p" | head -1; }

# Prints SKIP and returns 1 when the embed workload is not in the guest (payload 30-libhotpage).
need_embed() {
    command -v tiered-embed > /dev/null && return 0
    result "$CASE_NAME" SKIP "no tiered-embed in the guest (payload.d/30-libhotpage.sh did not run or failed)"
    return 1
}

# Runs tiered-embed on the standard working set, in the foreground, output to $CASE_DIR/wl.out
# and the console (indented). Extra arguments go to tiered-embed. Returns its exit status.
run_embed() { run_standard tiered-embed "$@"; }

# What HotPage did in a finished tiered-embed run: rounds, rounds until 95% of the hot set, records
# queued and dropped, and its own counters (read through hotpage_counter).
embed_figures() {
    f=$CASE_DIR/wl.out
    echo "rounds=$(lfield "$f" embed rounds) hot95_rounds=$(lfield "$f" embed hot95_rounds)" \
         "records=$(lfield "$f" embed records) record_dropped=$(lfield "$f" embed record_dropped)" \
         "pgpromote_success=$(lfield "$f" counters pgpromote_success)" \
         "pgpromote_candidate=$(lfield "$f" counters pgpromote_candidate)" \
         "kpromoted_dropped=$(lfield "$f" counters kpromoted_dropped)" \
         "open_ms=$(lfield "$f" hotpage open_ms)"
}

# embed_verdict HOT95_REQUIRED: PASS/FAIL line for an embed run against issue 8's bar: >= 95% of the
# hot pages on node 0 (when HOT95_REQUIRED is 1) and <= 5% of the cold pages ever on node 0, by the
# workload's own move_pages queries; nothing dropped or rejected on the record path. $1 extra text.
embed_verdict() {
    f=$CASE_DIR/wl.out; extra=$1
    hot=$(field "$f" hot_final); nhot=$(field "$f" hot_pages); ncold=$(field "$f" cold_pages)
    cmax=$(field "$f" cold_moved_max); h95=$(field "$f" hot95_ms)
    dropped=$(lfield "$f" embed record_dropped); rejected=$(lfield "$f" embed record_rejected)
    d="$(figures) $(embed_figures) cold_bar=$((ncold * 5 / 100)) $extra"
    why=""
    [ -n "$nhot" ] && [ -n "$cmax" ] && [ -n "$dropped" ] || why="no figures (workload exit $wl_rc)"
    [ -z "$why" ] && [ "$wl_rc" -ne 0 ] && why="workload exit $wl_rc"
    [ -z "$why" ] && [ $((hot * 100)) -lt $((nhot * 95)) ] && why="hot set not at 95% on node 0"
    [ -z "$why" ] && [ "$h95" = -1 ] && why="hot set never at 95% on node 0"
    [ -z "$why" ] && [ $((cmax * 100)) -gt $((ncold * 5)) ] && why="more than 5% of the cold pages moved"
    [ -z "$why" ] && { [ "$dropped" != 0 ] || [ "$rejected" != 0 ]; } && why="records dropped or rejected"
    if [ -z "$why" ]; then result "$CASE_NAME" PASS "$d"; else result "$CASE_NAME" FAIL "$why: $d"; fi
}

# fill_node0 LEAVE_KB: starts nodefill in the background (its pid in $fill), binding node 0's memory
# until LEAVE_KB stay free; waits (at most 90 s) for its "filled" line and prints its output. Returns 1
# when it did not fill (it gave up or was OOM-killed: the OOM killer's report is printed).
fill_node0() {
    nodefill --node 0 --leave-kb "$1" > "$CASE_DIR/fill.out" 2>&1 &
    fill=$!
    i=0
    while ! grep -q '^filled' "$CASE_DIR/fill.out" && kill -0 $fill 2>/dev/null && [ $i -lt 900 ]; do
        sleep 0.1; i=$((i + 1))
    done
    sed 's/^/    fill: /' "$CASE_DIR/fill.out"
    grep -q '^filled' "$CASE_DIR/fill.out" && return 0
    dmesg | grep -A40 'invoked oom-killer' | sed 's/^/    dmesg: /'
    return 1
}

# steady_memfree: shrinks the kernel's per-CPU page lists for the rest of the case and puts the
# kernel's value back when the case exits. MemFree jumps by whole refill batches of those lists
# (several MiB here, up to about 20 MiB under pressure), more than a filled node 0 has room;
# a large vm.percpu_pagelist_high_fraction gives each list its minimum (4 batches).
steady_memfree() {
    pcp_old=$(cat /proc/sys/vm/percpu_pagelist_high_fraction)
    echo 1048576 > /proc/sys/vm/percpu_pagelist_high_fraction
    trap 'echo "$pcp_old" > /proc/sys/vm/percpu_pagelist_high_fraction' EXIT
}

# await_ready: waits for the background workload ($wl, started with --wait-signal, output in
# $CASE_DIR/wl.out) to print "ready"; otherwise kills it, prints its output and the case's FAIL
# line, and returns 1.
await_ready() {
    wait_line "$CASE_DIR/wl.out" ready 60 && return 0
    kill -9 $wl 2>/dev/null; sed 's/^/    | /' "$CASE_DIR/wl.out"
    result "$CASE_NAME" FAIL "workload never became ready"
    return 1
}

# fill_and_release LEAVE_KB WHAT: fills node 0 until LEAVE_KB stay free (fill_node0), notes node 0's
# MemFree then (in $free0), releases the waiting workload, waits for its end ($wl_rc), stops
# nodefill and prints the workload's output. When node 0 did not fill, kills both, prints the
# case's FAIL line ending in WHAT and returns 1.
fill_and_release() {
    if ! fill_node0 "$1"; then
        kill -9 $wl $fill 2>/dev/null
        result "$CASE_NAME" FAIL "nodefill did not fill node 0$2"
        return 1
    fi
    free0=$(awk '/MemFree:/ {print $4}' /sys/devices/system/node/node0/meminfo)
    kill -USR1 $wl
    wait $wl; wl_rc=$?
    kill -9 $fill 2>/dev/null; wait $fill 2>/dev/null
    sed 's/^/    | /' "$CASE_DIR/wl.out"
}
