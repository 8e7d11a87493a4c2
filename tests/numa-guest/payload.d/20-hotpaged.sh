# Payload: the hotpaged daemon, NativeAOT (net9.0, tools/publish.sh; reused by
# tests/publish-if-stale.sh when no source is newer). It needs only libc, which build-initramfs.sh
# copies from what ldd lists.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../../.." && pwd)
bin=$(cd "$repo" && bash tests/publish-if-stale.sh hotpaged)
cp "$repo/$bin" "$1/hotpaged"
