#!/usr/bin/env bash
# Single-stream TTFA on a CUDA GPU in one bounded device call: the eager rows, then the CUDA-graph
# rows, each its own sweep with a time bound, so what finished comes back even if the other does not.
# Usage: bash reports/serving/gpu-ttfa.sh OUT [SECONDS_EAGER] [SECONDS_GRAPHS]
set -u
out=${1:?OUT}
mkdir -p "$out"
for mode in none reduce-overhead; do
  limit=$([ "$mode" = none ] && echo "${2:-150}" || echo "${3:-230}")
  timeout "$limit" python3 -m harness run reports/serving/gpu-single-stream.toml --compile "$mode" \
    --out "/tmp/ttfa-$mode" --no-track --no-audio --no-progress > "$out/ttfa-$mode.log" 2>&1
  echo "compile $mode: exit $?" >> "$out/exit.txt"
  cp /tmp/ttfa-$mode/results.json "$out/ttfa-$mode.json" 2>/dev/null
  cp /tmp/ttfa-$mode/summary.md "$out/ttfa-$mode.md" 2>/dev/null
done
