#!/usr/bin/env bash
# Installs what pgvigil needs, builds it, and runs every test (unit, integration
# against real PostgreSQL 15, e2e in the network-namespace lab). Run as root on
# Debian 12. Ends with ctest's summary line.
#   PGVIGIL_BUILD_DIR  build directory (default: build)
#   PGVIGIL_TEST_LABEL run only tests with this ctest label (unit|integration|e2e|package)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${PGVIGIL_BUILD_DIR:-build}

echo "== dependencies"
./hack/install-deps.sh

echo "== build ($BUILD)"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j "$(nproc)"

echo "== tests"
# A lab left over by a crashed run would make the e2e tests fail: clean it first.
if [ "$(id -u)" -eq 0 ] && ip netns list 2>/dev/null | grep -q '^pgv-'; then
  ./hack/lab.sh down || true
fi
args=(--test-dir "$BUILD" --output-on-failure --timeout 900)
[ -n "${PGVIGIL_TEST_LABEL:-}" ] && args+=(-L "$PGVIGIL_TEST_LABEL")
# Unit tests in parallel; integration and e2e tests share machines' ports and the lab.
ctest "${args[@]}" -j "$(nproc)"
