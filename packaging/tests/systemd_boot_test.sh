#!/usr/bin/env bash
# packaging/tests/systemd_boot_test.sh DEB — the units under systemd as PID 1: the
# DEB installed in a clean Debian 12 root (base_root.sh), which is then booted with
# systemd-nspawn --boot (private network). Inside, boot_checks.sh starts, reloads,
# restarts and stops pgvigil-sidecar and pgvigil-controller with a loopback spec
# (boot-cluster.yaml) and checks the user, capabilities, no_new_privs, sandbox,
# Type=notify start, the VIP command (removing a stale VIP as postgres), the journal,
# vigilctl apply writing /etc/pgvigil, and a clean stop. PostgreSQL is not
# installed: the units are what is under test, not a cluster.
# Needs root and systemd-nspawn (systemd-container); exits 77 (skip) without them.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DEB=${1:?usage: systemd_boot_test.sh DEB}
T0=$SECONDS
[[ $EUID -eq 0 ]] || { echo "SKIP: needs root"; exit 77; }
for t in mmdebstrap systemd-nspawn; do command -v $t >/dev/null || { echo "SKIP: $t missing (hack/install-deps.sh)"; exit 77; }; done
# shellcheck source=base_root.sh
source "$HERE/base_root.sh"
base=$(base_root "$DEB") || { echo "FAIL: no Debian 12 base root"; exit 1; }
WORK=$(mktemp -d /tmp/pgvigil-boot-test.XXXXXX)
R=$WORK/root
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$R" && tar -C "$R" -xf "$base" || { echo "FAIL: extracting $base"; exit 1; }
in_root() { chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C "$@"; }
cp "$DEB" "$R/tmp/pgvigil.deb"
in_root dpkg -i /tmp/pgvigil.deb >"$WORK/install.log" 2>&1 || { cat "$WORK/install.log"; echo "FAIL: dpkg -i"; exit 1; }

# An admin's setup: spec, node, secrets (postgres, 0600).
cp "$HERE/boot-cluster.yaml" "$R/etc/pgvigil/cluster.yaml"
sed -i 's/^PGVIGIL_NODE=.*/PGVIGIL_NODE=server1/' "$R/etc/pgvigil/pgvigil.env"
s=$R/etc/pgvigil/secrets
printf 'pw\n' >"$s/postgres.password"; printf 'pw\n' >"$s/repl.password"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$s/watchdog.key"
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$s/api.token"
printf 'host all all 0.0.0.0/0 scram-sha-256\n' >"$s/pool_hba.conf"
printf 'postgres:TEXTpw\n' >"$s/pool_passwd"
in_root chown postgres:postgres /etc/pgvigil/secrets/postgres.password /etc/pgvigil/secrets/repl.password \
  /etc/pgvigil/secrets/watchdog.key /etc/pgvigil/secrets/api.token /etc/pgvigil/secrets/pool_hba.conf \
  /etc/pgvigil/secrets/pool_passwd
chmod 0600 "$s"/*
in_root vigilctl validate -f /etc/pgvigil/cluster.yaml || { echo "FAIL: the boot spec does not validate in the root"; exit 1; }

# The checks run as a oneshot unit once the system is up, then power off.
cp "$HERE/boot_checks.sh" "$R/root/boot_checks.sh"
cat >"$R/etc/systemd/system/pgvigil-boot-checks.service" <<'UNIT'
[Unit]
Description=pgvigil packaging checks under systemd
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/bin/sh /root/boot_checks.sh
StandardOutput=journal+console
[Install]
WantedBy=multi-user.target
UNIT
in_root systemctl enable pgvigil-boot-checks.service >/dev/null 2>&1

echo "== [+$((SECONDS - T0))s] systemd-nspawn --boot (systemd as PID 1, private network)"
timeout 180 systemd-nspawn --quiet --directory="$R" --private-network --register=no --keep-unit \
  --boot >"$WORK/boot.log" 2>&1
rc=$?
sed 's/^/  /' "$R/root/boot-checks.out" 2>/dev/null
if [[ ! -s $R/root/boot-checks.out ]] || ! grep -q '^DONE' "$R/root/boot-checks.out"; then
  echo "FAIL: the checks did not finish (systemd-nspawn exit $rc); console:"; tail -n 40 "$WORK/boot.log"
  exit 1
fi
fails=$(grep -c '^FAIL' "$R/root/boot-checks.out")
passes=$(grep -c '^PASS' "$R/root/boot-checks.out")
if ((fails > 0)); then
  echo "--- journal of the units"
  in_root journalctl -q --no-pager -D /var/log/journal -u pgvigil-sidecar -u pgvigil-controller 2>/dev/null | tail -n 40
fi
echo "== systemd_boot_test: $passes passed, $fails failed in $((SECONDS - T0)) s"
((fails == 0))
