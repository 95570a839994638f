#!/usr/bin/env bash
# The ABI baseline of libswin (docs/abi.md): abi/<SONAME>.abi, written by abidw (Debian's
# abigail-tools) from a build with debug information, public types only (include/swin).
#
#   tools/update-abi-baseline.sh              build build-abi/ (RelWithDebInfo) and write the
#                                             baseline of its libswin.so; commit abi/ with it
#   tools/update-abi-baseline.sh LIB          write the baseline of LIB (built with -g)
#   tools/update-abi-baseline.sh --check LIB  compare LIB with its baseline (CI): exit 0 when
#                                             compatible (additions allowed), 1 when the ABI
#                                             broke without a SOVERSION change or the baseline
#                                             of LIB's SONAME is missing
set -euo pipefail
cd "$(dirname "$0")/.."

check=0
if [ "${1:-}" = "--check" ]; then check=1; shift; fi
lib="${1:-}"
command -v abidw >/dev/null || { echo "abidw not found: apt-get install abigail-tools" >&2; exit 2; }

if [ -z "$lib" ]; then
  [ "$check" = 0 ] || { echo "usage: $0 --check LIB" >&2; exit 2; }
  cmake -S . -B build-abi -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSWIN_BUILD_TESTS=OFF \
    -DSWIN_BUILD_TOOLS=OFF >/dev/null
  cmake --build build-abi --target swin -j"$(nproc)" >/dev/null
  lib=build-abi/libswin.so
fi
lib="$(readlink -f "$lib")"
soname="$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')"
[ -n "$soname" ] || { echo "$lib: no SONAME" >&2; exit 2; }
readelf -S "$lib" | grep '\.debug_info' >/dev/null ||
  { echo "$lib has no debug information (build with -g): abidw would see symbols only" >&2; exit 2; }
baseline="abi/$soname.abi"

# Public types only, and nothing that depends on where or how it was built.
dump() {
  abidw --headers-dir include/swin --drop-private-types --no-corpus-path --no-comp-dir-path \
    --no-elf-needed \
    --no-show-locs --type-id-style hash --out-file "$2" "$1"
}

if [ "$check" = 0 ]; then
  mkdir -p abi
  dump "$lib" "$baseline"
  echo "wrote $baseline ($(grep -c '<elf-symbol ' "$baseline") symbols); commit it"
  exit 0
fi

if [ ! -f "$baseline" ]; then
  echo "ABI: no baseline $baseline for $soname." >&2
  echo "     A new SOVERSION needs its baseline: run tools/update-abi-baseline.sh and commit abi/." >&2
  ls abi/*.abi >/dev/null 2>&1 && echo "     (baselines present: $(ls abi/*.abi | tr '\n' ' '))" >&2
  exit 1
fi
current="$(mktemp --suffix=.abi)"
trap 'rm -f "$current"' EXIT
dump "$lib" "$current"
# abidiff's exit status is a bit set: 1 error, 2 usage error, 4 ABI change, 8 incompatible
# change (a removed symbol). A changed type or signature only sets 4, and so do additions: so
# compare twice, once without the added symbols (any change left breaks the ABI), once with.
set +e
changes="$(abidiff --no-added-syms "$baseline" "$current")"
rc=$?
set -e
if (( rc & 3 )); then
  echo "$changes"; echo "ABI: abidiff failed (exit $rc)" >&2; exit 2
elif (( rc & 12 )); then
  echo "$changes"
  echo "ABI: incompatible change against $baseline: the interfaces above were removed or changed." >&2
  echo "     Keep them as they were and add new functions instead, or bump SWIN_SOVERSION (and" >&2
  echo "     SWIN_VERSION_MAJOR) in include/swin/version.h, rename the version node in" >&2
  echo "     src/libswin.map and commit the new baseline (tools/update-abi-baseline.sh)." >&2
  exit 1
fi
set +e
additions="$(abidiff "$baseline" "$current")"
rc=$?
set -e
if (( rc & 4 )); then
  echo "$additions"
  echo "ABI: compatible with $baseline (additions only). Refresh the baseline with"
  echo "     tools/update-abi-baseline.sh so that later changes are checked against them too."
else
  echo "ABI: identical to $baseline ($soname)"
fi
