# Prints what the guest kernel offers, one "FEATURE key=value" line each (sourced by /init).
f() { echo "FEATURE $1=$2"; }
rd() { [ -r "$1" ] && cat "$1" 2>/dev/null | tr '\n' ' ' | sed 's/ *$//' || echo absent; }
f kernel "$(uname -r)"
f nodes_online "$(rd /sys/devices/system/node/online)"
for n in /sys/devices/system/node/node[0-9]*; do
    id=${n##*node}
    cpus=$(rd $n/cpulist); [ -z "$cpus" ] && cpus=none
    mem=$(awk '/MemTotal/ {print $4 $5}' $n/meminfo)
    f "node$id" "cpus:$cpus,mem:$mem"
done
tiers=""
for t in /sys/devices/virtual/memory_tiering/memory_tier*; do
    [ -d "$t" ] && tiers="$tiers ${t##*/}:$(rd $t/nodelist)"
done
f memory_tiers "${tiers# }"
[ -n "$tiers" ] || f memory_tiers none
f numa_balancing "$(rd /proc/sys/kernel/numa_balancing)"
f numa_balancing_promote_rate_limit_MBps "$(rd /proc/sys/kernel/numa_balancing_promote_rate_limit_MBps)"
f numa_balancing_hot_threshold_ms "$(rd /sys/kernel/debug/sched/numa_balancing/hot_threshold_ms)"
f numa_balancing_scan_delay_ms "$(rd /sys/kernel/debug/sched/numa_balancing/scan_delay_ms)"
f numa_balancing_scan_period_min_ms "$(rd /sys/kernel/debug/sched/numa_balancing/scan_period_min_ms)"
f numa_balancing_scan_size_mb "$(rd /sys/kernel/debug/sched/numa_balancing/scan_size_mb)"
f demotion_enabled "$(rd /sys/kernel/mm/numa/demotion_enabled)"
f thp "$(rd /sys/kernel/mm/transparent_hugepage/enabled)"
[ -e /sys/kernel/mm/page_idle/bitmap ] && f page_idle yes || f page_idle no
if [ -d /sys/kernel/mm/damon/admin/kdamonds ]; then f damon_sysfs yes; else f damon_sysfs no; fi
command -v features >/dev/null && features
