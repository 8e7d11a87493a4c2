# The daemon path with soft-dirty: hotpaged attaches to the waiting workload by pid (--source
# softdirty) and must put >= 95% of its hot pages on node 0 within 10 s of its start, while at most
# 5% of the cold pages (read by the slow sweep, never written) move, as the workload's own
# move_pages query reports. Soft-dirty sees writes only: the hot loop writes every hot page.
. /hotpage/lib.sh
. /hotpage/hotpaged.sh
hp_require
hp_promote_case softdirty
if [ "$HP_OK" = 1 ]; then result "$CASE_NAME" PASS "$HP_FIGURES"; else result "$CASE_NAME" FAIL "$HP_FIGURES"; fi
