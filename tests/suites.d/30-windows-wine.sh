#!/usr/bin/env bash
# slow
# The Windows platform tests, for real, under Wine: publishes tests/HotPage.Interop.Tests
# self-contained for win-x64, runs the NUnit runner exe under wine in a fresh WINEPREFIX on the
# Windows fixtures (WindowsPlatformContractTests, WindowsPlatformTests, WindowsLayoutTests), and
# prints the runner's own per-test results as "N passed, M failed, K skipped". The key
# WindowsPlatform tests must be among the passed ones, else the suite fails (a Windows suite
# that did not run is not a pass).
# Wine is not Windows: a green run proves the bindings, the marshalling and the placeholder
# remapping as Wine implements them, not Windows' own NUMA behaviour.
set -uo pipefail
cd "$(dirname "$0")/../.."

fail() { echo "FAIL $1"; echo "0 passed, 1 failed"; exit 1; }

command -v wine >/dev/null || fail "wine is not installed (.ci/install-deps.sh installs the wine and wine64 packages)"

work=$(mktemp -d "${TMPDIR:-/tmp}/hotpage-wine.XXXXXX")
trap 'rm -rf "$work"' EXIT
# NOTE: no WINEDLLOVERRIDES=mscoree=: Wine's loader hands IL images to mscoree, and without it
# CoreCLR's LoadLibrary of an R2R assembly fails ("Could not load System.Runtime.dll").
# W^X off: with Wine 8 the runtime's double-mapped JIT memory dies in DynamicResolver's finalizer
# ("Internal CLR error 0x80131506") before the first test; that is Wine's gap, not HotPage's.
export WINEPREFIX="$work/prefix" WINEDEBUG=-all WINEARCH=win64 DOTNET_EnableWriteXorExecute=0
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

if ! dotnet publish tests/HotPage.Interop.Tests/HotPage.Interop.Tests.csproj -c Release -r win-x64 --self-contained \
        -o "$work/bin" >"$work/publish.log" 2>&1; then
    tail -n 40 "$work/publish.log"
    fail "dotnet publish -r win-x64 failed"
fi

# The first start of a prefix takes a few seconds; wineboot makes it explicit and quiet.
wineboot -i >/dev/null 2>&1 || true

# One test per process. Seen with Wine 8.0 and .NET 10: after a test that throws and catches an
# exception (any Assert.That(..., Throws...)), the next test in the same process hangs, whatever
# the platform under test (the simulated fixture hangs the same way). One process per test keeps
# every result real; it costs a few seconds of Wine start-up per test.
exe="$work/bin/HotPage.Interop.Tests.exe"
filter="FullyQualifiedName~.Windows"
timeout 300 wine "$exe" --filter "$filter" --list-tests --no-ansi 2>&1 | tr -d '\r' \
    | sed -n '/Test discovery complete/,/Test discovery summary/p' | grep -E '^  [A-Za-z_][A-Za-z0-9_]*$' | sed 's/^  //' >"$work/tests.txt"
count=$(wc -l <"$work/tests.txt")
[ "$count" -gt 0 ] || fail "no Windows tests were discovered under wine"

passed=0; failed=0; skipped=0
while read -r name; do
    log="$work/$name.log"
    timeout 300 wine "$exe" --filter "$filter&Name=$name" --output Detailed --no-ansi --progress off 2>&1 | tr -d '\r' >"$log"
    rc=${PIPESTATUS[0]}
    if grep -qE "^passed $name " "$log"; then
        echo "ok $name"; passed=$((passed + 1))
    elif grep -qE "^skipped $name " "$log"; then
        echo "skip $name"; skipped=$((skipped + 1))
    else
        echo "FAIL $name (exit $rc; 124 = timed out)"; grep -vE '^\s*$' "$log" | tail -n 20; failed=$((failed + 1))
    fi
done <"$work/tests.txt"

# The Windows platform itself must have run and passed, not only the portable layout tests.
for t in TopologyListsEveryProcessorOnSomeNode OwnedMemoryIsRemappedInPlaceAndKeepsItsData \
         MemoryThePlatformDoesNotOwnCannotMove QueryOfOwnAllocationGivesItsNode StructSizesMatchTheSdk; do
    if ! grep -qE "^passed $t " "$work/$t.log" 2>/dev/null; then
        echo "FAIL the Windows test $t did not pass under wine"
        failed=$((failed + 1))
    fi
done

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
