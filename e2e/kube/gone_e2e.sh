#!/usr/bin/env bash
# e2e/kube/gone_e2e.sh — kube-lab scenario 6 (KUBERNETES.md §7 "410 Gone", §9): 410 in
# the middle of a failover. After the bootstrap (bootstrap_e2e.sh), with the writer
# through NAME-rw and the primary checker running, the primary pod's container is
# killed (as in crash_e2e.sh); the moment the acting controller records the failover
# (status.transition), kube-fake (the API-server stand-in, not Kubernetes) is told to
# compact its history: every open watch ends with an ERROR event carrying a 410
# Expired Status. Passes when kube-fake's request log shows the controller listing
# the PostgresClusters again after the compaction and watching from there, the
# failover completes (another pod primary, no transition in the status,
# currentPrimary and the pods' role labels agree), a spec change after it is still
# seen (the new watch works), and no acknowledged write is lost and never two
# writable primaries. Own lab: PGVIGIL_LAB_NS=kgn, PGVIGIL_LAB_DIR=/tmp/pgvigil-lab-kgn.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
kube_init kube_gone kgn
kube_lab_up
kube_bootstrap_cluster

old=$(writable_host)
must "7. one writable primary ($old)" eval '[[ -n $old && $old != *" "* ]]'
pod=$KUBE_CR-$(( ${old#server} - 1 ))
CLUSTERS=/apis/pgvigil.io/v1alpha1/postgresclusters

crash_with_trigger "$pod" --kind Failover --control /compact --timeout 90; trc=$?
must "8. kube-fake compacted while the failover was in progress" test "$trc" = 0
new=""
check "9. another pod is primary" wait_until 60 eval 'new=$(writable_host); [[ -n $new && $new != "$old" && $new != *" "* ]]'
newpod=$KUBE_CR-$(( ${new#server} - 1 ))
check "10. writes resume through $KUBE_CR-rw" writes_resume 30
say "first write after the crash: via $KUBE_CR-rw $(last_mark_delay) ms (load $(cut -d' ' -f1-3 /proc/loadavg))"
role_of() {
  kube_get "/api/v1/namespaces/$KUBE_NS/pods/$1" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["labels"].get("pgvigil.io/role"))'
}
check "11. the transition completes: no status.transition, currentPrimary $newpod, its pod labelled primary" \
  wait_until 60 eval '[[ $(cr_field "c[\"status\"].get(\"transition\",\"none\")") == none &&
    $(cr_field "c[\"status\"][\"currentPrimary\"]") == "$newpod" && $(role_of "$newpod") == primary ]]'

compact=$(requests '"control" in r and r["control"] == "/compact"' | head -n1 |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["seq"])')
ctl='"pgvigil-controller/" in r.get("userAgent", "")'
relist=$(requests "$ctl and r['seq'] > ${compact:-0} and r['method'] == 'GET' and r['path'] == '$CLUSTERS' and not r.get('watch') and r['code'] == 200" | head -n1)
rewatch=$(requests "$ctl and r['seq'] > ${compact:-0} and r['path'] == '$CLUSTERS' and r.get('watch')" | head -n1)
echo "  compaction: request log line ${compact:-none}"
echo "  relist: ${relist:-none}"
echo "  watch after it: ${rewatch:-none}"
check "12. the controller listed the PostgresClusters again after the compaction, then watched" \
  eval '[[ -n $compact && -n $relist && -n $rewatch ]]'
check "13. the controller logged the 410 and the relist" \
  grep -q 'ended with 410 Gone (history compacted): relisting' "$KUBE_DIR/controller.log"

# The watch after the relist works: a spec change (a parameter the validator takes)
# is seen and accepted.
gen=$(cr_field 'c["metadata"]["generation"]')
# shellcheck disable=SC2034  # read in the check's eval
reply=$(kube_patch "/apis/pgvigil.io/v1alpha1/namespaces/$KUBE_NS/postgresclusters/$KUBE_CR" \
  '{"spec":{"postgres":{"parameters":{"work_mem":"8MB"}}}}')
check "14. a spec change after the relist is accepted (acceptedGeneration $((gen + 1)))" wait_until 30 eval \
  '[[ ${reply%% *} == 200 && $(cr_field "c[\"status\"][\"acceptedGeneration\"]") == $((gen + 1)) ]]'
kube_finish
