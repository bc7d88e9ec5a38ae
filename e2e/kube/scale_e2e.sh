#!/usr/bin/env bash
# e2e/kube/scale_e2e.sh — kube-lab scenario 8 (KUBERNETES.md §4.4, §9): scale 3 -> 5 -> 3.
# kube-fake (a stand-in for the API server, not Kubernetes) + a five-host lab
# (PGVIGIL_LAB_HOSTS=5: pods demo-3 and demo-4 get hosts) + the kubelet/kube-proxy
# stand-in + the real pgvigil-controller --kubernetes. After the bootstrap, with the
# writer going through NAME-rw and the primary checker on all five hosts:
#  - `kubectl scale --replicas=5` (the CR's scale subresource): the controller adds
#    demo-3, then demo-4, one at a time (each streaming before the next); all five
#    Ready and streaming, the four standbys labelled for NAME-ro;
#  - `kubectl scale --replicas=3`: demo-4, then demo-3, out of routing, out of the
#    membership, then their pods deleted; two standbys streaming again;
#  - the writer sees no error, no acknowledged write is lost, never two writable
#    primaries, the primary is the same pod throughout and never fenced itself
#    (its write lease held through every membership change).
# Own lab: PGVIGIL_LAB_NS=ksc, PGVIGIL_LAB_DIR=/tmp/pgvigil-lab-ksc by default.
set -uo pipefail
export PGVIGIL_LAB_HOSTS=5
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
kube_init kube_scale ksc
kube_lab_up

kube_bootstrap_cluster
primary_pod() {
  kube_get "/api/v1/namespaces/$KUBE_NS/pods?labelSelector=pgvigil.io/role%3Dprimary" |
    python3 -c 'import json,sys; print(" ".join(p["metadata"]["name"] for p in json.load(sys.stdin)["items"]))'
}
role_count() {
  kube_get "/api/v1/namespaces/$KUBE_NS/pods?labelSelector=pgvigil.io/role%3D$1" |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))'
}
sts_replicas() {
  kube_get "/apis/apps/v1/namespaces/$KUBE_NS/statefulsets/$KUBE_CR" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["spec"]["replicas"])'
}
pod_count() {
  kube_get "/api/v1/namespaces/$KUBE_NS/pods" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))'
}
members() { cr_field "c['status']['scale']['members']"; }
# every_pod N PATH PYEXPR: on pods demo-0..demo-(N-1) (hosts server1..N), the sidecar's
# GET PATH (no token needed) as `j` makes PYEXPR true.
every_pod() {
  local n=$1 path=$2 expr=$3 i
  for ((i = 1; i <= n; i++)); do
    inns client curl -sf -m 3 "http://${ADDR[server$i]}:9898$path" |
      python3 -c "import json,sys; j=json.load(sys.stdin); sys.exit(0 if ($expr) else 1)" 2>/dev/null || return 1
  done
}
# routes_all N: every pod's proxy has a routing table naming exactly demo-0..demo-(N-1).
routes_all() { every_pod "$1" /v1/proxy/routing "sorted(x['name'] for x in j['nodes']) == ['$KUBE_CR-%d' % i for i in range($1)]"; }
# watchdog_all N: every pod's watchdog has N members and a quorum.
watchdog_all() { every_pod "$1" /v1/watchdog "len(j['members']) == $1 and j['quorum']"; }
P0=$(primary_pod)
say "primary before scaling: $P0"
[[ -n $P0 ]] || fail "no pod labelled primary after the bootstrap"
T_UP=$(now_ms)

say "kubectl scale --replicas=5 (PATCH of the scale subresource)"
kube_scale_to 5 | sed 's/^/  /' || { fail "scale to 5 refused"; kube_finish; }
check "10. spec.instances is 5" eval '[[ $(cr_field "c[\"spec\"][\"instances\"]") == 5 ]]'
check "11. the StatefulSet reaches 5 replicas" wait_until 240 eval '[[ $(sts_replicas) == 5 ]]'
check "12. status.scale.members is 5" wait_until 60 eval '[[ $(members) == 5 ]]'
check "13. 5 pods Ready" wait_until 120 pods_ready 5
check "14. 4 standbys streaming from the primary" wait_until 60 eval '[[ $(streaming_standbys) == 4 ]]'
check "15. 4 pods labelled replica (in $KUBE_CR-ro)" wait_until 30 eval '[[ $(role_count replica) == 4 ]]'
check "16. the PostgresCluster is Ready=True" wait_until 30 cr_ready
check "16a. every pod's proxy routes the 5 instances" wait_until 30 routes_all 5
check "16b. every pod's watchdog has 5 members and a quorum" wait_until 30 watchdog_all 5
say "scale up took $(( ($(now_ms) - T_UP) / 1000 )) s"
grep -E 'scale (add-instance|remove-member|remove-replica|detach|switchover):' "$KUBE_DIR/controller.log" |
  sed 's/^/  /'
# One at a time: demo-3 joined (members 3 -> 4) before demo-4 (4 -> 5).
order=$(grep -oE 'scale add-instance: .* (demo-[34]) joins' "$KUBE_DIR/controller.log" | grep -oE 'demo-[34]' | tr '\n' ' ')
check "17. demo-3 added before demo-4, one at a time (got: $order)" eval '[[ "$order" == "demo-3 demo-4 " ]]'
writes_resume 10 || fail "the writer makes no progress through $KUBE_CR-rw after scaling up"

T_DOWN=$(now_ms)
say "kubectl scale --replicas=3"
kube_scale_to 3 | sed 's/^/  /' || { fail "scale to 3 refused"; kube_finish; }
check "18. the StatefulSet back at 3 replicas" wait_until 240 eval '[[ $(sts_replicas) == 3 ]]'
check "19. status.scale.members is 3" wait_until 60 eval '[[ $(members) == 3 ]]'
check "20. 3 pods left" wait_until 120 eval '[[ $(pod_count) == 3 ]]'
check "21. 2 standbys streaming" wait_until 60 eval '[[ $(streaming_standbys) == 2 ]]'
check "22. 2 pods labelled replica" wait_until 30 eval '[[ $(role_count replica) == 2 ]]'
check "23. the PostgresCluster is Ready=True" wait_until 30 cr_ready
check "23a. every pod's proxy routes the 3 instances" wait_until 30 routes_all 3
check "23b. every pod's watchdog has 3 members and a quorum" wait_until 30 watchdog_all 3
say "scale down took $(( ($(now_ms) - T_DOWN) / 1000 )) s"
grep -E 'scale (remove-member|remove-replica|detach|switchover):' "$KUBE_DIR/controller.log" | sed 's/^/  /'
order=$(grep -oE 'scale remove-member: .* (demo-[34]) is out of routing' "$KUBE_DIR/controller.log" |
  grep -oE 'demo-[34]' | tr '\n' ' ')
check "24. demo-4 left before demo-3 (got: $order)" eval '[[ "$order" == "demo-4 demo-3 " ]]'
writes_resume 10 || fail "the writer makes no progress through $KUBE_CR-rw after scaling down"

# The primary's write lease through every membership change (open question 2).
P1=$(primary_pod)
check "25. the primary is still $P0 (no failover, no switchover)" eval '[[ "$P1" == "$P0" ]]'
fences=$(cat "$KUBE_DIR"/logs/*.log 2>/dev/null | grep -c 'SELF-FENCE')
check "26. no sidecar fenced itself (write lease kept): $fences SELF-FENCE lines" eval '[[ $fences == 0 ]]'
say "stopping the writer"
stop_writer | sed 's/^/  /'
errors=$(grep -oE 'errors [0-9]+' "$E2E_OUT/writer.out" | awk '{print $2}')
check "27. the writer saw no errors through $KUBE_CR-rw (errors: ${errors:-?})" eval '[[ ${errors:-1} == 0 ]]'
kube_finish
