# DAMOS migrate_hot through DAMON sysfs, for the kernel-baseline cases; sourced after lib.sh.
# damos_migrate_hot_case runs the standard workload (with the slow cold sweep) under one
# migrate_hot scheme over node 1's physical memory, target node 0, and prints the case result.
# Settings (environment, defaults in brackets): DAMON_SAMPLE_US [5000], DAMON_AGGR_US [100000],
# DAMON_UPDATE_US [1000000], DAMON_MIN_NR_ACCESSES [10, of AGGR/SAMPLE = 20 samples],
# DAMON_MIN_AGE [0, in aggregation intervals], DAMON_ACTION [migrate_hot; e.g. stat to watch
# without moving], DAMON_WL_ARGS [more arguments for the workload, e.g. --tlb-flush-ms 100].
# In 6.12 migrate_hot is implemented by the paddr operations set only, so DAMON watches node 1's
# physical memory, not the workload's address space.
damos_migrate_hot_case() {
    D=/sys/kernel/mm/damon/admin/kdamonds
    [ -d $D ] || { result "$CASE_NAME" SKIP "no DAMON sysfs"; return 0; }
    w() { echo "$2" > "$1" || { result "$CASE_NAME" FAIL "DAMON sysfs: writing '$2' to $1 failed"; exit 1; }; }

    # Node 1's physical range: the span of its zones in /proc/zoneinfo (start_pfn + spanned).
    range=$(awk '/^Node/ {n=$2; sub(",", "", n)} n==1 && $1=="spanned" {sp=$2}
                 n==1 && $1=="start_pfn:" && sp>0 {s=$2; e=$2+sp; if (lo=="" || s<lo) lo=s; if (e>hi) hi=e; sp=0}
                 END {if (lo != "") printf "%d %d", lo, hi}' /proc/zoneinfo)
    [ -n "$range" ] || { result "$CASE_NAME" FAIL "node 1's physical range not found in /proc/zoneinfo"; return 1; }
    start=$(( ${range% *} * 4096 )); end=$(( ${range#* } * 4096 ))

    SAMPLE_US=${DAMON_SAMPLE_US:-5000}
    AGGR_US=${DAMON_AGGR_US:-100000}
    UPDATE_US=${DAMON_UPDATE_US:-1000000}
    MIN_NR_ACCESSES=${DAMON_MIN_NR_ACCESSES:-10}
    MIN_AGE=${DAMON_MIN_AGE:-0}
    NR_REGIONS_MIN=10; NR_REGIONS_MAX=1000

    w $D/nr_kdamonds 1
    K=$D/0
    w $K/contexts/nr_contexts 1
    C=$K/contexts/0
    w $C/operations paddr
    w $C/monitoring_attrs/intervals/sample_us $SAMPLE_US
    w $C/monitoring_attrs/intervals/aggr_us $AGGR_US
    w $C/monitoring_attrs/intervals/update_us $UPDATE_US
    w $C/monitoring_attrs/nr_regions/min $NR_REGIONS_MIN
    w $C/monitoring_attrs/nr_regions/max $NR_REGIONS_MAX
    w $C/targets/nr_targets 1
    w $C/targets/0/regions/nr_regions 1
    w $C/targets/0/regions/0/start $start
    w $C/targets/0/regions/0/end $end
    w $C/schemes/nr_schemes 1
    S=$C/schemes/0
    w $S/action ${DAMON_ACTION:-migrate_hot}
    w $S/target_nid 0
    # Every range must be set: the sysfs defaults are 0..0 (nothing matches).
    w $S/access_pattern/sz/min 4096
    w $S/access_pattern/sz/max $((end - start))
    w $S/access_pattern/nr_accesses/min $MIN_NR_ACCESSES
    w $S/access_pattern/nr_accesses/max 4294967295
    w $S/access_pattern/age/min $MIN_AGE
    w $S/access_pattern/age/max 4294967295
    settings="ops=paddr region=0x$(printf %x $start)-0x$(printf %x $end) sample_us=$SAMPLE_US aggr_us=$AGGR_US update_us=$UPDATE_US nr_regions=$NR_REGIONS_MIN-$NR_REGIONS_MAX min_nr_accesses=$MIN_NR_ACCESSES min_age=$MIN_AGE quota=none"

    vmstat_snap "$CASE_DIR/vm0"
    w $K/state on
    run_workload --sweep-mibps "$WL_SWEEP_MIBPS" $DAMON_WL_ARGS
    rc=$?
    echo update_schemes_stats > $K/state
    stats="nr_tried=$(cat $S/stats/nr_tried) sz_tried=$(cat $S/stats/sz_tried) nr_applied=$(cat $S/stats/nr_applied) sz_applied=$(cat $S/stats/sz_applied)"
    echo off > $K/state
    vmstat_snap "$CASE_DIR/vm1"
    if [ "$rc" -ne 0 ] || ! grep -q '^summary ' "$CASE_DIR/wl.out"; then
        result "$CASE_NAME" FAIL "workload exit $rc, no figures"; return 1
    fi
    result "$CASE_NAME" PASS "$(figures) sweep_mibps=$WL_SWEEP_MIBPS $settings damos: $stats vmstat: $(vmstat_delta "$CASE_DIR/vm0" "$CASE_DIR/vm1")"
}
