#!/usr/bin/env bash
# Prints the path of the guest kernel to boot.
#   1. $HOTPAGE_GUEST_KERNEL if set;
#   2. ../shared/guest-kernel/bzImage beside the repository (6.12 with idle page tracking, DAMON
#      and soft-dirty built in; numa_balancing starts at 0);
#   3. else Debian's newest linux-image-6.12.*+deb12-amd64, fetched once with apt-get download and
#      unpacked with dpkg -x into artifacts/guest-kernel-cache/ (gitignored). That kernel has no idle
#      page tracking and starts with numa_balancing=1; the guest prints what it has (FEATURE lines).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
if [ -n "${HOTPAGE_GUEST_KERNEL:-}" ]; then
    [ -f "$HOTPAGE_GUEST_KERNEL" ] || { echo "kernel.sh: HOTPAGE_GUEST_KERNEL=$HOTPAGE_GUEST_KERNEL missing" >&2; exit 1; }
    echo "$HOTPAGE_GUEST_KERNEL"; exit 0
fi
shared="$repo/../shared/guest-kernel/bzImage"
if [ -f "$shared" ] && [ "${HOTPAGE_GUEST_KERNEL_SOURCE:-}" != debian ]; then
    echo "$(cd "$(dirname "$shared")" && pwd)/bzImage"; exit 0
fi
cache="$repo/artifacts/guest-kernel-cache"
mkdir -p "$cache"
existing=$(ls "$cache"/boot/vmlinuz-6.12.* 2>/dev/null | sort -V | tail -1 || true)
if [ -n "$existing" ]; then echo "$existing"; exit 0; fi
pkg=$(apt-cache search --names-only '^linux-image-6\.12\.[0-9.]+\+deb12-amd64$' | awk '{print $1}' | sort -V | tail -1)
if [ -z "$pkg" ]; then
    echo "kernel.sh: no ../shared/guest-kernel/bzImage and apt knows no linux-image-6.12.*+deb12-amd64 (apt-get update?)" >&2
    exit 1
fi
echo "kernel.sh: fetching $pkg into $cache" >&2
# Only boot/ is kept: the guest boots without modules (what it lacks, it reports).
(cd "$cache" && apt-get download "$pkg" >&2 && dpkg -x "$pkg"_*.deb . && rm -rf "$pkg"_*.deb lib usr)
ls "$cache"/boot/vmlinuz-6.12.* | sort -V | tail -1
