#!/usr/bin/env bash
# Issue 27, item 8 on this CPU: `ab HEAD~1 HEAD smoke --nfe 8` trials as a CI job runs them (two
# revisions, resident workers, the default budget), 10% injected into head's calls and A/A in turn.
# Each trial's folder is OUT/<kind>-<n> (ab.json, summary.md) with its log; summarize with
# `python reports/gate-power/cpu-ab-trials.py OUT`.
# Usage: bash reports/gate-power/cpu-ab-trials.sh OUT [TRIALS_EACH]
set -u
out=${1:?OUT}
mkdir -p "$out"
for i in $(seq 1 "${2:-5}"); do
  for kind in slow10 aa; do
    inject=$([ "$kind" = slow10 ] && echo 0.10 || echo 0)
    start=$(date +%s)
    python -m harness ab HEAD~1 HEAD smoke --nfe 8 --inject-slowdown "$inject" --no-progress \
      --out "$out/$kind-$i" > "$out/$kind-$i.log" 2>&1
    echo "exit $? after $(( $(date +%s) - start )) s" >> "$out/$kind-$i.log"
  done
done
