#!/usr/bin/env bash
# Builds the pgvigil image from packaging/image/Dockerfile.
#   build-image.sh [--tag IMAGE] [--engine docker|podman]
#       for users with Docker (or podman) and a registry: BASE debian:12 is
#       pulled, the binaries are compiled in the builder stage with the
#       project's own steps (hack/install-deps.sh, the CMake build).
#   build-image.sh --offline [--tag IMAGE]
#       no registry (CI here): podman, a base imported from a Debian 12 root that
#       mmdebstrap makes from this machine's apt sources with the runtime
#       packages and the postgres user (uid 999) in it (cached in
#       PGVIGIL_PKG_CACHE, default /var/cache/pgvigil-test), and the binaries
#       of the project's CMake build in PGVIGIL_BUILD_DIR (default build).
# Prints the image name on its last line. Default tag: pgvigil/pgvigil:VERSION-pg15.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VERSION=$(sed -n 's/^project(pgvigil VERSION \([0-9.]*\).*/\1/p' "$ROOT/CMakeLists.txt")
TAG="pgvigil/pgvigil:$VERSION-pg15"
ENGINE=""
OFFLINE=""
while [ $# -gt 0 ]; do
  case $1 in
    --tag) TAG=$2; shift 2 ;;
    --engine) ENGINE=$2; shift 2 ;;
    --offline) OFFLINE=1; shift ;;
    *) echo "build-image: unknown argument $1" >&2; exit 2 ;;
  esac
done

if [ -z "$OFFLINE" ]; then
  if [ -z "$ENGINE" ]; then
    if command -v docker >/dev/null && docker info >/dev/null 2>&1; then ENGINE=docker; else ENGINE=podman; fi
  fi
  "$ENGINE" build -f "$ROOT/packaging/image/Dockerfile" --build-arg VERSION="$VERSION" -t "$TAG" "$ROOT" >&2
  echo "$TAG"
  exit 0
fi

# --- offline: podman, mmdebstrap base, prebuilt binaries
. "$ROOT/packaging/image/podman_args.sh"
BUILD=${PGVIGIL_BUILD_DIR:-$ROOT/build}
for b in pgvigil-sidecar pgvigil-controller vigilctl; do
  [ -x "$BUILD/bin/$b" ] || { echo "build-image: $BUILD/bin/$b missing: build it first" >&2; exit 1; }
done
PKGS=$(sed -n 's/^PKGS="\(.*\)"$/\1/p' "$ROOT/packaging/image/setup-runtime.sh")
sources=""
for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
  [ -s "$f" ] && { sources=$f; break; }
done
[ -n "$sources" ] || { echo "build-image: no apt sources for mmdebstrap" >&2; exit 1; }
# The user and group exist before the PostgreSQL packages are unpacked, so that
# they keep uid/gid 999; no "main" cluster.
hook='printf "postgres:x:999:999:PostgreSQL administrator:/var/lib/postgresql:/bin/bash\n" >>"$1/etc/passwd"
printf "postgres:x:999:\n" >>"$1/etc/group"
if [ -e "$1/etc/shadow" ]; then printf "postgres:*:19000:0:99999:7:::\n" >>"$1/etc/shadow"; fi
if [ -e "$1/etc/gshadow" ]; then printf "postgres:!::\n" >>"$1/etc/gshadow"; fi
mkdir -p "$1/etc/postgresql-common"
printf "create_main_cluster = false\n" >"$1/etc/postgresql-common/createcluster.conf"'
cache=${PGVIGIL_PKG_CACHE:-/var/cache/pgvigil-test}
key=$(printf '%s\n%s\n%s' "$PKGS" "$hook" "$(sha256sum <"$sources")" | sha256sum | cut -c1-16)
base_tar=$cache/image-base-bookworm-$key.tar
base_image=localhost/pgvigil-image-base:bookworm-$key
mkdir -p "$cache"
(
  flock 9
  if [ ! -s "$base_tar" ]; then
    echo "build-image: mmdebstrap bookworm with $PKGS -> $base_tar (cached)" >&2
    if ! mmdebstrap --quiet --format=tar --variant=apt --include="${PKGS// /,}" \
        --essential-hook="$hook" bookworm "$base_tar.tmp" "$sources" >"$base_tar.log" 2>&1; then
      tail -n 30 "$base_tar.log" >&2
      rm -f "$base_tar.tmp"
      exit 1
    fi
    mv "$base_tar.tmp" "$base_tar"
  fi
  if ! podman image exists "$base_image"; then
    podman import --quiet "$base_tar" "$base_image" >/dev/null
  fi
) 9>"$cache/.image-lock"

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/prebuilt" "$ctx/packaging/image"
cp "$ROOT/packaging/image/Dockerfile" "$ROOT/packaging/image/setup-runtime.sh" "$ctx/packaging/image/"
for b in pgvigil-sidecar pgvigil-controller vigilctl; do
  cp "$BUILD/bin/$b" "$ctx/prebuilt/$b"
  strip --strip-debug "$ctx/prebuilt/$b"
done
podman "${PODMAN_GLOBAL[@]}" build "${PODMAN_RUN[@]}" --network=none --pull=never \
  -f "$ctx/packaging/image/Dockerfile" --build-arg BASE="$base_image" --build-arg BINARIES=prebuilt \
  --build-arg VERSION="$VERSION" -t "$TAG" "$ctx" >&2
echo "$TAG"
