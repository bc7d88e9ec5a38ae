#!/usr/bin/env bash
# hack/lab.sh — the pgvigil lab: three (or PGVIGIL_LAB_HOSTS) PostgreSQL 15 "hosts" and a client, each in
# its own network namespace, joined by a bridge that lives in a namespace of its own
# (pgv-net), so no lab traffic can touch the root namespace or leave the machine.
#
#   hack/lab.sh up [--standbys]   build the lab; server1 runs a primary. --standbys also
#                                 builds server2..N as streaming standbys.
#                                 If the lab is already up and healthy (and has the
#                                 standbys when asked for), prints so and returns 0;
#                                 anything else (partial, crashed, other LAB_DIR) is
#                                 torn down first and rebuilt from scratch.
#   hack/lab.sh down              stop everything the lab started, delete namespaces and
#                                 the lab dir. Idempotent.
#   hack/lab.sh status            one line per host (state, role, VIP) + VIP holder.
#   hack/lab.sh env               shell variables (eval "$(hack/lab.sh env)").
#   hack/lab.sh exec NS CMD...    run CMD (as root) in namespace $NS-NS (NS: server1..N|
#                                 client|net), with PGPASSFILE=$LAB/secrets/pgpass unless set.
#   hack/lab.sh psql serverN [ARGS...]
#                                 psql as OS user postgres from pgv-client to serverN's
#                                 address, authenticating with the lab pgpass.
#
# Files under $LAB: secrets/{postgres.password,repl.password,api.token,watchdog.key,
# pool_hba.conf,pool_passwd} (root,
# 0600), secrets/pgpass (postgres, 0600; hosts 127.0.0.1 localhost the servers' .100 .150,
# any port/db, users postgres and repl), serverN/{data,run,host.conf,postgresql.log}, and
# pids/*.pid: later components put the pid of anything they start there (first line); `down`
# TERMs them, waits 5 s, KILLs. serverN/host.conf holds the host-specific settings
# (listen_addresses, unix_socket_directories, cluster_name, log_directory); every data dir's
# postgresql.conf ends with include '../host.conf', so a data dir made by pg_basebackup or
# pg_rewind from another host works unchanged in $LAB/serverN/data.
#
# Environment: PGVIGIL_LAB_DIR (default /tmp/pgvigil-lab),
#              PGVIGIL_PG_BIN (default /usr/lib/postgresql/15/bin).
#              PGVIGIL_LAB_NS (default pgv): namespace prefix ($NS-server1, ...). A second
#              lab needs both its own PGVIGIL_LAB_DIR and its own PGVIGIL_LAB_NS.
#              PGVIGIL_LAB_HOSTS (default 3, at most 9): how many server hosts; serverN
#              has address 10.77.0.(10+N). --standbys builds every host beyond server1
#              as a standby. The kube-lab's scale scenario uses 5.
#              PGVIGIL_LAB_FSYNC (default off): PostgreSQL's fsync in the lab, and whether
#              initdb and pg_basebackup sync what they wrote. The lab is thrown away after
#              use and never survives an OS crash, and every failure it plays (SIGKILL,
#              pg_ctl -m immediate, cut links) keeps the kernel's page cache: what a
#              server wrote is there after it, synced or not (fsync matters only when
#              the machine itself goes down). Syncing costs seconds per lab while other
#              work writes to the same disk (CI's background builds). 'on' for a lab
#              that measures commit latency.
set -euo pipefail

LAB=${PGVIGIL_LAB_DIR:-/tmp/pgvigil-lab}
LAB=${LAB%/}
PG_BIN=${PGVIGIL_PG_BIN:-/usr/lib/postgresql/15/bin}
PG_PORT=5432
LAB_FSYNC=${PGVIGIL_LAB_FSYNC:-off}
[[ $LAB_FSYNC == on || $LAB_FSYNC == off ]] || { echo "lab: ERROR: PGVIGIL_LAB_FSYNC must be on or off, got '$LAB_FSYNC'" >&2; exit 2; }
NO_SYNC=()                       # initdb and pg_basebackup
[[ $LAB_FSYNC == off ]] && NO_SYNC=(--no-sync)
PREFIX_LEN=24
VIP=10.77.0.150
# PGVIGIL_LAB_NS: namespace name prefix, so that two labs (e.g. a test and a bench)
# can run side by side with their own PGVIGIL_LAB_DIR; addresses may repeat since
# each lab's network lives only inside its own namespaces.
NS=${PGVIGIL_LAB_NS:-pgv}
NET_NS=$NS-net
BRIDGE=pgvbr0
LAB_HOSTS=${PGVIGIL_LAB_HOSTS:-3}
[[ $LAB_HOSTS =~ ^[3-9]$ ]] || { echo "lab: ERROR: PGVIGIL_LAB_HOSTS must be 3..9, got '$LAB_HOSTS'" >&2; exit 2; }
SERVERS=()
declare -A ADDR=([client]=10.77.0.100)
for ((i = 1; i <= LAB_HOSTS; i++)); do SERVERS+=("server$i"); ADDR[server$i]=10.77.0.$((10 + i)); done
unset i
HOSTS=("${SERVERS[@]}" client)
ALL_NS=("$NET_NS")
for h in "${HOSTS[@]}"; do ALL_NS+=("$NS-$h"); done
unset h
SECRETS=$LAB/secrets
PASSFILE=$SECRETS/pgpass
PIDS_DIR=$LAB/pids
MARKER=$LAB/.pgvigil-lab
PG_HOME=$(getent passwd postgres | cut -d: -f6 || true)
PG_ENV=(env "HOME=${PG_HOME:-/}" "PATH=$PG_BIN:/usr/sbin:/usr/bin:/sbin:/bin" LC_ALL=C)

STEP=""
log()  { echo "lab: $*"; }
warn() { echo "lab: WARNING: $*" >&2; }
die()  { echo "lab: ERROR: ${STEP:+[$STEP] }$*" >&2; exit 1; }
step() { STEP="$*"; log "$*"; }
on_err() {
  local rc=$?
  [[ $BASHPID == "$$" ]] || exit "$rc"        # report once, from the main shell
  echo "lab: FAILED (exit $rc) at step: ${STEP:-startup} (line ${BASH_LINENO[0]}: $BASH_COMMAND)" >&2
  echo "lab: see $LAB/server*/postgresql.log; clean up with: $0 down" >&2
  exit "$rc"
}
trap on_err ERR
set -E

ns_exists() { [[ -e /run/netns/$1 ]]; }
# Run a command as OS user postgres inside namespace pgv-$1.
pg_in() { local h=$1; shift; (cd / && ip netns exec "$NS-$h" runuser -u postgres -- "${PG_ENV[@]}" "$@"); }
# Run a command as postgres in the current (root) namespace: only for local things (pg_ctl stop).
as_pg() { (cd / && runuser -u postgres -- "${PG_ENV[@]}" "$@"); }
# True if PID exists and is not a zombie (pid 1 of some containers reaps lazily).
is_alive() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; s=${s##*) }; [[ ${s:0:1} != [ZX] ]]; }
rand_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

# Postmaster pid of serverN if one is running on its data dir (checked via /proc/PID/cwd,
# so a stale postmaster.pid whose pid was reused is never mistaken for ours).
pm_pid() {
  local data=$LAB/$1/data pid
  [[ -r $data/postmaster.pid ]] || return 1
  pid=$(head -n1 "$data/postmaster.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ $(readlink "/proc/$pid/cwd" 2>/dev/null) == "$(readlink -f "$data")" ]] || return 1
  echo "$pid"
}

# primary | standby | stopped | unknown
role_of() {
  local r
  pm_pid "$1" >/dev/null || { echo stopped; return 0; }
  r=$(pg_in "$1" psql "host=$LAB/$1/run port=$PG_PORT user=postgres dbname=postgres connect_timeout=5" \
        -Atqc 'select pg_is_in_recovery()' 2>/dev/null) || r=""
  case $r in t) echo standby ;; f) echo primary ;; *) echo unknown ;; esac
}

# Process start time (seconds since epoch), for pid-file sanity checks.
proc_start_epoch() {
  local s btime hz
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  s=${s##*) }
  # shellcheck disable=SC2086  # split the stat fields (from #3, state, on) on purpose
  set -- $s
  btime=$(awk '/^btime/ {print $2}' /proc/stat); hz=$(getconf CLK_TCK)
  echo $(( btime + ${20} / hz ))
}

# TERM (INT for postgres: fast shutdown of a postmaster) the given pids, wait up to 5 s, KILL.
term_wait_kill() {
  local pid alive
  (( $# )) || return 0
  for pid; do
    if [[ $(cat "/proc/$pid/comm" 2>/dev/null) == postgres ]]; then kill -INT "$pid" 2>/dev/null || true
    else kill -TERM "$pid" 2>/dev/null || true; fi
  done
  for _ in $(seq 50); do
    alive=(); for pid; do is_alive "$pid" && alive+=("$pid"); done
    (( ${#alive[@]} )) || return 0
    sleep 0.1
  done
  warn "killing (SIGKILL) pids still alive after 5 s: ${alive[*]}"
  kill -KILL "${alive[@]}" 2>/dev/null || true
  for _ in $(seq 30); do
    alive=(); for pid; do is_alive "$pid" && alive+=("$pid"); done
    (( ${#alive[@]} )) || return 0; sleep 0.1
  done
  warn "pids still present after SIGKILL: ${alive[*]}"
}

stop_postgres() {
  local s=$1 pid
  pid=$(pm_pid "$s") || return 0
  log "stopping PostgreSQL on $s (postmaster pid $pid)"
  as_pg pg_ctl -D "$LAB/$s/data" -m fast -w -t 30 -s stop || warn "pg_ctl stop failed on $s"
  if is_alive "$pid"; then warn "postmaster $pid of $s still alive, SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
  for _ in $(seq 50); do is_alive "$pid" || return 0; sleep 0.1; done
}

# $LAB/pids/*.pid: processes started by later lab components. A pid is only signalled if it
# is inside a lab namespace or was started before its pid file was written (not reused).
stop_pidfiles() {
  local f pid start mtime n pids=()
  for f in "$PIDS_DIR"/*.pid; do
    [[ -f $f ]] || continue
    pid=$(head -n1 "$f" 2>/dev/null | tr -dc 0-9) || true
    if [[ -z $pid ]] || ! is_alive "$pid"; then continue; fi
    n=$(ip netns identify "$pid" 2>/dev/null || true)
    start=$(proc_start_epoch "$pid") || continue
    mtime=$(stat -c %Y "$f")
    if [[ $n == "$NS"-* ]] || (( start <= mtime + 1 )); then pids+=("$pid")
    else warn "ignoring $f: pid $pid is a newer, unrelated process"; fi
  done
  (( ${#pids[@]} )) || return 0
  log "stopping pid-file processes: ${pids[*]}"
  term_wait_kill "${pids[@]}"
}

remove_lab_dir() {
  [[ -e $LAB ]] || return 0
  if [[ -f $MARKER ]]; then rm -rf --one-file-system -- "$LAB"
  elif [[ -d $LAB && -z $(ls -A "$LAB") ]]; then rmdir -- "$LAB"
  else die "$LAB exists but was not made by lab.sh (no $(basename "$MARKER")); not deleting it"; fi
}

do_down() {
  local s n pids i
  # A lab made with more hosts than PGVIGIL_LAB_HOSTS says now: its extra servers too.
  for ((i = LAB_HOSTS + 1; i <= 9; i++)); do
    if ns_exists "$NS-server$i" || [[ -d $LAB/server$i ]]; then
      SERVERS+=("server$i"); ADDR[server$i]=10.77.0.$((10 + i)); ALL_NS+=("$NS-server$i")
    fi
  done
  step "down: stopping PostgreSQL"
  for s in "${SERVERS[@]}"; do stop_postgres "$s"; done
  step "down: stopping processes from $PIDS_DIR"
  stop_pidfiles
  step "down: stopping remaining processes in lab namespaces"
  for n in "${ALL_NS[@]}"; do
    ns_exists "$n" || continue
    mapfile -t pids < <(ip netns pids "$n" 2>/dev/null)
    (( ${#pids[@]} )) || continue
    log "$n: stopping pids ${pids[*]}"
    term_wait_kill "${pids[@]}"
  done
  step "down: deleting namespaces"
  for n in "${ALL_NS[@]}"; do ns_exists "$n" && ip netns del "$n"; done
  step "down: removing $LAB"
  remove_lab_dir
  log "lab is down"
}

make_ns() {
  ip netns add "$1"
  ip -n "$1" link set lo up
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
    >/dev/null 2>&1 || true                    # keep the lab IPv4-only (no link-local chatter)
}

make_network() {
  local h
  make_ns "$NET_NS"
  ip -n "$NET_NS" link add "$BRIDGE" type bridge forward_delay 0
  ip -n "$NET_NS" link set "$BRIDGE" up
  for h in "${HOSTS[@]}"; do
    make_ns "$NS-$h"
    # The veth is created inside pgv-net with its peer directly in pgv-$h: neither end
    # ever exists in the root namespace.
    ip -n "$NET_NS" link add "v-$h" type veth peer name eth0 netns "$NS-$h"
    ip -n "$NET_NS" link set "v-$h" master "$BRIDGE" up
    ip -n "$NS-$h" addr add "${ADDR[$h]}/$PREFIX_LEN" dev eth0
    ip -n "$NS-$h" link set eth0 up
  done
}

make_dirs_and_secrets() {
  local s pw rpw h
  mkdir -p "$LAB" && chmod 0755 "$LAB"
  echo "created by hack/lab.sh; removed by 'hack/lab.sh down'" >"$MARKER"
  install -d -m 0755 "$SECRETS" "$PIDS_DIR"
  for s in "${SERVERS[@]}"; do
    install -d -o postgres -g postgres -m 0755 "$LAB/$s" "$LAB/$s/run"
    install -d -o postgres -g postgres -m 0700 "$LAB/$s/data"
    write_host_conf "$s"          # also for empty hosts: a later basebackup/rewind needs it
  done
  ( umask 077
    rand_hex 24 >"$SECRETS/postgres.password"; rand_hex 24 >"$SECRETS/repl.password"
    rand_hex 32 >"$SECRETS/api.token";         rand_hex 32 >"$SECRETS/watchdog.key" )
  chmod 0600 "$SECRETS"/*.password "$SECRETS/api.token" "$SECRETS/watchdog.key"
  pw=$(<"$SECRETS/postgres.password"); rpw=$(<"$SECRETS/repl.password")
  ( umask 077
    for h in 127.0.0.1 localhost "${HOSTS[@]}" "$VIP"; do
      [[ -n ${ADDR[$h]:-} ]] && h=${ADDR[$h]}
      echo "$h:*:*:postgres:$pw"; echo "$h:*:*:repl:$rpw"
    done >"$PASSFILE" )
  chown postgres:postgres "$PASSFILE"; chmod 0600 "$PASSFILE"
  # The proxies' client authentication (pool_hba.conf / pool_passwd formats). TEXT
  # entries keep the lab simple; `vigilctl encrypt-password` writes AES ones.
  ( umask 077
    printf '# pgvigil lab: clients of the proxies on port 9999\n%s\n%s\n' \
      "host all all ${ADDR[client]%.*}.0/$PREFIX_LEN scram-sha-256" \
      "host all all 127.0.0.1/32 scram-sha-256" >"$SECRETS/pool_hba.conf"
    printf 'postgres:TEXT%s\nrepl:TEXT%s\n' "$pw" "$rpw" >"$SECRETS/pool_passwd" )
  runuser -u postgres -- test -r "$PASSFILE" -a -w "$LAB/server1/run" \
    || die "OS user postgres cannot reach $LAB (every parent directory must be traversable)"
}

# Host-specific settings live outside the data dir ($LAB/serverN/host.conf, included as
# '../host.conf'), so pg_basebackup and pg_rewind never carry them from host to host.
write_host_conf() {
  local s=$1
  cat >"$LAB/$s/host.conf" <<EOF
# pgvigil lab: settings specific to $s (included from data/postgresql.conf)
listen_addresses = '${ADDR[$s]},127.0.0.1'
unix_socket_directories = '$LAB/$s/run'
cluster_name = '$s'
log_directory = '$LAB/$s'
EOF
  chown postgres:postgres "$LAB/$s/host.conf"; chmod 0644 "$LAB/$s/host.conf"
}

init_primary() {
  local d=$LAB/server1/data
  pg_in server1 initdb -D "$d" -U postgres --data-checksums --no-locale -E UTF8 "${NO_SYNC[@]}" \
    --auth-local=trust --auth-host=scram-sha-256 >"$LAB/server1/initdb.log" 2>&1 \
    || { cat "$LAB/server1/initdb.log" >&2; die "initdb failed"; }
  cat >>"$d/postgresql.conf" <<EOF

# ---- pgvigil lab (common to all hosts; copied to standbys by pg_basebackup) ----
port = 5432
fsync = $LAB_FSYNC
password_encryption = scram-sha-256
wal_level = replica
wal_log_hints = on
archive_mode = off
max_wal_senders = 10
max_replication_slots = 10
hot_standby = on
wal_keep_size = 256MB
shared_buffers = 64MB
logging_collector = on
log_filename = 'postgresql.log'
log_rotation_age = 0
log_rotation_size = 0
log_line_prefix = '%m [%p] %q%u@%d '
include = '../host.conf'
EOF
  cat >"$d/pg_hba.conf" <<'EOF'
# pgvigil lab: trust only for postgres over the unix socket, SCRAM for everything else.
local   all          postgres                   trust
local   replication  postgres                   trust
local   all          all                        scram-sha-256
host    all          all          127.0.0.1/32  scram-sha-256
host    replication  all          127.0.0.1/32  scram-sha-256
host    all          all          10.77.0.0/24  scram-sha-256
host    replication  all          10.77.0.0/24  scram-sha-256
EOF
  chown postgres:postgres "$d/pg_hba.conf" && chmod 0600 "$d/pg_hba.conf"
}

start_pg() {
  pg_in "$1" pg_ctl -D "$LAB/$1/data" -l "$LAB/$1/postgresql.log" -w -t 90 -s start \
    || die "PostgreSQL on $1 did not start (see $LAB/$1/postgresql.log)"
}

set_passwords() {
  pg_in server1 psql "host=$LAB/server1/run port=$PG_PORT user=postgres dbname=postgres" \
    -qAt -v ON_ERROR_STOP=1 >/dev/null <<EOF
ALTER ROLE postgres PASSWORD '$(<"$SECRETS/postgres.password")';
CREATE ROLE repl WITH REPLICATION LOGIN PASSWORD '$(<"$SECRETS/repl.password")';
EOF
}

build_standby() {
  local s=$1
  pg_in "$s" pg_basebackup -D "$LAB/$s/data" -X stream -R -c fast "${NO_SYNC[@]}" \
    -d "host=${ADDR[server1]} port=$PG_PORT user=repl passfile=$PASSFILE application_name=$s connect_timeout=10" \
    >"$LAB/$s/basebackup.log" 2>&1 || { cat "$LAB/$s/basebackup.log" >&2; die "pg_basebackup for $s failed"; }
}

wait_streaming() {
  local want=$1 n=0
  for _ in $(seq 60); do
    n=$(pg_in server1 psql "host=$LAB/server1/run port=$PG_PORT user=postgres dbname=postgres" -Atqc \
          "select count(*) from pg_stat_replication where state = 'streaming'" 2>/dev/null) || n=0
    [[ $n == "$want" ]] && return 0
    sleep 0.5
  done
  die "server1 has $n streaming standbys after 30 s, expected $want"
}

lab_is_up() {
  local n s
  [[ -f $MARKER && -f $PASSFILE ]] || return 1
  for n in "${ALL_NS[@]}"; do ns_exists "$n" || return 1; done
  [[ $(role_of server1) == primary ]] || return 1
  if [[ $1 == yes ]]; then
    for s in "${SERVERS[@]:1}"; do [[ $(role_of "$s") == standby ]] || return 1; done
  fi
}

do_up() {
  local standbys=no arg n s leftovers=no
  for arg; do
    case $arg in --standbys) standbys=yes ;; *) die "unknown option for up: $arg" ;; esac
  done
  [[ -x $PG_BIN/initdb ]] || die "PostgreSQL binaries not found in $PG_BIN (set PGVIGIL_PG_BIN)"
  getent passwd postgres >/dev/null || die "OS user postgres does not exist"
  if lab_is_up "$standbys"; then
    log "lab already up and healthy in $LAB (standbys: $standbys); nothing to do ('down' first to rebuild)"
    do_status; return 0
  fi
  for n in "${ALL_NS[@]}"; do ns_exists "$n" && leftovers=yes; done
  [[ -e $LAB && ! ( -d $LAB && -z $(ls -A "$LAB") ) ]] && leftovers=yes
  if [[ $leftovers == yes ]]; then
    step "up: cleaning up a previous/partial lab"
    do_down
  fi
  step "up: creating $LAB and secrets"
  make_dirs_and_secrets
  step "up: creating namespaces, bridge $BRIDGE in $NET_NS, veths"
  make_network
  step "up: initialising primary on server1 (${ADDR[server1]})"
  init_primary
  step "up: starting PostgreSQL on server1"
  start_pg server1
  step "up: setting passwords for postgres and repl"
  set_passwords
  if [[ $standbys == yes ]]; then
    for s in "${SERVERS[@]:1}"; do
      step "up: building $s (${ADDR[$s]}) as a standby of server1 with pg_basebackup"
      build_standby "$s"
      step "up: starting PostgreSQL on $s"
      start_pg "$s"
    done
    step "up: waiting for $((LAB_HOSTS - 1)) streaming standbys on server1"
    wait_streaming $((LAB_HOSTS - 1))
  fi
  STEP=""
  log "lab is up (LAB_DIR=$LAB)"
  do_status
}

do_status() {
  local h state role vip holder=none out
  printf '%-8s %-12s %-8s %-8s %s\n' HOST ADDRESS POSTGRES ROLE VIP
  for h in "${HOSTS[@]}"; do
    state=- role=- vip=no
    if ! ns_exists "$NS-$h"; then state=absent
    else
      out=$(ip -n "$NS-$h" -4 -o addr show 2>/dev/null || true)
      [[ $out == *" $VIP/"* ]] && { vip=yes; holder=$h; }
      if [[ $h == server* ]]; then
        role=$(role_of "$h")
        if [[ $role == stopped ]]; then state=stopped role=-; else state=running; fi
      fi
    fi
    printf '%-8s %-12s %-8s %-8s %s\n' "$h" "${ADDR[$h]}" "$state" "$role" "$vip"
  done
  echo "VIP $VIP holder: $holder"
}

do_env() {
  local h u
  printf '%s=%q\n' LAB_DIR "$LAB" PG_BIN "$PG_BIN" PG_PORT "$PG_PORT" VIP "$VIP" \
    LAB_SUBNET 10.77.0.0/24 LAB_NET_NS "$NET_NS" LAB_BRIDGE "$BRIDGE" \
    CLIENT_ADDR "${ADDR[client]}" CLIENT_NS "$NS-client" \
    PGPASSFILE "$PASSFILE" POSTGRES_PASSWORD_FILE "$SECRETS/postgres.password" \
    REPL_PASSWORD_FILE "$SECRETS/repl.password" API_TOKEN_FILE "$SECRETS/api.token" \
    WATCHDOG_KEY_FILE "$SECRETS/watchdog.key" LAB_PIDS_DIR "$PIDS_DIR"
  printf 'LAB_SERVERS=%q\n' "${SERVERS[*]}"
  for h in "${SERVERS[@]}"; do
    u=${h^^}
    printf '%s=%q\n' "${u}_ADDR" "${ADDR[$h]}" "${u}_NS" "$NS-$h" "${u}_DATA" "$LAB/$h/data" \
      "${u}_SOCKET_DIR" "$LAB/$h/run" "${u}_LOG" "$LAB/$h/postgresql.log" "${u}_HOST_CONF" "$LAB/$h/host.conf"
  done
}

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
  exit "${1:-2}"
}

main() {
  local cmd=${1:-}; (( $# )) && shift
  case $cmd in -h|--help|help) usage 0 ;; "") usage 2 ;; esac
  [[ $LAB == /?* ]] || die "PGVIGIL_LAB_DIR must be an absolute path other than / (got '$LAB')"
  if [[ $cmd == env ]]; then do_env; return 0; fi
  [[ $EUID -eq 0 ]] || die "hack/lab.sh $cmd must run as root (it manages network namespaces and runs PostgreSQL as user postgres); try: sudo $0 $cmd $*"
  case $cmd in
    up) do_up "$@" ;;
    down) (( $# == 0 )) || die "down takes no arguments"; do_down ;;
    status) do_status ;;
    exec)
      (( $# >= 2 )) || die "usage: lab.sh exec NS CMD..."
      local n=$NS-${1#"$NS"-}; shift
      ns_exists "$n" || die "namespace $n does not exist (is the lab up?)"
      trap - ERR
      [[ -z ${PGPASSFILE:-} && -f $PASSFILE ]] && export PGPASSFILE=$PASSFILE
      exec ip netns exec "$n" "$@" ;;
    psql)
      (( $# >= 1 )) || die "usage: lab.sh psql serverN [psql args]"
      local s=$1; shift
      [[ -n ${ADDR[$s]:-} && $s == server* ]] || die "unknown server '$s' (server1..$LAB_HOSTS)"
      ns_exists "$NS-client" || die "namespace $NS-client does not exist (is the lab up?)"
      trap - ERR; cd /
      exec ip netns exec "$NS-client" runuser -u postgres -- "${PG_ENV[@]}" PGPASSFILE="$PASSFILE" \
        PGHOST="${ADDR[$s]}" PGPORT="$PG_PORT" PGUSER=postgres PGDATABASE=postgres PGCONNECT_TIMEOUT=5 \
        psql "$@" ;;
    *) echo "lab: unknown command '$cmd'" >&2; usage 2 ;;
  esac
}

main "$@"
