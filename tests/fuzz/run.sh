#!/usr/bin/env bash
# Runs one libFuzzer target of a SWIN_FUZZ build for a bounded time, from its seeds (corpus/,
# regressions/, and tests/fixtures/bad for safetensors), with its dictionary. New inputs go to
# WORK/<target>, a crash or leak or timeout to WORK/artifacts/<target>/ (libFuzzer exits
# non-zero: a finding). The last line is a summary: executions, coverage, features.
#   tests/fuzz/run.sh BUILD_DIR TARGET SECONDS [WORK]
# FUZZ_TIMEOUT (seconds, default 10): how long one input may run before it counts as a hang.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$1" t="$2" secs="$3" work="${4:-$1/fuzz-work}"
case "$t" in
  safetensors|model_*) dict=safetensors.dict ;;
  *) dict="$t.dict" ;;
esac
seeds=("$here/corpus/$t")
[ -d "$here/regressions/$t" ] && seeds+=("$here/regressions/$t")
[ "$t" = safetensors ] && seeds+=("$here/../fixtures/bad")
mkdir -p "$work/$t" "$work/artifacts/$t"
log="$work/$t.log"
# allocator_may_return_null: a huge request the library refuses is a status, not a finding;
# libFuzzer still reports any single allocation above -malloc_limit_mb (= -rss_limit_mb).
# A small quarantine, and free memory handed back to the system twice a second, keep the
# process's RSS near what is live: with ASan's defaults, freed blocks of inputs of every size
# piled up (fuzz_image: 938 MB after two minutes, 2.6 GB once in CI, an "out-of-memory"
# finding) while no input needed more than 43 MB on its own.
rc=0
ASAN_OPTIONS="allocator_may_return_null=1:detect_leaks=1:quarantine_size_mb=16:allocator_release_to_os_interval_ms=500:${ASAN_OPTIONS:-}" \
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}" \
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb=2048 \
  -dict="$here/$dict" -artifact_prefix="$work/artifacts/$t/" -print_final_stats=1 \
  "$work/$t" "${seeds[@]}" >"$log" 2>&1 || rc=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
if [ "$rc" -ne 0 ]; then
  echo "fuzz_$t: FINDING (exit $rc) after ${runs:-?} runs; log $log, input in $work/artifacts/$t/"
  grep -E 'ERROR|SUMMARY|runtime error|FUZZ_CHECK|Test unit written' "$log" | head -20
  exit "$rc"
fi
echo "fuzz_$t: ${secs}s, ${runs:-?} runs, ${cov:-cov ?}, corpus $(ls "$work/$t" | wc -l) files, no finding"
