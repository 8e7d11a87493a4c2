#!/usr/bin/env bash
# Publishes a shipped binary (tools/publish.sh) unless the published one is newer than every
# source it is built from, so that the suites of one run-all invocation share one publish.
# Usage: bash tests/publish-if-stale.sh hotpaged|libhotpage   (prints the binary's path)
set -euo pipefail
cd "$(dirname "$0")/.."
target=$1
case "$target" in
    hotpaged) bin=artifacts/publish/hotpaged/hotpaged ;;
    libhotpage) bin=artifacts/publish/libhotpage/libhotpage.so ;;
    *) echo "unknown target $target" >&2; exit 2 ;;
esac
if [ -f "$bin" ] && [ -z "$(find engine interop tools/HotPage.Hosting "tools/$target" tools/publish.sh Directory.Build.props Directory.Packages.props \
        \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' -o -name '*.h' -o -name '*.c' -o -name '*.sh' \) \
        -newer "$bin" -not -path '*/obj/*' -not -path '*/bin/*' -print -quit)" ]; then
    echo "$bin"; exit 0
fi
bash tools/publish.sh "$target" >&2
echo "$bin"
