#!/usr/bin/env bash
# Issue 27, item 8: one `ab` trial of gate-gpu's CUDA-graph row against itself on a GPU, head slowed
# by SLOWDOWN (0: an A/A trial), resident workers, a budget of SECONDS, optionally pinned to CPUS.
# The comparison's folder (ab.json, summary.md, the workers' logs) is written to OUT/NAME.
# Usage: bash reports/gate-power/gpu-ab.sh OUT NAME SLOWDOWN SECONDS [CPUS]
set -u
out=${1:?OUT}
name=${2:?NAME}
mkdir -p "$out"
start=$(date +%s)
python3 -m harness ab . . gate-gpu --compile reduce-overhead --allow-dirty --inject-slowdown "${3:?SLOWDOWN}" \
  --max-seconds "${4:?SECONDS}" --best-effort --no-progress ${5:+--cpus "$5"} --out "$out/$name" \
  > "$out/$name.log" 2>&1
echo "exit $? after $(( $(date +%s) - start )) s" >> "$out/$name.log"
