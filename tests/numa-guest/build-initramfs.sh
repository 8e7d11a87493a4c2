#!/usr/bin/env bash
# Builds the initramfs of the HotPage NUMA guest: busybox-static behind /init, the guest scripts
# (guest/init as /init, guest/*.sh in /hotpage), the case scripts, the binaries under test and the
# shared libraries ldd lists for them.
#
# Usage: build-initramfs.sh -o OUT.cpio.gz [--cases DIR]... [FILE|DIR]...
#   FILE    an executable or a shared library; executables go to /hotpage/bin, *.so* files to
#           /hotpage/lib (both are on PATH / LD_LIBRARY_PATH in the guest)
#   DIR     every regular file in DIR, as above
#   --cases DIR   case scripts (*.sh) for /hotpage/cases; repeatable, later dirs win on a name
#                 clash; default: the cases/ directory beside this script
# Needs: /bin/busybox (busybox-static), cpio, gzip, ldd.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=""; case_dirs=(); items=()
while [ $# -gt 0 ]; do
    case "$1" in
        -o) out=$2; shift 2 ;;
        --cases) case_dirs+=("$2"); shift 2 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) items+=("$1"); shift ;;
    esac
done
[ -n "$out" ] || { echo "build-initramfs.sh: -o OUT is required" >&2; exit 2; }
[ "${#case_dirs[@]}" -gt 0 ] || case_dirs=("$here/cases")
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "build-initramfs.sh: $busybox missing (apt-get install busybox-static)" >&2; exit 2; }
{ ldd "$busybox" 2>&1 || true; } | grep -q 'not a dynamic' \
    || { echo "build-initramfs.sh: $busybox is not static" >&2; exit 2; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,run,etc,hotpage/bin,hotpage/lib,hotpage/cases}
cp "$busybox" "$root/bin/busybox"
cp "$here/guest/init" "$root/init"
cp "$here"/guest/*.sh "$root/hotpage/"
chmod 755 "$root/init"

files=()
for it in "${items[@]}"; do
    if [ -d "$it" ]; then
        while IFS= read -r f; do files+=("$f"); done < <(find "$it" -maxdepth 1 -type f | sort)
    elif [ -f "$it" ]; then
        files+=("$it")
    else
        echo "build-initramfs.sh: no such file or directory: $it" >&2; exit 2
    fi
done

copy_lib() { # a library at its own absolute path (the dynamic loader looks there)
    local src=$1
    [ -e "$root$src" ] && return
    mkdir -p "$root$(dirname "$src")"
    cp -L "$src" "$root$src"
}
for f in "${files[@]}"; do
    name=$(basename "$f")
    case "$name" in
        *.so|*.so.*) cp -L "$f" "$root/hotpage/lib/$name" ;;
        *) cp -L "$f" "$root/hotpage/bin/$name"; chmod 755 "$root/hotpage/bin/$name" ;;
    esac
    # Shared libraries ldd lists (none for a static binary); "not found" ones must be among the
    # given files (e.g. libhotpage.so next to a workload linking it).
    while read -r line; do
        case "$line" in
            *"=> not found"*)
                lib=${line%% *}
                found=0
                for g in "${files[@]}"; do [ "$(basename "$g")" = "$lib" ] && found=1; done
                [ "$found" = 1 ] || { echo "build-initramfs.sh: $name needs $lib, which is not given" >&2; exit 2; } ;;
            *"=> /"*) p=${line#*=> }; copy_lib "${p%% (*}" ;;
            /*) copy_lib "${line%% (*}" ;;
        esac
    done < <(ldd "$f" 2>/dev/null || true)
done

for d in "${case_dirs[@]}"; do
    for c in "$d"/*.sh; do
        [ -e "$c" ] && cp "$c" "$root/hotpage/cases/"
    done
done

mkdir -p "$(dirname "$out")"
out_abs=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -6 > "$out_abs")
echo "initramfs: $out ($(du -h "$out_abs" | cut -f1); $(ls "$root/hotpage/bin" | wc -l) binaries, $(ls "$root/hotpage/lib" | wc -l) libraries, $(ls "$root/hotpage/cases" | wc -l) cases)"
