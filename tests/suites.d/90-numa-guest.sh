#!/usr/bin/env bash
# slow
# The tiered-memory test bed: a QEMU guest with a CPU-less, slower node 1 (see tests/numa-guest).
# Builds the guest payload (tests/numa-guest/payload.d/*.sh, each filling one directory), the
# initramfs, boots the guest once (more only after a guest kernel crash), and prints one line per
# case and, last, "N passed, M failed, K skipped". Exits non-zero on failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
g=tests/numa-guest
work=${HOTPAGE_GUEST_WORK:-$root/artifacts/numa-guest}
rm -rf "$work/payload" "$work/logs"; mkdir -p "$work/payload" "$work/logs"
passed=0; failed=0; skipped=0
t0=$(date +%s)

missing=""
for c in qemu-system-x86_64 cpio gzip gcc; do command -v $c >/dev/null || missing="$missing $c"; done
[ -x /bin/busybox ] || missing="$missing busybox(-static)"
if [ -n "$missing" ]; then
    echo "FAIL numa-guest: missing$missing (bash .ci/install-deps.sh installs them)"
    echo "0 passed, 1 failed"; exit 1
fi
if ! kernel=$("$g/kernel.sh"); then
    echo "FAIL numa-guest: no guest kernel (../shared/guest-kernel/bzImage, or Debian's 6.12 via apt)"
    echo "0 passed, 1 failed"; exit 1
fi
echo "guest kernel: $kernel"

# Payload: every payload script in name order, each into its own directory.
payload_dirs=()
for p in "$g"/payload.d/*.sh; do
    name=$(basename "$p" .sh)
    d="$work/payload/$name"; mkdir -p "$d"
    if bash "$p" "$d" > "$work/logs/payload-$name.log" 2>&1; then
        echo "PASS payload $name: $(ls "$d" | tr '\n' ' ')"; passed=$((passed + 1))
        payload_dirs+=("$d")
    else
        echo "FAIL payload $name (log: $work/logs/payload-$name.log)"; tail -n 20 "$work/logs/payload-$name.log"
        failed=$((failed + 1))
    fi
done

if ! "$g/build-initramfs.sh" -o "$work/initrd.cpio.gz" "${payload_dirs[@]}"; then
    echo "FAIL numa-guest: initramfs"; echo "$passed passed, $((failed + 1)) failed"; exit 1
fi

# Hard limit for one boot: about 30-40 s per case here; a minute each leaves room for a slower host.
ncases=$(ls "$g"/cases/*.sh | wc -l)
boot_timeout=${HOTPAGE_GUEST_TIMEOUT:-$((90 + 60 * ncases))}

# Boot and run the cases (one boot; run-guest.sh boots again only after a guest kernel crash).
"$g/run-guest.sh" --initrd "$work/initrd.cpio.gz" --kernel "$kernel" --log-dir "$work/logs" \
    --timeout "$boot_timeout" > "$work/logs/run-guest.out" 2>&1
rc=$?
grep -v '^CASE ' "$work/logs/run-guest.out"
while read -r _ name status details; do
    case "$status" in
        PASS) passed=$((passed + 1)) ;;
        SKIP) skipped=$((skipped + 1)) ;;
        *) failed=$((failed + 1)) ;;
    esac
    echo "$status $name: $details"
done < <(grep '^CASE ' "$work/logs/run-guest.out")
if [ "$rc" -ne 0 ] && ! grep -q '^CASE [^ ]* FAIL' "$work/logs/run-guest.out"; then
    echo "FAIL numa-guest: run-guest.sh exited $rc without a failing case"; failed=$((failed + 1))
fi
# The harness itself: a guest kernel panic is reported as a crash, retried once, never a pass.
if line=$("$g/selftest/crash-retry.sh" "$work/selftest" "$kernel"); then passed=$((passed + 1)); else failed=$((failed + 1)); fi
echo "$line"

echo "numa-guest suite: $(( $(date +%s) - t0 )) s; console logs in $work/logs"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
