#!/usr/bin/env bash
# e2e/kube/deposed_e2e.sh — kube-lab scenario 5 (KUBERNETES.md §4.2, §9): a deposed
# controller changes nothing. Two controller replicas run (as the Deployment's two,
# each with its own identity and REST port). After the bootstrap (bootstrap_e2e.sh),
# with the writer through NAME-rw and the primary checker running, the primary pod's
# container is killed; the moment the leader records the failover (status.transition)
# it is SIGSTOPped. The other replica takes the Lease once it has stood still for the
# lease duration (15 s), with epoch T+1, makes it durable in the status and finishes
# the failover. Then the old leader gets SIGCONT. Passes when kube-fake's request log
# (the API-server stand-in's record, not Kubernetes') shows every write the old leader
# sent after the takeover refused (409), and at least one (its Lease renewal) was
# sent; Events, which no API server can refuse (no precondition on create), at most
# the ones already past its term check when it was stopped; it steps down (candidate, acting term 0); status.term, the StatefulSet's and
# the pods' pgvigil.io/term are T+1; no acknowledged write lost, never two writable
# primaries. Own lab: PGVIGIL_LAB_NS=kdp, PGVIGIL_LAB_DIR=/tmp/pgvigil-lab-kdp.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
kube_init kube_deposed kdp
kube_lab_up
say "second controller replica (pgvigil-controller-1, REST on 9901)"
kube_start_controller 1 9901
PORTS=(9900 9901)
kube_bootstrap_cluster

# Which replica leads.
leader=""
leads() { local n; for n in 0 1; do [[ $(replica_field "${PORTS[n]}" role) == leader ]] && leader=$n; done; [[ -n $leader ]]; }
must "7. one replica leads" wait_until 20 leads
other=$((1 - leader))
A=$(replica_field "${PORTS[leader]}" identity); B=$(replica_field "${PORTS[other]}" identity)
T=$(replica_field "${PORTS[leader]}" actingTerm)
say "leader $A (replica $leader, acting term $T); standing by: $B ($(replica_field "${PORTS[other]}" role))"
must "8. status.term is $T" eval '[[ $(cr_field "c[\"status\"][\"term\"]") == "$T" ]]'

old=$(writable_host)
must "9. one writable primary ($old)" eval '[[ -n $old && $old != *" "* ]]'
pod=$KUBE_CR-$(( ${old#server} - 1 ))
crash_with_trigger "$pod" --kind Failover --stop "${CONTROLLER_PIDS[leader]}" --timeout 90; trc=$?
must "10. the leader was SIGSTOPped as soon as the failover was recorded" test "$trc" = 0
STOPPED_AT=$SECONDS

check "11. $B takes the Lease with epoch $((T + 1))" wait_until 60 eval \
  '[[ $(replica_field ${PORTS[other]} role) == leader && $(replica_field ${PORTS[other]} actingTerm) == $((T + 1)) ]]'
say "takeover $((SECONDS - STOPPED_AT)) s after the SIGSTOP (lease duration 15 s)"
check "12. status.term = $((T + 1)) (made durable by the new leader)" wait_until 30 eval \
  '[[ $(cr_field "c[\"status\"][\"term\"]") == $((T + 1)) ]]'
new=""
check "13. another pod is primary" wait_until 60 eval 'new=$(writable_host); [[ -n $new && $new != "$old" && $new != *" "* ]]'
newpod=$KUBE_CR-$(( ${new#server} - 1 ))
check "14. the new leader finishes the failover: no status.transition, currentPrimary $newpod" wait_until 60 eval \
  '[[ $(cr_field "c[\"status\"].get(\"transition\",\"none\")") == none && $(cr_field "c[\"status\"][\"currentPrimary\"]") == "$newpod" ]]'
check "15. writes resume through $KUBE_CR-rw" writes_resume 30
say "first write after the crash: via $KUBE_CR-rw $(last_mark_delay) ms (the Lease's 15 s included; load $(cut -d' ' -f1-3 /proc/loadavg))"

# The takeover in kube-fake's request log: the new leader's first successful Lease PUT.
lease='r.get("path","").endswith("/leases/pgvigil-controller")'
takeover=$(requests "$lease and r['method'] == 'PUT' and r['code'] == 200 and '($B)' in r['userAgent']" | head -n1 |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["seq"])')
echo "  takeover: request log line ${takeover:-none}"
state_before=$(cr_field 'json.dumps({k: c["status"].get(k) for k in ("term","stateVersion","currentPrimary","routingGeneration")})')

say "SIGCONT to the old leader $A"
kill -CONT "${CONTROLLER_PIDS[leader]}"
check "16. $A steps down (candidate, acting term 0)" wait_until 30 eval \
  '[[ $(replica_field ${PORTS[leader]} role) == candidate && $(replica_field ${PORTS[leader]} actingTerm) == 0 ]]'
sleep 8  # a few more of its rounds and retries
# Events are apart: Kubernetes has no precondition for creating one, so nothing can
# refuse an Event POST already past the controller's term check when it was stopped.
event='r.get("path","").endswith("/events")'
writes="r.get('method') in ('POST', 'PUT', 'PATCH', 'DELETE') and not ($event)"
requests "'($A)' in r.get('userAgent', '') and r['seq'] > ${takeover:-0} and $writes" >"$E2E_OUT/deposed-writes.jsonl"
python3 -c '
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    print("  %s %s %s -> %d %s" % (r["time"], r["method"], r["path"], r["code"], r["reason"]))' "$E2E_OUT/deposed-writes.jsonl"
n_writes=$(grep -c . "$E2E_OUT/deposed-writes.jsonl")
n_ok=$(requests "'($A)' in r.get('userAgent', '') and r['seq'] > ${takeover:-0} and $writes and r['code'] < 400" | grep -c .)
check "17. after the takeover $A's writes reached kube-fake ($n_writes) and none succeeded ($n_ok)" \
  eval '[[ -n $takeover && $n_writes -ge 1 && $n_ok == 0 ]]'
n_events=$(requests "'($A)' in r.get('userAgent', '') and r['seq'] > ${takeover:-0} and r['method'] == 'POST' and $event" | grep -c .)
check "17b. Events it created after the takeover ($n_events): at most the two in flight when it was stopped (one per emitting thread)" \
  test "$n_events" -le 2
check "18. its Lease renewal was refused with 409 Conflict" eval \
  '[[ -n $(requests "\"($A)\" in r.get(\"userAgent\", \"\") and r[\"seq\"] > ${takeover:-0} and $lease and r[\"method\"] == \"PUT\" and r[\"code\"] == 409") ]]'
state_after=$(cr_field 'json.dumps({k: c["status"].get(k) for k in ("term","stateVersion","currentPrimary","routingGeneration")})')
echo "  status before SIGCONT: $state_before"
echo "  status after:          $state_after"
stamps=$(kube_get "/api/v1/namespaces/$KUBE_NS/pods" | python3 -c '
import json, sys
print(" ".join(sorted(set(p["metadata"].get("annotations", {}).get("pgvigil.io/term", "-")
                          for p in json.load(sys.stdin)["items"]))))')
sts=$(kube_get "/apis/apps/v1/namespaces/$KUBE_NS/statefulsets/$KUBE_CR" |
  python3 -c 'import json,sys; m=json.load(sys.stdin)["metadata"]; print(m.get("annotations",{}).get("pgvigil.io/term") or m.get("labels",{}).get("pgvigil.io/term"))')
echo "  term stamps: pods [$stamps], StatefulSet $sts"
check "19. term stamps: status.term, the StatefulSet and every pod at $((T + 1))" eval \
  '[[ $(cr_field "c[\"status\"][\"term\"]") == $((T + 1)) && $stamps == "$((T + 1))" && $sts == $((T + 1)) ]]'
# It learns it from its Lease (held by the other) or first from a newer term (a pod
# or the status stamped T+1), whichever reply comes first.
check "20. $A logged that it no longer leads (the Lease held by $B, or deposed by term $((T + 1)))" grep -qE \
  "not leading any more: (the Lease is held by '$B'|deposed: a status.term $((T + 1)) is above epoch $T)" \
  "$KUBE_DIR/controller$( ((leader == 0)) || echo "-$leader").log"
kube_finish
