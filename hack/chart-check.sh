#!/usr/bin/env bash
# The chart and manifest checks (KUBERNETES.md §9, "Chart checks"); ctest test
# chart_check (label unit). Offline: tools from hack/install-kube-tools.sh.
#  1. helm lint --strict, for the defaults and every charts/pgvigil/tests/values-*.yaml;
#  2. helm template per values file, equal to charts/pgvigil/tests/golden/NAME.yaml;
#  3. every rendered object against the Kubernetes schemas of kubernetes-models,
#     then the unknown-field pass (hack/chart-check/unknown_fields.mjs);
#  4. every PostgresCluster in manifests/examples/k8s-*.yaml against the CRD's
#     openAPIV3Schema (ajv), the Secrets and Namespaces beside them as in 3;
#  5. every tests/bad-values-*.yaml refused by helm template (as by helm install)
#     with the message on its "# expect:" line (helm lint reports the schema's
#     refusals too, but only warns on the templates' own `fail` and `required`);
#     a Kubernetes below the chart's floor refused;
#  6. NOTES.txt renders for every values file and says how to create, reach and operate
#     a cluster;
#  7. manifests/install.yaml equal to a fresh render; `kubectl kustomize manifests/`
#     builds and its objects pass 3.
#  8. with a build directory ($1, as ctest passes it): the rendered controller
#     command run by that build's pgvigil-controller, which must accept every
#     flag (it then stops at the missing kubeconfig given to it).
# PGVIGIL_UPDATE_GOLDEN=1 rewrites the goldens and install.yaml instead of
# comparing (review the diff). Exit 1 on any failure, naming it.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
TOOLS=${PGVIGIL_TOOLS_DIR:-/usr/local/lib/pgvigil-tools}
export PATH="$TOOLS/bin:$PATH"
CHART=charts/pgvigil
CC=hack/chart-check
UPDATE=${PGVIGIL_UPDATE_GOLDEN:-}
BUILD=${1:-}
for t in helm kubectl; do
  if [ ! -x "$TOOLS/bin/$t" ]; then
    echo "chart-check: $TOOLS/bin/$t missing: run hack/install-deps.sh" >&2
    exit 1
  fi
done
if [ ! -d "$CC/node_modules/kubernetes-models" ]; then
  echo "chart-check: $CC/node_modules missing: run hack/install-deps.sh" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
pass() { echo "ok: $*"; }

render() { # render OUT [helm args...]: the chart as release pgvigil in pgvigil-system
  local out=$1
  shift
  helm template pgvigil "$CHART" --namespace pgvigil-system "$@" >"$out" 2>"$out.err"
}

# compare GENERATED CHECKED-IN: equal, or rewritten under PGVIGIL_UPDATE_GOLDEN.
compare() {
  if [ -n "$UPDATE" ]; then
    cp "$1" "$2" && echo "updated: $2"
  elif diff -u "$2" "$1" >"$tmp/diff"; then
    pass "$2 is current"
  else
    head -40 "$tmp/diff"
    fail "$2 differs from a fresh render (PGVIGIL_UPDATE_GOLDEN=1 $0 rewrites it)"
  fi
}

# 1, 2: lint and goldens
if helm lint --strict "$CHART" >"$tmp/lint" 2>&1; then pass "helm lint --strict"; else cat "$tmp/lint"; fail "helm lint --strict"; fi
rendered=()
for v in "$CHART"/tests/values-*.yaml; do
  name=$(basename "$v" .yaml)
  name=${name#values-}
  if ! helm lint --strict "$CHART" -f "$v" >"$tmp/lint" 2>&1; then
    cat "$tmp/lint"
    fail "helm lint --strict -f $v"
  fi
  if render "$tmp/$name.yaml" -f "$v"; then
    compare "$tmp/$name.yaml" "$CHART/tests/golden/$name.yaml"
    rendered+=("$tmp/$name.yaml")
  else
    cat "$tmp/$name.yaml.err"
    fail "helm template -f $v"
  fi
done
[ ${#rendered[@]} -gt 0 ] || fail "no $CHART/tests/values-*.yaml rendered"

# 3: schemas and unknown fields
if node "$CC/check.mjs" objects "${rendered[@]}" >"$tmp/objects" 2>&1; then
  pass "rendered objects match the Kubernetes schemas, no unknown fields ($(grep -c '^kind:' "${rendered[@]}" | awk -F: '{s+=$2} END {print s}') objects)"
  grep 'not checked' "$tmp/objects" || true
else
  cat "$tmp/objects"
  fail "rendered objects against the Kubernetes schemas"
fi

# 4: example resources against the CRD
examples=(manifests/examples/k8s-*.yaml)
if node "$CC/check.mjs" crs "$CHART/templates/crds/postgresclusters.yaml" "${examples[@]}" >"$tmp/crs" 2>&1; then
  pass "examples valid against the CRD and Kubernetes schemas: ${examples[*]}"
else
  cat "$tmp/crs"
  fail "examples against the CRD"
fi

# 5: bad values refused with their message; the Kubernetes version floor
bad=0
for v in "$CHART"/tests/bad-values-*.yaml; do
  bad=$((bad + 1))
  expect=$(sed -n 's/^# expect: //p' "$v" | head -1)
  if [ -z "$expect" ]; then
    fail "$v has no '# expect: MESSAGE' line"
    continue
  fi
  if render "$tmp/bad.yaml" -f "$v"; then
    fail "helm template accepted $v"
  elif ! grep -qF -- "$expect" "$tmp/bad.yaml.err"; then
    cat "$tmp/bad.yaml.err"
    fail "helm template refused $v without the message: $expect"
  else
    pass "$v refused: $expect"
  fi
done
[ "$bad" -gt 0 ] || fail "no $CHART/tests/bad-values-*.yaml"
if render "$tmp/old.yaml" --kube-version 1.27.9; then
  fail "the chart rendered for Kubernetes 1.27.9, below its kubeVersion floor"
elif grep -q "incompatible with Kubernetes" "$tmp/old.yaml.err"; then
  pass "Kubernetes 1.27.9 refused (kubeVersion >=1.28.0-0)"
else
  cat "$tmp/old.yaml.err"
  fail "Kubernetes 1.27.9 refused for another reason"
fi

# 6: NOTES.txt. Helm prints it only after a real install, so a copy of the chart
# renders it as a document; it must render for every values file and tell
# the user how to create and reach a cluster.
mkdir -p "$tmp/notes-chart"
cp -r "$CHART/." "$tmp/notes-chart/"
{
  echo '{{- define "pgvigil.notesCheck" -}}'
  cat "$CHART/templates/NOTES.txt"
  echo '{{- end -}}'
} >"$tmp/notes-chart/templates/_notes_check.tpl"
printf 'notes: |\n{{ include "pgvigil.notesCheck" . | indent 2 }}\n' >"$tmp/notes-chart/templates/notes-check.yaml"
for v in "$CHART"/tests/values-*.yaml; do
  if ! helm template pgvigil "$tmp/notes-chart" --namespace pgvigil-system -f "$v" \
      --show-only templates/notes-check.yaml >"$tmp/notes.txt" 2>&1; then
    cat "$tmp/notes.txt"
    fail "NOTES.txt does not render with $v"
    continue
  fi
  missing=""
  for want in "kubectl apply -f manifests/examples/k8s-cluster.yaml" "get pgvc -o wide" \
      "demo-rw.db.svc" "demo-ro.db.svc" "demo.db.svc -p 9999" "kubectl pgvigil -n db status demo"; do
    grep -qF -- "$want" "$tmp/notes.txt" || missing="$missing '$want'"
  done
  if [ -n "$missing" ]; then fail "NOTES.txt with $v lacks$missing"; else pass "NOTES.txt renders with $v"; fi
done

# 7: install.yaml and the kustomization
{
  echo "# pgvigil's operator for \`kubectl apply -f\`: the Helm chart charts/pgvigil rendered"
  echo "# with its default values as release \"pgvigil\" in namespace pgvigil-system."
  echo "# Generated: PGVIGIL_UPDATE_GOLDEN=1 hack/chart-check.sh; the check fails when stale."
  echo "apiVersion: v1"
  echo "kind: Namespace"
  echo "metadata:"
  echo "  name: pgvigil-system"
  echo "---"
  cat "$tmp/default.yaml"
} >"$tmp/install.yaml"
compare "$tmp/install.yaml" manifests/install.yaml
if kubectl kustomize manifests/ >"$tmp/kustomized.yaml" 2>"$tmp/kustomize.err"; then
  want=$(grep -c '^kind:' manifests/install.yaml)
  got=$(grep -c '^kind:' "$tmp/kustomized.yaml")
  if [ "$want" != "$got" ]; then
    fail "kubectl kustomize manifests/ gave $got objects, install.yaml has $want"
  elif node "$CC/check.mjs" objects "$tmp/kustomized.yaml" >"$tmp/objects" 2>&1; then
    pass "kubectl kustomize manifests/ ($got objects, valid)"
  else
    cat "$tmp/objects"
    fail "kubectl kustomize manifests/ output against the Kubernetes schemas"
  fi
else
  cat "$tmp/kustomize.err"
  fail "kubectl kustomize manifests/"
fi

# 8: the controller accepts the rendered flags
if [ -n "$BUILD" ] && [ -x "$BUILD/bin/pgvigil-controller" ]; then
  for r in "${rendered[@]}"; do
    mapfile -t cmd < <(node "$CC/check.mjs" command "$r")
    if [ "${cmd[0]:-}" != pgvigil-controller ]; then
      fail "$(basename "$r"): the Deployment's command is not pgvigil-controller (${cmd[*]})"
      continue
    fi
    "$BUILD/bin/pgvigil-controller" "${cmd[@]:1}" --kubeconfig "$tmp/no-kubeconfig" >"$tmp/ctl.out" 2>&1
    rc=$?
    if [ "$rc" -eq 1 ] && grep -q "kubeconfig: $tmp/no-kubeconfig" "$tmp/ctl.out"; then
      pass "$(basename "$r"): pgvigil-controller accepts ${cmd[*]:1}"
    else
      cat "$tmp/ctl.out"
      fail "$(basename "$r"): pgvigil-controller refused the rendered command (exit $rc)"
    fi
  done
else
  echo "note: no built pgvigil-controller given (hack/chart-check.sh BUILD_DIR): the rendered flags are not run"
fi

if [ "$failures" -gt 0 ]; then
  echo "chart-check: $failures check(s) failed"
  exit 1
fi
echo "chart-check: all checks passed"
