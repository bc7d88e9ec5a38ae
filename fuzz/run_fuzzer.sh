#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time from its seed corpus (the ctest
# registered by pgvigil_add_fuzzer; hack/sanitize.sh fuzz runs them all).
#   run_fuzzer.sh BINARY SEED_DIR WORK_DIR [MAX_LEN]
#   PGVIGIL_FUZZ_SECONDS  run time (default 20)
# The seeds in the repository are only read: inputs the run finds go to
# WORK_DIR/corpus, a crashing input to WORK_DIR/artifacts/. Prints one line
# "fuzz NAME: N runs in S s, ..." (also kept in WORK_DIR/summary); on a crash,
# leak, timeout or sanitizer report it prints the report and exits 1.
set -uo pipefail
bin=$1 seeds=$2 work=$3 max_len=${4:-4096}
secs=${PGVIGIL_FUZZ_SECONDS:-20}
name=$(basename "$bin")
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
log=$work/fuzz.log
start=$(date +%s)
"$bin" -max_total_time="$secs" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds" >"$log" 2>&1
rc=$?
wall=$(( $(date +%s) - start ))
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
found=$(find "$work/corpus" -type f | wc -l)
nseeds=$(find "$seeds" -type f | wc -l)
cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
if [ "$rc" -ne 0 ] || [ -n "$(ls -A "$work/artifacts")" ]; then
  echo "fuzz $name: FAILED (exit $rc) after ${runs:-?} runs in ${wall} s; report:"
  grep -n -m1 -E 'ERROR|runtime error|deadly signal|Timeout|out-of-memory' "$log" || true
  tail -n 60 "$log"
  for a in "$work"/artifacts/*; do [ -e "$a" ] && echo "input: $a ($(stat -c %s "$a") bytes)"; done
  echo "fuzz $name: FAILED after ${runs:-?} runs" >"$work/summary"
  exit 1
fi
line="fuzz $name: ${runs:-?} runs in ${wall} s, ${cov:-cov: ?} edges, $nseeds seeds + $found new inputs, no crash"
echo "$line" | tee "$work/summary"
