#!/usr/bin/env bash
# e2e/kube/vigilctl_e2e.sh — vigilctl on Kubernetes in the kube-lab (KUBERNETES.md §6,
# §9; issues 11 and 12). kube-fake (a stand-in for the API server, not Kubernetes) +
# the lab + the kubelet/kube-proxy stand-in + the real pgvigil-controller
# --kubernetes. After the bootstrap of bootstrap_e2e.sh, with the writer through
# NAME-rw and the primary checker running, vigilctl talks only to the API server,
# through a kubeconfig written here (kube-fake's URL and CA, its administrator
# token, namespace db):
#   - `vigilctl --kubeconfig F status demo` and `kubectl-pgvigil status` (the plugin
#     name, KUBECONFIG from the environment) print the same table;
#   - `switchover --to` a standby: it becomes the primary, writes resume through
#     NAME-rw, no acknowledged write is lost, never two writable primaries;
#   - `fence` a standby: its PostgreSQL stops, its pod is not Ready, it leaves
#     NAME-ro, Fenced=True; `unfence`: it streams from the primary again, its pod is
#     Ready, Fenced=False;
#   - `fence` the primary: its PostgreSQL stops, its pod is not Ready, and nothing
#     fails over; `unfence`: it starts again in place as the primary, writes resume
#     and both standbys stream from it;
#   - `recover` a standby: vigilctl follows the rebuild in status.report and exits 0
#     once it streams again.
# Own lab: PGVIGIL_LAB_NS=kvc, PGVIGIL_LAB_DIR=/tmp/pgvigil-lab-kvc by default.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
kube_init kube_vigilctl kvc
kube_lab_up
cp "$SRC_BUILD/bin/vigilctl" "$BIN/vigilctl" || { fail "cannot copy vigilctl"; exit 1; }
ln -sf vigilctl "$BIN/kubectl-pgvigil"
kube_bootstrap_cluster

# A user's kubeconfig: kube-fake's URL and CA, the administrator token (kube-fake
# grants it every verb; the controller's own service account has only the chart's
# rules), the example's namespace.
KC=$KUBE_DIR/kubeconfig
cat >"$KC" <<EOF
apiVersion: v1
kind: Config
current-context: lab
clusters:
- name: kube-fake
  cluster:
    server: $(sed -n 's/^KUBE_FAKE_URL=//p' "$KFAKE/env")
    certificate-authority: $KFAKE/serviceaccount/ca.crt
users:
- name: admin
  user:
    token: $(sed -n 's/^KUBE_FAKE_ADMIN_TOKEN=//p' "$KFAKE/env")
contexts:
- name: lab
  context: {cluster: kube-fake, user: admin, namespace: $KUBE_NS}
EOF
kvctl() { inns client "$BIN/vigilctl" --kubeconfig "$KC" "$@"; }
plugin() { inns client env KUBECONFIG="$KC" "$BIN/kubectl-pgvigil" "$@"; }
pod_of() { echo "$KUBE_CR-$(( ${1#server} - 1 ))"; }
server_of() { echo "server$(( ${1##*-} + 1 ))"; }
pod_ready() {
  [[ $(kube_get "/api/v1/namespaces/$KUBE_NS/pods/$1" | python3 -c '
import json, sys
p = json.load(sys.stdin)
print(any(c["type"] == "Ready" and c["status"] == "True" for c in p.get("status", {}).get("conditions", [])))') == "$2" ]]
}
condition_is() { [[ $(cr_field "[x['status'] for x in c['status']['conditions'] if x['type']=='$1'][0]") == "$2" ]]; }
# ro_avoids SERVER: 6 reads through NAME-ro, none answered by SERVER's PostgreSQL.
ro_avoids() {
  local i a
  for i in 1 2 3 4 5 6; do
    a=$(svc_psql "$KUBE_CR-ro" 5432 -c "select host(inet_server_addr())" 2>/dev/null) || return 1
    [[ $a == "${ADDR[$1]}" ]] && return 1
  done
  return 0
}
# Two outputs of the same status are equal unless the report was refreshed between
# them (lag and select counts, at most every 10 s): three tries.
same_status() {
  local t
  for t in 1 2 3; do
    kvctl status "$KUBE_CR" >"$E2E_OUT/status-kubeconfig.txt" 2>&1 || continue
    plugin status >"$E2E_OUT/status-plugin.txt" 2>&1 || continue
    cmp -s "$E2E_OUT/status-kubeconfig.txt" "$E2E_OUT/status-plugin.txt" && return 0
  done
  return 1
}

old=$(writable_host)
must "7. one writable primary ($old)" eval '[[ -n $old && $old != *" "* ]]'
check "8. vigilctl --kubeconfig status names the primary $(pod_of "$old")" wait_until 20 eval \
  'kvctl status $KUBE_CR >"$E2E_OUT/status.txt" 2>&1 && grep -q "$(pod_of "$old")" "$E2E_OUT/status.txt"'
sed 's/^/  /' "$E2E_OUT/status.txt"
check "9. kubectl-pgvigil status prints the same" same_status
diff "$E2E_OUT/status-kubeconfig.txt" "$E2E_OUT/status-plugin.txt" | head -n 10 | sed 's/^/  diff: /'

# The switchover target: the first standby; the other standby is fenced later.
target=""; other=""
for s in "${SERVERS[@]}"; do
  [[ $s == "$old" ]] && continue
  if [[ -z $target ]]; then target=$s; else other=$s; fi
done
say "10. vigilctl switchover --to $(pod_of "$target") (load $(cut -d' ' -f1-3 /proc/loadavg))"
writer_mark
kvctl switchover --to "$(pod_of "$target")" 2>&1 | sed 's/^/  /'
check "10. the switchover request was accepted" test "${PIPESTATUS[0]}" = 0
check "11. $(pod_of "$target") is the only writable primary" wait_until 60 eval '[[ $(writable_host) == "$target" ]]'
check "12. writes resume through $KUBE_CR-rw" writes_resume 30
say "first write after the switchover request: $(last_mark_delay) ms (one run, load $(cut -d' ' -f1-3 /proc/loadavg))"
check "13. the status report names $(pod_of "$target") as primary" wait_until 30 eval \
  '[[ $(kvctl status $KUBE_CR -o json 2>/dev/null | json_get primary) == $(pod_of "$target") ]]'
check "14. $old rejoined as a standby of $target" wait_until 90 kube_streams_from "$old" "$target"

fenced=$(pod_of "$other")
say "15. vigilctl fence $fenced"
kvctl fence "$fenced" 2>&1 | sed 's/^/  /'
check "15. fence exits 0" test "${PIPESTATUS[0]}" = 0
check "16. Fenced=True" wait_until 20 condition_is Fenced True
check "17. PostgreSQL on $fenced ($other) is stopped" wait_until 30 eval \
  '! inns client "$PG_BIN/pg_isready" -q -h "${ADDR[$other]}" -p 5432 -t 2'
check "18. the pod $fenced is not Ready" wait_until 30 pod_ready "$fenced" False
check "19. $KUBE_CR-ro no longer reaches $fenced" wait_until 15 ro_avoids "$other"
check "20. writes continue through $KUBE_CR-rw" writes_resume 20
kvctl status "$KUBE_CR" 2>&1 | sed 's/^/  /'

say "21. vigilctl unfence $fenced"
kvctl unfence "$fenced" 2>&1 | sed 's/^/  /'
check "21. unfence exits 0" test "${PIPESTATUS[0]}" = 0
check "22. $fenced streams from $(pod_of "$target") again" wait_until 90 kube_streams_from "$other" "$target"
check "23. the pod $fenced is Ready again" wait_until 30 pod_ready "$fenced" True
check "24. Fenced=False" wait_until 20 condition_is Fenced False
check "25. 3 pods Ready" wait_until 30 pods_ready 3

primary=$(pod_of "$target")
say "26. vigilctl fence $primary (the primary)"
writer_mark
kvctl fence "$primary" 2>&1 | sed 's/^/  /'
check "26. fence of the primary exits 0" test "${PIPESTATUS[0]}" = 0
check "27. PostgreSQL on the primary $primary is stopped" wait_until 30 eval \
  '! inns client "$PG_BIN/pg_isready" -q -h "${ADDR[$target]}" -p 5432 -t 2'
check "28. the pod $primary is not Ready" wait_until 30 pod_ready "$primary" False
sleep 8
check "29. no failover while the primary is fenced (no writable instance after 8 s)" eval '[[ -z $(writable_host) ]]'
say "30. vigilctl unfence $primary"
kvctl unfence "$primary" 2>&1 | sed 's/^/  /'
check "30. unfence exits 0" test "${PIPESTATUS[0]}" = 0
check "31. $primary is the writable primary again (started in place)" wait_until 60 eval \
  '[[ $(writable_host) == "$target" ]]'
check "32. writes resume through $KUBE_CR-rw" writes_resume 60
check "33. both standbys stream from $primary" wait_until 60 eval \
  'kube_streams_from "$old" "$target" && kube_streams_from "$other" "$target"'
check "34. 3 pods Ready, Fenced=False" wait_until 30 eval 'pods_ready 3 && condition_is Fenced False'

standby=$(pod_of "$other")
say "35. vigilctl recover $standby (progress from status.report)"
inns client timeout 180 "$BIN/vigilctl" --kubeconfig "$KC" recover "$standby" 2>&1 | sed 's/^/  /'
check "35. recover exits 0 once $standby streams again" test "${PIPESTATUS[0]}" = 0
check "36. $standby streams from $primary" wait_until 60 kube_streams_from "$other" "$target"
check "37. writes continue through $KUBE_CR-rw" writes_resume 20
kube_finish
