# Sanity for the daemon path: another process, as root, moves a workload's hot pages from node 1
# to node 0 with move_pages(pid, ...), and the workload's own placement query sees them on node 0
# while its cold pages stay on node 1.
. /hotpage/lib.sh
tiered --total-mib "$WL_TOTAL_MIB" --hot-mib "$WL_HOT_MIB" --seconds 3 --quiet --wait-signal \
    --ranges "$CASE_DIR/ranges" > "$CASE_DIR/wl.out" 2>&1 &
wl=$!
await_ready || exit 1
mv=$(pagemove "$wl" "$CASE_DIR/ranges" hot 0); mrc=$?
echo "    $mv"
kill -USR1 $wl
wait $wl; rc=$?
sed 's/^/    | /' "$CASE_DIR/wl.out"
hot=$(field "$CASE_DIR/wl.out" hot_final); nhot=$(field "$CASE_DIR/wl.out" hot_pages)
cold=$(field "$CASE_DIR/wl.out" cold_moved_final)
ms=$(echo "$mv" | sed -n 's/.*elapsed_ms=\([0-9]*\).*/\1/p')
d="moved=$hot/$nhot cold_moved=$cold move_ms=$ms pagemove_rc=$mrc workload_rc=$rc"
if [ "$mrc" -eq 0 ] && [ "$rc" -eq 0 ] && [ -n "$hot" ] && [ "$hot" = "$nhot" ] && [ "$cold" = 0 ]; then
    result "$CASE_NAME" PASS "$d"
else
    result "$CASE_NAME" FAIL "$d"
fi
