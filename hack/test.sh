#!/usr/bin/env bash
# Installs what pgvigil needs, builds it, and runs every test (unit, integration
# against real PostgreSQL 15, e2e in the network-namespace lab), then the
# sanitizer and fuzzing steps of hack/sanitize.sh named below (docs/testing.md).
# Run as root on Debian 12. Prints each step's wall time and the sanitizer and
# fuzzing results (tests, reports, each fuzz target's exec count); ends with the
# main ctest run's summary line. Fails if any step failed.
#   PGVIGIL_BUILD_DIR  build directory (default: build)
#   PGVIGIL_TEST_LABEL run only tests with this ctest label (unit|integration|e2e|package)
#   PGVIGIL_SANITIZE_STEPS  sanitizer steps to run, in order: asan, fuzz, tsan
#                           (default "asan fuzz tsan"; "" for none)
#   PGVIGIL_SANITIZE_PREBUILD  1 (default): build those steps' binaries in the
#                           background, at the lowest CPU and I/O priority, while the
#                           main tests (and then the earlier steps) run; each step waits
#                           only for its own build tree; 0: each step builds its own
#                           when it starts
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${PGVIGIL_BUILD_DIR:-build}
STEPS=${PGVIGIL_SANITIZE_STEPS-asan fuzz tsan}
times=()
failed=()
# step NAME COMMAND...: runs one step and records its wall time.
step() {
  local name=$1 start=$SECONDS
  shift
  echo "== $name"
  "$@"
  times+=("$name: $((SECONDS - start)) s")
  echo "== $name took $((SECONDS - start)) s"
}
# sanitize_step MODE: one hack/sanitize.sh step; a failure is recorded and the
# next steps still run, so that one run reports every sanitizer's result.
sanitize_step() {
  local start=$SECONDS rc=0 note=""
  echo "== sanitize $1"
  ./hack/sanitize.sh "$1" || rc=$?
  if [ $rc -ne 0 ]; then
    note=" (FAILED)"
    failed+=("sanitize $1")
  fi
  times+=("sanitize $1: $((SECONDS - start)) s$note")
  echo "== sanitize $1 took $((SECONDS - start)) s$note"
}

step dependencies ./hack/install-deps.sh

build() {
  # Line tables only (-g1): about a third less compile time than -g (docs/testing.md).
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" >/dev/null
  cmake --build "$BUILD" -j "$(nproc)"
}
step "build ($BUILD)" build

# A lab left over by a crashed run would make the e2e tests fail: clean it first.
if [ "$(id -u)" -eq 0 ] && ip netns list 2>/dev/null | grep -q '^pgv-'; then
  ./hack/lab.sh down || true
fi
# The sanitizer builds are CPU work and the main tests mostly wait (PostgreSQL, the
# lab's e2e scenarios one at a time): the builds run meanwhile with what CPU the
# tests leave (nice 19, idle I/O class), and each step below then finds its
# binaries built. Their own process group, so that an early exit stops them.
# setsid also starts a new session, and on a kernel with autogroup scheduling
# (Debian's default) every session is a CPU group that weighs as much as the
# tests' whole session whatever its processes' nice: the builds got half of the
# CPU. The session's own nice value (/proc/self/autogroup) puts them behind.
# Each build writes BUILD/sanitize-prebuild.MODE.done when it is complete.
prebuild_pid=""
if [ -n "$STEPS" ] && [ "${PGVIGIL_SANITIZE_PREBUILD:-1}" = 1 ]; then
  prebuild_log="$BUILD/sanitize-prebuild.log"
  rm -f "$BUILD"/sanitize-prebuild.*.done
  # shellcheck disable=SC2016  # expanded by the inner shell
  setsid nice -n 19 ionice -c 3 bash -c '
    echo 19 2>/dev/null >/proc/self/autogroup || true
    for s in $1; do ./hack/sanitize.sh "$s" build || exit; touch "$2/sanitize-prebuild.$s.done"; done' \
    prebuild "$STEPS" "$BUILD" >"$prebuild_log" 2>&1 &
  prebuild_pid=$!
  trap '[ -z "$prebuild_pid" ] || kill -- -"$prebuild_pid" 2>/dev/null || true' EXIT
  echo "== sanitizer builds started in the background (log: $prebuild_log)"
fi
# tree_of MODE: the build tree a sanitizer step builds and runs in (asan and fuzz share one).
tree_of() { case "$1" in tsan) echo tsan ;; *) echo asan ;; esac; }
# await_prebuild MODE: waits until the background builds have finished every step
# that builds in MODE's tree (or have stopped), so that the step does not run cmake
# in a tree that is still being built; the builds for the other tree go on meanwhile.
await_prebuild() {
  [ -n "$prebuild_pid" ] || return 0
  local s start=$SECONDS pending
  while :; do
    pending=""
    for s in $STEPS; do
      [ "$(tree_of "$s")" = "$(tree_of "$1")" ] && [ ! -f "$BUILD/sanitize-prebuild.$s.done" ] && pending+=" $s"
    done
    [ -z "$pending" ] && break
    if ! kill -0 "$prebuild_pid" 2>/dev/null; then
      echo "== sanitizer background build stopped before$pending; the step builds (log: $prebuild_log)"
      break
    fi
    sleep 1
  done
  times+=("sanitize $1: wait for its background build: $((SECONDS - start)) s")
}
args=(--test-dir "$BUILD" --output-on-failure --timeout 900)
[ -n "${PGVIGIL_TEST_LABEL:-}" ] && args+=(-L "$PGVIGIL_TEST_LABEL")
# Unit tests in parallel; integration and e2e tests share machines' ports and the lab.
# The summary is kept so that it can close the output after the sanitizer steps.
tests() {
  set -o pipefail
  ctest "${args[@]}" -j "$(nproc)" 2>&1 | tee "$BUILD/ctest-summary.log"
}
step tests tests

# A failed background build is not a result: the step rebuilds and reports it.
for s in $STEPS; do
  await_prebuild "$s"
  sanitize_step "$s"
done
if [ -n "$prebuild_pid" ]; then
  wait "$prebuild_pid" 2>/dev/null || true
  prebuild_pid=""
  echo "== sanitizer background builds"
  grep -a 'took' "$prebuild_log" | sed 's/^/  /' || true
fi

echo "== wall time per step"
printf '  %s\n' "${times[@]}"
if [ -n "$STEPS" ]; then
  echo "== sanitizer and fuzzing results"
  for s in $STEPS; do
    case "$s" in tsan) dir=${PGVIGIL_TSAN_BUILD_DIR:-build-tsan} ;; *) dir=${PGVIGIL_ASAN_BUILD_DIR:-build-asan} ;; esac
    if [ -f "$dir/sanitize-$s.result" ]; then
      sed 's/^/  /' "$dir/sanitize-$s.result"
    else
      echo "  sanitize $s: no result (the step stopped before its tests)"
    fi
  done
fi
# The main run's closing lines again, so that its summary ends the output.
sed -n '/tests passed/,$p' "$BUILD/ctest-summary.log"
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
