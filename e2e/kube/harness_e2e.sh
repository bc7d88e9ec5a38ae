#!/usr/bin/env bash
# e2e/kube/harness_e2e.sh — the kube-lab's own stand-ins checked without pgvigil: kube-fake
# (the API-server test double, not Kubernetes), the kubelet and the kube-proxy stand-in
# (e2e/kube/kubelet). A StatefulSet "web" of 2 pods runs a tiny HTTP server from its
# template; passes when: pods run on lab hosts server1/server2 with their podIPs and Ready
# from the readiness probe; env and $(VAR) expansion; ConfigMap and Secret files at their
# paths and modes, read-only where mounted so; emptyDir per pod; pod names resolve in every
# lab namespace; the Service forwards to the pods its selector picks (labels changed in the
# double move it), drops a pod that turns not Ready, closes connections without endpoints;
# a deleted pod's process stops and its replacement (new uid) runs; a pod beyond the lab's
# hosts stays Pending, and so does a pod named in the kubelet's hold file until released; with the API server down the Service keeps forwarding, a crashed
# container is started again, and a readiness change made meanwhile reaches the status
# once it is back. Own lab: PGVIGIL_LAB_NS=kht, PGVIGIL_LAB_DIR=/tmp/pgvigil-lab-kht.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
kube_init kube_harness kht
KUBE_NO_CONTROLLER=yes kube_lab_up

cat >"$E2E_OUT/web.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config, namespace: db}
data: {page.txt: "from the configmap\n"}
---
apiVersion: v1
kind: Secret
metadata: {name: web-secret, namespace: db}
stringData: {key: s3cret}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: db}
spec:
  selector: {app: web, role: front}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web, namespace: db}
spec:
  replicas: 2
  serviceName: web-hl
  podManagementPolicy: Parallel
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, role: front}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: web
        command: [sh, -c, 'echo "$GREETING" >/tmp/greeting; touch /etc/web/x 2>/tmp/ro || true; touch /tmp/ready; exec python3 -m http.server "$(PORT)" --bind 0.0.0.0 --directory /tmp']
        env:
        - {name: PORT, value: "8080"}
        - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        - {name: GREETING, value: "hello $(POD_NAME)"}
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {httpGet: {path: /ready, port: http}, periodSeconds: 1, failureThreshold: 1}
        volumeMounts:
        - {name: config, mountPath: /etc/web, readOnly: true}
        - {name: tmp, mountPath: /tmp}
      volumes:
      - name: config
        projected:
          sources:
          - configMap: {name: web-config, items: [{key: page.txt, path: page.txt}]}
          - secret: {name: web-secret, items: [{key: key, path: secrets/key, mode: 256}]}
      - {name: tmp, emptyDir: {}}
YAML
kubefake_ctl /apply "$E2E_OUT/web.yaml" | sed 's/^/  /' || { fail "apply"; exit 1; }

pod_json() { kube_get "/api/v1/namespaces/db/pods/$1"; }
pod_field() { pod_json "$1" | python3 -c "import json,sys; p=json.load(sys.stdin); print($2)" 2>/dev/null; }
pod_ready() { [[ $(pod_field "$1" "[c['status'] for c in p['status']['conditions'] if c['type']=='Ready'][0]") == True ]]; }
pod_dir() { ls -d "$E2E_LAB/kube/pods/$1-$(pod_field "$1" "p['metadata']['uid'][:8]")" 2>/dev/null; }
svc_get() { inns client curl -s -m 3 "http://web.db.svc/$1"; }
api_req() {  # api_req METHOD PATH [MERGE-PATCH-BODY]
  local url tok
  url=$(sed -n 's/^KUBE_FAKE_URL=//p' "$KFAKE/env"); tok=$(sed -n 's/^KUBE_FAKE_ADMIN_TOKEN=//p' "$KFAKE/env")
  inns client curl -sf -m 5 -o /dev/null --cacert "$KFAKE/serviceaccount/ca.crt" -H "Authorization: Bearer $tok" \
    -H "Content-Type: application/merge-patch+json" -X "$1" ${3:+-d "$3"} "$url$2"
}
only_web1() { local i; for i in 1 2 3; do [[ $(svc_get greeting) == "hello web-1" ]] || return 1; done; }

check "1. web-0 and web-1 Ready" wait_until 30 eval 'pod_ready web-0 && pod_ready web-1'
check "2. podIPs are the lab hosts' addresses" eval \
  '[[ $(pod_field web-0 "p[\"status\"][\"podIP\"]") == 10.77.0.11 && $(pod_field web-1 "p[\"status\"][\"podIP\"]") == 10.77.0.12 ]]'
check "3. web-0 runs in $E2E_NS-server1" eval '[[ $(inns server1 curl -s -m 2 http://127.0.0.1:8080/greeting) == "hello web-0" ]]'
d0=$(pod_dir web-0)
check "4. env with \$(POD_NAME) expanded, in the pod's emptyDir" eval '[[ $(<"$d0/vol/tmp/greeting") == "hello web-0" ]]'
check "5. ConfigMap file at its path" eval '[[ $(<"$d0/vol/config/page.txt") == "from the configmap" ]]'
check "6. Secret file decoded, mode 0400, owner postgres" eval \
  '[[ $(<"$d0/vol/config/secrets/key") == s3cret && $(stat -c "%a %U" "$d0/vol/config/secrets/key") == "400 postgres" ]]'
check "7. the read-only mount refused a write" grep -q "Read-only file system" "$d0/vol/tmp/ro"
check "8. pod names resolve in every lab namespace" eval \
  '[[ $(inns server3 getent hosts web-1.web-hl.db.svc | cut -d" " -f1) == 10.77.0.12 && $(inns client getent hosts web-0.web-hl.db.svc | cut -d" " -f1) == 10.77.0.11 ]]'
# The forwarder follows the pods' Ready and labels as it re-reads them (every
# 0.5 s, as kube-proxy follows endpoints): Ready in the double can come first.
seen=""
both_served() {
  seen=""
  for _ in 1 2 3 4; do seen+=" $(svc_get greeting)"; done
  [[ $seen == *"hello web-0"* && $seen == *"hello web-1"* ]]
}
check "9. the Service forwards to both pods (round robin) within 10 s" wait_until 10 both_served
say "9. the Service answered:$seen"
api_req PATCH /api/v1/namespaces/db/pods/web-0 '{"metadata":{"labels":{"role":"back"}}}'
check "10. a label changed in the double takes web-0 out of the Service" wait_until 5 only_web1
rm -f "$(pod_dir web-1)/vol/tmp/ready"
check "11. web-1 not Ready once its probe fails" wait_until 10 eval '! pod_ready web-1'
check "12. no Ready pod selected: the connection is closed" wait_until 5 eval '[[ -z $(svc_get greeting) ]]'
touch "$(pod_dir web-1)/vol/tmp/ready"
check "13. web-1 Ready again and served" wait_until 10 eval '[[ $(svc_get greeting) == "hello web-1" ]]'
old_uid=$(pod_field web-1 "p['metadata']['uid']")
old_pid=$(head -n1 "$E2E_LAB/pids/kube-pod-web-1.pid")
api_req DELETE /api/v1/namespaces/db/pods/web-1
check "14. the deleted pod's process stopped" wait_until 15 eval '! kill -0 $old_pid 2>/dev/null'
check "15. its replacement (new uid) runs and is Ready" wait_until 20 eval \
  '[[ $(pod_field web-1 "p[\"metadata\"][\"uid\"]") != "$old_uid" ]] && pod_ready web-1 && [[ $(svc_get greeting) == "hello web-1" ]]'
echo web-2 >"$KUBE_DIR/hold"  # the kubelet's hold file: web-2 stays Pending until released
api_req PATCH /apis/apps/v1/namespaces/db/statefulsets/web '{"spec":{"replicas":4}}'
check "16. web-2 held (hold file) and web-3 without a lab host (3 hosts): neither started nor Ready" wait_until 10 eval \
  'grep -q "pod web-2: held by the harness" "$KUBE_DIR/kubelet.log" && grep -q "pod web-3: no lab host" "$KUBE_DIR/kubelet.log" &&
   ! pod_ready web-2 && ! pod_ready web-3 && [[ ! -e $E2E_LAB/pids/kube-pod-web-2.pid ]]'
: >"$KUBE_DIR/hold"
check "16b. web-2 released: started and Ready" wait_until 10 pod_ready web-2
d1=$(pod_dir web-1)  # (found through the API: before it goes down)
kubefake_ctl /down >/dev/null
check "17. API server down: the Service still forwards (kube-proxy keeps its rules)" eval \
  '[[ $(svc_get greeting) == "hello web-"[12] ]] && ! kube_get /api/v1/namespaces/db/pods >/dev/null'
# A container that exits meanwhile is started again without the API server (a
# kubelet keeps the pod's volumes): web-2 (server3) crashes while it is down.
old_pid2=$(head -n1 "$E2E_LAB/pids/kube-pod-web-2.pid")
kube_crash_pod web-2
check "17b. API server down: a crashed container is started again (ConfigMap and Secret files kept)" wait_until 10 eval \
  '[[ $(head -n1 "$E2E_LAB/pids/kube-pod-web-2.pid") != "$old_pid2" && $(inns server3 curl -s -m 2 http://127.0.0.1:8080/greeting) == "hello web-2" ]]'
check "17c. ... and the API server was down all along" eval '! kube_get /api/v1/namespaces/db/pods >/dev/null'
rm -f "$d1/vol/tmp/ready"
sleep 2
kubefake_ctl /up >/dev/null
check "18. API server back: the readiness change seen meanwhile reaches the pod status" wait_until 10 eval '! pod_ready web-1'
echo "== $E2E_NAME: $E2E_PASSES passed, $E2E_FAILS failed in $((SECONDS - E2E_T0)) s (outputs in $E2E_OUT)"
((E2E_FAILS == 0))
