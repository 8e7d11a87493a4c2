# Kernel baseline: NUMA balancing (numa_balancing=1) on the hot-only workload.
. /hotpage/lib.sh
numa_balancing_case 1 0
