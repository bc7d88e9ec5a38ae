#!/usr/bin/env bash
# e2e/kube/rollout_e2e.sh — a rolling update in the kube-lab (KUBERNETES.md §4.4;
# issue 11). kube-fake (a stand-in for the API server, not Kubernetes) + the lab +
# the kubelet/kube-proxy stand-in + the real pgvigil-controller --kubernetes.
# After the bootstrap of bootstrap_e2e.sh, with the writer through NAME-rw and the
# primary checker running, the CR's spec.image changes (the kube-lab runs the
# build's binaries whatever the image says, so only the pod template changes): a
# new StatefulSet update revision. Under OnDelete no pod changes by itself; the
# controller deletes the two standbys' pods one at a time (highest ordinal first,
# each back Ready and streaming before the next), switches over to an updated
# standby, then deletes the old primary's pod. Passes when every pod ends on the
# update revision, 3 Ready and 2 streaming, status.rollout says 3 updated, the
# pod DELETEs (kube-fake's request log) came in that order with uid and
# resourceVersion preconditions, fewer than two pods were ever not Ready at once
# (sampled every 0.2 s), no acknowledged write lost and never two writable
# primaries. The writer's errors during the rollout are reported, not asserted: a
# session through a deleted pod's proxy is closed with it (controller/kube/README.md,
# "Rolling updates"); deleting the watchdog leader's pod hands the leadership over
# without a leaderless moment (no "no live watchdog leader" in the pods' logs).
# Parameters (spec.postgres.parameters, the spec push PUT /v1/node/spec): before
# the image change, work_mem changes and every pod's PostgreSQL shows it within
# 10 s with pg_postmaster_start_time unchanged and no pod deleted; after the image
# rollout, max_connections goes up: every pod's PostgreSQL reports it pending a
# restart, the rollout restarts the pods one at a time (the revision stays) until
# every pod runs with it, never two pods not Ready, the rollout steady again.
# About 35-40 s (two runs: 35 and 36 s, the parameter rollout 11-12 s).
# Own lab: PGVIGIL_LAB_NS=krl, PGVIGIL_LAB_DIR=/tmp/pgvigil-lab-krl by default.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
kube_init kube_rollout krl
kube_lab_up
kube_bootstrap_cluster

pod_of() { echo "$KUBE_CR-$(( ${1#server} - 1 ))"; }
sts_field() {
  kube_get "/apis/apps/v1/namespaces/$KUBE_NS/statefulsets/$KUBE_CR" |
    python3 -c "import json,sys; s=json.load(sys.stdin); print($1)" 2>/dev/null
}
# pods_table: "name revision ready uid" per pod, by name.
pods_table() {
  kube_get "/api/v1/namespaces/$KUBE_NS/pods" | python3 -c '
import json, sys
for p in sorted(json.load(sys.stdin)["items"], key=lambda p: p["metadata"]["name"]):
    m = p["metadata"]
    ready = any(c["type"] == "Ready" and c["status"] == "True" for c in p.get("status", {}).get("conditions", []))
    print(m["name"], m["labels"].get("controller-revision-hash", "-"), ready, m["uid"])'
}
all_updated() {
  local rev=$1
  [[ $(pods_table | awk -v r="$rev" '$2 == r && $3 == "True"' | wc -l) == 3 ]]
}

old=$(writable_host)
must "7. one writable primary ($old)" eval '[[ -n $old && $old != *" "* ]]'
old_pod=$(pod_of "$old")
rev0=$(sts_field 's["status"]["updateRevision"]')
pods_table >"$E2E_OUT/pods-before.txt"
sed 's/^/  before: /' "$E2E_OUT/pods-before.txt"
check "8. every pod on the StatefulSet's revision $rev0" all_updated "$rev0"

# A reloadable parameter (KUBERNETES.md §3, issue 11): the controller pushes the
# new spec (PUT /v1/node/spec), each sidecar rewrites pgvigil.conf and reloads;
# every pod's PostgreSQL shows it within seconds, none restarted or deleted.
# setting_on SERVER NAME: current_setting(NAME) on that pod's PostgreSQL.
setting_on() { node_psql "$1" -c "select current_setting('$2')" 2>/dev/null; }
started_on() { node_psql "$1" -c "select pg_postmaster_start_time()" 2>/dev/null; }
all_pods_show() {  # NAME VALUE
  local s
  for s in "${SERVERS[@]}"; do [[ $(setting_on "$s" "$1") == "$2" ]] || return 1; done
}
declare -A STARTED
for s in "${SERVERS[@]}"; do STARTED[$s]=$(started_on "$s"); done
deletes_before=$(requests 'r.get("method") == "DELETE" and "/pods/" in r.get("path", "")' | wc -l)
t_param=$SECONDS
out=$(kube_patch "/apis/pgvigil.io/v1alpha1/namespaces/$KUBE_NS/postgresclusters/$KUBE_CR" \
  '{"spec":{"postgres":{"parameters":{"work_mem":"7777kB"}}}}')
check "8a. the CR patch of postgres.parameters.work_mem is accepted" test "${out%% *}" = 200
check "8b. every pod's PostgreSQL shows work_mem 7777kB within 10 s" wait_until 10 all_pods_show work_mem 7777kB
say "work_mem on every pod after $((SECONDS - t_param)) s"
same_start=yes
for s in "${SERVERS[@]}"; do [[ -n ${STARTED[$s]} && $(started_on "$s") == "${STARTED[$s]}" ]] || same_start=no; done
deletes_now=$(requests 'r.get("method") == "DELETE" and "/pods/" in r.get("path", "")' | wc -l)
check "8c. no PostgreSQL restarted (pg_postmaster_start_time unchanged), no pod deleted" \
  eval '[[ $same_start == yes && $deletes_now == "$deletes_before" ]]'
grep -E 'spec generation [0-9]+ .*pushed to .*postgres.parameters' "$KUBE_DIR/controller.log" | head -n 3 |
  sed 's/^/  controller: /' | cut -c1-400

# Not Ready pods sampled every 0.2 s from the spec change on (the most at once).
# stop_sampler lets it finish its look: killed, it could be cut between the
# truncation and the write of most-not-ready (an empty file, read next).
start_sampler() {
  echo 0 >"$E2E_OUT/most-not-ready"
  rm -f "$E2E_OUT/sampler.stop"
  ( most=0
    while [[ ! -e $E2E_OUT/sampler.stop ]]; do
      n=$(pods_table | awk '$3 != "True"' | wc -l)
      ((n > most)) && { most=$n; echo "$most" >"$E2E_OUT/most-not-ready"; }
      sleep 0.2
    done ) &
  SAMPLER=$!
}
stop_sampler() { touch "$E2E_OUT/sampler.stop"; wait "$SAMPLER" 2>/dev/null; }
start_sampler
errors_before=$(grep -c ' writer: ' "$E2E_OUT/writer.err" 2>/dev/null)
t0=$SECONDS
say "9. spec.image changed (load $(cut -d' ' -f1-3 /proc/loadavg))"
out=$(kube_patch "/apis/pgvigil.io/v1alpha1/namespaces/$KUBE_NS/postgresclusters/$KUBE_CR" \
  '{"spec":{"image":"pgvigil/pgvigil:0.1.1-pg15"}}')
check "9. the CR patch is accepted" test "${out%% *}" = 200
check "10. a new update revision" wait_until 30 eval '[[ $(sts_field "s[\"status\"][\"updateRevision\"]") != "$rev0" ]]'
rev1=$(sts_field 's["status"]["updateRevision"]')
say "update revision $rev0 -> $rev1"
check "11. every pod on $rev1 and Ready" wait_until 150 all_updated "$rev1"
say "rollout done in $((SECONDS - t0)) s (load $(cut -d' ' -f1-3 /proc/loadavg))"
stop_sampler
pods_table | sed 's/^/  after: /'
check "12. never two pods not Ready at once (most: $(<"$E2E_OUT/most-not-ready"))" \
  test "$(<"$E2E_OUT/most-not-ready")" -le 1
check "13. 2 standbys streaming" wait_until 60 eval '[[ $(streaming_standbys) == 2 ]]'
new=$(writable_host)
check "14. the primary moved off the old primary's pod ($old_pod -> $(pod_of "${new:-none}"))" \
  eval '[[ -n $new && $new != "$old" && $new != *" "* ]]'
check "15. status.rollout: 3 updated, steady" wait_until 20 eval \
  '[[ $(cr_field "(c[\"status\"][\"rollout\"][\"updatedInstances\"], c[\"status\"][\"rollout\"][\"step\"])") == "(3, '"'"'steady'"'"')" ]]'
check "16. Progressing is back to Settled" wait_until 20 eval \
  '[[ $(cr_field "[x[\"reason\"] for x in c[\"status\"][\"conditions\"] if x[\"type\"]==\"Progressing\"][0]") == Settled ]]'

# The pod DELETEs as kube-fake answered them: the two standbys (highest ordinal
# first), then the old primary, each once, each with preconditions.
requests 'r.get("method") == "DELETE" and "/pods/" in r.get("path", "")' >"$E2E_OUT/deletes.jsonl"
sed 's/^/  /' "$E2E_OUT/deletes.jsonl"
order=$(python3 -c '
import json, sys
print(" ".join(json.loads(l)["path"].rsplit("/", 1)[1] + ":" + str(json.loads(l)["code"]) for l in open(sys.argv[1])))' \
  "$E2E_OUT/deletes.jsonl")
standbys=$(for s in "${SERVERS[@]}"; do [[ $s == "$old" ]] || pod_of "$s"; done | sort -r | tr '\n' ' ')
want="$(for p in $standbys; do echo -n "$p:200 "; done)$old_pod:200"
# A DELETE refused with 409 (a label patch moved the pod's resourceVersion
# between the controller's read and its DELETE: the precondition doing its
# job) is sent again on a later round; only 409s may come between the 200s.
done_order=$(tr ' ' '\n' <<<"$order" | grep ':200$' | tr '\n' ' ' | sed 's/ $//')
others=$(tr ' ' '\n' <<<"$order" | grep -v ':200$' | grep -cv ':409$')
check "17. pod DELETEs done in order: $want (got: $order)" eval '[[ $done_order == "$want" && $others == 0 ]]'
deleted=$(grep -cE 'rollout: DELETE pod [^ ]+ \(uid [0-9a-zA-Z-]+, resourceVersion [0-9]+\): deleted' "$KUBE_DIR/controller.log")
check "18. each DELETE sent with the pod's uid and resourceVersion as preconditions ($deleted logged)" test "$deleted" = 3
grep -E 'rollout (delete-pod|switchover)|rollout: (DELETE|switchover)' "$KUBE_DIR/controller.log" | sed 's/^/  controller: /' | cut -c1-400
check "19. the switchover was requested by the rollout" grep -q "rollout: switchover $old_pod .* requested (ok)" "$KUBE_DIR/controller.log"
# A restart-only parameter (max_connections up): each sidecar reloads and reports
# what PostgreSQL says waits for a restart (pg_settings.pending_restart); the
# rollout replaces those pods one at a time as for a new revision (kube_rollout.h).
pending_or_applied() {  # VALUE: every pod's PostgreSQL has it pending a restart, or runs with it
  local s v
  for s in "${SERVERS[@]}"; do
    v=$(node_psql "$s" -c "select setting || ' ' || pending_restart from pg_settings where name = 'max_connections'")
    [[ $v == "$1 "* || $v == *" t" ]] || return 1
  done
}
mc0=$(setting_on "$old" max_connections)
mc1=$((mc0 + 10))
deletes_before=$(requests 'r.get("method") == "DELETE" and "/pods/" in r.get("path", "")' | wc -l)
start_sampler
t1=$SECONDS
out=$(kube_patch "/apis/pgvigil.io/v1alpha1/namespaces/$KUBE_NS/postgresclusters/$KUBE_CR" \
  "{\"spec\":{\"postgres\":{\"parameters\":{\"max_connections\":\"$mc1\"}}}}")
check "20. the CR patch of max_connections $mc0 -> $mc1 is accepted" test "${out%% *}" = 200
check "21. every pod's PostgreSQL has max_connections $mc1 pending a restart (or already runs with it)" \
  wait_until 30 pending_or_applied "$mc1"
check "22. every pod's PostgreSQL runs with max_connections $mc1, 3 pods Ready on $rev1" \
  wait_until 150 eval 'all_pods_show max_connections '"$mc1"' && all_updated '"$rev1"
say "restart-only parameter rolled out in $((SECONDS - t1)) s"
stop_sampler
deletes_param=$(( $(requests 'r.get("method") == "DELETE" and "/pods/" in r.get("path", "")' | wc -l) - deletes_before ))
check "23. the rollout deleted the pods pending a restart ($deletes_param DELETEs; the old primary's restart at the switchover may take it first)" \
  eval '((deletes_param >= 2 && deletes_param <= 3))'
check "24. never two pods not Ready at once (most: $(<"$E2E_OUT/most-not-ready"))" \
  test "$(<"$E2E_OUT/most-not-ready")" -le 1
check "25. 2 standbys streaming, status.rollout steady" wait_until 60 eval \
  '[[ $(streaming_standbys) == 2 && $(cr_field "c[\"status\"][\"rollout\"][\"step\"]") == steady ]]'
check "26. one writable primary" eval '[[ -n $(writable_host) && $(writable_host) != *" "* ]]'

errors_during=$(( $(grep -c ' writer: ' "$E2E_OUT/writer.err" 2>/dev/null) - errors_before ))
say "writer error lines during the rollouts: $errors_during (rate-limited lines, each may stand for several)"
grep ' writer: ' "$E2E_OUT/writer.err" | grep -v ' writer: mark' | tail -n 5 | sed 's/^/  /'
writes_resume 10 || fail "the writer makes no progress through $KUBE_CR-rw"
kube_finish
