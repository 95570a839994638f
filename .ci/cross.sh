#!/usr/bin/env bash
# CI on an emulated architecture: bash .ci/cross.sh arm64|s390x
# On a fresh Debian 12 machine (root, CI=true, no input): installs a cross compiler and
# qemu-user, builds a sysroot of the architecture's -dev packages, cross-compiles libswin
# with cmake/toolchain-cross.cmake and runs the whole CTest suite under qemu (s390x is
# big-endian: the byte-order paths of docs/weights.md).
#
# The sysroot is made of the architecture's .debs unpacked with dpkg -x (apt with a private
# state directory resolves and downloads them), not by multiarch: the host's dpkg is left
# without a foreign architecture, and a foreign index that lags the host's (s390x's
# libssl3 often does) cannot block the install. Everything goes under build-cross-ARCH/.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

arch="${1:-}"
case "$arch" in
  arm64) triplet=aarch64-linux-gnu qemu=qemu-aarch64-static ;;
  s390x) triplet=s390x-linux-gnu qemu=qemu-s390x-static ;;
  *)
    echo "usage: $0 arm64|s390x" >&2
    exit 2
    ;;
esac

apt-get update -qq
apt-get install -y -qq --no-install-recommends "crossbuild-essential-$arch" qemu-user-static \
  cmake pkg-config ca-certificates >/dev/null

top="$PWD/build-cross-$arch"
sysroot="$top/sysroot"
aptdir="$top/apt"
rm -rf "$sysroot"
mkdir -p "$sysroot" "$aptdir/state/lists/partial" "$aptdir/cache/archives/partial"
: >"$aptdir/status"

# apt for the foreign architecture alone, with its own index and an empty package database:
# the host's sources and keys, nothing of the host's state.
cat >"$aptdir/apt.conf" <<EOF
APT::Architecture "$arch";
APT::Architectures { "$arch"; };
Dir::State "$aptdir/state";
Dir::State::status "$aptdir/status";
Dir::Cache "$aptdir/cache";
APT::Install-Recommends "false";
Debug::NoLocking "true";
EOF
export APT_CONFIG="$aptdir/apt.conf"
apt-get update -qq
# The -dev packages and (apt resolves them against the empty database) all they depend on,
# down to libc6: the sysroot is complete for linking and for running under qemu. python3 and
# python3-numpy: the Python binding's test runs the architecture's own python3 under qemu
# (cmake/SwinPackaging.cmake).
apt-get install -y -qq --download-only libc6-dev libstdc++-12-dev libopenblas-dev \
  libjansson-dev libpng-dev libjpeg-dev libcmocka-dev zlib1g-dev python3 python3-numpy >/dev/null
unset APT_CONFIG
for deb in "$aptdir"/cache/archives/*.deb; do
  dpkg -x "$deb" "$sysroot"
done

# What dpkg's maintainer scripts would have done: the alternatives that put OpenBLAS where
# the linker and the dynamic loader look (dpkg -x runs no scripts).
blas="$sysroot/usr/lib/$triplet/openblas-pthread"
ln -sf openblas-pthread/libopenblas.so.0 "$sysroot/usr/lib/$triplet/libopenblas.so.0"
ln -sf openblas-pthread/libopenblas.so "$sysroot/usr/lib/$triplet/libopenblas.so"
ln -sf openblas-pthread/libblas.so.3 "$sysroot/usr/lib/$triplet/libblas.so.3"
# NumPy links libblas.so.3 and liblapack.so.3: OpenBLAS's (priority 100) over the reference
# libblas3/liblapack3 (10) that apt picks for NumPy's first alternative.
ln -sf openblas-pthread/liblapack.so.3 "$sysroot/usr/lib/$triplet/liblapack.so.3"
test -e "$blas/pkgconfig/openblas.pc"
test -x "$sysroot/usr/bin/python3.11"
test -d "$sysroot/usr/lib/python3/dist-packages/numpy"
# Absolute symbolic links in the packages (libc's, ...) point at the host's files: make them
# relative to the sysroot.
find "$sysroot" -type l -lname '/*' | while read -r link; do
  target="$(readlink "$link")"
  ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$sysroot$target")" "$link"
done

# The architecture's python3 and NumPy run under qemu (the Python binding's test needs them).
PYTHONHOME="$sysroot/usr" "$qemu" -L "$sysroot" "$sysroot/usr/bin/python3" \
  -c 'import numpy; print("sysroot python3: NumPy", numpy.__version__)'

rm -rf "$top/build" # a cache from an earlier configuration would keep its flags
cmake -S . -B "$top/build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/toolchain-cross.cmake" \
  -DSWIN_CROSS_ARCH="$arch" -DSWIN_CROSS_SYSROOT="$sysroot" >/dev/null
cmake --build "$top/build" -j2
ctest --test-dir "$top/build" --output-on-failure -j2
echo "cross $arch: all tests passed under $qemu"
