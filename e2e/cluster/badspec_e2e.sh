#!/usr/bin/env bash
# e2e/cluster/badspec_e2e.sh — a spec with an error applied to the running cluster is
# rejected with a positioned error (file/line/column and the reason) and changes
# nothing: the controller's spec (GET /v1/spec), vigilctl status (primary, timeline,
# routing generation, nodes) and every proxy's routing generation stay as they were.
# Each bad spec is tried twice: with `vigilctl apply -f` (validates first) and sent
# raw to the controller's PUT /v1/spec (bypassing vigilctl's validation: the
# controller must refuse it by itself). A positive control (re-applying the running
# spec) must succeed, so the test can tell "rejected" from "apply is broken".
# Own lab: PGVIGIL_LAB_NS=pgeb, PGVIGIL_LAB_DIR=/tmp/pgvigil-lab-pgeb by default.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init badspec pgeb
e2e_lab_up

check "0. three nodes up, server1 primary" wait_until 90 three_up_one_primary server1
start_checker
start_writer

ctl_get_spec() { inns client curl -s -m 5 "http://$VIP:9900/v1/spec"; }
# The parts of the status that a rejected spec must not change.
status_digest() {
  status_json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(json.dumps({"primary": d.get("primary"), "timeline": d.get("timeline"),
                  "generation": d.get("routingGeneration"),
                  "nodes": [(n["name"], n["host"], n["port"], n["role"], n["weight"]) for n in d["nodes"]]}))'
}
generations() { local s out=""; for s in "${SERVERS[@]}"; do out+="$s:$(routing_generation "$s") "; done; echo "${out% }"; }

SPEC=$("$CLUSTERSH" spec)
cp "$SPEC" "$E2E_OUT/good.yaml"
check "0. the cluster is Healthy" wait_until 30 eval '[[ $(status_field phase) == Healthy ]]'
spec0=$(ctl_get_spec)
status0=$(status_digest)
gens0=$(generations)
say "baseline: $status0; proxies $gens0"
[[ -n $spec0 && -n $status0 && $gens0 != *": "* ]] || fail "0. could not read the baseline"

# bad NAME EXPECTED_LINE REASON_REGEX: registers $E2E_OUT/NAME.yaml (written just before).
declare -A BAD_LINE BAD_WHY
bad() { BAD_LINE[$1]=$2; BAD_WHY[$1]=$3; }
G=$E2E_OUT/good.yaml
lineof() { grep -n "$1" "$G" | head -n1 | cut -d: -f1; }
# 1. a negative health-check period (line of the value)
sed 's/^    period: 1s$/    period: -1s/' "$G" >"$E2E_OUT/negative-period.yaml"
bad negative-period "$(lineof '^    period: 1s$')" 'period'
# 2. a node whose host is not an address or name
sed 's/^      host: 10.77.0.13$/      host: "10.77.0.13 oops"/' "$G" >"$E2E_OUT/bad-host.yaml"
bad bad-host "$(lineof '^      host: 10.77.0.13$')" 'host'
# 3. broken YAML (an unclosed flow sequence)
awk '/^    automatic: true$/ { print "    automatic: [true"; next } {print}' "$G" >"$E2E_OUT/broken-yaml.yaml"
bad broken-yaml "" 'yaml|YAML|parse|flow|sequence|end of|expected'
# 4. a desired primary that is not a node of the spec
sed 's/^  # primary: server1 .*$/  primary: server9/' "$G" >"$E2E_OUT/unknown-primary.yaml"
bad unknown-primary "$(lineof '^  # primary: server1')" 'server9'
# 5. two nodes with the same name
sed 's/^    - name: server3$/    - name: server2/' "$G" >"$E2E_OUT/duplicate-node.yaml"
bad duplicate-node "$(lineof '^    - name: server3$')" 'server2|duplicate|unique'

for name in negative-period bad-host broken-yaml unknown-primary duplicate-node; do
  f=$E2E_OUT/$name.yaml
  cmp -s "$f" "$E2E_OUT/good.yaml" && { fail "$name: the bad spec is identical to the good one (test bug)"; continue; }
  out=$(vctl apply -f "$f" 2>&1); rc=$?
  echo "$out" | head -n 4 | sed "s/^/  [$name] vigilctl: /"
  if ((rc != 0)); then pass "$name: vigilctl apply -f rejects it (exit $rc)"; else fail "$name: vigilctl apply -f accepted it"; fi
  line=${BAD_LINE[$name]}
  if [[ -n $line ]]; then
    echo "$out" | grep -Eq "$(basename "$f"):$line:[0-9]+" \
      && pass "$name: vigilctl's error is positioned at $(basename "$f"):$line:COL" \
      || fail "$name: vigilctl's error does not name $(basename "$f"):$line:COL"
  else
    echo "$out" | grep -Eq "$(basename "$f"):[0-9]+:[0-9]+" \
      && pass "$name: vigilctl's error is positioned (file:line:col)" \
      || fail "$name: vigilctl's error has no file:line:col"
  fi
  echo "$out" | grep -Eq "${BAD_WHY[$name]}" && pass "$name: the reason names the problem (/${BAD_WHY[$name]}/)" \
    || fail "$name: the reason does not match /${BAD_WHY[$name]}/"
  # Raw to the controller, bypassing vigilctl's own validation.
  code=$(inns client curl -s -m 10 -o "$E2E_OUT/$name.put" -w '%{http_code}' -X PUT \
    -H "Authorization: Bearer $(cat "$E2E_LAB/secrets/api.token")" -H 'Content-Type: application/yaml' \
    --data-binary "@$f" "http://$VIP:9900/v1/spec")
  body=$(head -c 400 "$E2E_OUT/$name.put")
  echo "  [$name] PUT /v1/spec: HTTP $code $body"
  if [[ $code == 4* ]]; then pass "$name: the controller refuses it itself (HTTP $code)"; else fail "$name: PUT /v1/spec answered HTTP $code"; fi
  if [[ -n $line ]]; then
    echo "$body" | grep -Eq "(:|line )$line(:| column |,)" && pass "$name: the controller's error names line $line" \
      || fail "$name: the controller's error does not name line $line"
  fi
  # Nothing changed.
  [[ $(ctl_get_spec) == "$spec0" ]] && pass "$name: the controller's spec is unchanged" || fail "$name: the controller's spec changed"
  [[ $(status_digest) == "$status0" ]] && pass "$name: status unchanged" || fail "$name: status changed: $(status_digest)"
  [[ $(generations) == "$gens0" ]] && pass "$name: routing generations unchanged ($gens0)" \
    || fail "$name: routing generations changed: $(generations) (was $gens0)"
  # A bad spec that got through: put the good one back so the next case starts clean.
  if [[ $(ctl_get_spec) != "$spec0" ]]; then
    note "$name: restoring the running spec"
    vctl apply -f "$E2E_OUT/good.yaml" >/dev/null 2>&1
    wait_until 20 eval '[[ $(ctl_get_spec) == "$spec0" && $(status_digest) == "$status0" ]]' \
      || fail "$name: could not restore the running spec"
  fi
done

# Positive control: the running spec itself is accepted, and still changes nothing.
out=$(vctl apply -f "$E2E_OUT/good.yaml" 2>&1); rc=$?
echo "$out" | sed 's/^/  [good] /'
if ((rc == 0)); then pass "control: vigilctl apply -f of the running spec succeeds"; else fail "control: the running spec is rejected (exit $rc)"; fi
sleep 3
[[ $(status_digest) == "$status0" ]] && pass "control: status unchanged after re-applying the same spec" \
  || fail "control: status changed after re-applying the same spec: $(status_digest)"
check "control: still three nodes up, server1 primary" three_up_one_primary server1
e2e_finish no
