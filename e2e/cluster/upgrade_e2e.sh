#!/usr/bin/env bash
# e2e/cluster/upgrade_e2e.sh — the rolling upgrade of pgvigil itself (docs/upgrade.md)
# on the packaged lab (packaged_lib.sh): under write load through the VIP, host by
# host, the watchdog leader's host last:
#   stop pgvigil-controller, stop pgvigil-sidecar, (the package would be upgraded
#   here), start the sidecar, wait until it is READY and back in the watchdog with
#   the current routing, start the controller, wait until the cluster is Healthy
#   with three nodes up;
# and after every host: the same primary, on the same timeline, never restarted
# (pg_postmaster_start_time), both standbys still streaming from it. At the end
# every acknowledged write is on the primary (no loss allowed: nothing failed over)
# and the checker saw no two writable primaries and no two VIP holders.
# The binaries before and after are the same build: this checks that the order
# and the restarts cause no failover; which versions may run side by side is
# stated in docs/upgrade.md.
# Own lab: PGVIGIL_LAB_NS=pgup, PGVIGIL_LAB_DIR=/tmp/pgvigil-lab-pgup by default.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=packaged_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/packaged_lib.sh"
e2e_init upgrade pgup
for t in dpkg-deb setpriv unshare nsenter; do command -v $t >/dev/null || { echo "SKIP: $t missing"; exit 77; }; done

pkg_lab_up "$ROOT/manifests/examples/lab.yaml" --standbys
check "the cluster is Healthy with server1 primary" wait_until 60 eval '[[ $(status_field phase) == Healthy ]] && three_up_one_primary server1'
vip_psql -c "show pool_nodes" | sed 's/^/  /'

primary=$(cluster_primary)
pg_facts() { node_psql "$primary" -c "select (select timeline_id from pg_control_checkpoint()) || ' ' || pg_postmaster_start_time()"; }
facts0=$(pg_facts)
say "primary $primary; timeline and start time: $facts0"
[[ -n $facts0 ]] || fail "cannot read the primary's timeline"

start_checker
start_writer
say "writer and checker running ($(acked_count) writes acknowledged)"

leader=$(watchdog_leader)
order=()
for s in "${SERVERS[@]}"; do [[ $s != "$leader" ]] && order+=("$s"); done
order+=("$leader")
say "upgrade order: ${order[*]} (the watchdog leader $leader last)"

ready_count() { grep -c READY=1 "$E2E_LAB/hosts/$2/$1.notify.log" 2>/dev/null; }
member_back() { local st; st=$(watchdog_state "$1" "$1"); [[ $st == STANDBY || $st == LEADER ]]; }
routes_primary() { [[ $(routing_primary "$1") == "$primary" ]]; }
healthy() { [[ $(status_field phase) == Healthy ]] && three_up_one_primary "$primary"; }

for s in "${order[@]}"; do
  t=$(now_ms)
  say "upgrading $s: controller and sidecar stopped, started again"
  pkg_stop controller "$s"
  pkg_stop sidecar "$s"
  # dpkg -i of the new version would replace /usr/bin/* here.
  pkg_start sidecar "$s"
  check "$s: the sidecar reported READY=1" wait_until 30 pkg_notified sidecar "$s" READY=1
  check "$s: its watchdog member is back (STANDBY or LEADER)" wait_until 30 member_back "$s"
  check "$s: its proxy routes to the primary $primary again" wait_until 30 routes_primary "$s"
  pkg_start controller "$s"
  check "$s: the controller reported READY=1" wait_until 30 pkg_notified controller "$s" READY=1
  check "$s: the cluster is Healthy, three nodes up, $primary primary" wait_until 60 healthy
  check "$s: writes through the VIP go on" writes_resume 20
  report_outage "$s restarted" "$t"
  facts=$(pg_facts)
  check "$s: no failover: $primary is still the primary, same timeline, not restarted ($facts)" \
    eval '[[ $(cluster_primary) == "$primary" && $facts == "$facts0" ]] && is_writable "$primary"'
  for o in "${SERVERS[@]}"; do
    [[ $o == "$primary" ]] && continue
    check "$s: $o still streams from $primary" wait_until 20 streams_from "$o" "$primary"
  done
done
vctl status | sed 's/^/  /'
check "the VIP is on the watchdog leader $(watchdog_leader)" eval '[[ $(vip_holders) == "$(watchdog_leader)" ]]'

e2e_finish no
