#!/usr/bin/env bash
# Installs what HotPage's tests need beyond the .NET SDK. Idempotent; safe to run twice.
#   gcc            C ABI tests and the guest workloads (tests/numa-guest/workloads)
#   qemu-system-x86, busybox-static, cpio, gzip
#                  the two-node QEMU guest of tests/numa-guest (suite 90-numa-guest)
set -euo pipefail
need=()
command -v gcc >/dev/null || need+=(gcc)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
[ -x /bin/busybox ] || need+=(busybox-static)
command -v cpio >/dev/null || need+=(cpio)
command -v gzip >/dev/null || need+=(gzip)
if [ "${#need[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
