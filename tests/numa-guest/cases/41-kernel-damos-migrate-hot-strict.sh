# Kernel baseline: DAMOS migrate_hot as in 40, with a stricter access pattern: a region must be
# accessed in at least 16 of 20 samples per aggregation interval and have kept that for 10
# aggregation intervals (1 s) before it is migrated. (40 migrates a region at its first
# aggregation with >= 10 of 20 samples.)
. /hotpage/lib.sh
. /hotpage/damos.sh
DAMON_MIN_NR_ACCESSES=16 DAMON_MIN_AGE=10 damos_migrate_hot_case
