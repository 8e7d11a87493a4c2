#!/usr/bin/env bash
# C ABI suite: publishes libhotpage.so if stale, compiles the C tests and the C example with gcc
# against it, runs them on real memory. Last line: "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
passed=0; failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }

lib=$(bash tests/publish-if-stale.sh libhotpage) || { fail "publish libhotpage.so"; echo "$passed passed, $failed failed"; exit 1; }
libdir=$root/$(dirname "$lib")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The published library depends on libc (and the loader) only.
if ldd "$lib" | grep -vE 'linux-vdso|libc\.so|libm\.so|ld-linux|libdl|libpthread|librt' | grep -q '=>'; then
    fail "libhotpage.so needs more than libc: $(ldd "$lib" | tr '\n' ' ')"
else
    ok "libhotpage.so depends on libc only"
fi

missing=$(for f in hotpage_open hotpage_close hotpage_register_region hotpage_record hotpage_record_batch hotpage_run_once \
        hotpage_start hotpage_stop hotpage_counter hotpage_strerror hotpage_last_error \
        hotpage_producer_open hotpage_producer_record hotpage_producer_record_batch hotpage_producer_close; do
    nm -D --defined-only "$lib" | grep -qw "$f" || echo "$f"; done)
[ -z "$missing" ] && ok "every hotpage.h function is exported" || fail "not exported: $missing"

cflags=(-std=c11 -O2 -Wall -Wextra -Werror -pthread -I"$libdir" -L"$libdir" -lhotpage -Wl,-rpath,"$libdir")
if gcc -o "$work/test_hotpage" tests/c/test_hotpage.c "${cflags[@]}" 2> "$work/cc.log"; then
    ok "C tests compile with gcc -Wall -Wextra -Werror"
    "$work/test_hotpage" > "$work/tests.log" 2>&1
    rc=$?
    cat "$work/tests.log"
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$work/tests.log" | tail -1)
    if [ -n "$line" ]; then
        p=${line%% passed*}; f=$(echo "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
        passed=$((passed + p)); failed=$((failed + f))
        [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && fail "test_hotpage exited $rc"
    else
        fail "test_hotpage printed no totals (exit $rc)"
    fi
else
    cat "$work/cc.log"; fail "C tests compile"
fi

# The example, built the way its header comment says, from the published directory.
if (cd "$libdir" && gcc -std=c11 -O2 -Wall -Wextra -Werror -o "$work/example" example.c -I. -L. -lhotpage -Wl,-rpath,"$libdir") 2> "$work/ex.log"; then
    ok "example.c compiles as documented"
    if out=$("$work/example" assume 2>&1) && echo "$out" | grep -qE 'pgpromote_success +128'; then
        ok "example (assume-lower) promotes its 128 hot pages"
    else
        echo "$out"; fail "example (assume-lower) run"
    fi
    if out=$("$work/example" 2>&1) && echo "$out" | grep -q 'pghot_recorded_accesses'; then
        ok "example (machine topology) runs"
    else
        echo "$out"; fail "example (machine topology) run"
    fi
else
    cat "$work/ex.log"; fail "example.c compiles"
fi

# The NUMA guest's embedding workload (tests/numa-guest: tiered.c with -DHOTPAGE_EMBED), here on one
# node: its pages are placed on node 0 and HotPage tracks them as lower-tier (assume-lower), so the
# record path, hotpage_run_once and the counters it prints are checked without the guest.
if gcc -O2 -Wall -Wextra -Werror -DHOTPAGE_EMBED -I"$libdir" -o "$work/tiered-embed" tests/numa-guest/workloads/tiered.c \
        -L"$libdir" -lhotpage -Wl,-rpath,"$libdir" 2> "$work/embed-cc.log"; then
    ok "tiered-embed compiles with gcc -Wall -Wextra -Werror"
    out=$("$work/tiered-embed" --total-mib 4 --hot-mib 1 --seconds 1 --sweep-mibps 6 --slow-node 0 --fast-node 0 --quiet \
        --hotpage-config '{"residency": "assume-lower"}' 2>&1); rc=$?
    kv() { echo "$out" | grep "^$1 " | tr ' ' '\n' | sed -n "s/^$2=//p"; }
    # 256 hot pages, each reported on its sampled passes and so promoted; 768 cold pages, each read
    # once by the sweep (6 MiB/s: done after 0.5 s) and reported once, so never at freq_threshold 2.
    if [ "$rc" -eq 0 ] && [ "$(kv counters pgpromote_success)" = 256 ] && [ "$(kv embed record_dropped)" = 0 ] \
        && [ "$(kv summary swept)" = 768 ] && [ "$(kv counters pghot_recorded_accesses)" = "$(kv embed records)" ] \
        && [ "$(kv embed rounds)" -gt 0 ]; then
        ok "tiered-embed (assume-lower) reports its accesses and promotes exactly its 256 hot pages"
    else
        echo "$out"; fail "tiered-embed (assume-lower) run (exit $rc)"
    fi
else
    cat "$work/embed-cc.log"; fail "tiered-embed compiles"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
