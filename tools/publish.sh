#!/usr/bin/env bash
# THE one way to publish HotPage's shipped binaries: NativeAOT, linux-x64, into
#   artifacts/publish/hotpaged/hotpaged          (the daemon and CLI)
#   artifacts/publish/libhotpage/libhotpage.so   (the C ABI library, with hotpage.h and example.c)
#
# Usage: bash tools/publish.sh [hotpaged|libhotpage]...   (default: both)
#
# Settings (environment variables):
#   HOTPAGE_AOT_TFM   target framework (default net9.0). The net10.0 NativeAOT runtime pack is not
#                     served by this project's package mirror; with it installed, HOTPAGE_AOT_TFM=net10.0
#                     switches every project the binaries reference.
#   HOTPAGE_ISA       IlcInstructionSet (default x86-x64-v3). NativeAOT compiles SIMD code once, for
#                     the instruction set named here: the default of the SDK (empty) runs only the
#                     128-bit paths; x86-x64-v3 (AVX2, Haswell and later, 2013+) runs the 256-bit
#                     paths; "native" adds AVX-512 on this CPU but the binary then needs this CPU.
#                     HotPage ships x86-x64-v3: the widest set every current x86-64 server has.
#                     `hotpaged topology` prints the vector path the binary runs.
#   HOTPAGE_CONFIGURATION  Release (default) or Debug.
set -euo pipefail
cd "$(dirname "$0")/.."
tfm=${HOTPAGE_AOT_TFM:-net9.0}
isa=${HOTPAGE_ISA-x86-x64-v3}
config=${HOTPAGE_CONFIGURATION:-Release}
rid=linux-x64
targets=("$@")
[ "${#targets[@]}" -eq 0 ] && targets=(hotpaged libhotpage)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

props=(-p:HotPageLibraryTfm="$tfm")
[ -n "$isa" ] && props+=(-p:IlcInstructionSet="$isa")

for t in "${targets[@]}"; do
    case "$t" in
        hotpaged|libhotpage) ;;
        *) echo "publish.sh: unknown target '$t' (hotpaged or libhotpage)" >&2; exit 2 ;;
    esac
    out=artifacts/publish/$t
    echo "publish.sh: $t ($tfm, $rid, IlcInstructionSet=${isa:-default}) -> $out"
    dotnet publish "tools/$t/$t.csproj" -c "$config" -r "$rid" "${props[@]}" -o "$out" -nologo -v:q
    if [ "$t" = libhotpage ]; then
        cp tools/libhotpage/hotpage.h tools/libhotpage/example.c "$out/"
    fi
    rm -f "$out"/*.dbg "$out"/*.pdb "$out"/*.xml "$out"/*.json
    # What the tests check to reuse a publish: the commit and ISA it was built from.
    printf '%s\n' "tfm=$tfm" "isa=${isa:-default}" "configuration=$config" "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" > "$out/BUILD-INFO"
done
ls -l artifacts/publish/hotpaged/hotpaged artifacts/publish/libhotpage/libhotpage.so 2>/dev/null || true
