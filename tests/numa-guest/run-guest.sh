#!/usr/bin/env bash
# Boots the HotPage NUMA guest and collects its case results.
#
# The guest (QEMU, software emulation): q35 with ACPI HMAT, 2 CPUs, 2 GiB split 1 GiB / 1 GiB;
# node 0 holds the CPUs and the fast memory, node 1 is memory only and described as slower
# (latency 250 vs 80, bandwidth 5G vs 20G), so the kernel puts it in a lower memory tier: the way
# CXL memory appears to Linux. Guests run with -accel tcg,thread=single: under multi-threaded TCG
# the guest kernel can die in code patching (see ENVIRONMENT.md).
#
# Usage: run-guest.sh --initrd FILE [--kernel FILE] [--cases a,b,...] [--log-dir DIR]
#                     [--timeout SECONDS] [--case-timeout SECONDS] [--append "ARGS"]
#   --initrd        from build-initramfs.sh
#   --kernel        default: what kernel.sh prints
#   --cases         case names (case script names without .sh); default: every case in the initramfs
#   --log-dir       console logs, one per boot (default artifacts/numa-guest)
#   --timeout       hard limit for one boot (default 900 s); QEMU is killed after it
#   --case-timeout  limit for one case inside the guest (default 150 s)
#   --append        more kernel command line
#
# Prints the guest's FEATURE lines, then one line per result, "CASE <name> PASS|FAIL|SKIP <details>".
# A guest kernel crash (Oops:, Kernel panic, ...) during a case is reported as such; that case is
# retried once in a fresh boot, then reported as "CASE <name> FAIL crash: ..."; the remaining cases
# run in a new boot. A case that never printed a result fails. Exit 0 when every case passed or
# skipped.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
initrd=""; kernel=""; cases=""; log_dir="$repo/artifacts/numa-guest"; hard_timeout=900
case_timeout=150; append=""
while [ $# -gt 0 ]; do
    case "$1" in
        --initrd) initrd=$2; shift 2 ;;
        --kernel) kernel=$2; shift 2 ;;
        --cases) cases=$2; shift 2 ;;
        --log-dir) log_dir=$2; shift 2 ;;
        --timeout) hard_timeout=$2; shift 2 ;;
        --case-timeout) case_timeout=$2; shift 2 ;;
        --append) append=$2; shift 2 ;;
        -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
        *) echo "run-guest.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ -f "$initrd" ] || { echo "run-guest.sh: --initrd FILE is required" >&2; exit 2; }
[ -n "$kernel" ] || kernel=$("$here/kernel.sh") || exit 2
command -v qemu-system-x86_64 >/dev/null || { echo "run-guest.sh: qemu-system-x86_64 missing" >&2; exit 2; }
mkdir -p "$log_dir"
# Without --cases the guest runs all its cases and names them (CASES line) at boot.
if [ -n "$cases" ]; then IFS=, read -r -a remaining <<< "$cases"; else remaining=(all); fi

boot() { # boot LOG CASE... : one guest run; returns QEMU's (or timeout's) exit status
    local log=$1; shift
    local list; list=$(IFS=,; echo "$*")
    timeout -k 10 "$hard_timeout" qemu-system-x86_64 \
        -machine q35,hmat=on -accel tcg,thread=single -cpu max -smp 2 -m 2G \
        -object memory-backend-ram,id=m0,size=1G -object memory-backend-ram,id=m1,size=1G \
        -numa node,nodeid=0,cpus=0-1,memdev=m0,initiator=0 \
        -numa node,nodeid=1,memdev=m1,initiator=0 \
        -numa hmat-lb,initiator=0,target=0,hierarchy=memory,data-type=access-latency,latency=80 \
        -numa hmat-lb,initiator=0,target=0,hierarchy=memory,data-type=access-bandwidth,bandwidth=20G \
        -numa hmat-lb,initiator=0,target=1,hierarchy=memory,data-type=access-latency,latency=250 \
        -numa hmat-lb,initiator=0,target=1,hierarchy=memory,data-type=access-bandwidth,bandwidth=5G \
        -kernel "$kernel" -initrd "$initrd" \
        -append "console=ttyS0 quiet panic=-1 oops=panic hotpage.cases=$list hotpage.case_timeout=$case_timeout $append" \
        -nodefaults -display none -serial "file:$log" -no-reboot \
        </dev/null >"$log.qemu" 2>&1
}

crash_re='Oops:|Kernel panic|kernel BUG at|general protection fault|BUG: unable to handle'
failed=0; nboot=0; retried=""; boot_retried=0; features_shown=0
while [ "${#remaining[@]}" -gt 0 ]; do
    nboot=$((nboot + 1))
    log="$log_dir/console-$nboot.log"
    start=$(date +%s)
    boot "$log" "${remaining[@]}"; qrc=$?
    secs=$(( $(date +%s) - start ))
    tr -d '\r' < "$log" > "$log.txt"
    if [ "${remaining[*]}" = all ]; then
        read -r -a remaining <<< "$(sed -n 's/^CASES //p' "$log.txt" | head -1)"
        [ "${#remaining[@]}" -gt 0 ] || remaining=(all)   # it stopped before naming them
    fi
    echo "boot $nboot: ${#remaining[@]} case(s), ${secs} s, qemu exit $qrc, console $log"
    if [ "$features_shown" = 0 ] && grep -q '^FEATURE ' "$log.txt"; then
        grep '^FEATURE ' "$log.txt"; features_shown=1
    fi
    # Results of the cases that ended in this boot.
    done_list=$(sed -n 's/^END \([^ ]*\) rc=.*/\1/p' "$log.txt")
    for c in $done_list; do
        lines=$(awk -v c="$c" '$1=="BEGIN" && $2==c {on=1; next} $1=="END" && $2==c {on=0} on && /^CASE /' "$log.txt")
        rc=$(sed -n "s/^END $c rc=//p" "$log.txt" | tail -1)
        if [ -z "$lines" ]; then
            echo "CASE $c FAIL printed no result (rc=$rc)"; failed=$((failed + 1))
        else
            echo "$lines"
            echo "$lines" | grep -qv -E '^CASE [^ ]+ (PASS|SKIP)' && failed=$((failed + 1))
            [ "$rc" = 124 ] || [ "$rc" = 137 ] && { echo "CASE $c FAIL killed by the per-case timeout"; failed=$((failed + 1)); }
        fi
    done
    if grep -q '^HOTPAGE-GUEST-DONE' "$log.txt"; then break; fi

    # The guest stopped early: a crash, the hard timeout, or it stopped by itself.
    crash=$(grep -m1 -E "$crash_re" "$log.txt")
    if [ -n "$crash" ]; then reason="crash: $crash"
    elif [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then reason="hard timeout after ${hard_timeout} s"
    else reason="guest stopped early (qemu exit $qrc)"; fi
    inprog=$(awk '$1=="BEGIN" {c=$2} $1=="END" && $2==c {c=""} END {print c}' "$log.txt")
    # What is left: the case in progress (if any) and those after it.
    rest=()
    for c in "${remaining[@]}"; do echo "$done_list" | grep -qx "$c" || rest+=("$c"); done
    if [ -z "$inprog" ]; then
        if [ "$boot_retried" = 0 ]; then
            echo "guest failed outside a case ($reason); booting once more"
            boot_retried=1; remaining=("${rest[@]}"); continue
        fi
        for c in "${rest[@]}"; do echo "CASE $c FAIL not run: $reason"; failed=$((failed + 1)); done
        break
    fi
    if [ -n "$crash" ] && [ "$retried" != "$inprog" ]; then
        echo "RETRY $inprog: guest kernel $reason"
        retried=$inprog; remaining=("${rest[@]}"); continue
    fi
    echo "CASE $inprog FAIL $reason"; failed=$((failed + 1))
    remaining=("${rest[@]:1}")
done
exit $(( failed > 0 ))
