#!/usr/bin/env bash
# Smoke test of the image (ctest image_smoke, label package): builds it with
# build-image.sh --offline (podman, mmdebstrap base, this build's binaries; no
# registry), then checks its labels and user, and runs it with no network and
# a read-only root: uid/gid 999, the three binaries report the project's
# version, and PostgreSQL 15 initialises, starts and answers psql as that user.
# Not checked here: the image under Kubernetes (hack/kind.sh), the builder
# stage that compiles inside the image (needs a registry for debian:12).
#   $1: the build directory (binaries in $1/bin)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export PGVIGIL_BUILD_DIR=${1:-$ROOT/build}
. "$ROOT/packaging/image/podman_args.sh"
[ "$(id -u)" -eq 0 ] || { echo "image_smoke: needs root (podman, mmdebstrap): skipped"; exit 77; }
command -v podman >/dev/null || { echo "image_smoke: podman missing (hack/install-deps.sh)"; exit 1; }
VERSION=$(sed -n 's/^project(pgvigil VERSION \([0-9.]*\).*/\1/p' "$ROOT/CMakeLists.txt")
TAG=localhost/pgvigil-smoke:$$
cleanup() { podman rmi -f "$TAG" >/dev/null 2>&1 || true; }
trap cleanup EXIT
fails=0
check() { # check NAME GOT WANT
  if [ "$2" = "$3" ]; then echo "ok: $1 ($2)"; else echo "FAIL: $1: got '$2', want '$3'"; fails=$((fails + 1)); fi
}

"$ROOT/packaging/image/build-image.sh" --offline --tag "$TAG" >/tmp/pgvigil-image-smoke.$$.log 2>&1 ||
  { tail -40 /tmp/pgvigil-image-smoke.$$.log; rm -f /tmp/pgvigil-image-smoke.$$.log; echo "FAIL: image build"; exit 1; }
rm -f /tmp/pgvigil-image-smoke.$$.log

label() { podman image inspect --format "{{ index .Config.Labels \"$1\" }}" "$TAG"; }
check "label org.opencontainers.image.version" "$(label org.opencontainers.image.version)" "$VERSION"
check "label io.pgvigil.postgresql.major" "$(label io.pgvigil.postgresql.major)" "15"
check "image user" "$(podman image inspect --format '{{ .Config.User }}' "$TAG")" "999:999"

out=$(podman "${PODMAN_GLOBAL[@]}" run --rm "${PODMAN_RUN[@]}" --network=none --read-only \
  --tmpfs /tmp "$TAG" sh -ec '
  echo "uid=$(id -u) gid=$(id -g) user=$(id -un)"
  for b in pgvigil-sidecar pgvigil-controller vigilctl; do echo "$b: $($b --version 2>&1 | head -1)"; done
  initdb -D /tmp/pgdata -U postgres --auth=trust >/tmp/initdb.log 2>&1 || { cat /tmp/initdb.log; exit 1; }
  pg_ctl -D /tmp/pgdata -o "-c listen_addresses= -k /tmp" -l /tmp/pg.log -w start >/dev/null || { cat /tmp/pg.log; exit 1; }
  echo "psql: $(psql -h /tmp -U postgres -At -F " " -c "select current_user, current_setting(\$\$server_version_num\$\$)::int / 10000")"
  pg_ctl -D /tmp/pgdata -m fast -w stop >/dev/null
' 2>&1) || { echo "$out"; echo "FAIL: the container run"; exit 1; }
echo "$out"
check "process user" "$(sed -n 's/^uid=\(.*\)$/\1/p' <<<"$out")" "999 gid=999 user=postgres"
for b in pgvigil-sidecar pgvigil-controller vigilctl; do
  got=$(sed -n "s/^$b: //p" <<<"$out")
  case $got in *"$VERSION"*) check "$b --version" "$VERSION" "$VERSION" ;; *) check "$b --version" "$got" "$VERSION" ;; esac
done
check "psql through PostgreSQL 15" "$(sed -n 's/^psql: //p' <<<"$out")" "postgres 15"
[ "$fails" -eq 0 ] || { echo "image_smoke: $fails check(s) failed"; exit 1; }
echo "image_smoke: all checks passed"
