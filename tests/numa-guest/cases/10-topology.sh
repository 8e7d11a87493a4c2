# The guest is a tiered machine: node 1 has memory and no CPUs, and the kernel placed it in a
# lower memory tier than node 0 (from the ACPI HMAT latencies and bandwidths).
. /hotpage/lib.sh
cpus1=$(cat /sys/devices/system/node/node1/cpulist 2>/dev/null)
tier_of() {
    for t in /sys/devices/virtual/memory_tiering/memory_tier*; do
        grep -qx "$1" "$t/nodelist" 2>/dev/null && { echo "${t##*memory_tier}"; return; }
    done
    echo none
}
t0=$(tier_of 0); t1=$(tier_of 1)
d="node0_tier=$t0 node1_tier=$t1 node1_cpus=${cpus1:-none}"
if [ -d /sys/devices/system/node/node1 ] && [ -z "$cpus1" ] && [ "$t0" != none ] && [ "$t1" != none ] && [ "$t0" -lt "$t1" ]; then
    result "$CASE_NAME" PASS "$d"
else
    result "$CASE_NAME" FAIL "$d"
fi
