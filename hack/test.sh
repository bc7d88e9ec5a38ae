#!/usr/bin/env bash
# Installs what pgvigil needs, builds it, and runs every test (unit, integration
# against real PostgreSQL 15, e2e in the network-namespace lab), then the
# sanitizer and fuzzing steps of hack/sanitize.sh named below (docs/testing.md).
# Run as root on Debian 12. Prints each step's wall time; ends with the main
# ctest run's summary line.
#   PGVIGIL_BUILD_DIR  build directory (default: build)
#   PGVIGIL_TEST_LABEL run only tests with this ctest label (unit|integration|e2e|package)
#   PGVIGIL_SANITIZE_STEPS  sanitizer steps to run: fuzz, asan, tsan (default "fuzz"; "" for none)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${PGVIGIL_BUILD_DIR:-build}
STEPS=${PGVIGIL_SANITIZE_STEPS-fuzz}
times=()
# step NAME COMMAND...: runs one step and records its wall time.
step() {
  local name=$1 start=$SECONDS
  shift
  echo "== $name"
  "$@"
  times+=("$name: $((SECONDS - start)) s")
  echo "== $name took $((SECONDS - start)) s"
}

step dependencies ./hack/install-deps.sh

build() {
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD" -j "$(nproc)"
}
step "build ($BUILD)" build

# A lab left over by a crashed run would make the e2e tests fail: clean it first.
if [ "$(id -u)" -eq 0 ] && ip netns list 2>/dev/null | grep -q '^pgv-'; then
  ./hack/lab.sh down || true
fi
args=(--test-dir "$BUILD" --output-on-failure --timeout 900)
[ -n "${PGVIGIL_TEST_LABEL:-}" ] && args+=(-L "$PGVIGIL_TEST_LABEL")
# Unit tests in parallel; integration and e2e tests share machines' ports and the lab.
# The summary is kept so that it can close the output after the sanitizer steps.
tests() {
  set -o pipefail
  ctest "${args[@]}" -j "$(nproc)" 2>&1 | tee "$BUILD/ctest-summary.log"
}
step tests tests

for s in $STEPS; do
  step "sanitize $s" ./hack/sanitize.sh "$s"
done

echo "== wall time per step"
printf '  %s\n' "${times[@]}"
# The main run's closing lines again, so that its summary ends the output.
sed -n '/tests passed/,$p' "$BUILD/ctest-summary.log"
