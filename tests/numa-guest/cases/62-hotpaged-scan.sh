# The daemon path with idle page tracking (--source scan): the same bar as 60-hotpaged-softdirty.
# The source marks pages idle, flushes the workload's TLB (clear_refs 4) after each slice so that
# accesses through cached translations set the Accessed bits again (README: the TLB caveat), and
# reports pages found accessed at the next visit; the sweep's single reads must not make cold pages
# candidates.
. /hotpage/lib.sh
. /hotpage/hotpaged.sh
hp_require
[ -e /sys/kernel/mm/page_idle/bitmap ] || { result "$CASE_NAME" SKIP "no idle page tracking in this kernel"; exit 0; }
hp_promote_case scan
if [ "$HP_OK" = 1 ]; then result "$CASE_NAME" PASS "$HP_FIGURES"; else result "$CASE_NAME" FAIL "$HP_FIGURES"; fi
