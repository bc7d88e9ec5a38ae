#!/usr/bin/env bash
# e2e/kube/badcr_e2e.sh — kube-lab scenario 7 (KUBERNETES.md §3 "Validation", §9): a bad
# CR changes nothing. On a running cluster (bootstrap as in bootstrap_e2e.sh, the
# writer through NAME-rw and the primary checker running), two bad changes of the
# PostgresCluster: (a) one the CRD schema refuses (instances: 12, maximum 9): kube-fake
# (the API-server stand-in, not Kubernetes) answers 422 and the generation stays;
# (b) one the schema takes but pgvigil's validator refuses (a postgres parameter
# pgvigil manages, a duration that is not one): SpecValid=False with `spec.path:
# reason` lines, acceptedGeneration stays. Passes when nothing of the running
# cluster changed meanwhile (resourceVersions of the StatefulSet, Services, ConfigMap
# and PodDisruptionBudget; pods' uids, restart counts and role labels; each
# PostgreSQL's start time; the primary), the writer saw no error, and the fix of the
# CR makes SpecValid=True with acceptedGeneration = generation.
# Own lab: PGVIGIL_LAB_NS=kbc, PGVIGIL_LAB_DIR=/tmp/pgvigil-lab-kbc by default.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
kube_init kube_badcr kbc
kube_lab_up
kube_bootstrap_cluster
# shellcheck disable=SC2034  # read by kube_finish
KUBE_EXPECT_NO_WRITE_ERRORS=yes

CR_PATH=/apis/pgvigil.io/v1alpha1/namespaces/$KUBE_NS/postgresclusters/$KUBE_CR
# What must not change, one fact a line.
snapshot() {
  local obj
  for obj in /apis/apps/v1/namespaces/$KUBE_NS/statefulsets/$KUBE_CR \
             /api/v1/namespaces/$KUBE_NS/services/{$KUBE_CR-rw,$KUBE_CR-ro,$KUBE_CR,$KUBE_CR-hl} \
             /api/v1/namespaces/$KUBE_NS/configmaps/$KUBE_CR-config \
             /apis/policy/v1/namespaces/$KUBE_NS/poddisruptionbudgets/$KUBE_CR; do
    echo "$obj resourceVersion $(kube_get "$obj" | python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["resourceVersion"])' 2>&1)"
  done
  kube_get "/api/v1/namespaces/$KUBE_NS/pods" | python3 -c '
import json, sys
for p in sorted(json.load(sys.stdin)["items"], key=lambda p: p["metadata"]["name"]):
    m = p["metadata"]; l = m.get("labels", {})
    restarts = [c.get("restartCount", 0) for c in p.get("status", {}).get("containerStatuses", [])]
    print("pod", m["name"], "uid", m["uid"], "restarts", restarts, "role", l.get("pgvigil.io/role"), "pool", l.get("pgvigil.io/pool"))'
  local s
  for s in "${SERVERS[@]}"; do
    echo "$s postgres started $(inns client "$PG_BIN/psql" -h "${ADDR[$s]}" -U postgres -d postgres -XAtq \
      -c "select pg_postmaster_start_time(), pg_is_in_recovery()" 2>&1)"
  done
}
generation() { cr_field 'c["metadata"]["generation"]'; }
cond() { cr_field "[x for x in c['status']['conditions'] if x['type']=='$1'][0]['$2']"; }

writes_resume 10 || fail "the writer makes no progress before the bad changes"
# The status issue 11 names, and the printer columns (Instances, Ready, Phase, Primary)
# read from the CR by the CRD's jsonPaths, as `kubectl get pgvc` would show them.
primary_pod=$KUBE_CR-$(( $(writable_host | sed 's/server//') - 1 ))
columns() {
  kube_get "/apis/pgvigil.io/v1alpha1/namespaces/$KUBE_NS/postgresclusters/$KUBE_CR" | python3 -c '
import json, sys
c = json.load(sys.stdin); s = c.get("status", {})
print(c["spec"]["instances"], s.get("readyInstances"), s.get("phase"), s.get("currentPrimary"),
      s.get("targetPrimary"), ",".join(s.get("instancesStatus", {}).get("healthy", ["-"])))'
}
echo "  INSTANCES READY PHASE PRIMARY | targetPrimary instancesStatus.healthy: $(columns)"
check "6b. status: 3 ready, phase Healthy, currentPrimary = targetPrimary = $primary_pod, instancesStatus 3 healthy" \
  wait_until 20 eval '[[ $(columns) == "3 3 Healthy $primary_pod $primary_pod $KUBE_CR-0,$KUBE_CR-1,$KUBE_CR-2" ]]'
snapshot >"$E2E_OUT/before.txt"
sed 's/^/  before: /' "$E2E_OUT/before.txt"
gen0=$(generation)

say "(a) a change the CRD schema refuses: spec.instances 12 (maximum 9)"
reply=$(kube_patch "$CR_PATH" '{"spec":{"instances":12}}')
echo "  ${reply:0:400}"
check "7. the API answers 422 naming spec.instances" eval '[[ ${reply%% *} == 422 && $reply == *spec.instances* ]]'
check "8. the generation stays ($gen0)" eval '[[ $(generation) == "$gen0" ]]'

say "(b) a change the schema takes and pgvigil's validator refuses: postgres.parameters.port, healthCheck.period"
reply=$(kube_patch "$CR_PATH" '{"spec":{"postgres":{"parameters":{"port":"5433"}},"healthCheck":{"period":"fast"}}}')
check "9. the API takes it (200, generation $((gen0 + 1)))" eval '[[ ${reply%% *} == 200 && $(generation) == $((gen0 + 1)) ]]'
check "10. SpecValid=False (reason Invalid) for generation $((gen0 + 1))" wait_until 30 eval \
  '[[ $(cond SpecValid status) == False && $(cond SpecValid reason) == Invalid && $(cr_field "c[\"status\"][\"observedGeneration\"]") == $((gen0 + 1)) ]]'
msg=$(cond SpecValid message)
echo "$msg" | sed 's/^/  SpecValid message: /'
check "11. the message names spec.postgres.parameters.port and spec.healthCheck.period with reasons" eval \
  '[[ $msg == *"spec.postgres.parameters.port: "* && $msg == *"spec.healthCheck.period: "* ]]'
check "12. acceptedGeneration stays $gen0" eval '[[ $(cr_field "c[\"status\"][\"acceptedGeneration\"]") == "$gen0" ]]'

# A few of the controller's rounds (one a second) and the kubelet's probes (2 s) pass.
sleep 10
snapshot >"$E2E_OUT/after.txt"
if diff -u "$E2E_OUT/before.txt" "$E2E_OUT/after.txt" >"$E2E_OUT/snapshot.diff"; then
  pass "13. nothing changed: StatefulSet, Services, ConfigMap, PDB resourceVersions, pods (uid, restarts, labels), PostgreSQL start times, the primary"
else
  fail "13. the running cluster changed:"; sed 's/^/  /' "$E2E_OUT/snapshot.diff"
fi
check "14. writes go on through $KUBE_CR-rw" writes_resume 10
check "15. the controller logged the refusal with the paths" \
  grep -q 'spec.postgres.parameters.port' "$KUBE_DIR/controller.log"

say "the fix: the parameter removed, the period a duration again"
reply=$(kube_patch "$CR_PATH" '{"spec":{"postgres":{"parameters":{"port":null}},"healthCheck":null}}')
check "16. the API takes the fix (generation $((gen0 + 2)))" eval '[[ ${reply%% *} == 200 && $(generation) == $((gen0 + 2)) ]]'
check "17. SpecValid=True and acceptedGeneration = $((gen0 + 2))" wait_until 30 eval \
  '[[ $(cond SpecValid status) == True && $(cr_field "c[\"status\"][\"acceptedGeneration\"]") == $((gen0 + 2)) ]]'
check "18. the PostgresCluster is Ready=True" wait_until 30 cr_ready
kube_finish
