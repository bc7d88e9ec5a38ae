#!/usr/bin/env bash
# Sanitizer and fuzzing runs (hack/test.sh runs all three; docs/testing.md).
#   hack/sanitize.sh asan   ASan + UBSan build (clang) of the binaries labelled `asan`
#                           in cmake/Sanitizers.cmake, then `ctest -L asan`
#   hack/sanitize.sh fuzz   the libFuzzer targets (same build directory), each run
#                           for PGVIGIL_FUZZ_SECONDS (default 20) from fuzz/corpus/
#   hack/sanitize.sh tsan   TSan build of the binaries labelled `tsan`, then `ctest -L tsan`
#   hack/sanitize.sh MODE build   only configures and builds what MODE runs (hack/test.sh
#                           does this in the background while the main tests run)
# Environment: PGVIGIL_ASAN_BUILD_DIR (default build-asan), PGVIGIL_TSAN_BUILD_DIR
# (default build-tsan), PGVIGIL_SANITIZE_JOBS (ctest and build parallelism, default nproc).
# Every sanitizer report, in the test binaries and in the processes they start
# (sidecars, controllers), goes to a file under BUILD/sanitizer-logs/; a run with
# any report fails and prints them. UBSan stops at its first report.
# Each mode ends by writing its result (tests passed and failed, reports found;
# for fuzz one line per target with its exec count) to BUILD/sanitize-MODE.result,
# which hack/test.sh prints at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
mode=${1:-}
only=${2:-}
case "$only" in
  "" | build) ;;
  *) echo "usage: $0 asan|fuzz|tsan [build]" >&2; exit 2 ;;
esac
jobs=${PGVIGIL_SANITIZE_JOBS:-$(nproc)}
supp=$root/hack/sanitizers

case "$mode" in
  asan | fuzz) build=${PGVIGIL_ASAN_BUILD_DIR:-build-asan} ;;
  tsan) build=${PGVIGIL_TSAN_BUILD_DIR:-build-tsan} ;;
  *) echo "usage: $0 asan|fuzz|tsan [build]" >&2; exit 2 ;;
esac
targets=(asan_tests)
[ "$mode" = fuzz ] && targets=(fuzz_targets)
[ "$mode" = tsan ] && targets=(tsan_tests)

configure() {
  local san=$1; shift
  # Debug with -O1: assertions stay on, the runs stay reasonably fast. Line
  # tables only: reports keep function, file and line, and the build takes far
  # less time than with full debug info.
  cmake -S . -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS_DEBUG="-gline-tables-only -O1" -DPGVIGIL_SANITIZE="$san" "$@" >/dev/null
}

# Wall time of each part, for docs/testing.md.
timed() {
  local what=$1 start=$SECONDS rc=0; shift
  "$@" || rc=$?
  echo "sanitize $mode: $what took $((SECONDS - start)) s (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  return $rc
}

# Configures MODE's build directory (asan and fuzz share one) and builds what it runs.
build_mode() {
  if [ "$mode" = tsan ]; then
    configure thread
  else
    configure address,undefined -DPGVIGIL_FUZZ=ON
  fi
  timed build cmake --build "$build" -j "$jobs" --target "${targets[@]}"
}
if [ "$only" = build ]; then
  build_mode
  exit 0
fi

logs=$root/$build/sanitizer-logs
result=$root/$build/sanitize-$mode.result
rm -rf "$logs" "$result"
mkdir -p "$logs"
if [ "$mode" = fuzz ]; then
  # libFuzzer prints the report itself and keeps the input (fuzz/run_fuzzer.sh).
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$supp/ubsan.supp"
elif [ "$mode" = asan ]; then
  export ASAN_OPTIONS="log_path=$logs/asan:halt_on_error=1:detect_leaks=1:strict_string_checks=1:check_initialization_order=1"
  export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="log_path=$logs/ubsan:print_stacktrace=1:halt_on_error=1:suppressions=$supp/ubsan.supp"
else
  # Only TSan's options: the runtimes share log_path, and UBSan's would win.
  unset UBSAN_OPTIONS
  export TSAN_OPTIONS="log_path=$logs/tsan:suppressions=$supp/tsan.supp:print_suppressions=0:halt_on_error=0:second_deadlock_stack=1"
fi

# Prints every sanitizer report left by the run; fails when there is one.
reports() {
  local files
  files=$(find "$logs" -type f 2>/dev/null | sort)
  [ -z "$files" ] && return 0
  echo "sanitizer reports ($mode):"
  for f in $files; do
    echo "---- $f"
    cat "$f"
  done
  return 1
}

# Runs the tests labelled $1 and writes the step's result line.
run_tests() {
  local label=$1 rc=0 out=$root/$build/ctest-$1.log summary nrep
  ctest --test-dir "$build" -L "$label" --output-on-failure --timeout 900 -j "$jobs" 2>&1 |
    tee "$out" || rc=$?
  reports || rc=1
  summary=$(grep -a -E '^[0-9]+% tests passed' "$out" | tail -1)
  nrep=$(find "$logs" -type f | wc -l)
  local where=""
  [ "$nrep" -eq 0 ] || where=" in $logs"
  echo "sanitize $mode: ${summary:-no ctest summary}; $nrep sanitizer report(s)$where" | tee "$result"
  return $rc
}

case "$mode" in
  asan)
    build_mode
    # The election simulator with a tenth of its seeds (the normal build runs them all).
    export WATCHDOG_SIM_RUNS=${WATCHDOG_SIM_RUNS:-200}
    timed tests run_tests asan
    ;;
  fuzz)
    build_mode
    rc=0
    timed run ctest --test-dir "$build" -L fuzz --output-on-failure --timeout 900 -j "$jobs" || rc=$?
    # One line per target: exec count, time, coverage, inputs (fuzz/run_fuzzer.sh).
    cat "$build"/fuzz/*/summary | tee "$result"
    exit $rc
    ;;
  tsan)
    build_mode
    timed tests run_tests tsan
    ;;
esac
