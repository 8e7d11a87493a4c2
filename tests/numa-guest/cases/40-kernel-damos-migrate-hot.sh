# Kernel baseline: a DAMOS migrate_hot scheme (DAMON sysfs, physical address space of node 1,
# target node 0) on the standard workload with the slow cold sweep; NUMA balancing off.
# In 6.12 migrate_hot is implemented by the paddr operations set only, so DAMON watches node 1's
# physical memory, not the workload's address space. A measurement: passes when it ran and
# produced figures.
. /hotpage/lib.sh
. /hotpage/damos.sh
damos_migrate_hot_case
