#!/usr/bin/env bash
# One bounded device call for the serving rows still open: the streamed CUDA-graph single stream,
# max_batch 8 eager under load, and CUDA graphs under load (max_batch 1 and 4). Each sweep has its
# own time bound and is copied to OUT when it ends, so what finished comes back.
# Usage: bash reports/serving/gpu-call.sh OUT [SECONDS_TTFA] [SECONDS_MB8] [SECONDS_GRAPHS]
set -u
out=${1:?OUT}
mkdir -p "$out"
sweep() {  # name seconds suite [options...]
  local name=$1 limit=$2; shift 2
  timeout "$limit" python3 -m harness run "$@" --out "/tmp/$name" --no-track --no-audio --no-progress \
    > "/tmp/$name.log" 2>&1
  echo "$name: exit $?" >> "$out/exit.txt"
  cp "/tmp/$name.log" "$out/$name.log"
  cp "/tmp/$name/results.json" "$out/$name.json" 2>/dev/null
  cp "/tmp/$name/summary.md" "$out/$name.md" 2>/dev/null
}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$out/gpu.txt" 2>&1
sweep ttfa-graphs "${2:-200}" reports/serving/gpu-single-stream.toml --compile reduce-overhead
sweep mb8 "${3:-170}" reports/serving/gpu-batching-mb8.toml
sweep graphs-load "${4:-190}" reports/serving/gpu-batching-graphs.toml
