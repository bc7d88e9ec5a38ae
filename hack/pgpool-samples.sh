#!/usr/bin/env bash
# hack/pgpool-samples.sh [DEST] — the configuration files Debian's pgpool2 package
# ships, for the `vigilctl import-pgpool` tests (controller/vigilctl/pgpool/
# pgpool_samples_test.cc): downloads the package with apt-get (nothing is installed),
# unpacks it with dpkg-deb -x in a temporary directory and keeps only the sample
# configurations in DEST (default $PGVIGIL_PGPOOL_SAMPLES or /var/cache/pgvigil/pgpool2).
# Idempotent; hack/install-deps.sh runs it. Without a reachable package archive it
# fails and the tests that need the files skip, saying why.
set -euo pipefail
DEST=${1:-${PGVIGIL_PGPOOL_SAMPLES:-/var/cache/pgvigil/pgpool2}}
if [[ -f $DEST/VERSION ]]; then
  echo "pgpool-samples: pgpool2 $(cat "$DEST/VERSION") samples present in $DEST"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 0755 "$tmp"   # apt's download user must be able to write there
download() { (cd "$tmp" && apt-get download -q pgpool2 >/dev/null 2>&1); }
if ! download; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && download || { echo "pgpool-samples: cannot download pgpool2" >&2; exit 1; }
fi
deb=$(ls "$tmp"/pgpool2_*.deb)
dpkg-deb -x "$deb" "$tmp/x"
mkdir -p "$DEST"
x=$tmp/x
cp "$x/usr/share/pgpool2/pgpool.conf" "$DEST/pgpool.conf"
cp "$x/usr/share/doc/pgpool2/examples/pgpool.conf.sample" "$DEST/pgpool.conf.sample"
cp "$x/etc/pgpool2/pool_hba.conf" "$DEST/pool_hba.conf"
cp "$x/usr/share/doc/pgpool2/examples/pool_hba.conf.sample" "$DEST/pool_hba.conf.sample"
cp "$x/etc/pgpool2/pool_passwd" "$DEST/pool_passwd"
cp "$x/etc/pgpool2/pcp.conf" "$DEST/pcp.conf"
dpkg-deb -f "$deb" Version >"$DEST/VERSION"
chmod -R a+rX "$DEST"
echo "pgpool-samples: pgpool2 $(cat "$DEST/VERSION") samples in $DEST"
