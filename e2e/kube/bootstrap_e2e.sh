#!/usr/bin/env bash
# e2e/kube/bootstrap_e2e.sh — kube-lab scenario 1 (KUBERNETES.md §9): bootstrap from
# a CR. kube-fake (a stand-in for the API server, not Kubernetes) + the lab + the
# kubelet/kube-proxy stand-in + the real pgvigil-controller --kubernetes through the
# in-cluster path. The example CR (manifests/examples/k8s-cluster.yaml, the lab's
# secrets in place of "change-me") is applied; passes when 3 instances stream,
# the CR is Ready=True and 3 pods Ready, psql works through NAME-rw (write) and
# NAME-ro (read), `show pool_nodes` through NAME lists 3 nodes, and the writer
# (through NAME-rw) and the primary checker, running from the first Ready primary
# on, see no lost acknowledged write and never two writable primaries.
# Own lab: PGVIGIL_LAB_NS=kbt, PGVIGIL_LAB_DIR=/tmp/pgvigil-lab-kbt by default.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
kube_init kube_bootstrap kbt
kube_lab_up

kube_bootstrap_cluster
check "7. a write through $KUBE_CR-rw" eval \
  'svc_psql $KUBE_CR-rw 5432 -c "create table if not exists kube_boot(x int); insert into kube_boot values (1)"'
# Ready=True can come before the Services' endpoints follow the role and pool
# labels (the kube-proxy stand-in re-reads them every 0.5 s; a cluster takes
# about a second): 10 s for each.
check "8. a read through $KUBE_CR-ro (a standby)" wait_until 10 eval \
  '[[ $(svc_psql $KUBE_CR-ro 5432 -c "select pg_is_in_recovery()") == t ]]'
pool_nodes() { pool=$(svc_psql "$KUBE_CR" 9999 -F ' ' -c "show pool_nodes" 2>&1); \
  [[ $(grep -c . <<<"$pool") == 3 && $(grep -c primary <<<"$pool") == 1 ]]; }
check "9. show pool_nodes through $KUBE_CR lists 3 nodes, one primary" wait_until 10 pool_nodes
echo "$pool" | sed 's/^/  pool_nodes: /'
writes_resume 10 || fail "the writer makes no progress through $KUBE_CR-rw"
kube_finish
