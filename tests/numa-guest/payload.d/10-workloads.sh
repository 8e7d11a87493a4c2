# Payload: the C workloads (tiered, pagemove, features), static.
# A payload script is sourced-free: run as `bash payload.d/NN-name.sh OUTDIR` by the suite; it puts
# the files the guest needs into OUTDIR (executables, or *.so libraries) and exits non-zero on failure.
set -euo pipefail
"$(dirname "$0")/../workloads/build.sh" "$1"
