#!/usr/bin/env bash
# Issue 27, item 3, after: fresh processes of gate-gpu's CUDA-graph row, each pinned to one CPU core
# (`run --cpus`), to compare their between-process spread with gpu-processes.sh's unpinned ones.
# Usage: bash reports/gate-power/gpu-processes-pinned.sh OUT [PROCESSES] [CORE]
set -u
out=${1:?OUT}
mkdir -p "$out"
for i in $(seq 1 "${2:-5}"); do
  python3 -m harness run gate-gpu --compile reduce-overhead --cpus "${3:-2}" --out "$out/p$i" --no-track --no-audio \
    --no-progress > "$out/p$i.log" 2>&1 || echo "process $i: exit $?" >> "$out/errors.txt"
done
