#!/usr/bin/env bash
# Issue 27, item 3, before and after on one machine: fresh processes of gate-gpu's CUDA-graph row,
# alternately pinned to one CPU core (`run --cpus CORE`) and left to the scheduler, after one
# unpinned process that warms the FX-graph cache. Compare the two groups' between-process spread.
# Usage: bash reports/gate-power/gpu-processes-pinned.sh OUT [PAIRS] [CORE]
set -u
out=${1:?OUT}
mkdir -p "$out"
sweep() {  # name [options...]
  local name=$1; shift
  python3 -m harness run gate-gpu --compile reduce-overhead "$@" --out "$out/$name" --no-track --no-audio \
    --no-progress > "$out/$name.log" 2>&1 || echo "$name: exit $?" >> "$out/errors.txt"
}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$out/gpu.txt" 2>&1
lscpu > "$out/lscpu.txt" 2>&1
sweep warm
for i in $(seq 1 "${2:-4}"); do
  sweep "pinned$i" --cpus "${3:-2}"
  sweep "free$i"
done
