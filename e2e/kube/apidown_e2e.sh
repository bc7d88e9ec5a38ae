#!/usr/bin/env bash
# e2e/kube/apidown_e2e.sh — kube-lab scenario 4 (KUBERNETES.md §6, "API server
# down"; §9): the API server stand-in unavailable for 30 s. After the bootstrap of
# bootstrap_e2e.sh, with the writer through NAME-rw and the primary checker
# running, kube-fake's control endpoint POST /down closes its listening socket and
# every open connection (clients get "connection refused"), POST /up opens it
# again 30 s later on the same port. kube-fake is one process and keeps its
# objects meanwhile, as an API server with its etcd would (a restart would lose
# them: the double keeps no files). Passes when:
#   - the writer through NAME-rw sees no error from just before the outage to
#     after it (its error count does not move), and writes go on throughout;
#   - no failover: the same primary, the same status.term and routing generation
#     afterwards, no promote in the controller log, every proxy routes to the
#     primary throughout (asked every second from the client namespace);
#   - the controller stops acting during the outage (at the latest by its renew
#     deadline) and resumes afterwards: the Lease renewed again (renewTime moves),
#     a spec change made after the outage applied (an annotation on the NAME
#     Service) and recorded in the status (observedGeneration), Ready=True;
#   - never two writable primaries, no acknowledged write lost.
# Own lab: PGVIGIL_LAB_NS=kad, PGVIGIL_LAB_DIR=/tmp/pgvigil-lab-kad by default.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
kube_init kube_apidown kad
DOWN_S=30
kube_lab_up
kube_bootstrap_cluster

old=$(writable_host)
must "7. one writable primary ($old)" eval '[[ -n $old && $old != *" "* ]]'
pod=$KUBE_CR-$(( ${old#server} - 1 ))
lease_renew() {
  kube_get /apis/coordination.k8s.io/v1/namespaces/pgvigil-system/leases/pgvigil-controller |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["spec"]["renewTime"])' 2>/dev/null
}
term0=$(cr_field "c['status']['term']")
gen0=$(cr_field "c['status'].get('routingGeneration', '')")
renew0=$(lease_renew)
must "8. status.term ($term0) and the Lease's renewTime ($renew0) readable" eval '[[ -n $term0 && -n $renew0 ]]'
# Routing as every proxy sees it, once a second: "MS server1=P server2=P server3=P".
(while :; do line="$(now_ms)"
  for s in "${SERVERS[@]}"; do
    p=$(inns client curl -s -m 1 "http://${ADDR[$s]}:9898/v1/proxy/routing" | json_get primary)
    line+=" $s=${p:-none}"
  done
  echo "$line"; sleep 1; done) >"$E2E_OUT/routing" 2>/dev/null &
KUBE_PIDS+=($!)
promotes0=$(grep -c 'action promote' "$E2E_LAB/kube/controller.log")
sleep 2
errors() { wc -l <"$E2E_OUT/writer.err"; }
acks_before=$(acked_count); err0=$(errors)

say "9. API server down for $DOWN_S s (kube-fake POST /down); primary $pod on $old, term $term0; load $(cut -d' ' -f1-3 /proc/loadavg)"
# Counted before the outage: the controller may stop acting within milliseconds
# of it (its next API call fails), before the first check below returns.
stops0=$(grep -c 'controller stops acting' "$E2E_LAB/kube/controller.log")
t=$(now_ms)
kubefake_ctl /down | sed 's/^/  /'
check "9. the API answers no more" eval '! kube_get /api/v1/namespaces/db/pods >/dev/null'
# The controller's acting window closes by the renew deadline (10 s).
check "9. the controller stops acting (at the latest by its renew deadline)" wait_until 25 eval \
  '(( $(grep -c "controller stops acting" "$E2E_LAB/kube/controller.log") > stops0 ))'
say "9. the controller stopped acting: $(grep 'controller stops acting' "$E2E_LAB/kube/controller.log" | tail -n1 | cut -c1-200)"
starts0=$(grep -c 'controller starts acting' "$E2E_LAB/kube/controller.log")
sleep $(( DOWN_S - ($(now_ms) - t) / 1000 ))
acks_during=$(( $(acked_count) - acks_before ))
say "10. API server up again after $(( $(now_ms) - t )) ms (POST /up)"
kubefake_ctl /up | sed 's/^/  /'
t_up=$(now_ms)
check "10. the API answers again" wait_until 10 eval 'kube_get /api/v1/namespaces/db/pods >/dev/null'
check "10. writes went on during the outage ($acks_during acknowledged)" eval '((acks_during > 100))'

check "11. the Lease is renewed again" wait_until 60 eval '[[ -n $(lease_renew) && $(lease_renew) != "$renew0" ]]'
check "11. the controller acts again" wait_until 60 eval \
  '(( $(grep -c "controller starts acting" "$E2E_LAB/kube/controller.log") > starts0 ))'
log_ms() { date -d "$(cut -c1-23 <<<"$1")" +%s%3N 2>/dev/null || echo 0; }
acting_at=$(log_ms "$(grep 'controller starts acting' "$E2E_LAB/kube/controller.log" | tail -n1)")
say "11. the controller acts again $(( acting_at - t_up )) ms after the API came back"
# The status is written again: a spec change made after the outage (an annotation
# on the NAME Service) must be applied and recorded (status.observedGeneration).
gen_before=$(cr_field "c['metadata']['generation']")
sed 's/services: {pool: {type: LoadBalancer}}/services: {pool: {type: LoadBalancer, annotations: {pgvigil.io\/e2e: after-api-outage}}}/' \
  "$E2E_OUT/example.yaml" >"$E2E_OUT/example-annotated.yaml"
kubefake_ctl /apply "$E2E_OUT/example-annotated.yaml" | grep -i postgrescluster | sed 's/^/  /'
gen_after=$(cr_field "c['metadata']['generation']")
check "11. the spec change made a new generation ($gen_before -> $gen_after)" eval '((gen_after > gen_before))'
check "11. the status is updated: observedGeneration $gen_after" wait_until 60 eval \
  '[[ $(cr_field "c[\"status\"][\"observedGeneration\"]") == "$gen_after" ]]'
check "11. the $KUBE_CR Service carries the new annotation" wait_until 30 eval \
  '[[ $(kube_get /api/v1/namespaces/$KUBE_NS/services/$KUBE_CR | python3 -c "import json,sys; print(json.load(sys.stdin)[\"metadata\"].get(\"annotations\", {}).get(\"pgvigil.io/e2e\"))") == after-api-outage ]]'
check "11. the PostgresCluster is Ready=True" wait_until 30 cr_ready
say "11. checked $(( $(now_ms) - t_up )) ms after the API came back; load $(cut -d' ' -f1-3 /proc/loadavg)"

term1=$(cr_field "c['status']['term']"); gen1=$(cr_field "c['status'].get('routingGeneration', '')")
new=$(writable_host)
check "12. the same primary ($new)" eval '[[ $new == "$old" ]]'
check "12. the same term ($term0 -> $term1) and routing generation ($gen0 -> $gen1)" \
  eval '[[ $term1 == "$term0" && $gen1 == "$gen0" ]]'
promotes1=$(grep -c 'action promote' "$E2E_LAB/kube/controller.log")
check "12. no promote sent ($promotes0 before, $promotes1 after)" eval '[[ $promotes1 == "$promotes0" ]]'
bad=$(awk -v p="$pod" -v t="$t" '$1 >= t { for (i = 2; i <= NF; i++) if ($i !~ "=" p "$") print }' "$E2E_OUT/routing" | head -n 3)
check "12. every proxy routed to $pod throughout ($(awk -v t="$t" '$1 >= t' "$E2E_OUT/routing" | wc -l) looks)" eval '[[ -z $bad ]]'
[[ -n $bad ]] && echo "$bad" | sed 's/^/  routing: /'
err1=$(errors)
check "13. the writer through $KUBE_CR-rw saw no error ($err0 before, $err1 after)" eval '[[ $err1 == "$err0" ]]'
[[ $err1 != "$err0" ]] && head -n 3 "$E2E_OUT/writer.err" | sed 's/^/  writer: /'
kube_finish
