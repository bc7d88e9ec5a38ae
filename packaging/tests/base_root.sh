# packaging/tests/base_root.sh — sourced by the package tests: base_root DEB prints
# the path of a clean Debian 12 root tarball (mmdebstrap --variant=apt, bookworm,
# from this machine's apt sources, with the DEB's dependencies, systemd, and
# rsyslog and logrotate to check the package's snippets with),
# made once and cached in PGVIGIL_PKG_CACHE (default /var/cache/pgvigil-test),
# keyed by that package list and the sources. Tests running at once share it (flock).
# shellcheck shell=bash
base_root() {
  local deb=$1 cache=${PGVIGIL_PKG_CACHE:-/var/cache/pgvigil-test} sources=${PGVIGIL_APT_SOURCES:-} f
  if [[ -z $sources ]]; then
    for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
      [[ -s $f ]] && { sources=$f; break; }
    done
  fi
  [[ -n $sources ]] || { echo "base_root: no apt sources on this machine for mmdebstrap" >&2; return 1; }
  # The DEB's Depends, first alternative, without versions; plus systemd, rsyslog, logrotate.
  local deps include key base
  deps=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*//; s/ //g' | grep -v '^$' | sort -u)
  include=$(printf '%s\n' $deps systemd rsyslog logrotate | sort -u | paste -sd, -)
  key=$(printf '%s %s' "$include" "$(sha256sum <"$sources" | cut -c1-16)" | sha256sum | cut -c1-16)
  base=$cache/bookworm-apt-$key.tar
  mkdir -p "$cache"
  (
    flock 9
    if [[ ! -s $base ]]; then
      echo "base_root: mmdebstrap bookworm (variant apt) with $include -> $base (cached for later runs)" >&2
      if ! mmdebstrap --quiet --format=tar --variant=apt --include="$include" bookworm "$base.tmp" "$sources" \
          >"$base.log" 2>&1; then
        tail -n 30 "$base.log" >&2; rm -f "$base.tmp"
        echo "base_root: mmdebstrap could not make the Debian 12 root" >&2; exit 1
      fi
      mv "$base.tmp" "$base"
    fi
  ) 9>"$cache/.lock" || return 1
  echo "$base"
}
