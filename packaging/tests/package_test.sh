#!/usr/bin/env bash
# packaging/tests/package_test.sh DEB — the DEB in a clean Debian 12 root, as a user
# installs it: dpkg -i (every Depends must be satisfiable by Debian 12 alone), each
# binary's --version, the modes and owners postinst sets, the shipped spec valid,
# both units through `systemd-analyze verify` inside the root, the units enabled
# like an admin would; then dpkg --remove (only the configuration stays) and
# dpkg --purge (nothing of the package stays: the root's file list equals the one
# before the install, but for a secret file the admin made by hand).
#
# The base root (mmdebstrap --variant=apt, bookworm, from this machine's apt
# sources, with the package's dependencies and systemd) is cached as a tarball in
# PGVIGIL_PKG_CACHE (default /var/cache/pgvigil-test), keyed by that package list.
# Needs root, mmdebstrap; exits 77 (skip) without them.
set -uo pipefail
DEB=${1:?usage: package_test.sh DEB}
T0=$SECONDS
FAILS=0
PASSES=0
say()  { echo "== [+$((SECONDS - T0))s] $*"; }
pass() { echo "PASS: $*"; PASSES=$((PASSES + 1)); }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }

[[ $EUID -eq 0 ]] || { echo "SKIP: needs root (chroot)"; exit 77; }
command -v mmdebstrap >/dev/null || { echo "SKIP: mmdebstrap missing (hack/install-deps.sh)"; exit 77; }
[[ -f $DEB ]] || { echo "FAIL: $DEB missing"; exit 1; }

WORK=$(mktemp -d /tmp/pgvigil-package-test.XXXXXX)
R=$WORK/root
cleanup() {
  mountpoint -q "$R/proc" && umount "$R/proc"
  rm -rf "$WORK"
}
trap cleanup EXIT

# ---- base root (cached) --------------------------------------------------------------
# shellcheck source=base_root.sh
source "$(dirname "${BASH_SOURCE[0]}")/base_root.sh"
t=$SECONDS
base=$(base_root "$DEB") || { echo "FAIL: no Debian 12 base root"; exit 1; }
say "base root $base ($((SECONDS - t)) s)"
mkdir -p "$R"
tar -C "$R" -xf "$base" || { echo "FAIL: extracting $base"; exit 1; }
in_root() { chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C "$@"; }
# Every path in the root, but for what dpkg, apt and the clock change by themselves.
snapshot() {
  (cd "$R" && find . -xdev \( -path ./proc -o -path ./tmp -o -path ./var/lib/dpkg -o -path ./var/log \
      -o -path ./var/cache -o -path ./run -o -path ./dev \) -prune -o -print | sort)
}
snapshot >"$WORK/before"

# ---- install ---------------------------------------------------------------------------
cp "$DEB" "$R/tmp/pgvigil.deb"
say "dpkg -i $(basename "$DEB")"
if in_root dpkg -i /tmp/pgvigil.deb >"$WORK/install.log" 2>&1; then
  pass "dpkg -i in a clean Debian 12 root (all Depends satisfied by Debian 12 packages)"
else
  cat "$WORK/install.log"; fail "dpkg -i failed"; exit 1
fi
upstream=$(dpkg-deb -f "$DEB" Version | sed 's/-[^-]*$//')
for b in pgvigil-sidecar pgvigil-controller vigilctl; do
  v=$(in_root "/usr/bin/$b" --version 2>&1)
  check "$b --version prints '$b $upstream' (got '$v')" [ "$v" = "$b $upstream" ]
done
v=$(in_root /usr/bin/kubectl-pgvigil --version 2>&1)
check "kubectl-pgvigil (the kubectl plugin name) runs vigilctl (got '$v')" [ "$v" = "vigilctl $upstream" ]
mode_of() { in_root stat -c '%U:%G %a' "$1" 2>/dev/null; }  # names as the root knows them
check "/etc/pgvigil is root:postgres 775" [ "$(mode_of /etc/pgvigil)" = "root:postgres 775" ]
check "/etc/pgvigil/secrets is postgres:postgres 700" [ "$(mode_of /etc/pgvigil/secrets)" = "postgres:postgres 700" ]
check "/var/lib/pgvigil is postgres:postgres 750" [ "$(mode_of /var/lib/pgvigil)" = "postgres:postgres 750" ]
check "/var/log/pgvigil is root:adm 750" [ "$(mode_of /var/log/pgvigil)" = "root:adm 750" ]
check "conffiles registered: the spec, pgvigil.env, rsyslog, logrotate" \
  [ "$(in_root dpkg-query -W -f='${Conffiles}\n' pgvigil | awk 'NF {print $1}' | sort | paste -sd' ')" = \
    "/etc/logrotate.d/pgvigil /etc/pgvigil/cluster.yaml /etc/pgvigil/pgvigil.env /etc/rsyslog.d/pgvigil.conf" ]
out=$(in_root vigilctl validate --no-file-check -f /etc/pgvigil/cluster.yaml 2>&1)
check "the shipped /etc/pgvigil/cluster.yaml is a valid spec ($out)" in_root vigilctl validate --no-file-check -f /etc/pgvigil/cluster.yaml
check "firewalld service lists 9999/tcp 9898/tcp 9000/tcp 9694/udp 9900/tcp" [ \
  "$(grep -o 'protocol="[a-z]*" port="[0-9]*"' "$R/usr/lib/firewalld/services/pgvigil.xml" | sed 's/protocol="\(.*\)" port="\(.*\)"/\2\/\1/' | paste -sd' ')" = \
  "9999/tcp 9898/tcp 9000/tcp 9694/udp 9900/tcp" ]

check "the firewalld service definition is well-formed XML" python3 -c \
  'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' "$R/usr/lib/firewalld/services/pgvigil.xml"
check "rsyslogd -N1 accepts the configuration with /etc/rsyslog.d/pgvigil.conf" in_root rsyslogd -N1
check "logrotate -d accepts /etc/logrotate.d/pgvigil" in_root logrotate -d /etc/logrotate.d/pgvigil
say "systemd-analyze verify (inside the root)"
mount -t proc proc "$R/proc"
# --man=no: the root has no man-db; the pages themselves are checked below.
if in_root systemd-analyze verify --man=no pgvigil-sidecar.service pgvigil-controller.service >"$WORK/verify.log" 2>&1 \
    && ! grep -q . "$WORK/verify.log"; then
  pass "systemd-analyze verify: both units clean"
else
  sed 's/^/  /' "$WORK/verify.log"; fail "systemd-analyze verify reported problems"
fi
# The units' security exposure, for the record (lower is better; 10 is unconfined).
for u in pgvigil-sidecar pgvigil-controller; do
  echo "  $u: $(in_root systemd-analyze security --offline=yes --no-pager /lib/systemd/system/$u.service 2>/dev/null | tail -n1)"
done
umount "$R/proc"
for page in man8/pgvigil-sidecar.8.gz man8/pgvigil-controller.8.gz man1/vigilctl.1.gz man1/kubectl-pgvigil.1.gz; do
  check "man page $page installed" [ -s "$R/usr/share/man/$page" ]
done

# An admin's setup: a secret by hand, the node name, both units enabled.
printf 'k3y\n' >"$R/etc/pgvigil/secrets/watchdog.key"
in_root chown postgres:postgres /etc/pgvigil/secrets/watchdog.key
chmod 0600 "$R/etc/pgvigil/secrets/watchdog.key"
sed -i 's/^PGVIGIL_NODE=.*/PGVIGIL_NODE=server1/' "$R/etc/pgvigil/pgvigil.env"
in_root systemctl enable pgvigil-sidecar.service pgvigil-controller.service >/dev/null 2>&1
check "systemctl enable (offline, in the root) links both units into multi-user.target.wants" \
  [ -L "$R/etc/systemd/system/multi-user.target.wants/pgvigil-sidecar.service" -a \
    -L "$R/etc/systemd/system/multi-user.target.wants/pgvigil-controller.service" ]

# ---- remove: only the configuration stays ------------------------------------------------
say "dpkg --remove pgvigil"
in_root dpkg --remove pgvigil >"$WORK/remove.log" 2>&1 || { cat "$WORK/remove.log"; fail "dpkg --remove failed"; }
left=$(comm -13 "$WORK/before" <(snapshot) | sed 's#^\.##' | paste -sd' ')
want="/etc/logrotate.d/pgvigil /etc/pgvigil /etc/pgvigil/cluster.yaml /etc/pgvigil/pgvigil.env /etc/pgvigil/secrets /etc/pgvigil/secrets/watchdog.key /etc/rsyslog.d/pgvigil.conf"
want+=" /etc/systemd/system/multi-user.target.wants/pgvigil-controller.service /etc/systemd/system/multi-user.target.wants/pgvigil-sidecar.service"
want+=" /var/lib/pgvigil"
check "after remove only the configuration, the admin's links and the state dir are left" [ "$left" = "$want" ]
[[ $left == "$want" ]] || { echo "  left: $left"; echo "  want: $want"; }
check "the edited pgvigil.env survives remove" grep -q '^PGVIGIL_NODE=server1' "$R/etc/pgvigil/pgvigil.env"

# ---- purge: nothing of the package stays -------------------------------------------------
say "dpkg --purge pgvigil"
in_root dpkg --purge pgvigil >"$WORK/purge.log" 2>&1 || { cat "$WORK/purge.log"; fail "dpkg --purge failed"; }
left=$(comm -13 "$WORK/before" <(snapshot) | sed 's#^\.##' | paste -sd' ')
check "after purge the root is as before but for the admin's own secret (left: $left)" \
  [ "$left" = "/etc/pgvigil /etc/pgvigil/secrets /etc/pgvigil/secrets/watchdog.key" ]
gone=$(comm -23 "$WORK/before" <(snapshot) | paste -sd' ')
check "nothing that was there before is missing ($gone)" [ -z "$gone" ]
check "no dpkg-statoverride entry left" bash -c "! chroot '$R' dpkg-statoverride --list | grep -q pgvigil"
check "dpkg no longer knows pgvigil" bash -c "! chroot '$R' dpkg-query -W pgvigil >/dev/null 2>&1"

echo "== package_test: $PASSES passed, $FAILS failed in $((SECONDS - T0)) s"
((FAILS == 0))
