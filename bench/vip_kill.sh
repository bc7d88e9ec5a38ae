#!/usr/bin/env bash
# bench/vip_kill.sh [RUNS] — the VIP never has two holders when the leader's whole
# sidecar process group (main process + VIP guard) is SIGKILLed: e2e/cluster/
# vipkill_e2e.sh with RUNS kills (default 10) instead of CI's 2, plus its DAD-only
# run. Root, PostgreSQL 15 and a build needed; lab PGVIGIL_LAB_NS (default pgsg).
# Prints each VIP move and the sampler's total of rounds with two holders.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
export PGVIGIL_E2E_VIP_RUNS=${1:-10}
exec "$HERE/../e2e/cluster/vipkill_e2e.sh"
