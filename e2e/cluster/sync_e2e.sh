#!/usr/bin/env bash
# e2e/cluster/sync_e2e.sh — synchronous replication (`replication.mode: sync`,
# synchronousCount 1: `ANY 1 (two standbys)`) end to end, under the numbered-row writer
# and the two-primaries checker; every acknowledged row must survive (zero loss):
#   1. lab with server1 only, pgvigil with the lab spec (replication.mode: sync): the
#      controller builds server2/server3 and lists them in server1's
#      synchronous_standby_names; the recorded set (the cluster-state register that
#      failover decisions read), pg_stat_replication.sync_state on the primary and
#      `vigilctl status -o json` agree;
#   2. `pg_ctl -m immediate stop` on the primary: the controller promotes a recorded
#      synchronous standby holding the most WAL, the other follows, the old primary is
#      rebuilt as a standby and the new primary lists both standbys again;
#   3. no safe candidate: the WAL receiver of standby B is stalled (SIGSTOP) so that
#      commits are acknowledged by standby A alone, then A's PostgreSQL hangs (every
#      process of it SIGSTOPped), the primary's sidecar is frozen (SIGSTOP) and the
#      primary crashes. B is the only reachable standby but lacks acknowledged
#      commits: 1 of the 2 recorded synchronous standbys is not enough for ANY 1, so
#      the controller must not fail over and must say why. (The frozen sidecar is what
#      makes it a failover question: with the primary's sidecar answering, the
#      controller starts the crashed primary again in place, step 4.) The hung A is
#      then killed (SIGKILL, a crash) and started again by hand (the controller starts
#      nothing without a writable primary): the controller must promote A (it has the
#      newest WAL); the primary's sidecar is thawed and the cluster heals (B follows,
#      the old primary is rebuilt);
#   4. the PostgreSQL of both standbys and of the primary crash at once, every sidecar
#      alive: no standby can be promoted, so the controller starts the primary again in
#      place (same timeline), then the standbys, and writes resume.
# Own lab: PGVIGIL_LAB_NS=pgsy, PGVIGIL_LAB_DIR=/tmp/pgvigil-lab-pgsy by default.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init sync pgsy

e2e_lab_up  # the lab spec: replication.mode sync, synchronousCount 1

# ---- helpers -------------------------------------------------------------------------
# The cluster-state register (durable on a majority; what failover decisions read), as
# the VIP holder (the watchdog leader) has it: "COUNT NAME,NAME".
recorded_sync() {
  inns client curl -s -m 3 "http://$VIP:9898/v1/watchdog/register" | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)["doc"]
    print(d.get("sc", 0), ",".join(sorted(d.get("ss", []))))
except Exception:
    print("")'
}
# The same as vigilctl status -o json reports it (synchronousCount, synchronousStandbys).
status_recorded_sync() {
  status_json | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
    print(d["synchronousCount"], ",".join(sorted(d["synchronousStandbys"])))
except Exception:
    print("")'
}
ssn_of() { node_psql "$1" -c "show synchronous_standby_names"; }
# pg_stat_replication on the primary: "NAME=SYNC_STATE ..." (sorted).
pg_sync_states() { node_psql "$1" -c "select string_agg(application_name || '=' || sync_state, ' ' order by application_name) from pg_stat_replication"; }
# The same as vigilctl status -o json reports it (nodes[].replicationSyncState).
status_sync_states() {
  status_json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join(n["name"] + "=" + n["replicationSyncState"] for n in sorted(d["nodes"], key=lambda n: n["name"]) if n["replicationSyncState"]))'
}
# sync_in_effect PRIMARY S1 S2: both standbys recorded (ANY 1), listed on the primary,
# and quorum-synchronous in its pg_stat_replication.
sync_in_effect() {
  local p=$1 a b
  a=$(printf '%s\n' "$2" "$3" | sort | head -1); b=$(printf '%s\n' "$2" "$3" | sort | tail -1)
  [[ $(recorded_sync) == "1 $a,$b" ]] || return 1
  [[ $(ssn_of "$p") == "ANY 1 (\"$a\", \"$b\")" ]] || return 1
  [[ $(pg_sync_states "$p") == "$a=quorum $b=quorum" ]]
}
# WAL a standby holds: the greater of received and replayed, in bytes.
held_lsn() {
  local v hi lo
  v=$(node_psql "$1" -c "select greatest(coalesce(pg_last_wal_receive_lsn(), '0/0'), coalesce(pg_last_wal_replay_lsn(), '0/0'))") || return 1
  [[ $v == */* ]] || return 1
  hi=${v%/*}; lo=${v#*/}
  echo $(( (16#$hi << 32) + 16#$lo ))
}
fmt_lsn() { printf '%X/%X' $(( $1 >> 32 )) $(( $1 & 0xFFFFFFFF )); }
# Start serverN's PostgreSQL by hand inside its namespace, as the sidecar would.
start_pg() {
  inns "$1" sh -c "cd / && exec runuser -u postgres -- '$PG_BIN/pg_ctl' -D '$E2E_LAB/$1/data' -l '$E2E_LAB/$1/data.log' -w -t 60 start"
}
acks_after() { awk -v t="$1" 'NF >= 3 && $3 > t { n++ } END { print n + 0 }' "$E2E_OUT/acks"; }
# Controller log lines written since log_mark (all three hosts: whichever acts).
log_mark() { local s; LOG_MARK=(); for s in "${SERVERS[@]}"; do LOG_MARK+=("$(wc -l <"$E2E_LAB/$s/controller.log" 2>/dev/null || echo 0)"); done; }
logs_since_mark() {
  local i
  for i in 0 1 2; do tail -n +"$(( ${LOG_MARK[$i]} + 1 ))" "$E2E_LAB/${SERVERS[$i]}/controller.log" 2>/dev/null; done
}
other_of() { local s; for s in "${SERVERS[@]}"; do [[ $s != "$1" && $s != "$2" ]] && echo "$s"; done; }
# promoted STEP OLD T0_MS WHAT: waits up to 60 s for a writable node other than OLD
# (asked directly), sets NEW; finishes the test when none comes.
promoted() {
  if wait_until 60 writable_other "$2"; then
    pass "$1. $NEW promoted (writable) $(( $(now_ms) - $3 )) ms after $4"
  else
    fail "$1. no standby promoted 60 s after $4"
    e2e_finish no
  fi
}
# healed STEP OLD NEW OTHER T0_MS: after a failover from OLD to NEW: clients write
# again, OTHER follows NEW, OLD is rebuilt as its standby, and NEW lists both as
# synchronous standbys again.
healed() {
  local step=$1 old=$2 new=$3 other=$4 t=$5
  check "$step. vigilctl status names $new the primary" wait_until 20 eval '[[ $(cluster_primary) == "$new" ]]'
  check "$step. writes through the VIP resume" writes_resume 30
  report_outage "$step. failover $old -> $new" "$t"
  check "$step. $other streams from $new" wait_until 60 streams_from "$other" "$new"
  if wait_until 120 streams_from "$old" "$new"; then
    pass "$step. the crashed primary $old rebuilt as a standby of $new $(( $(now_ms) - t )) ms after the crash"
  else
    fail "$step. $old is not a standby of $new 120 s after the crash"
  fi
  check "$step. show pool_nodes via the VIP: three nodes up, $new primary" wait_until 30 three_up_one_primary "$new"
  if wait_until 30 sync_in_effect "$new" "$old" "$other"; then
    pass "$step. on $new: recorded '$(recorded_sync)', synchronous_standby_names = '$(ssn_of "$new")', pg_stat_replication: $(pg_sync_states "$new")"
  else
    fail "$step. sync not in effect on $new: recorded '$(recorded_sync)', synchronous_standby_names '$(ssn_of "$new")', pg_stat_replication '$(pg_sync_states "$new")'"
  fi
}

# ---- 1. sync mode in effect ----------------------------------------------------------
say "1. waiting for the controller to build server2 and server3 and list them as synchronous"
t=$SECONDS
if wait_until 90 three_up_one_primary server1; then
  pass "1. standbys built by the controller: show pool_nodes via the VIP: three up, server1 primary ($((SECONDS - t)) s)"
else
  fail "1. not three up / server1 primary after 90 s:"; pool_nodes | sed 's/^/  /'
fi
for s in server2 server3; do check "1. $s streams from server1" wait_until 30 streams_from "$s" server1; done
if wait_until 30 sync_in_effect server1 server2 server3; then
  pass "1. recorded synchronous standbys '$(recorded_sync)', server1 synchronous_standby_names = '$(ssn_of server1)', pg_stat_replication: $(pg_sync_states server1)"
else
  fail "1. sync not in effect: recorded '$(recorded_sync)', synchronous_standby_names '$(ssn_of server1)', pg_stat_replication '$(pg_sync_states server1)'"
fi
check "1. vigilctl status -o json shows server2 and server3 synchronous (quorum) as pg_stat_replication does" \
  wait_until 10 eval '[[ $(status_sync_states) == "server2=quorum server3=quorum" && $(status_sync_states) == "$(pg_sync_states server1)" ]]'
check "1. vigilctl status -o json shows the recorded synchronous standbys ($(status_recorded_sync))" \
  wait_until 10 eval '[[ $(status_recorded_sync) == "1 server2,server3" ]]'
vctl status | grep -E '^(synchronous|summary):' | sed 's/^/  /'
# Synchronous for real: a commit on the primary is flushed on a standby when it returns.
lsn_c=$(node_psql server1 -c "create table if not exists sync_probe(x int); insert into sync_probe values (1); select pg_current_wal_lsn()")
flushed=$(node_psql server1 -c "select count(*) from pg_stat_replication where flush_lsn >= '$lsn_c'")
check "1. after a commit returns, a standby has flushed it (flush_lsn >= $lsn_c on $flushed of 2)" eval '((flushed >= 1))'

start_checker
start_writer
sleep 2
say "writer and checker running ($(acked_count) writes acknowledged)"

# ---- 2. primary crash: a recorded synchronous standby is promoted --------------------
old=$(cluster_primary)
rec=$(recorded_sync)
say "2. primary $old, recorded synchronous standbys '$rec': pg_ctl -m immediate stop on $old"
t=$(now_ms)
pg_ctl_on "$old" -m immediate -s stop
declare -A HELD=()
for s in "${SERVERS[@]}"; do [[ $s != "$old" ]] && HELD[$s]=$(held_lsn "$s"); done
note "2. WAL held by the standbys after the crash: $(for s in "${!HELD[@]}"; do printf '%s=%s ' "$s" "$(fmt_lsn "${HELD[$s]:-0}")"; done)"
promoted 2 "$old" "$t" "the crash"
new=$NEW
other=$(other_of "$old" "$new")
check "2. $new is a recorded synchronous standby ($rec)" eval '[[ ",${rec#* }," == *",$new,"* ]]'
check "2. $new held the most WAL of the recorded standbys ($new $(fmt_lsn "${HELD[$new]:-0}"), $other $(fmt_lsn "${HELD[$other]:-0}"))" \
  eval '(( ${HELD[$new]:-0} > 0 && ${HELD[$new]:-0} >= ${HELD[$other]:-0} ))'
healed 2 "$old" "$new" "$other" "$t"

# ---- 3. no safe candidate: no failover; then heal -------------------------------------
p=$new
a=$other   # keeps the acknowledged commits
b=$old     # stalled: lacks them
wr=$(node_psql "$b" -c "select pid from pg_stat_wal_receiver where status = 'streaming'")
say "3. primary $p; stalling $b's WAL receiver (pid $wr): commits acknowledged by $a alone"
[[ $wr =~ ^[0-9]+$ ]] || { fail "3. no streaming WAL receiver on $b"; e2e_finish no; }
kill -STOP "$wr"
# resumed below, and on any exit
trap 'e2e_rc=$?; kill -CONT '"$wr"' 2>/dev/null; (exit $e2e_rc); e2e_cleanup' EXIT
t_stall=$(now_ms)
sleep 2
n_only_a=$(acks_after "$t_stall")
lag=$(( $(held_lsn "$a") - $(held_lsn "$b") ))
check "3. writes acknowledged while $b is stalled ($n_only_a), $a ahead of $b by $lag bytes" eval '(( n_only_a > 0 && lag > 0 ))'
# A's PostgreSQL hangs first: every process of it stopped (the postmaster first, so
# it forks nothing more). Crashing A at once with the primary was a race: a controller
# round that observed the primary just before its crash and A's sidecar just after
# A's saw a writable primary and a stopped standby, and started A again as a standby
# (PostgreSQL on A is stopped: start it as a standby); A then came back with the
# newest WAL and was promoted, and the refusal below was never reached (seen in CI).
# A hung PostgreSQL does not answer the controller, so it cannot be chosen, and its
# sidecar sees it running, so nothing starts it. It is killed (a crash) once the
# controller has refused. Thawed on any exit.
a_pm=$(head -1 "$E2E_LAB/$a/data/postmaster.pid" 2>/dev/null)
[[ $a_pm =~ ^[0-9]+$ ]] || { fail "3. no postmaster pid for $a"; e2e_finish no; }
kill -STOP "$a_pm"
a_pids=("$a_pm")
for c in $(ps -o pid= --ppid "$a_pm"); do kill -STOP "$c" && a_pids+=("$c"); done
trap 'e2e_rc=$?; kill -CONT '"$wr ${a_pids[*]}"' 2>/dev/null; (exit $e2e_rc); e2e_cleanup' EXIT
# The primary crashes once the controller sees A down: a round still using an
# observation of A from before the hang could otherwise start a failover to A, which
# then sticks ("no longer a running standby"; the same refusal by another path).
pg_status_of() {
  status_json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(next((n["pgStatus"] for n in d["nodes"] if n["name"] == sys.argv[1]), ""))' "$1" 2>/dev/null
}
check "3. the controller sees $a's hung PostgreSQL down" wait_until 20 eval '[[ $(pg_status_of "$a") == down ]]'
# The primary's sidecar is frozen (SIGSTOP to its main process, not its group: the
# PostgreSQL it started is not touched) before the crash: its host's agent hangs, so
# the controller cannot start the crashed primary again in place (step 4 is that
# case) and the failover question is the controller's alone. Thawed below, and on
# any exit.
sidecar_p=$(cat "$E2E_LAB/pids/sidecar-$p.pid")
[[ $sidecar_p =~ ^[0-9]+$ ]] || { fail "3. no sidecar pid for $p"; e2e_finish no; }
trap 'e2e_rc=$?; kill -CONT '"$wr"' '"$sidecar_p ${a_pids[*]}"' 2>/dev/null; (exit $e2e_rc); e2e_cleanup' EXIT
log_mark
t=$(now_ms)
say "3. $a's PostgreSQL hangs (pids ${a_pids[*]} stopped); freezing $p's sidecar (pid $sidecar_p), then pg_ctl -m immediate stop on the primary $p"
kill -STOP "$sidecar_p"
pg_ctl_on "$p" -m immediate -s stop
t_down=$(now_ms)   # the primary's postmaster is gone: nothing can be acknowledged after this
# $b's receiver stays stopped until a failover is decided: resumed, it would still read
# what the dead primary's kernel had sent (its socket buffers), and catch up by luck.
held_b=$(held_lsn "$b")
reason_re='synchronous mode: 1 of the 2 recorded synchronous standbys are reachable'
# (grep reads everything: grep -q would end the pipe early, and pipefail fail it)
if wait_until 30 eval 'logs_since_mark | grep "$reason_re" >/dev/null'; then
  pass "3. the controller refuses to fail over $(( $(now_ms) - t )) ms after the crash and says why:"
  logs_since_mark | grep -o "phase .*$reason_re[^;]*" | head -1 | cut -c1-300 | sed 's/^/  /'
else
  fail "3. no 'not failing over' reason in the controller logs 30 s after the crash"
  logs_since_mark | grep -E "phase|failover|promote" | tail -n 5 | sed 's/^/  /'
fi
# vigilctl asks $b's controller here, not the VIP's: when the frozen sidecar held the
# VIP, the address stays on its host (a new leader does not bring up an address
# another host still answers for), and the controller there sees no quorum.
b_status() { PGVIGIL_CONTROLLER=http://${ADDR[$b]}:9900 status_field "$1"; }
if wait_until 10 eval '[[ $(b_status summary) == *"$reason_re"* ]]'; then
  pass "3. vigilctl status (of $b's controller) says why too: $(b_status summary | cut -c1-200)"
else
  fail "3. vigilctl status (of $b's controller) does not say why (summary: '$(b_status summary)')"
fi
promoted_b=no
hold_end=$((SECONDS + 5))
while ((SECONDS < hold_end)); do is_writable "$b" && { promoted_b=yes; break; }; sleep 0.2; done
check "3. $b (reachable, but lacking acknowledged commits) is not promoted in 5 s more" eval '[[ $promoted_b == no ]]'
check "3. vigilctl status (of $b's controller) still names $p the primary" eval '[[ $(b_status primary) == "$p" ]]'
check "3. no write acknowledged while the primary is down" eval '(( $(acks_after $((t_down + 200))) == 0 ))'
note "3. vigilctl status (of $b's controller): phase '$(b_status phase)'"

say "3. killing $a's hung PostgreSQL (SIGKILL: a crash), then starting it again (it holds the acknowledged commits)"
kill -KILL "${a_pids[@]}"
# Until reaped (by pid 1 here, in a second or two): PostgreSQL takes a zombie whose pid
# its postmaster.pid names for a postmaster still running, and refuses to start.
for _ in $(seq 300); do alive=0; for x in "${a_pids[@]}"; do [[ -e /proc/$x ]] && alive=1; done; ((alive)) || break; sleep 0.1; done
check "3. $a's PostgreSQL processes are gone (reaped)" eval '((alive == 0))'
t2=$(now_ms)
log_mark
if start_pg "$a" >"$E2E_OUT/start-$a.log" 2>&1; then pass "3. pg_ctl start on $a"; else fail "3. pg_ctl start on $a"; cat "$E2E_OUT/start-$a.log"; fi
held_a=$(held_lsn "$a" 2>/dev/null || echo 0)
note "3. WAL held: $a $(fmt_lsn "${held_a:-0}"), $b $(fmt_lsn "${held_b:-0}") (receiver stopped)"
# Once a promotion is decided, $b's receiver may go (promoting $b would wait for it to
# stop): it is told to stop before it runs again, so it does not read what the dead
# primary's kernel still had sent it (its socket buffer: WAL never acknowledged, maybe
# past $a's end, which would leave $b diverged from $a's new timeline).
decided() { writable_other "$p" || logs_since_mark | grep "failing over from $p to" >/dev/null; }
wait_until 60 decided
kill -TERM "$wr"; kill -CONT "$wr"
promoted 3 "$p" "$t2" "$a came back"
new=$NEW
say "3. thawing $p's sidecar"
kill -CONT "$sidecar_p"
check "3. $a holds more WAL than the stalled $b" eval '(( ${held_a:-0} > ${held_b:-0} ))'
check "3. the promoted node is $a, the standby with the newest WAL (not $b)" eval '[[ $new == "$a" ]]'
healed 3 "$p" "$new" "$(other_of "$new" "$p")" "$t"
vctl status | sed 's/^/  /'

# ---- 4. no standby can be promoted, the primary's sidecar answers: restart in place ---
# The PostgreSQL of both standbys and of the primary crash at once (pg_ctl -m immediate
# stop), every sidecar alive. No standby can be promoted, and the primary's data
# directory holds every acknowledged commit: the controller must start it again in
# place (as Patroni restarts a crashed PostgreSQL on its leader), then the standbys.
# At once, as in step 3: a standby the controller saw running after the primary was
# down could be chosen for a failover.
p=$new
read -r s1 s2 <<<"$(other_of "$p" "$p" | tr '\n' ' ')"
tli() { node_psql "$1" -c "select substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)"; }
tl_before=$(tli "$p")
log_mark
say "4. primary $p (timeline $tl_before): pg_ctl -m immediate stop on $s1, $s2 and $p at once"
pg_ctl_on "$s1" -m immediate -s stop & stop_1=$!
pg_ctl_on "$s2" -m immediate -s stop & stop_2=$!
t4=$(now_ms)
pg_ctl_on "$p" -m immediate -s stop
wait "$stop_1" "$stop_2"
if wait_until 60 is_writable "$p"; then
  pass "4. $p writable again $(( $(now_ms) - t4 )) ms after its crash"
else
  fail "4. $p not writable 60 s after its crash"
  logs_since_mark | grep -E "phase|action" | tail -n 5 | cut -c1-300 | sed 's/^/  /'
fi
check "4. the controller started it again in place, and said why" eval \
  'logs_since_mark | grep -E "action start $p: primary $p .*PostgreSQL stopped on its primary.s data directory" >/dev/null'
logs_since_mark | grep -o "action start $p: .*" | head -1 | cut -c1-300 | sed 's/^/  /'
check "4. no standby promoted: $s1 and $s2 not writable" eval '! is_writable "$s1" && ! is_writable "$s2"'
check "4. the same timeline ($tl_before): no promotion" eval '[[ $(tli "$p") == "$tl_before" ]]'
check "4. writes through the VIP resume" writes_resume 60
report_outage "4. primary $p restarted in place" "$t4"
check "4. $s1 streams from $p again" wait_until 60 streams_from "$s1" "$p"
check "4. $s2 streams from $p again" wait_until 60 streams_from "$s2" "$p"

e2e_finish no
