# Payload: libhotpage.so (NativeAOT, published by tools/publish.sh through tests/publish-if-stale.sh,
# so a run of the whole test tree publishes it once) and tiered-embed: workloads/tiered.c built with
# -DHOTPAGE_EMBED and linked dynamically against that library (the guest finds it in /hotpage/lib,
# on LD_LIBRARY_PATH; build-initramfs.sh copies the libc it needs).
# Run as `bash payload.d/30-libhotpage.sh OUTDIR` by the suite.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
out=${1:?usage: 30-libhotpage.sh OUTDIR}
mkdir -p "$out"
lib=$(bash "$repo/tests/publish-if-stale.sh" libhotpage)
cp "$repo/$lib" "$out/libhotpage.so"
gcc -O2 -Wall -Wextra -Werror -DHOTPAGE_EMBED -I"$repo/tools/libhotpage" \
    -o "$out/tiered-embed" "$here/../workloads/tiered.c" -L"$out" -lhotpage
# The guest must find the library by name, not by a build-machine path.
ldd "$out/tiered-embed" | grep -q 'libhotpage.so => not found' || {
    echo "30-libhotpage.sh: tiered-embed should need libhotpage.so from the library path:"; ldd "$out/tiered-embed"; exit 1; }
