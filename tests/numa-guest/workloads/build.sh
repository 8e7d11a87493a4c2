#!/usr/bin/env bash
# Compiles every C workload in this directory into OUTDIR (static, so the guest needs no libc).
# Usage: workloads/build.sh OUTDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUTDIR}
mkdir -p "$out"
for src in "$here"/*.c; do
    gcc -O2 -Wall -Wextra -Werror -static -o "$out/$(basename "$src" .c)" "$src"
done
