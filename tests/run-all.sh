#!/usr/bin/env bash
# Runs every HotPage test suite and prints, as its last line, the totals over all of them:
#   N passed, M failed, K skipped
# Exits non-zero when any test or check failed. Suites: NUnit (Debug and Release, and the engine
# suite again under each SIMD switch), then every suite script registered in tests/suites.d
# (C ABI, CLI, Wine, QEMU guest), each of which prints its own "N passed, M failed" line.
#
# Usage: tests/run-all.sh [--quick]   (--quick: Debug NUnit only, no ISA reruns, no guest)
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
quick=0
[ "${1:-}" = "--quick" ] && quick=1

passed=0; failed=0; skipped=0
log_dir=${HOTPAGE_TEST_LOGS:-$root/artifacts/test-logs}
mkdir -p "$log_dir"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

add() { passed=$((passed + $1)); failed=$((failed + $2)); skipped=$((skipped + $3)); }

# A check that is not a test runner (build, format): one pass or one failure.
check() {
    local name=$1; shift
    local log="$log_dir/$name.log"
    if "$@" >"$log" 2>&1; then
        echo "[check] $name: ok"; add 1 0 0
    else
        echo "[check] $name: FAILED (log: $log)"; tail -n 30 "$log"; add 0 1 0
        return 1
    fi
}

# Runs one NUnit project through Microsoft.Testing.Platform and adds its counts.
nunit() {
    local name=$1 project=$2 config=$3; shift 3
    local log="$log_dir/$name.log"
    env "$@" dotnet test --project "$project" -c "$config" --no-build >"$log" 2>&1
    local rc=$?
    local t f s
    t=$(grep -E '^\s+total: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
    f=$(grep -E '^\s+failed: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
    s=$(grep -E '^\s+skipped: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
    if [ -z "$t" ]; then
        echo "[nunit] $name: did not report results (exit $rc; log: $log)"; tail -n 40 "$log"; add 0 1 0; return
    fi
    local p=$((t - f - s))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    echo "[nunit] $name: $p passed, $f failed, $s skipped"
    [ "$f" -ne 0 ] && grep -E 'failed |Assert|Expected|But was' "$log" | head -40
    add "$p" "$f" "$s"
}

# Runs one suite script that prints "N passed, M failed[, K skipped]" as its last such line.
script_suite() {
    local name=$1 script=$2
    local log="$log_dir/$name.log"
    bash "$script" >"$log" 2>&1
    local rc=$?
    local line
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
    if [ -z "$line" ]; then
        echo "[suite] $name: printed no totals (exit $rc; log: $log)"; tail -n 40 "$log"; add 0 1 0; return
    fi
    local p f s
    p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
    s=$(echo "$line" | grep -oE '[0-9]+ skipped' | grep -oE '[0-9]+' || echo 0)
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    echo "[suite] $name: $line"
    grep -E '^(FAIL|not ok)' "$log" | head -20
    add "$p" "$f" "${s:-0}"
}

configs=(Debug Release)
[ "$quick" -eq 1 ] && configs=(Debug)

for config in "${configs[@]}"; do
    check "build-$config" dotnet build HotPage.sln -c "$config" || continue
    for project in tests/*/*.Tests.csproj; do
        name=$(basename "$project" .csproj)
        nunit "$name-$config" "$project" "$config"
    done
done

if [ "$quick" -eq 0 ]; then
    # The SIMD kernels again on every narrower path (a switch only takes effect in a new process).
    for isa in DOTNET_EnableAVX512=0 DOTNET_EnableAVX2=0 DOTNET_EnableHWIntrinsic=0; do
        nunit "HotPage.Engine.Tests-Release-${isa%%=*}" tests/HotPage.Engine.Tests/HotPage.Engine.Tests.csproj Release "$isa"
    done
    check format dotnet format HotPage.sln --verify-no-changes --no-restore
fi

# Suites written as scripts (C ABI, CLI, Wine, guest): each file in tests/suites.d, in name order.
if [ -d tests/suites.d ]; then
    for script in tests/suites.d/*.sh; do
        [ -e "$script" ] || continue
        sname=$(basename "$script" .sh)
        if [ "$quick" -eq 1 ] && grep -q '^# slow' "$script"; then
            echo "[suite] $sname: not run in --quick mode"; continue
        fi
        script_suite "$sname" "$script"
    done
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
