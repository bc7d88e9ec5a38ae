#!/bin/sh
# The image's runtime layer (packaging/image/Dockerfile), run as root at build
# time: the postgres user with uid/gid 999 before any PostgreSQL package (the
# packages keep an existing user), no "main" cluster (pgvigil makes its own
# data directory), then the packages the binaries and PostgreSQL 15 need.
# An offline base (build-image.sh --offline) has all of it already; then
# nothing is installed.
set -eu
PKGS="postgresql-15 postgresql-client-15 libcpprest2.10 libyaml-cpp0.7 libspdlog1.10 libfmt9 libssl3 ca-certificates procps"

if ! getent group postgres >/dev/null; then
  groupadd --system --gid 999 postgres
fi
if ! getent passwd postgres >/dev/null; then
  useradd --system --uid 999 --gid 999 --home-dir /var/lib/postgresql --shell /bin/bash \
    --comment "PostgreSQL administrator" postgres
fi
if [ "$(id -u postgres)" != 999 ] || [ "$(id -g postgres)" != 999 ]; then
  echo "setup-runtime: user postgres is $(id postgres), not uid/gid 999" >&2
  exit 1
fi
mkdir -p /etc/postgresql-common
grep -qs '^create_main_cluster = false' /etc/postgresql-common/createcluster.conf ||
  echo 'create_main_cluster = false' >>/etc/postgresql-common/createcluster.conf

missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing
  apt-get clean
  rm -rf /var/lib/apt/lists/*
fi
[ -x /usr/lib/postgresql/15/bin/postgres ] || { echo "setup-runtime: no PostgreSQL 15" >&2; exit 1; }

# The PVC mount point, the spec and secrets, the socket directory.
mkdir -p /var/lib/postgresql/data /etc/pgvigil /var/run/postgresql
chown -R postgres:postgres /var/lib/postgresql /etc/pgvigil /var/run/postgresql
chmod 2775 /var/run/postgresql
