#!/usr/bin/env bash
# CLI suite: runs the published hotpaged (tools/publish.sh, reused when fresh) against child
# workloads: topology (text, JSON), run with --stats-json, stat/metrics/tune over the control
# socket, bad arguments, bad configs, a pid that does not exist, SIGTERM mid-run, a watched
# process that exits. Last line: "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
passed=0; failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }
check() { local name=$1; shift; if "$@"; then ok "$name"; else fail "$name"; fi; }
jqe() { jq -e "$@" > /dev/null; } # a JSON condition, quietly

bin=$(bash tests/publish-if-stale.sh hotpaged) || { fail "publish hotpaged"; echo "$passed passed, $failed failed"; exit 1; }
hp=$root/$bin
work=$(mktemp -d)
children=()
cleanup() {
    for p in "${children[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
gcc -O2 -o "$work/workload" tests/c/workload.c || { fail "compile workload"; echo "$passed passed, $failed failed"; exit 1; }
# Starts a workload in this shell (not a subshell, so that cleanup knows its pid): sets $last.
start_workload() { "$work/workload" "$@" > "$work/wl.out" & last=$!; children+=("$last"); }

# --- help, version, bad arguments -------------------------------------------------------------
"$hp" --help > "$work/help" 2>&1; check "--help exits 0" [ $? -eq 0 ]
check "--help lists the commands" grep -q "topology" "$work/help"
"$hp" > /dev/null 2>&1; check "no command exits 2" [ $? -eq 2 ]
for args in "frobnicate" "topology --bogus" "topology extra" "run" "run --pid abc" "run --pid 1 --duration -3" \
            "run --pid 1 --source sometimes" "tune" "stat --pid 3" "run --pid"; do
    # shellcheck disable=SC2086
    "$hp" $args > "$work/out" 2> "$work/err"; rc=$?
    if [ $rc -eq 2 ] && grep -q "hotpaged: " "$work/err"; then ok "bad arguments '$args' -> exit 2: $(head -1 "$work/err")"
    else fail "bad arguments '$args' -> exit $rc: $(cat "$work/err")"; fi
done

# --- topology ---------------------------------------------------------------------------------
"$hp" topology > "$work/topo" 2>&1; check "topology exits 0" [ $? -eq 0 ]
cat "$work/topo"
check "topology names node 0 with its tier and distances" grep -qE '^0 +[0-9]+\*? ' "$work/topo"
check "topology lists the sources" grep -qE '^  (scan|softdirty|damon|perf) ' "$work/topo"
isa=$(sed -n 's/^isa=//p' "$root/artifacts/publish/hotpaged/BUILD-INFO" 2>/dev/null)
want=Vector128; [ "$isa" = x86-x64-v3 ] && want=Vector256
[ "$isa" = native ] && want=Vector
if grep -q "avx2" /proc/cpuinfo || [ "$want" = Vector128 ]; then
    check "the published binary runs the $want path (IlcInstructionSet=${isa:-default})" grep -q "vector path $want" "$work/topo"
fi
"$hp" topology --json > "$work/topo.json" 2>&1; check "topology --json exits 0" [ $? -eq 0 ]
check "topology --json is JSON with nodes, tiers, sources, vector_path" \
    jqe '(.nodes | length) >= 1 and (.nodes[0].distances | length) >= 1 and (.top_tier_nodes | length) >= 1 and (.sources | length) == 4 and (.vector_path | length) > 0 and .nodes[0].total_bytes > 0' "$work/topo.json"

# --- bad configs ------------------------------------------------------------------------------
bad_config() {
    local name=$1 json=$2 expect=$3
    printf '%s' "$json" > "$work/bad.json"
    "$hp" run --pid 1 --config "$work/bad.json" > /dev/null 2> "$work/err"; local rc=$?
    if [ $rc -eq 2 ] && grep -q -- "$expect" "$work/err"; then ok "bad config ($name) -> exit 2: $(head -1 "$work/err")"
    else fail "bad config ($name) -> exit $rc: $(cat "$work/err")"; fi
}
bad_config "unknown key" '{"tunables": {}, "promote_fast": true}' 'unknown key "promote_fast"'
bad_config "unknown nested key" '{"tunables": {"freq_treshold": 3}}' "freq_treshold"
bad_config "out-of-range value" '{"tunables": {"freq_threshold": 9}}' "freq_threshold must be in 1..7"
bad_config "wrong type" '{"tunables": {"freq_threshold": "three"}}' 'tunables.freq_threshold'
bad_config "not JSON" '{"tunables": ' "not valid JSON"
bad_config "bad residency" '{"residency": "maybe"}' "residency"
bad_config "tier for a missing node" '{"tiers": {"9": 1}}' "node 9"
"$hp" run --pid 1 --config "$work/no-such.json" > /dev/null 2> "$work/err"; rc=$?
check "missing config file -> exit 2 naming it" bash -c "[ $rc -eq 2 ] && grep -q no-such.json '$work/err'"

# --- pids that cannot be watched ----------------------------------------------------------------
sh -c 'exit 0' & gone=$!; wait $gone
"$hp" run --pid "$gone" --duration 1 > /dev/null 2> "$work/err"; rc=$?
check "a pid that does not exist -> exit 1: $(cat "$work/err")" bash -c "[ $rc -eq 1 ] && grep -q 'pid $gone: no such process' '$work/err'"
"$hp" run --pid "$$" --source scan --duration 1 > /dev/null 2> "$work/err"; rc=$?
check "--source scan, when not runnable, names it: $(cat "$work/err")" bash -c "[ $rc -eq 0 ] || grep -q 'source scan' '$work/err'"

# --- temperature sources (this host: what the kernel lacks is named; DAMON is never started here
# unless its probe says DAMON is free, and it refuses while anyone else's kdamonds exist) ---------
check "topology: every source is in this build" bash -c "[ \$(grep -cE '^  (scan|softdirty|damon|perf) .*in this build: yes' '$work/topo') -eq 4 ]"
check "topology --json: every source is in this build" jqe '[.sources[] | .in_this_build] == [true, true, true, true]' "$work/topo.json"
sd_kernel=$(jq -r '.sources[] | select(.name == "softdirty") | .kernel_support' "$work/topo.json")
start_workload 8; wsrc=$last
sleep 0.3
if [ "$sd_kernel" = false ]; then
    "$hp" run --pid "$wsrc" --source softdirty --duration 1 > /dev/null 2> "$work/err"; rc=$?
    check "--source softdirty without kernel support -> exit 2 naming the missing feature: $(cat "$work/err")" \
        bash -c "[ $rc -eq 2 ] && grep -q 'soft-dirty is not available' '$work/err' && grep -q CONFIG_MEM_SOFT_DIRTY '$work/err'"
fi
damon_kernel=$(jq -r '.sources[] | select(.name == "damon") | .kernel_support' "$work/topo.json")
nr_kdamonds=$(cat /sys/kernel/mm/damon/admin/kdamonds/nr_kdamonds 2>/dev/null || echo 0)
if [ "$nr_kdamonds" != 0 ]; then
    # DAMON is in use by someone else: the probe must refuse, and --source damon then exits 2
    # before touching DAMON's sysfs (the probe only reads).
    check "DAMON in use here (nr_kdamonds $nr_kdamonds): the probe refuses" \
        jqe '.sources[] | select(.name == "damon") | .kernel_support == false and (.detail | test("kdamond"))' "$work/topo.json"
    if [ "$damon_kernel" = false ]; then
        "$hp" run --pid "$wsrc" --source damon --duration 1 > /dev/null 2> "$work/err"; rc=$?
        check "--source damon while DAMON is in use -> exit 2: $(cat "$work/err")" bash -c "[ $rc -eq 2 ] && grep -q 'kdamond' '$work/err'"
    fi
fi
"$hp" run --pid "$wsrc" --source auto --duration 2 --socket "$work/auto.sock" > /dev/null 2> "$work/err"; rc=$?
cat "$work/err"
check "--source auto runs" [ $rc -eq 0 ]
check "--source auto logs what it picked and skipped" bash -c "grep -qE 'hotpaged: (sources [a-z,]+|no temperature source runs)' '$work/err' && grep -q 'source softdirty ' '$work/err' && grep -q 'source damon ' '$work/err'"
if [ "$damon_kernel" = false ]; then
    check "--source auto does not pick DAMON when its probe refuses" bash -c "! grep -qE 'hotpaged: sources .*damon' '$work/err'"
fi
perf_kernel=$(jq -r '.sources[] | select(.name == "perf") | .kernel_support' "$work/topo.json")
if [ "$perf_kernel" = true ]; then
    gcc -O2 -o "$work/faulter" tests/c/faulter.c || fail "compile faulter"
    "$work/faulter" 64 8 > "$work/faulter.out" & wf=$!; children+=("$wf")
    sleep 0.3
    "$hp" run --pid "$wf" --source perf --duration 3 --stats-json "$work/perf.json" --socket "$work/perf.sock" > /dev/null 2> "$work/err"; rc=$?
    cat "$work/err"
    check "--source perf on a page-touching workload runs" [ $rc -eq 0 ]
    check "--source perf: samples reached the engine ($(jq -c '.counters.pghot_recorded_perfsamples' "$work/perf.json" 2>/dev/null))" \
        jqe '.counters.pghot_recorded_perfsamples > 0' "$work/perf.json"
    kill "$wf" 2>/dev/null; wait "$wf" 2>/dev/null
else
    echo "skip --source perf: $(jq -r '.sources[] | select(.name == "perf") | .detail' "$work/topo.json")"
fi
kill "$wsrc" 2>/dev/null; wait "$wsrc" 2>/dev/null

# --- run with --stats-json on a child workload ----------------------------------------------------
start_workload 32; w1=$last
sleep 0.5
"$hp" run --pid "$w1" --duration 3 --stats-json "$work/stats.json" --socket "$work/a.sock" > "$work/run.out" 2> "$work/run.err"; rc=$?
cat "$work/run.err"
check "run --duration 3 exits 0" [ $rc -eq 0 ]
check "run logs the watched pid" grep -q "watching pid $w1" "$work/run.err"
check "run prints the final counters" grep -q "^pgpromote_success " "$work/run.out"
check "stats JSON: pid, regions tracked, duration stop" \
    jqe --argjson p "$w1" '.pids == [$p] and .counters.hotpage_tracked_regions >= 1 and .counters.hotpage_tracked_pages >= 8192 and (.stop_reason | test("duration")) and .counters.pgpromote_rounds >= 1' "$work/stats.json"
check "the control socket is removed at exit" [ ! -e "$work/a.sock" ]
# The README's counter reference names every counter the daemon reports.
sed -n '/^## Counters/,/^## /p' README.md > "$work/readme-counters"
undocumented=$(jq -r '.counters | keys[]' "$work/stats.json" | while read -r name; do
    grep -qF "\`$name\`" "$work/readme-counters" || printf '%s ' "$name"; done)
check "README's counter reference names every counter in the stats (missing: ${undocumented:-none})" [ -z "$undocumented" ]

# --- stat, metrics and tune against a running daemon; a watched process exits; SIGTERM ----------
start_workload 16; w2=$last
sleep 0.3
"$hp" run --pid "$w1,$w2" --socket "$work/b.sock" --stats-json "$work/stats2.json" \
    --config <(printf '{"maps_refresh_ms": 200, "tunables": {"promote_interval_ms": 50}}') > "$work/run2.out" 2> "$work/run2.err" &
daemon=$!; children+=($daemon)
for _ in $(seq 100); do [ -S "$work/b.sock" ] && break; sleep 0.1; done
check "the daemon creates its socket" [ -S "$work/b.sock" ]
check "the socket is owner-only (0600)" [ "$(stat -c %a "$work/b.sock")" = 600 ]
"$hp" stat --socket "$work/b.sock" > "$work/stat" 2>&1; check "stat exits 0" [ $? -eq 0 ]
check "stat prints kernel-style counters" grep -qE '^pghot_recorded_accesses [0-9]+$' "$work/stat"
check "stat shows two watched processes" grep -qx 'hotpage_watched_processes 2' "$work/stat"
"$hp" stat --json --socket "$work/b.sock" > "$work/stat.json" 2>&1
check "stat --json is JSON" jqe '.pgpromote_rounds >= 0 and .hotpage_watched_processes == 2' "$work/stat.json"
"$hp" metrics --socket "$work/b.sock" > "$work/metrics" 2>&1
check "metrics is Prometheus text" bash -c "grep -qx '# TYPE hotpage_pgpromote_success counter' '$work/metrics' && grep -qE '^hotpage_pgpromote_success [0-9]+$' '$work/metrics' && grep -qx '# TYPE hotpage_native_bytes gauge' '$work/metrics'"
"$hp" tune freq_threshold_max=5 --socket "$work/b.sock" > "$work/tune" 2>&1; rc=$?
check "tune freq_threshold_max=5 -> ok" bash -c "[ $rc -eq 0 ] && grep -q '^ok freq_threshold_max=5' '$work/tune'"
"$hp" stat --json --socket "$work/b.sock" > "$work/stat.json" 2>&1
"$hp" tune promote_batch=0 --socket "$work/b.sock" > /dev/null 2> "$work/err"; rc=$?
check "tune out of range -> exit 1 naming the range: $(cat "$work/err")" bash -c "[ $rc -eq 1 ] && grep -q 'promote_batch must be in 1..65536' '$work/err'"
"$hp" tune nonsense=1 --socket "$work/b.sock" > /dev/null 2> "$work/err"; rc=$?
check "tune unknown tunable -> exit 1" bash -c "[ $rc -eq 1 ] && grep -q \"unknown tunable 'nonsense'\" '$work/err'"
"$hp" stat --socket "$work/none.sock" > /dev/null 2> "$work/err"; rc=$?
check "stat without a daemon -> exit 1 naming the socket" bash -c "[ $rc -eq 1 ] && grep -q none.sock '$work/err'"

kill "$w2"; wait "$w2" 2>/dev/null
for _ in $(seq 50); do grep -q "pid $w2 exited" "$work/run2.err" && break; sleep 0.1; done
check "a watched process that exits is dropped with a log line" grep -q "pid $w2 exited" "$work/run2.err"
"$hp" stat --socket "$work/b.sock" > "$work/stat" 2>&1
check "the rest go on (one process watched)" grep -qx 'hotpage_watched_processes 1' "$work/stat"

kill -TERM "$daemon"
for _ in $(seq 100); do kill -0 "$daemon" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$daemon" 2>/dev/null; then fail "SIGTERM stops the daemon within 10 s"; kill -KILL "$daemon"; fi
wait "$daemon"; rc=$?
cat "$work/run2.err"
check "SIGTERM mid-run exits 0" [ $rc -eq 0 ]
check "SIGTERM is logged with the final summary" grep -q "SIGTERM received; stopping after" "$work/run2.err"
check "final counters printed after SIGTERM" grep -q "^pghot_recorded_accesses " "$work/run2.out"
check "stats JSON written after SIGTERM" jqe '(.stop_reason | test("SIGTERM")) and .counters.hotpage_exited_processes == 1' "$work/stats2.json"
check "the tuned value stayed in effect" jqe '.counters.hot_threshold <= 5' "$work/stats2.json"

# --- the shipped systemd unit and its example config ------------------------------------------
# The unit, with ExecStart pointing at the published binary: systemd-analyze finds no problem (it
# prints one line per unknown key, bad value or missing binary, and nothing when all is well).
if command -v systemd-analyze > /dev/null; then
    sed "s|/usr/local/bin/hotpaged|$hp|; s|/etc/hotpage/hotpaged.json|$work/unit.json|" tools/hotpaged/hotpaged.service > "$work/hotpaged.service"
    systemd-analyze verify "$work/hotpaged.service" > "$work/verify" 2>&1; rc=$?
    check "systemd-analyze verify: the unit has no problem ($(head -c 300 "$work/verify"))" bash -c "[ $rc -eq 0 ] && [ ! -s '$work/verify' ]"
else
    fail "systemd-analyze is missing (.ci/install-deps.sh installs systemd)"
fi
# The example config as shipped, its cgroup a directory whose cgroup.procs lists a workload: the
# daemon runs it and watches the workload.
start_workload 8; w3=$last
mkdir -p "$work/cg" && echo "$w3" > "$work/cg/cgroup.procs"
sed "s|\"cgroup\": \"[^\"]*\"|\"cgroup\": \"$work/cg\"|" tools/hotpaged/hotpaged.json > "$work/unit.json"
"$hp" run --config "$work/unit.json" --quiet --duration 1 --socket "$work/u.sock" > "$work/unit.out" 2> "$work/unit.err"; rc=$?
check "the example config runs and watches its cgroup's process: $(grep -m1 'watching pid' "$work/unit.err" || tail -1 "$work/unit.err")" \
    bash -c "[ $rc -eq 0 ] && grep -q 'watching pid $w3' '$work/unit.err'"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
