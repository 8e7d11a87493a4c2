#!/usr/bin/env bash
# Measures the shipped binaries: size, `hotpaged topology` start time, steady RSS of `hotpaged run`
# on a workload, and the engine's native table bytes. Prints a Markdown section for perf/RESULTS.md.
# Usage: bash perf/binaries.sh   (publishes first when the binaries are stale)
set -euo pipefail
cd "$(dirname "$0")/.."
hp=$PWD/$(bash tests/publish-if-stale.sh hotpaged)
lib=$PWD/$(bash tests/publish-if-stale.sh libhotpage)
work=$(mktemp -d)
wl=
cleanup() { [ -n "$wl" ] && kill "$wl" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
gcc -O2 -o "$work/workload" tests/c/workload.c

runs=${RUNS:-30}
"$hp" topology > /dev/null # warm the page cache
# Wall time (microseconds) and CPU time (user+sys, ms) of one command, $runs times; also /bin/true
# as the baseline of starting any process on this (shared, loaded) machine.
median() { sort -n | sed -n "$(( (runs + 1) / 2 ))p"; }
measure() {
    local walls=() cpus=() t0 t1 cpu
    TIMEFORMAT='%U %S'
    for _ in $(seq "$runs"); do
        t0=$(date +%s%N)
        cpu=$( { time "$@" > /dev/null; } 2>&1 | awk '{printf "%d", ($1 + $2) * 1000}')
        t1=$(date +%s%N)
        walls+=($(( (t1 - t0) / 1000 ))); cpus+=("$cpu")
    done
    wall_med=$(printf '%s\n' "${walls[@]}" | median)
    wall_min=$(printf '%s\n' "${walls[@]}" | sort -n | head -1)
    cpu_med=$(printf '%s\n' "${cpus[@]}" | median)
}
measure /bin/true; true_med=$wall_med
measure "$hp" topology; median=$wall_med; min=$wall_min
load=$(cut -d' ' -f1-3 /proc/loadavg)

"$work/workload" 256 > /dev/null & wl=$!
sleep 1
"$hp" run --pid "$wl" --quiet --socket "$work/s.sock" --duration 12 --stats-json "$work/stats.json" > /dev/null 2> "$work/run.err" &
daemon=$!
sleep 10
rss_kb=$(awk '/^VmRSS/ {print $2}' "/proc/$daemon/status")
hwm_kb=$(awk '/^VmHWM/ {print $2}' "/proc/$daemon/status")
wait "$daemon"
native=$(jq '.counters.hotpage_native_bytes' "$work/stats.json")
pages=$(jq '.counters.hotpage_tracked_pages' "$work/stats.json")
capacity=$(jq '.counters.pghot_tracked_capacity' "$work/stats.json")

cat <<MD
## Binaries: hotpaged and libhotpage.so

Measured by \`bash perf/binaries.sh\` on $(date -u +%Y-%m-%d): $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores
(shared with parallel builds: timings are noisy), $(uname -sr), published by \`bash tools/publish.sh\`
($(tr '\n' ' ' < "$(dirname "$hp")/BUILD-INFO")).

| figure | value | goal |
|---|---|---|
| \`hotpaged\` size | $(stat -c %s "$hp") bytes ($(( $(stat -c %s "$hp") / 1024 / 1024 )) MiB) | < 10 MB |
| \`libhotpage.so\` size | $(stat -c %s "$lib") bytes ($(( $(stat -c %s "$lib") / 1024 / 1024 )) MiB) | |
| \`hotpaged topology\` wall time, median of $runs (load average $load) | $(( median / 1000 )) ms (min $(( min / 1000 )); \`/bin/true\` median $(( true_med / 1000 )) ms in the same loop) | < 50 ms |
| \`hotpaged topology\` CPU time (user + sys), median | $cpu_med ms | |
| \`hotpaged run\` steady RSS (VmRSS after 10 s, 256 MiB workload, $pages pages in regions) | $(( rss_kb / 1024 )) MiB (peak $(( hwm_kb / 1024 )) MiB) | < 32 MB plus tables |
| of which native tables and rings (\`hotpage_native_bytes\`, capacity $capacity pages) | $(( native / 1024 / 1024 )) MiB | |

Commands: \`for i in \$(seq $runs); do date +%s%N; hotpaged topology >/dev/null; done\` (differences);
\`workload 256 & hotpaged run --pid \$! --quiet --duration 12 --stats-json s.json\`, VmRSS/VmHWM from
\`/proc/PID/status\` at 10 s; table bytes from the stats JSON.
MD
