#!/usr/bin/env bash
# e2e/cluster/import_e2e.sh — `vigilctl import-pgpool` end to end: a Pgpool-II 4.2-style
# pgpool.conf of the lab's three hosts (10.77.0.11-13, VIP 10.77.0.150 on eth0, the
# manual's scripts and settings, pool_hba.conf and pool_passwd from the lab's secrets)
# is imported; the report names the scripts pgvigil makes unnecessary at their lines;
# the spec validates (secret files checked); pgvigil is started from it (server1
# only, as in the manual) and the cluster comes up healthy: the controller builds the
# standbys, `show pool_nodes` via the VIP shows three nodes up, `vigilctl status` is
# Healthy with the imported settings, writes through the VIP are acknowledged, never
# two writable primaries or VIP holders.
# Own lab: PGVIGIL_LAB_NS=pgim, PGVIGIL_LAB_DIR=/tmp/pgvigil-lab-pgim by default.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init import pgim

say "lab.sh up (server1 only), for its secrets and data directories"
"$LABSH" up >"$E2E_OUT/lab-up.log" 2>&1 || { cat "$E2E_OUT/lab-up.log"; fail "lab.sh up"; exit 1; }

CONF=$E2E_OUT/pgpool.conf
cat >"$CONF" <<EOF
# pgpool.conf of a Pgpool-II 4.2+ cluster on the lab's three hosts
backend_clustering_mode = 'streaming_replication'
listen_addresses = '*'
port = 9999
pcp_listen_addresses = '*'
pcp_port = 9898

backend_hostname0 = '${ADDR[server1]}'
backend_port0 = 5432
backend_weight0 = 1
backend_data_directory0 = '$E2E_LAB/server1/data'
backend_flag0 = 'ALLOW_TO_FAILOVER'
backend_application_name0 = 'server1'
backend_hostname1 = '${ADDR[server2]}'
backend_port1 = 5432
backend_weight1 = 1
backend_data_directory1 = '$E2E_LAB/server2/data'
backend_flag1 = 'ALLOW_TO_FAILOVER'
backend_application_name1 = 'server2'
backend_hostname2 = '${ADDR[server3]}'
backend_port2 = 5432
backend_weight2 = 1
backend_data_directory2 = '$E2E_LAB/server3/data'
backend_flag2 = 'ALLOW_TO_FAILOVER'
backend_application_name2 = 'server3'

enable_pool_hba = on
pool_passwd = 'pool_passwd'
load_balance_mode = on
sr_check_user = 'postgres'
sr_check_password = ''
health_check_period = 1
health_check_timeout = 2
health_check_user = 'postgres'
health_check_password = ''
health_check_max_retries = 2
health_check_retry_delay = 1

failover_command = '/etc/pgpool-II/failover.sh %d %h %p %D %m %H %M %P %r %R'
follow_primary_command = '/etc/pgpool-II/follow_primary.sh %d %h %p %D %m %H %M %P %r %R'
recovery_user = 'postgres'
recovery_password = ''
recovery_1st_stage_command = 'recovery_1st_stage'

use_watchdog = on
hostname0 = '${ADDR[server1]}'
wd_port0 = 9000
pgpool_port0 = 9999
hostname1 = '${ADDR[server2]}'
wd_port1 = 9000
pgpool_port1 = 9999
hostname2 = '${ADDR[server3]}'
wd_port2 = 9000
pgpool_port2 = 9999
heartbeat_hostname0 = '${ADDR[server1]}'
heartbeat_port0 = 9694
heartbeat_hostname1 = '${ADDR[server2]}'
heartbeat_port1 = 9694
heartbeat_hostname2 = '${ADDR[server3]}'
heartbeat_port2 = 9694
delegate_IP = '$VIP'
if_up_cmd = '/usr/bin/sudo /sbin/ip addr add \$_IP_\$/24 dev eth0 label eth0:0'
if_down_cmd = '/usr/bin/sudo /sbin/ip addr del \$_IP_\$/24 dev eth0'
arping_path = '/usr/bin'
arping_cmd = 'arping -U \$_IP_\$ -w 1 -I eth0'

log_destination = 'syslog'
syslog_facility = 'LOCAL1'
EOF

say "vigilctl import-pgpool"
SPEC=$E2E_OUT/imported.yaml
"$SRC_BUILD/bin/vigilctl" import-pgpool -f "$CONF" --name lab --secrets-dir "$E2E_LAB/secrets" \
  --hba "$E2E_LAB/secrets/pool_hba.conf" --pool-passwd "$E2E_LAB/secrets/pool_passwd" \
  -o "$SPEC" --report "$E2E_OUT/import-report.txt" -v
rc=$?
sed 's/^/  report: /' "$E2E_OUT/import-report.txt" | head -n 40
((rc == 0)) && pass "import-pgpool succeeded (the spec validates with its secret files)" \
  || { fail "import-pgpool failed (exit $rc)"; exit 1; }
line_of() { grep -n "^$1 " "$CONF" | head -n1 | cut -d: -f1; }
for key in failover_command follow_primary_command recovery_1st_stage_command; do
  grep -q "^$CONF:$(line_of "$key"): $key = " "$E2E_OUT/import-report.txt" \
    && pass "the report names $key at its line ($(line_of "$key")) as unnecessary" \
    || fail "the report does not name $key at line $(line_of "$key")"
done
grep -q "sudo left out" "$E2E_OUT/import-report.txt" && pass "the report says sudo left the VIP commands" \
  || fail "no note about sudo in the report"
check "vigilctl validate -f the imported spec" "$SRC_BUILD/bin/vigilctl" validate -f "$SPEC"

# cluster.sh substitutes /tmp/pgvigil-lab with the lab dir in a template: write one.
sed "s#$E2E_LAB#/tmp/pgvigil-lab#g" "$SPEC" >"$E2E_OUT/template.yaml"
e2e_lab_up "$E2E_OUT/template.yaml"
cmp -s "$SPEC" "$("$CLUSTERSH" spec)" && pass "pgvigil runs the imported spec unchanged" \
  || fail "the running spec differs from the imported one"

say "the controller builds server2 and server3 (recovery.automatic, pgvigil's default)"
t=$SECONDS
if wait_until 120 three_up_one_primary server1; then
  pass "show pool_nodes via the VIP: three nodes up, server1 primary ($((SECONDS - t)) s)"
else
  fail "not three up / server1 primary after 120 s:"; pool_nodes | sed 's/^/  /'
fi
vip_psql -c "show pool_nodes" | sed 's/^/  /'
for s in server2 server3; do check "$s streams from server1" wait_until 30 streams_from "$s" server1; done
check "vigilctl status: phase Healthy" wait_until 30 eval '[[ $(status_field phase) == Healthy ]]'
vctl status | sed 's/^/  /'
st=$(status_json)
inns client curl -s -m 3 "http://$VIP:9900/v1/spec" >"$E2E_OUT/controller-spec.yaml"
if diff <(grep -v '^#' "$SPEC") "$E2E_OUT/controller-spec.yaml" >"$E2E_OUT/spec.diff"; then
  pass "the controller runs exactly the imported spec (GET /v1/spec)"
else
  fail "the controller's spec differs from the imported one: $(head -n 6 "$E2E_OUT/spec.diff")"
fi
for want in 'period: "1s"' 'maxRetries: 2' 'address: "10.77.0.150/24"' 'interface: "eth0"' \
            'upCommand: "/sbin/ip addr add $_IP_$/24 dev eth0 label eth0:0"' 'host: "10.77.0.13"'; do
  grep -qF "$want" "$E2E_OUT/controller-spec.yaml" && pass "imported and running: $want" \
    || fail "the running spec lacks $want"
done
[[ $(echo "$st" | json_get nodes.2.name) == server3 ]] && pass "vigilctl status lists the imported nodes" \
  || fail "vigilctl status does not list server3"
check "one VIP holder" eval '[[ -n $(vip_holders) && $(vip_holders) != *" "* ]]'

start_checker
start_writer
sleep 5
e2e_finish no
