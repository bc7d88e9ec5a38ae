#!/usr/bin/env bash
# Model-checks election.pml with spin (ctest: watchdog_spin_model).
#   1. safety, exhaustive: one leader per term, never two VIP holders;
#   2. liveness with weak fairness: a connected majority elects a VIP holder;
#   3. the checker itself: a lease as long as the promise plus one tick (-DL=4),
#      a Resign sent before the VIP is down (-DBREAK=1) and a handover taken from
#      a Resign of another term or leader (-DBREAK=2) must each be caught as two
#      VIP holders.
# Usage: check_model.sh MODEL.pml [WORKDIR]
set -euo pipefail
model=$(readlink -f "$1")
work=${2:-$(mktemp -d)}
mkdir -p "$work"
cd "$work"
cleanup() { rm -f pan pan.* _spin_nvr.tmp ./*.trail; }
trap cleanup EXIT

run() {  # name, spin defines, cc defines, pan flags; prints pan's summary lines
  local name=$1 sdefs=$2 cdefs=$3 flags=$4
  cleanup
  spin $sdefs -a "$model" >spin.out 2>&1 || { cat spin.out; echo "FAIL $name: spin -a"; exit 1; }
  gcc -w -O2 $cdefs -o pan pan.c
  ./pan $flags >"pan-$name.out" 2>&1 || true
  grep -E "errors:|states, stored" "pan-$name.out" | sed "s/^/$name: /"
}

run safety "" "-DSAFETY" "-m400000"
grep -q "errors: 0" pan-safety.out || { echo "FAIL: safety violated"; cat pan-safety.out; exit 1; }
grep -q "search not completed\|max search depth too small" pan-safety.out && {
  echo "FAIL: safety search incomplete"; exit 1; }

run liveness "-DLIVENESS" "-DNFAIR=3" "-a -f -m400000"
grep -q "errors: 0" pan-liveness.out || { echo "FAIL: liveness violated"; cat pan-liveness.out; exit 1; }

run long_lease "-DL=4" "-DSAFETY" "-m400000"
grep -q "errors: 0" pan-long_lease.out && { echo "FAIL: a too-long lease went unnoticed"; exit 1; }
run resign_before_vip_down "-DBREAK=1" "-DSAFETY" "-m400000"
grep -q "errors: 0" pan-resign_before_vip_down.out && { echo "FAIL: a Resign before VIP down went unnoticed"; exit 1; }
run stale_resign "-DBREAK=2" "-DSAFETY" "-m400000"
grep -q "errors: 0" pan-stale_resign.out && { echo "FAIL: a handover from a stale Resign went unnoticed"; exit 1; }
echo "model checks passed"
