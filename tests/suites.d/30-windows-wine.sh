#!/usr/bin/env bash
# slow
# The Windows platform tests, for real, under Wine: publishes tests/HotPage.Interop.Tests
# self-contained for win-x64, runs the NUnit runner exe under wine in a fresh WINEPREFIX, and
# prints the runner's own totals as "N passed, M failed, K skipped". Linux-only tests are
# skipped there ([Platform("Linux")]); the WindowsPlatform tests must be among the passed ones,
# else the suite fails (a Windows suite that did not run is not a pass).
# Wine is not Windows: a green run proves the bindings, the marshalling and the placeholder
# remapping as Wine implements them, not Windows' own NUMA behaviour.
set -uo pipefail
cd "$(dirname "$0")/../.."

fail() { echo "FAIL $1"; echo "0 passed, 1 failed"; exit 1; }

command -v wine >/dev/null || fail "wine is not installed (.ci/install-deps.sh installs wine64)"

work=$(mktemp -d "${TMPDIR:-/tmp}/hotpage-wine.XXXXXX")
trap 'rm -rf "$work"' EXIT
export WINEPREFIX="$work/prefix" WINEDEBUG=-all WINEARCH=win64 WINEDLLOVERRIDES="mscoree,mshtml="
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

if ! dotnet publish tests/HotPage.Interop.Tests/HotPage.Interop.Tests.csproj -c Release -r win-x64 --self-contained \
        -o "$work/bin" >"$work/publish.log" 2>&1; then
    tail -n 40 "$work/publish.log"
    fail "dotnet publish -r win-x64 failed"
fi

# The first start of a prefix takes a few seconds; wineboot makes it explicit and quiet.
wineboot -i >/dev/null 2>&1 || true

log="$work/run.log"
timeout 1200 wine "$work/bin/HotPage.Interop.Tests.exe" --output Detailed --no-ansi --no-progress >"$log" 2>&1
rc=$?
cat "$log"

total=$(grep -E '^\s+total: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
failed=$(grep -E '^\s+failed: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
skipped=$(grep -E '^\s+skipped: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
[ -n "$total" ] || fail "the test runner under wine reported no totals (exit $rc)"
passed=$((total - failed - skipped))

# The Windows platform itself must have run and passed, not just the portable tests.
missing=0
for t in TopologyListsEveryProcessorOnSomeNode OwnedMemoryIsRemappedInPlaceAndKeepsItsData \
         MemoryThePlatformDoesNotOwnCannotMove QueryOfOwnAllocationGivesItsNode; do
    if ! grep -qE "^\s*passed $t" "$log"; then
        echo "FAIL the Windows test $t did not pass under wine"
        missing=$((missing + 1))
    fi
done
failed=$((failed + missing))
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
