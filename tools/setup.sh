#!/usr/bin/env bash
# Sets libswin up on Debian 12 and shows it working:
#   installs the build dependencies (apt), builds, installs (PREFIX, default /usr/local),
#   then runs `swin info` and `swin run` on the example model in examples/.
# Usage: tools/setup.sh            (as root, or with sudo available)
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX="${PREFIX:-/usr/local}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

DEPS="build-essential cmake pkg-config libopenblas-dev libjansson-dev libpng-dev libjpeg-dev libcmocka-dev"
if ! dpkg -s $DEPS >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $DEPS >/dev/null
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$PREFIX" >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
$SUDO cmake --install build >/dev/null
[ "$(id -u)" -eq 0 ] && command -v ldconfig >/dev/null && ldconfig || true

SWIN="$PREFIX/bin/swin"
echo "== $SWIN classify --model examples/shapes examples/shapes/images"
echo "   (a small Swin trained on rendered shapes; file names do not give the answer away)"
"$SWIN" classify --model examples/shapes --top 2 examples/shapes/images
echo
echo "== $SWIN info examples/swin_micro.safetensors"
"$SWIN" info examples/swin_micro.safetensors | sed -n '1,24p'
echo "..."
echo "== $SWIN run --model examples/swin_micro.safetensors --input examples/input.npy --output logits.npy"
"$SWIN" run --model examples/swin_micro.safetensors --input examples/input.npy --output build/logits.npy
echo "wrote build/logits.npy; the same example through the C API (examples/run_model.c):"
build/tests/run_model examples/swin_micro.safetensors examples/input.npy 2>/dev/null ||
  echo "(build/tests/run_model is built with the tests)"
