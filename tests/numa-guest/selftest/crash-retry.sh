#!/usr/bin/env bash
# Self-test of run-guest.sh's crash handling, with a guest whose first case panics the kernel:
# expects "RETRY 10-crash", "CASE 10-crash FAIL crash: ...", "CASE 20-after-crash PASS" and a
# non-zero exit. Prints "PASS crash-retry ..." or "FAIL crash-retry ..." and exits accordingly.
# Usage: selftest/crash-retry.sh WORKDIR [KERNEL]
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=${1:?usage: crash-retry.sh WORKDIR [KERNEL]}; kernel=${2:-}
mkdir -p "$work"
"$here/build-initramfs.sh" -o "$work/crash.cpio.gz" --cases "$here/selftest/cases" >/dev/null || { echo "FAIL crash-retry: initramfs"; exit 1; }
"$here/run-guest.sh" --initrd "$work/crash.cpio.gz" ${kernel:+--kernel "$kernel"} --log-dir "$work/logs" \
    --timeout 120 --case-timeout 30 > "$work/out" 2>&1
rc=$?
if [ "$rc" -ne 0 ] && grep -q '^RETRY 10-crash: guest kernel crash' "$work/out" \
   && grep -q '^CASE 10-crash FAIL crash: ' "$work/out" && ! grep -q '^CASE 10-crash PASS' "$work/out" \
   && grep -q '^CASE 20-after-crash PASS' "$work/out" && [ "$(grep -c '^boot ' "$work/out")" = 3 ]; then
    echo "PASS crash-retry: panic seen, retried once, reported as a crash, next case ran ($(grep -c '^boot ' "$work/out") boots)"
else
    echo "FAIL crash-retry: run-guest.sh exit $rc; output:"; grep -v '^FEATURE' "$work/out"; exit 1
fi
