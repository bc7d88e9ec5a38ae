#!/bin/sh
# Runs inside the container booted by systemd_boot_test.sh, as a oneshot unit after
# multi-user.target, with systemd as PID 1: starts, reloads, restarts and stops the
# packaged units and writes PASS/FAIL lines to /root/boot-checks.out, then powers off.
out=/root/boot-checks.out
: >"$out"
pass() { echo "PASS: $*" >>"$out"; }
fail() { echo "FAIL: $*" >>"$out"; }
check() { what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
prop() { systemctl show -P "$2" "$1"; }
status_of() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"; }
vip_on_lo() { ip -o addr show dev lo | grep -q ' 127.0.0.150/8 '; }
in_journal() { journalctl -q --no-pager -u "$1" | grep -q "$2"; }
wait_for() { n=0; while [ $n -lt 100 ]; do "$@" && return 0; sleep 0.1; n=$((n + 1)); done; "$@"; }

echo "systemd $(systemctl --version | head -n1 | cut -d' ' -f2) is PID 1: $(cat /proc/1/comm)" >>"$out"
# A VIP left over from an earlier run: the sidecar removes it at start (ip addr del),
# which only works with the unit's CAP_NET_ADMIN under its sandbox.
ip addr add 127.0.0.150/8 dev lo
check "a stale VIP is on lo before the start" vip_on_lo

check "systemctl start pgvigil-sidecar returns 0 (Type=notify: after READY=1)" systemctl start pgvigil-sidecar
pid=$(prop pgvigil-sidecar MainPID)
check "sidecar active/running, status text from sd_notify ($(prop pgvigil-sidecar StatusText))" \
  [ "$(prop pgvigil-sidecar ActiveState)/$(prop pgvigil-sidecar SubState)" = active/running ]
check "sidecar runs as postgres" [ "$(status_of "$pid" Uid)" = "$(id -u postgres)" ]
check "sidecar capabilities: effective, ambient and bounding are NET_ADMIN+NET_RAW" \
  [ "$(status_of "$pid" CapEff)/$(status_of "$pid" CapAmb)/$(status_of "$pid" CapBnd)" = 0000000000003000/0000000000003000/0000000000003000 ]
check "sidecar has no_new_privs" [ "$(status_of "$pid" NoNewPrivs)" = 1 ]
check "the sidecar removed the stale VIP (ip addr del as postgres, in the sandbox)" wait_for sh -c '! ip -o addr show dev lo | grep -q " 127.0.0.150/8 "'
check "journal: the removal is logged (syslog LOCAL1 reaches the journal)" wait_for in_journal pgvigil-sidecar "removed VIP 127.0.0.150/8 left over"
check "the sidecar listens on 9999/tcp, 9898/tcp, 9694/udp" wait_for sh -c \
  'ss -Hltn "sport = :9999" | grep -q . && ss -Hltn "sport = :9898" | grep -q . && ss -Hlun "sport = :9694" | grep -q .'
check "the sidecar cannot write /usr (ProtectSystem=strict)" sh -c "! nsenter -t $pid -m -- sh -c 'touch /usr/pgvigil-write-test' 2>/dev/null"
check "the sidecar sees a private /tmp (PrivateTmp)" sh -c "touch /tmp/pgvigil-host-tmp && ! nsenter -t $pid -m -- test -e /tmp/pgvigil-host-tmp"

check "rsyslog writes the sidecar's LOCAL1 messages to /var/log/pgvigil/pgvigil.log" \
  wait_for grep -q "pgvigil-sidecar.*removed VIP 127.0.0.150/8 left over" /var/log/pgvigil/pgvigil.log
check "... and not to the general log (& stop), which has systemd's lines about the unit" sh -c \
  'grep -q "Started pgvigil-sidecar.service" /var/log/syslog && ! grep -q "removed VIP 127.0.0.150/8 left over" /var/log/syslog'
check "systemctl reload pgvigil-sidecar returns 0" systemctl reload pgvigil-sidecar
check "journal: the reload read the spec (unchanged)" wait_for in_journal pgvigil-sidecar "reload of /etc/pgvigil/cluster.yaml: the spec is unchanged"
check "systemctl restart pgvigil-sidecar: a new main process, active" sh -c \
  "systemctl restart pgvigil-sidecar && [ \"\$(systemctl show -P MainPID pgvigil-sidecar)\" != $pid ] && systemctl is-active -q pgvigil-sidecar"

pid=$(prop pgvigil-sidecar MainPID)
kill -KILL "$pid"
restarted() { p=$(prop pgvigil-sidecar MainPID); [ "$p" != 0 ] && [ "$p" != "$pid" ] && systemctl is-active -q pgvigil-sidecar; }
check "Restart=on-failure: a SIGKILLed sidecar is started again (RestartSec=2s)" wait_for restarted
check "systemctl start pgvigil-controller returns 0 (after READY=1)" systemctl start pgvigil-controller
cpid=$(prop pgvigil-controller MainPID)
check "controller active/running" [ "$(prop pgvigil-controller ActiveState)/$(prop pgvigil-controller SubState)" = active/running ]
check "controller runs as postgres without any capability, no_new_privs" \
  [ "$(status_of "$cpid" Uid)/$(status_of "$cpid" CapEff)/$(status_of "$cpid" CapBnd)/$(status_of "$cpid" NoNewPrivs)" = "$(id -u postgres)/0000000000000000/0000000000000000/1" ]
# vigilctl apply: the controller writes the spec back to /etc/pgvigil (ReadWritePaths).
sed 's/^  proxy:/  healthCheck:\n    period: 3s\n  proxy:/' /etc/pgvigil/cluster.yaml >/root/applied.yaml
check "vigilctl apply is accepted by the controller" wait_for vigilctl apply -f /root/applied.yaml \
  --controller http://127.0.0.1:9900 --token-file /etc/pgvigil/secrets/api.token
check "... which wrote it to /etc/pgvigil/cluster.yaml under ProtectSystem=strict" grep -q 'period: 3s' /etc/pgvigil/cluster.yaml
check "systemctl reload pgvigil-controller: spec reloaded, still active" sh -c \
  'systemctl reload pgvigil-controller && systemctl is-active -q pgvigil-controller'

# The VIP as a SIGKILLed leader would leave it: ExecStopPost (release-vip) removes it
# at the stop, as postgres with the unit's capabilities.
ip addr add 127.0.0.150/8 dev lo
check "a VIP left behind is on lo before the stop" vip_on_lo
check "systemctl stop pgvigil-controller pgvigil-sidecar" systemctl stop pgvigil-controller pgvigil-sidecar
check "ExecStopPost (release-vip) removed the VIP left behind" sh -c '! ip -o addr show dev lo | grep -q " 127.0.0.150/8 "'
check "journal: release-vip says it removed the VIP" in_journal pgvigil-sidecar "release-vip: VIP 127.0.0.150/8 removed"
# Result stays success only if ExecStopPost (release-vip, as postgres in the sandbox)
# exited 0 too: a failing control process sets the unit's result to exit-code.
check "both inactive with result success" [ \
  "$(prop pgvigil-sidecar ActiveState)/$(prop pgvigil-sidecar Result)/$(prop pgvigil-controller ActiveState)/$(prop pgvigil-controller Result)" = inactive/success/inactive/success ]
check "journal: the sidecar stopped cleanly" in_journal pgvigil-sidecar "pgvigil-sidecar stopped"
echo "DONE" >>"$out"
systemctl poweroff
