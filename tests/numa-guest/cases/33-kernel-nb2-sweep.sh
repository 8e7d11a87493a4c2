# Kernel baseline: memory tiering mode (numa_balancing=2) with a slow sweep over the cold pages.
. /hotpage/lib.sh
numa_balancing_case 2 "$WL_SWEEP_MIBPS"
