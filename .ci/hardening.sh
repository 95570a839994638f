#!/usr/bin/env bash
# CI, hardening part (issue 7; docs/security.md); called at the end of .ci/run on a fresh Debian 12
# machine. Installs what it needs, then:
#   1. the whole ctest suite under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan),
#      allocation-failure test included (LeakSanitizer checks every case);
#   2. the concurrency tests under ThreadSanitizer (build-tsan);
#   3. the allocation-failure test under valgrind (the Release build of .ci/run);
#   4. every libFuzzer target for FUZZ_SECONDS (default 60) with ASan + UBSan (build-fuzz).
# Any report fails the job. About 8 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" = 0 ]; then
  apt-get install -y -qq clang-14 libclang-rt-14-dev llvm-14 valgrind >/dev/null
fi
CC=clang-14
FUZZ_SECONDS="${FUZZ_SECONDS:-60}"
JOBS="$(nproc)"
export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-14/bin/llvm-symbolizer
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
start=$SECONDS
stamp() { echo "hardening: $1 ($((SECONDS - start)) s)"; }

# Newer kernels randomise mmap more than the clang 14 sanitizers' shadow layout allows
# (vm.mmap_rnd_bits > 28 makes TSan abort with "unexpected memory mapping"); run the
# sanitized programs without address randomisation when the machine lets us.
norand=()
if setarch "$(uname -m)" -R true 2>/dev/null; then norand=(setarch "$(uname -m)" -R); fi

# 1. ASan + UBSan, the whole suite (but the Python binding's test, should it be configured:
#    ctypes cannot dlopen an ASan-instrumented libswin.so; the Release run covers it).
cmake -S . -B build-asan -DCMAKE_C_COMPILER=$CC -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSWIN_SANITIZE=address,undefined >/dev/null
cmake --build build-asan -j"$JOBS" >/dev/null
ASAN_OPTIONS="detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1" \
  "${norand[@]}" ctest --test-dir build-asan --output-on-failure -j"$JOBS" -E '^python$'
stamp "ctest under ASan + UBSan: clean"

# 2. TSan: one model shared by 8 threads, concurrent loads; the API's thread tests.
#    OPENBLAS_NUM_THREADS=1: OpenBLAS is not instrumented, so its worker threads' accesses are
#    invisible to TSan; with one OpenBLAS thread every GEMM runs on the calling thread, and
#    what is checked is libswin's own sharing (docs/security.md).
cmake -S . -B build-tsan -DCMAKE_C_COMPILER=$CC -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSWIN_SANITIZE=thread >/dev/null
cmake --build build-tsan -j"$JOBS" --target test_threads test_api >/dev/null
# die_after_fork=0: test_fork starts a worker pool in a child forked from a process with
# threads, which TSan refuses by default ("not supported"); its checks stay on in the child.
OPENBLAS_NUM_THREADS=1 TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:die_after_fork=0" \
  "${norand[@]}" ctest --test-dir build-tsan --output-on-failure -R '^(threads|api)$'
stamp "ThreadSanitizer: clean"

# 3. valgrind on every allocation-failure case (the Release build of tools/run-tests.sh).
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$JOBS" --target test_alloc_fail >/dev/null
valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect \
  --error-exitcode=1 build/tests/test_alloc_fail >/dev/null
stamp "valgrind on the allocation-failure cases: clean"

# 4. Fuzzing: each target FUZZ_SECONDS, as many at once as there are cores.
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=$CC -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSWIN_FUZZ=ON -DSWIN_BUILD_TESTS=OFF -DSWIN_BUILD_TOOLS=OFF >/dev/null
cmake --build build-fuzz -j"$JOBS" >/dev/null
rm -rf build-fuzz/fuzz-work
targets="safetensors config npy image model_swin model_swinv2 model_swinv2_cr model_vit
  model_vit_postnorm"
status=0
printf '%s\n' $targets | xargs -P "$JOBS" -I{} \
  "${norand[@]}" tests/fuzz/run.sh build-fuzz {} "$FUZZ_SECONDS" build-fuzz/fuzz-work || status=1
if [ "$status" -ne 0 ]; then
  echo "hardening: a fuzz target found something (inputs in build-fuzz/fuzz-work/artifacts/);"
  echo "  reproduce with build-fuzz/tests/fuzz/fuzz_<target> <input>, fix, and add the input to"
  echo "  tests/fuzz/regressions/<target>/"
  exit 1
fi
stamp "fuzzing, ${FUZZ_SECONDS} s per target: no finding"
