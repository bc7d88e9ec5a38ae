#!/usr/bin/env bash
# e2e/kube/late_e2e.sh — kube-lab: bootstrap with two pods late, then the first
# primary fenced at bootstrap. kube-fake (a stand-in for the API server, not
# Kubernetes) + the lab + the kubelet/kube-proxy stand-in + the real
# pgvigil-controller --kubernetes.
#  A. The kubelet holds NAME-1 and NAME-2 (its hold file: Pending, as pods whose
#     nodes are slow to pull the image) while the example CR is applied; NAME-0
#     runs alone for 20 s. Checked: the two not started, the controller does not
#     initialise an instance before it sees them all (KUBERNETES.md §4.4), and no
#     write succeeds, neither through NAME-rw nor to NAME-0's PostgreSQL (a probe
#     every ~0.2 s).
#  B. Released; the moment the controller sends `init` to NAME-0, the sidecars of
#     NAME-1 and NAME-2 are frozen (SIGSTOP) for 12 s: NAME-0 starts as the primary
#     with no member acknowledging its write lease (§6), so its sidecar fences it
#     (PostgreSQL stopped, the fence recorded with its term) and the init fails
#     before it has created the replication user. Checked: the self-fence; no
#     write through NAME-rw while frozen; after SIGCONT the controller asks for a
#     newer term for the self-fenced instance and sends init again (the sidecar
#     resumes the unfinished init: never a plain start, which would leave the
#     standbys without their replication user), then the cluster comes up: a
#     primary through NAME-rw, 3 pods Ready, 2 standbys streaming, Ready=True.
#     Found by this scenario (session 18): a start the fence had stopped was
#     never retried, and the init's failure was not observed (the controller
#     then started the half-made primary). The writer through NAME-rw (from
#     the first primary on) and the primary checker on every host (from the
#     start) see no lost acknowledged write and never two writable primaries.
# Own lab: PGVIGIL_LAB_NS=klt, PGVIGIL_LAB_DIR=/tmp/pgvigil-lab-klt by default.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
kube_init kube_late klt
kube_lab_up

HOLD=$KUBE_DIR/hold
printf '%s\n' "$KUBE_CR-1" "$KUBE_CR-2" >"$HOLD"
say "the kubelet holds $KUBE_CR-1 and $KUBE_CR-2 ($HOLD)"
say "applying the example PostgresCluster (with the lab's secrets)"
example_with_lab_secrets >"$E2E_OUT/example.yaml"
kubefake_ctl /apply "$E2E_OUT/example.yaml" | sed 's/^/  /' || { fail "apply of the example"; exit 1; }
check "1. SpecValid=True" wait_until 30 eval \
  '[[ $(cr_field "[x[\"status\"] for x in c[\"status\"][\"conditions\"] if x[\"type\"]==\"SpecValid\"][0]") == True ]]'
must "2. $KUBE_CR-0 started alone" wait_until 60 grep -q "started $KUBE_CR-0 " "$KUBE_DIR/kubelet.log"
kube_start_checker

# probe_writes SECONDS: a write to NAME-0's PostgreSQL (directly) and one through
# NAME-rw every ~0.2 s; prints a line for each that succeeded.
probe_writes() {
  local end=$((SECONDS + $1)) t
  while ((SECONDS < end)); do
    t=$(date -u +%T.%3N)
    inns client env PGPASSFILE="$PGPASSFILE" PGCONNECT_TIMEOUT=1 "$PG_BIN/psql" -h "${ADDR[server1]}" \
      -U postgres -d postgres -XAtq -c "create table if not exists kube_late_direct(x int)" \
      -c "insert into kube_late_direct values (1)" >/dev/null 2>&1 && echo "$t write to $KUBE_CR-0's PostgreSQL"
    svc_psql "$KUBE_CR-rw" 5432 -c "create table if not exists kube_late_rw(x int)" \
      -c "insert into kube_late_rw values (1)" >/dev/null 2>&1 && echo "$t write through $KUBE_CR-rw"
    sleep 0.2
  done
}
say "A. $KUBE_CR-0 alone for 20 s: probing for writes"
probe_writes 20 >"$E2E_OUT/alone.txt"
sed 's/^/  /' "$E2E_OUT/alone.txt" | head -n 5
check "3. $KUBE_CR-1 and $KUBE_CR-2 not started while held" eval \
  '! grep -qE "started $KUBE_CR-(1|2) " "$KUBE_DIR/kubelet.log"'
check "4. no instance initialised while two of three are missing" eval \
  '! grep -q "init sent to" "$KUBE_DIR/controller.log"'
check "5. no write succeeded while $KUBE_CR-0 was alone" eval '[[ ! -s $E2E_OUT/alone.txt ]]'

: >"$HOLD"
say "B. released $KUBE_CR-1 and $KUBE_CR-2; their sidecars are frozen the moment $KUBE_CR-0 gets init"
must "6. the controller sends init to $KUBE_CR-0" wait_until 120 eval \
  'grep -q "init sent to $KUBE_CR-0" "$KUBE_DIR/controller.log"'
frozen=()
for n in 1 2; do frozen+=("$(head -n1 "$E2E_LAB/pids/kube-pod-$KUBE_CR-$n.pid")"); done
kill -STOP "${frozen[@]}"
say "froze the sidecars of $KUBE_CR-1 and $KUBE_CR-2 (pids ${frozen[*]}); load $(cut -d' ' -f1-3 /proc/loadavg)"
grep "init sent to" "$KUBE_DIR/controller.log" | sed 's/^/  /'
probe_writes 12 >"$E2E_OUT/frozen.txt"
kill -CONT "${frozen[@]}"
say "thawed them"
grep -E "SELF-FENCE|self-fence" "$KUBE_DIR/logs/$KUBE_CR-0.log" | head -n 3 | sed 's/^/  pod: /'
check "7. $KUBE_CR-0's sidecar fenced its PostgreSQL (no write lease)" \
  grep -q "SELF-FENCE: stopping PostgreSQL" "$KUBE_DIR/logs/$KUBE_CR-0.log"
# (a write may land in the moment between the start and the fence: reported)
sed 's/^/  while frozen: /' "$E2E_OUT/frozen.txt" | head -n 5
check "8. no write through $KUBE_CR-rw while the others were frozen" eval \
  '! grep -q "through $KUBE_CR-rw" "$E2E_OUT/frozen.txt"'
must "9. a primary reachable through $KUBE_CR-rw" wait_until 180 eval \
  'svc_psql $KUBE_CR-rw 5432 -c "select 1" >/dev/null'
kube_start_writer
grep -E "fenced its PostgreSQL itself" "$KUBE_DIR/controller.log" | head -n 2 | sed 's/^/  /'
check "10. the controller asked for a newer term for the self-fenced $KUBE_CR-0" \
  grep -q "$KUBE_CR-0 fenced its PostgreSQL itself in term" "$KUBE_DIR/controller.log"
grep -E "sending init again|resuming an unfinished init" "$KUBE_DIR/controller.log" "$KUBE_DIR/logs/$KUBE_CR-0.log" |
  head -n 2 | sed 's/^/  /'
check "10b. the unfinished init was resumed by a second init" \
  grep -q "resuming an unfinished init" "$KUBE_DIR/logs/$KUBE_CR-0.log"
check "11. 3 pods Ready" wait_until 180 pods_ready 3
check "12. 2 standbys streaming from the primary" wait_until 60 eval '[[ $(streaming_standbys) == 2 ]]'
check "13. the PostgresCluster is Ready=True" wait_until 60 cr_ready
writes_resume 10 || fail "the writer makes no progress through $KUBE_CR-rw"
kube_finish
