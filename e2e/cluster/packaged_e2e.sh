#!/usr/bin/env bash
# e2e/cluster/packaged_e2e.sh — the seed scenario against pgvigil as the DEB
# installs it (packaged_lib.sh): each host runs pgvigil-sidecar and
# pgvigil-controller with the command lines, user and capabilities of their unit
# files, from the staged package's /usr/bin, with /etc/pgvigil and /var/lib/pgvigil
# of their own.
#   1. both run as postgres; the sidecar holds exactly CAP_NET_ADMIN+CAP_NET_RAW
#      (effective, ambient, bounding) with no_new_privs, the controller none; each
#      reported READY=1 on its notify socket (Type=notify);
#   2. the packaged vigilctl builds the standbys (vigilctl recover), `show pool_nodes`
#      via the VIP shows three nodes up; the servers the sidecars started hold no
#      capability (the VIP commands alone inherit the sidecar's); the VIP is held by the watchdog leader,
#      brought up by a non-root sidecar (ip addr add + arping with those capabilities);
#   3. reload (SIGHUP, the units' ExecReload): a sidecar keeps running on a broken
#      spec and logs every problem; a controller takes a changed spec into use;
#   4. primary crash -> failover, the other standby follows, pool_nodes shows it;
#   5. vigilctl recover of the old primary -> three nodes up.
# Writer and checker run throughout (no two primaries, no two VIP holders; every
# acknowledged row on the primary; async replication, so a loss is reported only).
# Own lab: PGVIGIL_LAB_NS=pgpk, PGVIGIL_LAB_DIR=/tmp/pgvigil-lab-pgpk by default.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=packaged_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/packaged_lib.sh"
e2e_init packaged pgpk
for t in dpkg-deb setpriv unshare cpack; do command -v $t >/dev/null || { echo "SKIP: $t missing"; exit 77; }; done

spec_with "  recovery:\n    automatic: false" >"$E2E_OUT/spec.yaml"
pkg_lab_up "$E2E_OUT/spec.yaml"

# ---- 1. users, capabilities, readiness ----------------------------------------------
pg_uid=$(id -u postgres)
for s in "${SERVERS[@]}"; do
  wait_until 20 pkg_notified sidecar "$s" READY=1
  check "1. $s sidecar: uid postgres, CapEff/CapAmb/CapBnd = NET_ADMIN+NET_RAW, NoNewPrivs" eval \
    '[[ $(pkg_proc_field sidecar $s Uid) == "$pg_uid" && $(pkg_proc_field sidecar $s CapEff) == $PKG_CAPS_VIP &&
        $(pkg_proc_field sidecar $s CapAmb) == $PKG_CAPS_VIP && $(pkg_proc_field sidecar $s CapBnd) == $PKG_CAPS_VIP &&
        $(pkg_proc_field sidecar $s NoNewPrivs) == 1 ]]'
  wait_until 20 pkg_notified controller "$s" READY=1
  check "1. $s controller: uid postgres, no capability at all, NoNewPrivs" eval \
    '[[ $(pkg_proc_field controller $s Uid) == "$pg_uid" && $(pkg_proc_field controller $s CapEff) == $PKG_CAPS_NONE &&
        $(pkg_proc_field controller $s CapBnd) == $PKG_CAPS_NONE && $(pkg_proc_field controller $s NoNewPrivs) == 1 ]]'
  check "1. $s: both reported READY=1 to their notify socket" eval \
    'pkg_notified sidecar $s READY=1 && pkg_notified controller $s READY=1'
done

# ---- 2. standbys, VIP, show pool_nodes --------------------------------------------------
say "2. server1 primary, server2/server3 empty: vigilctl recover (the packaged vigilctl)"
check "2. the controller sees server1 as the primary" wait_until 40 eval '[[ $(cluster_primary) == server1 ]]'
for s in server2 server3; do
  if timeout 180 "$LABSH" exec client "$BIN/vigilctl" recover "$s" >"$E2E_OUT/recover-$s.out" 2>&1; then
    pass "2. vigilctl recover $s"
  else
    fail "2. vigilctl recover $s failed"; tr '\r' '\n' <"$E2E_OUT/recover-$s.out" | tail -n 5
  fi
done
check "2. show pool_nodes via the VIP: three nodes up, server1 primary" wait_until 30 three_up_one_primary server1
# The standbys' servers were started by their sidecars (pg_ctl): they must not inherit
# the sidecar's ambient NET_ADMIN/NET_RAW.
pm_caps() { local pm; pm=$(head -n1 "$E2E_LAB/$1/data/postmaster.pid" 2>/dev/null) || return 1
  awk '$1 == "CapEff:" || $1 == "CapAmb:" {print $2}' "/proc/$pm/status" | sort -u; }
for s in server2 server3; do
  check "2. $s: the PostgreSQL server its sidecar started has no capability (CapEff/CapAmb $(pm_caps $s | paste -sd/))" \
    eval '[[ $(pm_caps $s) == "$PKG_CAPS_NONE" ]]'
done
vip_psql -c "show pool_nodes" | sed 's/^/  /'
leader=$(watchdog_leader)
check "2. the VIP is on the watchdog leader $leader, brought up by a sidecar running as postgres" \
  eval '[[ -n $leader && $(vip_holders) == "$leader" ]]'
check "2. the leader's sidecar ran the VIP commands without an error" \
  bash -c "! grep -E 'vip (up|arping) command' '$E2E_LAB/$leader/sidecar.log' | grep -qiE 'failed|could not'"

start_checker
start_writer
say "writer and checker running ($(acked_count) writes acknowledged)"

# ---- 3. reload ---------------------------------------------------------------------------
r=server3; [[ $leader == server3 ]] && r=server2
# As an admin on the host: edit /etc/pgvigil/cluster.yaml, then systemctl reload.
pkg_host_sh "$r" "cp /etc/pgvigil/cluster.yaml /etc/pgvigil/cluster.yaml.good &&
  sed -i 's/^  healthCheck:/  healthCheck:\\n    bogusKey: 1/' /etc/pgvigil/cluster.yaml"
kill -HUP "$(pkg_pid sidecar "$r")"
check "3. sidecar on $r, SIGHUP with a broken spec: logs the rejection with the file and line" \
  wait_until 10 grep -q "reload of /etc/pgvigil/cluster.yaml: the spec was rejected.*cluster.yaml:[0-9]*:[0-9]*: spec.healthCheck.bogusKey" "$E2E_LAB/$r/sidecar.log"
check "3. ... and keeps running" kill -0 "$(pkg_pid sidecar "$r")"
pkg_host_sh "$r" "cp /etc/pgvigil/cluster.yaml.good /etc/pgvigil/cluster.yaml &&
  sed -i 's/^    retryDelay: 250ms/    retryDelay: 300ms/' /etc/pgvigil/cluster.yaml"
kill -HUP "$(pkg_pid controller "$r")"
check "3. controller on $r, SIGHUP with a changed spec: takes it into use (GET /v1/spec)" \
  wait_until 10 eval "inns client curl -s -m 3 http://${ADDR[$r]}:9900/v1/spec | grep -q 'retryDelay: \"300ms\"'"
check "3. ... logged as taken into use, and RELOADING=1 then READY=1 were notified" eval \
  "grep -q 'the spec changed in: healthCheck; taken into use' '$E2E_LAB/$r/controller.log' && pkg_notified controller $r RELOADING=1"
pkg_host_sh "$r" "mv /etc/pgvigil/cluster.yaml.good /etc/pgvigil/cluster.yaml"
kill -HUP "$(pkg_pid controller "$r")" "$(pkg_pid sidecar "$r")"

# ---- 4. failover ---------------------------------------------------------------------------
old=$(cluster_primary)
say "4. pg_ctl -m immediate stop on the primary $old"
t=$(now_ms)
pg_ctl_on "$old" -m immediate -s stop
NEW=""
if wait_until 60 writable_other "$old"; then
  pass "4. $NEW promoted $(( $(now_ms) - t )) ms after the crash"
else
  fail "4. no standby promoted 60 s after the crash"; e2e_finish yes
fi
check "4. vigilctl status names $NEW the primary" wait_until 20 eval '[[ $(cluster_primary) == "$NEW" ]]'
check "4. writes through the VIP resume" writes_resume 30
report_outage "4. primary crash" "$t"
other=""
for s in "${SERVERS[@]}"; do [[ $s != "$old" && $s != "$NEW" ]] && other=$s; done
check "4. the other standby $other streams from $NEW" wait_until 60 streams_from "$other" "$NEW"
old_down() { pool_nodes | grep -q "^${ADDR[$old]} down "; }
check "4. show pool_nodes: $old down" wait_until 30 old_down
vip_psql -c "show pool_nodes" | sed 's/^/  /'

# ---- 5. recovery ---------------------------------------------------------------------------
say "5. vigilctl recover $old"
if timeout 180 "$LABSH" exec client "$BIN/vigilctl" recover "$old" >"$E2E_OUT/recover.out" 2>&1; then
  pass "5. vigilctl recover $old"
else
  fail "5. vigilctl recover $old failed"; tr '\r' '\n' <"$E2E_OUT/recover.out" | tail -n 5
fi
check "5. $old streams from $NEW" wait_until 60 streams_from "$old" "$NEW"
check "5. show pool_nodes via the VIP: three nodes up, $NEW primary" wait_until 30 three_up_one_primary "$NEW"
vip_psql -c "show pool_nodes" | sed 's/^/  /'

e2e_finish yes
