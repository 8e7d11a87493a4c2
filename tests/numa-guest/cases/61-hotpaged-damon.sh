# The daemon path with DAMON (vaddr, a kdamond the daemon creates for the workload's pid): the same
# bar as 60-hotpaged-softdirty, and the daemon's kdamond must be gone when it exits
# (nr_kdamonds 1 while it runs, 0 after).
. /hotpage/lib.sh
. /hotpage/hotpaged.sh
hp_require
[ -d /sys/kernel/mm/damon/admin/kdamonds ] || { result "$CASE_NAME" SKIP "no DAMON sysfs in this kernel"; exit 0; }
# DAMON's tunables: its first regions are coarse (10 regions over the address space) and become
# finer with every aggregation (100 ms): the first report waits 1.5 s (scan_delay_ms), a report every
# 500 ms (scan_period_ms; reading tried_regions through sysfs costs the guest ~100-300 ms), and a page
# must be in a hot region in 3 reports (freq_threshold). The workload flushes its TLB every 10 ms
# (--tlb-flush-ms): without it QEMU's software TLB hides the hot pages' accesses from DAMON's
# accessed-bit checks (README: the TLB caveat), as a real TLB under a larger working set would not.
HP_TUNABLES="scan_delay_ms=1500 scan_period_ms=500 promote_interval_ms=50 freq_threshold=3 freq_threshold_min=3 promote_batch=4096"
hp_promote_case damon --tlb-flush-ms 10
d="$HP_FIGURES nr_kdamonds_during=$HP_KDAMONDS_DURING nr_kdamonds_after=$HP_KDAMONDS_AFTER"
if [ "$HP_OK" = 1 ] && [ "$HP_KDAMONDS_DURING" = 1 ] && [ "$HP_KDAMONDS_AFTER" = 0 ]; then
    result "$CASE_NAME" PASS "$d"
else
    result "$CASE_NAME" FAIL "$d"
fi
