#!/usr/bin/env bash
# Issue 27, item 8 on this CPU: `ab HEAD~1 HEAD SUITE` trials as a CI job runs them (two revisions,
# resident workers), 10% injected into head's calls and A/A in turn: per round TRIALS_EACH slowed
# trials, then one A/A. Each trial's folder is OUT/<kind>-<n> (ab.json, summary.md) with its log;
# summarize with `python reports/gate-power/cpu-ab-trials.py OUT`.
# Usage: bash reports/gate-power/cpu-ab-trials.sh OUT [ROUNDS] [SLOWED_A_ROUND]
# Environment: AB_SUITE (default "smoke --nfe 8"), AB_SECONDS (budget, default the suite's or 600),
# AA_SECONDS (the A/A trials' budget, default AB_SECONDS).
set -u
out=${1:?OUT}
mkdir -p "$out"
suite=${AB_SUITE:-smoke --nfe 8}
trial() {  # kind n inject seconds
  local start
  start=$(date +%s)
  # shellcheck disable=SC2086  # the suite and its narrowing are words
  python -m harness ab HEAD~1 HEAD $suite --inject-slowdown "$3" --no-progress ${4:+--max-seconds "$4"} \
    --out "$out/$1-$2" > "$out/$1-$2.log" 2>&1
  echo "exit $? after $(( $(date +%s) - start )) s" >> "$out/$1-$2.log"
}
n=0
for round in $(seq 1 "${2:-5}"); do
  for _ in $(seq 1 "${3:-1}"); do
    n=$((n + 1))
    trial slow10 "$n" 0.10 "${AB_SECONDS:-}"
  done
  trial aa "$round" 0 "${AA_SECONDS:-${AB_SECONDS:-}}"
done
