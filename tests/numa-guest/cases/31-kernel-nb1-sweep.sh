# Kernel baseline: NUMA balancing (numa_balancing=1) with a slow sweep over the cold pages.
. /hotpage/lib.sh
numa_balancing_case 1 "$WL_SWEEP_MIBPS"
