#!/usr/bin/env bash
# One bounded device call of serving sweeps, each with its own time bound, copied to OUT when it
# ends so that what finished comes back (the device returns a limited count of files: tar OUT).
# Usage: bash reports/serving/gpu-call.sh OUT NAME:SECONDS:SUITE[:OPTIONS] ...
#   e.g. gpu-call.sh /tmp/out mb8:200:reports/serving/gpu-batching-mb8.toml \
#        ttfa-graphs:330:reports/serving/gpu-single-stream.toml:--compile=reduce-overhead
# A NAME whose /tmp/NAME/results.json exists (an earlier call on the same warm machine) is resumed.
set -u
out=${1:?OUT}; shift
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$out/gpu.txt" 2>&1
for spec in "$@"; do
  IFS=: read -r name limit suite options <<< "$spec"
  where=(--out "/tmp/$name")
  [ -f "/tmp/$name/results.json" ] && where=(--resume "/tmp/$name")
  # shellcheck disable=SC2086  # options are space-free words (--compile=reduce-overhead)
  timeout "$limit" python3 -m harness run "$suite" ${options//,/ } "${where[@]}" --no-track --no-audio \
    --no-progress > "/tmp/$name.log" 2>&1
  echo "$name: exit $? ($limit s bound)" >> "$out/exit.txt"
  cat "/tmp/$name.log" >> "$out/$name.log"
  cp "/tmp/$name/results.json" "$out/$name.json" 2>/dev/null
  cp "/tmp/$name/summary.md" "$out/$name.md" 2>/dev/null
done
