# Kernel baseline: memory tiering mode (numa_balancing=2) on the hot-only workload.
. /hotpage/lib.sh
numa_balancing_case 2 0
