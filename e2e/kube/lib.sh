# e2e/kube/lib.sh — the kube-lab (KUBERNETES.md §9), sourced by e2e/kube/*_e2e.sh.
#
# kube-fake (the API-server TEST DOUBLE, not Kubernetes), the kubelet/kube-proxy
# stand-in (e2e/kube/kubelet) and the real pgvigil-controller --kubernetes
# (in-cluster path: KUBERNETES_SERVICE_HOST/PORT + PGVIGIL_KUBE_SA_DIR) all run
# in the lab's client namespace; pod NAME-i runs the real pgvigil-sidecar with
# real PostgreSQL 15 on lab host server(i+1). Proves failover and fencing with
# real databases; proves nothing about scheduling, kube-proxy, DNS or the API
# server. Builds on e2e/cluster/lib.sh (own lab: PGVIGIL_LAB_NS/PGVIGIL_LAB_DIR,
# writer, primary checker, say/pass/fail).
# shellcheck shell=bash
KUBE_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../cluster/lib.sh
source "$KUBE_HERE/../cluster/lib.sh"

KUBE_NS=db                 # the example's namespace
KUBE_CR=demo               # the example's cluster name
KUBE_PIDS=()
CONTROLLER_PIDS=()         # by replica number (kube_start_controller)

# kube_init NAME PREFIX: e2e_init plus the kube-lab's own checks and cleanup.
kube_init() {
  e2e_init "$1" "$2"
  for t in setpriv unshare; do command -v $t >/dev/null || { echo "SKIP: $t missing"; exit 77; }; done
  [[ -x $SRC_BUILD/bin/kube-fake ]] || { echo "FAIL: $SRC_BUILD/bin/kube-fake missing (build first)"; exit 1; }
  KUBE_DIR=$E2E_LAB/kube
  KFAKE=$KUBE_DIR/fake
  trap kube_cleanup EXIT
}

kube_cleanup() {
  local rc=$? p
  stop_writer >/dev/null 2>&1
  stop_checker >/dev/null 2>&1
  # The kubelet first (it stops the pods, each with its grace period), then the rest.
  for ((p = ${#KUBE_PIDS[@]} - 1; p >= 0; p--)); do
    # (-CONT first: a scenario may have left a controller stopped)
    kill -CONT "${KUBE_PIDS[p]}" 2>/dev/null
    kill -TERM "${KUBE_PIDS[p]}" 2>/dev/null; wait "${KUBE_PIDS[p]}" 2>/dev/null
  done
  if ((E2E_FAILS > 0)) || ((rc != 0 && rc != 77)); then kube_dump_logs; fi
  [[ -d $E2E_LAB/kube ]] && cp -r "$E2E_LAB/kube/logs" "$E2E_OUT/pod-logs" 2>/dev/null
  cp "$E2E_LAB"/kube/*.log "$E2E_LAB"/kube/requests.jsonl "$E2E_OUT/" 2>/dev/null
  if [[ $E2E_KEEP == yes ]]; then
    echo "NOTE: PGVIGIL_E2E_KEEP=yes: lab left up; PGVIGIL_LAB_NS=$E2E_NS PGVIGIL_LAB_DIR=$E2E_LAB $LABSH down"
  else
    local mp=()
    [[ -f $E2E_LAB/kube/mountpoints ]] && mapfile -t mp < <(sort -ru "$E2E_LAB/kube/mountpoints")
    "$LABSH" down >/dev/null 2>&1 || echo "WARN: lab.sh down failed"
    rm -rf "/etc/netns/$E2E_NS-client" "/etc/netns/$E2E_NS"-server[0-9]
    # Mount points the kubelet made on the host (only while empty).
    for p in "${mp[@]}"; do rmdir "$p" 2>/dev/null; done
  fi
  return 0
}

kube_dump_logs() {
  local f
  for f in "$E2E_LAB"/kube/controller*.log "$E2E_LAB"/kube/kubelet.log "$E2E_LAB"/kube/logs/*.log; do
    [[ -f $f ]] || continue
    echo "--- $(basename "$f") (tail)"; tail -n 40 "$f"
  done
  echo "--- test outputs kept in $E2E_OUT"
}

# must WHAT CMD...: like check, but ends the scenario when it fails.
must() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; exit 1; fi; }

kube_bg() { "$@" & KUBE_PIDS+=($!); }

# kube_lab_up: the lab's namespaces (PostgreSQL that lab.sh starts on server1 is
# stopped: the pods bring their own), the hosts files `ip netns exec` mounts,
# kube-fake, the kubelet stand-in and the controller.
kube_lab_up() {
  say "lab.sh up (namespaces; its server1 PostgreSQL is stopped, the pods run their own)"
  "$LABSH" up >"$E2E_OUT/lab-up.log" 2>&1 || { cat "$E2E_OUT/lab-up.log"; fail "lab.sh up"; exit 1; }
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$E2E_LAB/server1/data" -m fast -w stop >/dev/null
  mkdir -p "$BIN" "$KUBE_DIR"
  # The pods' sidecars listen on "::" (api.listen, proxy.listen fixed by the image):
  # that address does not resolve without IPv6, which lab.sh turns off. Pods have it.
  for s in "${SERVERS[@]}"; do
    ip netns exec "$E2E_NS-$s" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0 \
      net.ipv6.conf.lo.disable_ipv6=0 net.ipv6.conf.eth0.disable_ipv6=0
  done
  local b
  for b in pgvigil-sidecar pgvigil-controller pgvigil-e2e-writer pgvigil-e2e-primary-checker kube-fake; do
    cp "$SRC_BUILD/bin/$b" "$BIN/$b" || { fail "cannot copy $b"; exit 1; }
  done
  local n
  for n in client "${SERVERS[@]}"; do
    mkdir -p "/etc/netns/$E2E_NS-$n"
    echo "127.0.0.1 localhost" >"/etc/netns/$E2E_NS-$n/hosts"
  done
  # Anyone may connect as postgres with the lab's password (Service names included).
  ( umask 077; echo "*:*:*:postgres:$(<"$E2E_LAB/secrets/postgres.password")" >"$KUBE_DIR/pgpass" )
  export PGPASSFILE=$KUBE_DIR/pgpass

  say "kube-fake (a stand-in for the API server) in $E2E_NS-client"
  kube_bg "$LABSH" exec client "$BIN/kube-fake" --dir "$KFAKE" --manifests "$ROOT/manifests/install.yaml" \
    --request-log "$KUBE_DIR/requests.jsonl" >"$KUBE_DIR/kube-fake.log" 2>&1
  wait_until 20 test -s "$KFAKE/env" || { fail "kube-fake did not start"; cat "$KUBE_DIR/kube-fake.log"; exit 1; }
  KUBE_CONTROL=$(sed -n 's/^KUBE_FAKE_CONTROL=//p' "$KFAKE/env")

  say "kubelet and kube-proxy stand-in"
  kube_bg "$LABSH" exec client python3 -B "$KUBE_HERE/kubelet" --env "$KFAKE/env" --lab-ns "$E2E_NS" \
    --lab-dir "$E2E_LAB" --bin-dir "$BIN" --namespace "$KUBE_NS" --hosts "${#SERVERS[@]}" \
    >"$KUBE_DIR/kubelet.log" 2>&1

  [[ ${KUBE_NO_CONTROLLER:-no} == yes ]] && return 0
  say "pgvigil-controller --kubernetes (in-cluster configuration from $KFAKE/serviceaccount)"
  kube_start_controller 0 9900
}

# kube_start_controller N PORT: controller replica N (POD_NAME pgvigil-controller-N,
# as one of the Deployment's replicas; its identity adds a nonce per start), REST on
# PORT in the client namespace; log controller.log (replica 0) or controller-N.log.
# CONTROLLER_PIDS[N] is its pid (lab.sh and ip netns exec exec it).
kube_start_controller() {
  local n=$1 port=$2 log=$KUBE_DIR/controller.log
  ((n == 0)) || log=$KUBE_DIR/controller-$n.log
  # shellcheck disable=SC2046
  kube_bg "$LABSH" exec client env $(grep -E '^(KUBERNETES_SERVICE_|PGVIGIL_KUBE_SA_DIR)' "$KFAKE/env") \
    POD_NAME=pgvigil-controller-$n "$BIN/pgvigil-controller" --kubernetes --lease-namespace pgvigil-system \
    --port "$port" --log-level debug >"$log" 2>&1
  CONTROLLER_PIDS[n]=$!
  await_exec "${CONTROLLER_PIDS[n]}" pgvigil-controller || { fail "controller replica $n did not start"; exit 1; }
}

# replica_field PORT KEY: a field of a controller replica's GET /v1/replica
# (identity, role, actingTerm).
replica_field() {
  inns client curl -s -m 3 "http://127.0.0.1:$1/v1/replica" |
    python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])" 2>/dev/null
}

# on_transition ARGS...: e2e/kube/on_transition (waits for status.transition of
# the example cluster, then --stop PID / --control PATH at once).
on_transition() {
  inns client python3 -B "$KUBE_HERE/on_transition" --env "$KFAKE/env" --namespace "$KUBE_NS" --name "$KUBE_CR" "$@"
}

# crash_with_trigger POD ON_TRANSITION-ARGS...: on_transition armed in the
# background, then the writer's mark and POD's crash; waits for the trigger,
# prints its output and returns its exit status.
crash_with_trigger() {
  local pod=$1 trigger rc
  shift
  on_transition "$@" >"$E2E_OUT/on_transition.out" 2>&1 &
  trigger=$!
  sleep 1  # it polls from now on
  writer_mark
  kube_crash_pod "$pod"
  wait "$trigger"; rc=$?
  sed 's/^/  /' "$E2E_OUT/on_transition.out"
  return $rc
}

# requests FILTER: the lines of kube-fake's request log (requests.jsonl) for which the
# Python expression FILTER over `r` (a dict) holds, one JSON object a line.
requests() {
  python3 -c '
import json, sys
try:
    for line in open(sys.argv[1]):
        r = json.loads(line)
        if eval(sys.argv[2], {}, {"r": r}):
            print(line.rstrip(), flush=True)
except BrokenPipeError:  # | head -n1
    sys.stderr.close()' "$KUBE_DIR/requests.jsonl" "$1"
}

# kube_bootstrap_cluster: applies the example CR (lab secrets) and waits for it to
# run: SpecValid, the StatefulSet, a primary through NAME-rw (the checker and the
# writer start then), 3 pods Ready, 2 standbys streaming, Ready=True. Exits at the
# first of the first three that fails (nothing later could pass).
kube_bootstrap_cluster() {
  say "applying the example PostgresCluster (with the lab's secrets)"
  example_with_lab_secrets >"$E2E_OUT/example.yaml"
  kubefake_ctl /apply "$E2E_OUT/example.yaml" | sed 's/^/  /' || { fail "apply of the example"; exit 1; }

  check "1. SpecValid=True" wait_until 30 eval \
    '[[ $(cr_field "[x[\"status\"] for x in c[\"status\"][\"conditions\"] if x[\"type\"]==\"SpecValid\"][0]") == True ]]'
  must "2. the StatefulSet $KUBE_CR with 3 replicas" wait_until 30 eval \
    '[[ $(kube_get /apis/apps/v1/namespaces/$KUBE_NS/statefulsets/$KUBE_CR | python3 -c "import json,sys; print(json.load(sys.stdin)[\"spec\"][\"replicas\"])") == 3 ]]'
  must "3. a primary reachable through $KUBE_CR-rw" wait_until 120 eval \
    'svc_psql $KUBE_CR-rw 5432 -c "select 1" >/dev/null'
  kube_start_checker
  kube_start_writer
  check "4. 3 pods Ready" wait_until 180 pods_ready 3
  check "5. 2 standbys streaming from the primary" wait_until 60 eval '[[ $(streaming_standbys) == 2 ]]'
  check "6. the PostgresCluster is Ready=True" wait_until 60 cr_ready
}

# kubefake_ctl PATH [BODY-FILE]: a request to kube-fake's control port.
kubefake_ctl() {
  if [[ -n ${2:-} ]]; then inns client curl -sf -m 10 --data-binary @"$2" "$KUBE_CONTROL$1"
  else inns client curl -sf -m 10 -X POST "$KUBE_CONTROL$1"; fi
}

# kube_get PATH: GET on the API as the harness (administrator).
kube_get() {
  local url tok
  url=$(sed -n 's/^KUBE_FAKE_URL=//p' "$KFAKE/env"); tok=$(sed -n 's/^KUBE_FAKE_ADMIN_TOKEN=//p' "$KFAKE/env")
  inns client curl -sf -m 5 --cacert "$KFAKE/serviceaccount/ca.crt" -H "Authorization: Bearer $tok" "$url$1"
}

# kube_scale_to N: what `kubectl scale pgvc/NAME --replicas=N` sends (a merge patch
# of the scale subresource), as the harness (administrator).
kube_scale_to() {
  local url tok
  url=$(sed -n 's/^KUBE_FAKE_URL=//p' "$KFAKE/env"); tok=$(sed -n 's/^KUBE_FAKE_ADMIN_TOKEN=//p' "$KFAKE/env")
  inns client curl -sf -m 10 --cacert "$KFAKE/serviceaccount/ca.crt" -H "Authorization: Bearer $tok" \
    -X PATCH -H 'Content-Type: application/merge-patch+json' --data "{\"spec\":{\"replicas\":$1}}" \
    "$url/apis/pgvigil.io/v1alpha1/namespaces/$KUBE_NS/postgresclusters/$KUBE_CR/scale"
}

# kube_patch PATH JSON: a merge patch on the API as the harness (administrator);
# prints "CODE BODY" (the code 000 when nothing answered).
kube_patch() {
  local url tok
  url=$(sed -n 's/^KUBE_FAKE_URL=//p' "$KFAKE/env"); tok=$(sed -n 's/^KUBE_FAKE_ADMIN_TOKEN=//p' "$KFAKE/env")
  inns client curl -s -m 5 --cacert "$KFAKE/serviceaccount/ca.crt" -H "Authorization: Bearer $tok" \
    -X PATCH -H 'Content-Type: application/merge-patch+json' --data-binary "$2" -w '\n%{http_code}' "$url$1" |
    python3 -c 'import sys; t=sys.stdin.read().rsplit("\n",1); print(t[1], t[0])'
}

# The example manifest with the lab's secrets in place of "change-me".
example_with_lab_secrets() {
  local s=$E2E_LAB/secrets
  python3 - "$ROOT/manifests/examples/k8s-cluster.yaml" "$s" <<'PY'
import sys
text, s = open(sys.argv[1]).read(), sys.argv[2]
read = lambda n: open(s + "/" + n).read().strip()
ind = lambda t: "\n".join("    " + l for l in t.strip().splitlines())
text = text.replace("change-me-superuser", read("postgres.password"))
text = text.replace("change-me-replication", read("repl.password"))
text = text.replace("change-me-watchdog-hmac-key", read("watchdog.key"))
text = text.replace("change-me-api-token", read("api.token"))
text = text.replace("change-me-aes-key", "kube-lab-aes-key")
start = text.index("  pool_hba.conf: |")
end = text.index("  pgpoolkey:")
text = text[:start] + "  pool_hba.conf: |\n" + ind(read("pool_hba.conf")) + "\n  pool_passwd: |\n" + \
    ind(read("pool_passwd")) + "\n" + text[end:]
print(text)
PY
}

# cr_field EXPR: a Python expression over the PostgresCluster `c` (a dict).
cr_field() {
  kube_get "/apis/pgvigil.io/v1alpha1/namespaces/$KUBE_NS/postgresclusters/$KUBE_CR" |
    python3 -c "import json,sys; c=json.load(sys.stdin); print($1)" 2>/dev/null
}
cr_ready() { [[ $(cr_field "[x['status'] for x in c.get('status',{}).get('conditions',[]) if x['type']=='Ready'][0]") == True ]]; }
pods_ready() {
  [[ $(kube_get "/api/v1/namespaces/$KUBE_NS/pods" | python3 -c '
import json, sys
n = 0
for p in json.load(sys.stdin)["items"]:
    n += any(c["type"] == "Ready" and c["status"] == "True" for c in p.get("status", {}).get("conditions", []))
print(n)') == "$1" ]]
}
# streaming_standbys: how many standbys stream from the writable node.
streaming_standbys() {
  local s
  for s in "${SERVERS[@]}"; do
    if [[ $(inns client "$PG_BIN/psql" -h "${ADDR[$s]}" -U postgres -d postgres -XAtq \
            -c "select pg_is_in_recovery()" 2>/dev/null) == f ]]; then
      inns client "$PG_BIN/psql" -h "${ADDR[$s]}" -U postgres -d postgres -XAtq \
        -c "select count(*) from pg_stat_replication where state = 'streaming'" 2>/dev/null
      return
    fi
  done
  echo 0
}
# sync_standbys: how many standbys the writable node counts as synchronous.
sync_standbys() {
  local p; p=$(writable_host)
  [[ -n $p && $p != *" "* ]] || { echo 0; return; }
  node_psql "$p" -c "select count(*) from pg_stat_replication where sync_state in ('sync', 'quorum')"
}
# kube_streams_from STANDBY PRIMARY (lab hosts): as streams_from, but the standby's
# WAL receiver names the primary by its pod DNS name (NAME-i.NAME-hl.NS.svc).
kube_streams_from() {
  local s=$1 p=$2 n up
  in_recovery "$s" || return 1
  n=$(node_psql "$p" -c "select count(*) from pg_stat_replication where state = 'streaming' and client_addr = '${ADDR[$s]}'") || return 1
  [[ $n == 1 ]] || return 1
  up=$(node_psql "$s" -c "select sender_host from pg_stat_wal_receiver where status = 'streaming'") || return 1
  [[ $up == "${ADDR[$p]}" || $up == "$KUBE_CR-$(( ${p#server} - 1 )).$KUBE_CR-hl.$KUBE_NS.svc" ]]
}
svc_psql() { local svc=$1 port=$2; shift 2
  inns client env PGPASSFILE="$PGPASSFILE" PGCONNECT_TIMEOUT=3 "$PG_BIN/psql" -h "$svc.$KUBE_NS.svc" -p "$port" \
    -U postgres -d postgres -XAtq "$@"; }

# The writer through NAME-rw, the checker on every pod's host (no VIP in pods).
kube_start_writer() {
  VIP_CONNINFO="host=$KUBE_CR-rw.$KUBE_NS.svc port=5432 user=postgres dbname=postgres"
  start_writer
}
kube_start_checker() {
  local s args=()
  for s in "${SERVERS[@]}"; do args+=(--node "$s=${ADDR[$s]}:5432:9898"); done
  "$LABSH" exec client env PGPASSFILE="$PGPASSFILE" "$BIN/pgvigil-e2e-primary-checker" "${args[@]}" \
    --interval-ms 100 --probe-timeout-ms 500 >"$E2E_OUT/checker.out" 2>"$E2E_OUT/checker.err" &
  CHECKER_PID=$!
  await_exec "$CHECKER_PID" pgvigil-e2e-primary-checker || fail "checker did not start"
}

# writable_host: the lab host(s) whose PostgreSQL is writable (asked directly).
writable_host() {
  local s
  for s in "${SERVERS[@]}"; do is_writable "$s" && echo "$s"; done
}

# kube_crash_pod POD: the pod's container crashes: SIGKILL to all its processes at
# once (sidecar, PostgreSQL; pods.py kill-container), as under a container runtime;
# the kubelet stand-in starts it again.
kube_crash_pod() {
  local pod=$1 sidecar_pid killed
  sidecar_pid=$(head -n1 "$E2E_LAB/pids/kube-pod-$pod.pid")
  say "crash of $pod: SIGKILL to every process of its container (sidecar $sidecar_pid, PostgreSQL); load $(cut -d' ' -f1-3 /proc/loadavg)"
  killed=$(python3 -B "$KUBE_HERE/pods.py" kill-container "$sidecar_pid")
  echo "  $killed"
  [[ $killed == killed* ]] || { fail "pods.py kill-container did not kill the container of $pod"; exit 1; }
}

# kube_finish: writer and checker verdicts, every acknowledged write on the primary.
kube_finish() {
  local primary="" s vrc
  say "stopping the writer and the checker"
  stop_writer | sed 's/^/  /'
  if [[ ${KUBE_EXPECT_NO_WRITE_ERRORS:-no} == yes ]]; then
    if grep -q '^writer: acked [0-9]*, errors 0,' "$E2E_OUT/writer.out"; then pass "the writer saw no error"
    else fail "the writer saw errors: $(grep '^writer: acked' "$E2E_OUT/writer.out")"; fi
  fi
  stop_checker
  grep '^checker:' "$E2E_OUT/checker.out" | sed 's/^/  /'
  if [[ $CHECKER_RC == 0 ]] && grep -q '^checker: no violations' "$E2E_OUT/checker.out"; then
    pass "checker: never two writable primaries routed by proxies"
  else
    fail "checker found violations (exit $CHECKER_RC): $(grep -E 'VIOLATION' "$E2E_OUT/checker.out" | tail -n 5)"
  fi
  for s in "${SERVERS[@]}"; do
    [[ $(inns client "$PG_BIN/psql" -h "${ADDR[$s]}" -U postgres -d postgres -XAtq \
         -c "select pg_is_in_recovery()" 2>/dev/null) == f ]] && primary=$s
  done
  [[ -n $primary ]] || { fail "no writable primary at the end"; primary=server1; }
  inns client env PGPASSFILE="$PGPASSFILE" "$BIN/pgvigil-e2e-writer" --verify --acks "$E2E_OUT/acks" \
    --conninfo "host=${ADDR[$primary]} port=5432 user=postgres dbname=postgres" >"$E2E_OUT/verify.out" 2>&1
  vrc=$?
  sed 's/^/  /' "$E2E_OUT/verify.out"
  if [[ $vrc == 0 ]]; then pass "all $(acked_count) acknowledged writes are on the primary $primary"
  else fail "verify: exit $vrc (3: acknowledged writes lost)"; fi
  (($(acked_count) > 50)) || fail "only $(acked_count) acknowledged writes: the writer did not really run"
  echo "== $E2E_NAME: $E2E_PASSES passed, $E2E_FAILS failed in $((SECONDS - E2E_T0)) s (outputs in $E2E_OUT)"
  ((E2E_FAILS == 0))
  exit $?
}
