#!/usr/bin/env bash
# Installs what HotPage's tests need beyond the .NET SDK. Idempotent; safe to run twice.
#   gcc            C ABI tests, the guest workloads (tests/numa-guest/workloads), and the NativeAOT linker
#   jq             the CLI suite reads hotpaged's JSON (tests/suites.d/30-cli.sh)
#   systemd        systemd-analyze, for the CLI suite's check of the shipped unit
#   qemu-system-x86, busybox-static, cpio, gzip
#                  the two-node QEMU guest of tests/numa-guest (suite 90-numa-guest)
set -euo pipefail
need=()
command -v gcc >/dev/null || need+=(gcc)
command -v jq >/dev/null || need+=(jq)
command -v systemd-analyze >/dev/null || need+=(systemd)            # the CLI suite verifies tools/hotpaged/hotpaged.service
dpkg -s libc6-dev >/dev/null 2>&1 || need+=(libc6-dev)                 # libc.a for static workloads
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)   # /bin/busybox, static
command -v cpio >/dev/null || need+=(cpio)
command -v gzip >/dev/null || need+=(gzip)
# The Windows platform tests run under Wine (tests/suites.d/30-windows-wine.sh). wine64 alone
# (without recommends) has no /usr/bin/wine or wineboot: those come with the "wine" package.
command -v wine >/dev/null || need+=(wine wine64)
if [ "${#need[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
