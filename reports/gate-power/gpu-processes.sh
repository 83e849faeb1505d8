#!/usr/bin/env bash
# Issue 27, item 3 on a GPU: how much do fresh processes of the same code differ, and where?
# Six fresh processes of gate-gpu's CUDA-graph row (each its own sweep: start-up, build, compile with
# the FX-graph cache warm after the first, warm-up, 7 timed calls), their between-process spread
# (`noise record`: the sd of a sweep's log median), then three fresh processes under torch.profiler
# (10 calls each) whose operator tables are diffed fastest against slowest.
# Usage: bash reports/gate-power/gpu-processes.sh OUT
set -u
out=${1:?OUT}
mkdir -p "$out"
for i in 1 2 3 4 5 6; do
  python3 -m harness run gate-gpu --compile reduce-overhead --out "$out/p$i" --no-track --no-audio --no-progress \
    > "$out/p$i.log" 2>&1 || echo "process $i: exit $?" >> "$out/errors.txt"
done
python3 -m harness noise record "$out"/p? --dir "$out/noise" > "$out/noise.log" 2>&1
for i in 1 2 3; do
  python3 -m harness profile gate-gpu --compile reduce-overhead --calls 10 --out "$out/prof$i" > "$out/prof$i.log" 2>&1
  rm -f "$out/prof$i/trace.json"  # tens of MB; the operator table is what is diffed
done
