#!/usr/bin/env bash
# Installs what HotPage's tests need beyond the .NET SDK. Idempotent; safe to run twice.
set -euo pipefail
need=()
command -v gcc >/dev/null || need+=(gcc)
command -v jq >/dev/null || need+=(jq)
if [ "${#need[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}"
fi
