#!/usr/bin/env bash
# CI, after the main suite of .ci/run (root, Debian 12, apt lists updated): exported symbols,
# the ABI against its baseline, the API reference, the man page against `swin --help`; the
# Debian packages (lintian), installed with apt and used as a stranger would: the pkg-config,
# CMake, static, Python and Node (koffi) consumers of the system copy; then removed.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
t0=$SECONDS
step() { printf '\n== %s  [%ds]\n' "$*" $((SECONDS - t0)); }
fail() { echo "package.sh: FAILED: $*" >&2; exit 1; }

step "tools: lintian, abigail-tools, doxygen, python3-numpy, node"
apt-get install -y -qq --no-install-recommends lintian abigail-tools doxygen python3-numpy \
  >/dev/null
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
PY=/usr/bin/python3 # Debian's, with python3-numpy (not whatever python3 is first on PATH)

B=build-deb
work="$(mktemp -d)"
pkgs=()
cleanup() {
  # Leaves no package behind when a check fails after the install.
  if [ ${#pkgs[@]} -gt 0 ] && dpkg -s "${pkgs[0]}" >/dev/null 2>&1; then
    apt-get remove --purge -y -qq "${pkgs[@]}" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
# The consumers below must find the system copy, not the one .ci/run installed in a prefix.
unset PKG_CONFIG_PATH CMAKE_PREFIX_PATH SWIN_LIBRARY SWIN_CLI

step "build for the packages: prefix /usr, Debian's build flags (-g -O2 ..., then -O3)"
SOURCE_DATE_EPOCH="$(git log -1 --format=%ct 2>/dev/null || date +%s)"
export SOURCE_DATE_EPOCH DEB_BUILD_MAINT_OPTIONS=hardening=+all
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr -DSWIN_BUILD_TESTS=OFF \
  -DCMAKE_C_FLAGS="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)" \
  -DCMAKE_SHARED_LINKER_FLAGS="$(dpkg-buildflags --get LDFLAGS)" \
  -DCMAKE_EXE_LINKER_FLAGS="$(dpkg-buildflags --get LDFLAGS)" >/dev/null
cmake --build "$B" -j"$(nproc)" >/dev/null
sover="$(sed -n 's/^#define SWIN_SOVERSION \([0-9]*\)$/\1/p' include/swin/version.h)"
lib="$B/libswin.so.$sover"

step "exported symbols: swin_* only, all in version node LIBSWIN_$sover, all declared in swin.h"
nm -D --defined-only "$lib" | awk -v node="LIBSWIN_$sover" '
  $2 == "A" && $3 == node { next }
  $3 !~ ("^swin_[a-z0-9_]+@@" node "$") { print "  unexpected export: " $0; bad = 1 }
  END { exit bad }' || fail "symbols outside the API (src/libswin.map, SWIN_API)"
nm -D --defined-only --without-symbol-versions "$lib" | awk '$3 ~ /^swin_/ { print $3 }' |
  sort >"$work/exported"
sed -n 's/^SWIN_API[^(]*[ *]\(swin_[a-z0-9_]*\)(.*/\1/p' include/swin/swin.h | sort >"$work/declared"
diff "$work/declared" "$work/exported" || fail "swin.h's SWIN_API functions and the exports differ"
echo "$(wc -l <"$work/exported") functions exported, each declared in swin.h"

step "ABI against abi/libswin.so.$sover.abi (abidiff)"
tools/update-abi-baseline.sh --check "$lib"

step "API reference (Doxygen, warnings are errors)"
cmake --build "$B" --target doc >/dev/null
echo "$B/doc/html/index.html: $(ls "$B"/doc/html/*.html | wc -l) pages, no warnings"

step "man page agrees with swin --help"
"$B/swin" --help >"$work/help"
help_words() { grep -o -- '--[a-z]\+' | sort -u; }
sed 's/\\-/-/g' man/swin.1 | help_words >"$work/man_opts"
help_words <"$work/help" >"$work/help_opts"
diff "$work/help_opts" "$work/man_opts" || fail "options of swin --help (<) and man/swin.1 (>) differ"
sed -n 's/^\(usage:\)\? *swin \([a-z-]*\).*/\2/p' "$work/help" | sort -u >"$work/help_cmds"
sed -n 's/^\.B swin \([a-z\\-]*\).*/\1/p' man/swin.1 | sed 's/\\-/-/g' | sort -u >"$work/man_cmds"
diff "$work/help_cmds" "$work/man_cmds" || fail "commands of swin --help (<) and man/swin.1 (>) differ"
echo "commands: $(tr '\n' ' ' <"$work/help_cmds")"
echo "options:  $(tr '\n' ' ' <"$work/help_opts")"

step "Debian packages (CPack DEB)"
rm -f "$B"/*.deb
(cd "$B" && cpack -G DEB >/dev/null)
debs=("$B"/*.deb)
for d in "${debs[@]}"; do
  pkgs+=("$(dpkg-deb -f "$d" Package)")
  basename "$d"
  dpkg-deb -f "$d" Version Section Depends | sed 's/^/    /'
done
[ ${#debs[@]} -eq 4 ] ||
  fail "expected 4 packages (libswin$sover, libswin-dev, swin-tools, python3-libswin)"

step "lintian"
lintian --fail-on error "${debs[@]}" | tee "$work/lintian" ||
  fail "lintian reports errors"
echo "lintian: $(grep -c '^E:' "$work/lintian" || true) errors, $(grep -c '^W:' "$work/lintian" || true) warnings"

step "apt-get install ./*.deb"
apt-get install -y -qq "${debs[@]/#/./}" >/dev/null
dpkg -l "${pkgs[@]}" | tail -n +6

check_logits() { # check_logits FILE.npy: equals examples/expected_logits.npy
  "$PY" - "$1" <<'EOF'
import sys, numpy as np
got, ref = np.load(sys.argv[1]), np.load("examples/expected_logits.npy")
tol = 1e-5 * max(1.0, float(np.abs(ref).max()))
err = float(np.abs(got.astype(np.float64) - ref).max()) if got.shape == ref.shape else float("inf")
print("    logits %s, max |diff| %.2e vs expected_logits.npy (tolerance %.1e)" % (list(got.shape), err, tol))
sys.exit(0 if err <= tol else 1)
EOF
}
run_consumer() { # run_consumer NAME BINARY
  echo "$1:"
  "$2" examples/swin_micro.safetensors examples/input.npy "$work/$1.npy" | sed 's/^/    /'
  check_logits "$work/$1.npy" || fail "$1: wrong logits"
}
# (grep without -q in pipelines: an early exit would kill ldd with SIGPIPE, and pipefail sees it)
uses_system_lib() {
  ldd "$1" | grep -E "libswin.so.$sover => /(usr/)?lib/" >/dev/null ||
    { ldd "$1"; fail "$1 does not use /usr's libswin"; }
}

step "consumers of the system copy: pkg-config, CMake, static"
pc_prefix="$(pkg-config --variable=prefix libswin || true)"
[ "$pc_prefix" = /usr ] || fail "pkg-config does not find /usr's libswin.pc (it finds prefix '$pc_prefix'; \
a copy installed by tools/setup.sh or cmake --install into /usr/local comes first on pkg-config's \
path: remove it, e.g. xargs rm < build/install_manifest.txt)"
echo "pkg-config libswin $(pkg-config --modversion libswin): $(pkg-config --cflags --libs libswin)"
for std in "cc -std=c11 -x c" "c++ -std=c++11 -x c++"; do
  echo '#include <swin/swin.h>' | $std -Wall -Wextra -pedantic -Werror -fsyntax-only - ||
    fail "the installed header alone ($std)"
done
cc examples/run_model.c $(pkg-config --cflags --libs libswin) -o "$work/run_model_pc"
uses_system_lib "$work/run_model_pc"
run_consumer pkg-config "$work/run_model_pc"
# Static: libswin.a, with its dependencies from pkg-config --static (Requires.private).
cc examples/run_model.c $(pkg-config --cflags libswin) -o "$work/run_model_pc_static" \
  -Wl,-Bstatic -lswin -Wl,-Bdynamic $(pkg-config --static --libs libswin | sed 's/-lswin\b//')
ldd "$work/run_model_pc_static" | grep libswin >/dev/null && fail "the static consumer links libswin.so"
run_consumer pkg-config-static "$work/run_model_pc_static"
cmake -S examples/consumer -B "$work/cmake" >/dev/null
cmake --build "$work/cmake" >/dev/null
uses_system_lib "$work/cmake/run_model_shared"
run_consumer cmake-shared "$work/cmake/run_model_shared"
ldd "$work/cmake/run_model_static" | grep libswin >/dev/null && fail "run_model_static links libswin.so"
run_consumer cmake-static "$work/cmake/run_model_static"
# examples/classify.c (image files in, top-5 out) on the shapes model: each top-1 as PyTorch's.
cc examples/classify.c $(pkg-config --cflags --libs libswin) -o "$work/classify_pc"
uses_system_lib "$work/classify_pc"
cmake -DCLASSIFY="$work/classify_pc" -DSHAPES=examples/shapes -P tests/example_classify.cmake \
  >"$work/classify.txt" 2>&1 || { cat "$work/classify.txt"; fail "examples/classify.c on examples/shapes"; }
tail -n 1 "$work/classify.txt"
# The C++17 layer, swin/swin.hpp, from the system copy: its test program (tests/header_hpp.cpp).
g++ -std=c++17 -Wall -Wextra -pedantic -Werror -DSWIN_EXAMPLES_DIR="\"$PWD/examples\"" \
  tests/header_hpp.cpp $(pkg-config --cflags --libs libswin) -o "$work/header_hpp"
uses_system_lib "$work/header_hpp"
"$work/header_hpp" | sed 's/^/    /' || fail "swin/swin.hpp on the installed library"
g++ -std=c++17 -Wall -Wextra -pedantic -Werror examples/classify.cpp \
  $(pkg-config --cflags --libs libswin) -o "$work/classify_cpp"
uses_system_lib "$work/classify_cpp"
cmake -DCLASSIFY="$work/classify_cpp" -DSHAPES=examples/shapes -P tests/example_classify.cmake \
  >/dev/null || fail "examples/classify.cpp on the installed library"
echo "examples/classify.cpp (swin.hpp): built against the installed package, top-1 as PyTorch's"
echo "swin (swin-tools): $(swin --version); man: $(man -w swin)"
swin run --model examples/swin_micro.safetensors --input examples/input.npy --output "$work/cli.npy"
check_logits "$work/cli.npy" || fail "swin run: wrong logits"

step "Python package libswin: pip-installed offline into a venv, on the system copy; CTest's"
# Debian's packages only (no PyPI): PIL for image inputs, Dask for libswin.dask, venv + pip.
apt-get install -y -qq --no-install-recommends python3-pil python3-dask python3-distributed \
  python3-pandas python3-venv python3-pip python3-setuptools >/dev/null
"$PY" -m venv --system-site-packages "$work/venv"
"$work/venv/bin/pip" install -q --no-build-isolation --no-index ./bindings/python \
  || fail "pip install ./bindings/python (offline, --no-build-isolation)"
(cd "$work" && venv/bin/python -c 'import libswin
print("libswin", libswin.__file__, "loaded",
      [l.split()[-1] for l in open("/proc/self/maps") if "libswin" in l][0], libswin.library_version())') \
  | grep "$work/venv/.*/site-packages/libswin/__init__.py.* /usr/lib/" \
  || fail "the venv's libswin is not the installed package on the system library"
# python3-libswin: Debian's python3 imports the packaged module, on the system library
(cd / && env -u SWIN_LIBRARY -u PYTHONPATH PYTHONDONTWRITEBYTECODE=1 "$PY" -c 'import libswin
print("libswin", libswin.__file__, "loaded",
      [l.split()[-1] for l in open("/proc/self/maps") if "libswin" in l][0], libswin.library_version())') \
  | grep "/usr/lib/python3/dist-packages/libswin/__init__.py.* /usr/lib/" \
  || fail "python3-libswin: the system python3 does not import the packaged libswin"
if ! out="$(cd / && env -u SWIN_LIBRARY -u PYTHONPATH SWIN_TEST_INSTALLED=1 SWIN_CLI=/usr/bin/swin \
    PYTHONDONTWRITEBYTECODE=1 \
    "$PY" -m unittest discover -s "$OLDPWD/bindings/python/tests" 2>&1)"; then
  echo "$out"; fail "Python tests of python3-libswin on the installed library"
fi
echo "python3-libswin: $(echo "$out" | tail -n 1)"
# SWIN_TEST_INSTALLED: the tests import the venv's package, not bindings/python's.
if ! out="$(cd "$work" && env -u SWIN_LIBRARY SWIN_TEST_INSTALLED=1 SWIN_CLI=/usr/bin/swin \
    venv/bin/python -m unittest discover -s "$OLDPWD/bindings/python/tests" 2>&1)"; then
  echo "$out"; fail "Python tests of the pip-installed package on the installed library"
fi
echo "$out" | tail -n 3
cmake -S . -B build >/dev/null # registers the Python tests now that NumPy is there
if ! out="$(ctest --test-dir build -R '^python$' --no-tests=error --output-on-failure)"; then
  echo "$out"; fail "CTest's python test"
fi
echo "$out" | grep -E 'tests passed|Passed'

step "Node package libswin: npm pack, npm install of the .tgz (koffi from npm), node --test"
tgz="$(cd bindings/node && npm pack --silent --pack-destination "$work")"
mkdir "$work/npm" # a stranger's project
printf '{"name": "consumer", "private": true}\n' >"$work/npm/package.json"
npmi() { (cd "$work/npm" && npm install --no-audit --no-fund "$@" "$work/$tgz"); }
npmi --loglevel=error >/dev/null 2>&1 || npmi || fail "npm install $tgz"
(cd "$work/npm" && node -e 'const s = require("libswin"); console.log("libswin", s.version(), "from", require.resolve("libswin"))')
env -u SWIN_LIBRARY LIBSWIN_NODE="$work/npm/node_modules/libswin" node --test bindings/node/test/*.test.js \
  || fail "Node tests of the npm-installed package on the installed library"

step "apt-get remove --purge"
dpkg -L "${pkgs[@]}" | grep swin | sort -u >"$work/files"
apt-get remove --purge -y -qq "${pkgs[@]}" >/dev/null
for p in "${pkgs[@]}"; do
  ! dpkg -s "$p" >/dev/null 2>&1 || fail "$p is still known to dpkg"
done
left="$(while read -r f; do [ ! -e "$f" ] || echo "$f"; done <"$work/files")"
left+="$(find /usr/bin /usr/include /usr/lib /usr/share/doc /usr/share/man \
  \( -name '*libswin*' -o -name 'swin' -o -name 'swin.1*' \) 2>/dev/null)"
[ -z "$left" ] || fail "left in /usr after the purge: $left"
! ldconfig -p | grep libswin >/dev/null || fail "libswin still in the ld.so cache"
echo "removed ${pkgs[*]}: nothing of libswin is left in /usr ($(wc -l <"$work/files") paths checked)"
pkgs=()

step "done"
