#!/usr/bin/env bash
# Measures the kernel's own answers (the *-kernel-* cases) in the NUMA guest several times and
# prints, per case, every run's figures and a markdown table of them (for perf/RESULTS.md).
# Usage: tests/numa-guest/baselines.sh [--runs N] [--cases a,b,...]   (default 3 runs, every
#        case whose name contains "-kernel-"). Work files: artifacts/numa-guest-baselines/.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
runs=3; cases=""
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs=$2; shift 2 ;;
        --cases) cases=$2; shift 2 ;;
        *) echo "baselines.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ -n "$cases" ] || cases=$(ls "$here/cases" | sed -n 's/\.sh$//p' | grep -- '-kernel-' | paste -sd, -)
work="$repo/artifacts/numa-guest-baselines"
rm -rf "$work"; mkdir -p "$work/bin"
"$here/workloads/build.sh" "$work/bin" || exit 1
"$here/build-initramfs.sh" -o "$work/initrd.cpio.gz" "$work/bin" >/dev/null || exit 1
kernel=$("$here/kernel.sh") || exit 1
echo "kernel: $(basename "$kernel"); host: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'); qemu: $(qemu-system-x86_64 --version | head -1)"
for r in $(seq 1 "$runs"); do
    "$here/run-guest.sh" --initrd "$work/initrd.cpio.gz" --kernel "$kernel" --cases "$cases" \
        --log-dir "$work/run$r" > "$work/run$r.out" 2>&1
    grep -E '^(CASE|RETRY|boot)' "$work/run$r.out" | sed "s/^/run $r: /"
done
echo
echo "| case | hot set >= 95% on node 0 after (ms), per run | hot pages on node 0 at the end | cold pages moved (of 14336) |"
echo "|---|---|---|---|"
for c in $(echo "$cases" | tr ',' ' '); do
    h=""; f=""; m=""
    for r in $(seq 1 "$runs"); do
        line=$(grep "^CASE $c " "$work/run$r.out" | head -1)
        st=$(echo "$line" | awk '{print $3}')
        if [ "$st" != PASS ]; then h="$h ${st:-none}"; f="$f -"; m="$m -"; continue; fi
        h="$h $(echo "$line" | tr ' ' '\n' | sed -n 's/^hot95_ms=//p')"
        f="$f $(echo "$line" | tr ' ' '\n' | sed -n 's/^hot_final=//p')"
        m="$m $(echo "$line" | tr ' ' '\n' | sed -n 's/^cold_moved=//p' | cut -d/ -f1)"
    done
    echo "| $c |$(echo $h | sed 's/ /, /g; s/^/ /') |$(echo $f | sed 's/ /, /g; s/^/ /') |$(echo $m | sed 's/ /, /g; s/^/ /') |"
done
