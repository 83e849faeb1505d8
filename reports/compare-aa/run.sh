#!/usr/bin/env bash
# A/A trials of `compare`, one sweep a side, in both orders: identical code (one commit, a clean
# worktree), `smoke --nfe 8` sweeps one after another on this machine. The first NOISE sweeps are
# recorded as the noise floor; trial i compares sweep i with sweep i+1 both ways, without and with it.
# With OLD=REV, the same pairs are also compared by REV's `compare` (column noise_floor = "old").
# Usage: [OLD=REV] bash reports/compare-aa/run.sh OUT [NOISE=6] [TRIALS=20]   (from the repository root)
set -uo pipefail
out=$(realpath -m "$1"); noise=${2:-6}; trials=${3:-20}
root=$(git rev-parse --show-toplevel); py="$root/.venv/bin/python"
tree="$out/tree"; mkdir -p "$out"
[ -d "$tree" ] || git -C "$root" worktree add -q --detach "$tree" HEAD
export PYTHONPATH="$tree" HF_HUB_OFFLINE=1 TTS_HARNESS_NO_TRACK=1
sweep() { (cd "$tree" && "$py" -m harness run smoke --nfe 8 --no-audio --no-progress --no-track --out "$out/sweeps/$1" >/dev/null 2>&1); }
for i in $(seq 1 "$noise"); do [ -f "$out/sweeps/n$i/results.json" ] || sweep "n$i"; done
"$py" -m harness noise record "$out"/sweeps/n* --dir "$out/floor" > "$out/noise.txt"
for i in $(seq 0 "$trials"); do [ -f "$out/sweeps/t$i/results.json" ] || sweep "t$i"; done
echo "trial,order,noise_floor,exit,outcome,ratio" > "$out/trials.csv"
for i in $(seq 1 "$trials"); do
  a="$out/sweeps/t$((i-1))"; b="$out/sweeps/t$i"
  for order in ab ba; do
    [ $order = ab ] && set -- "$a" "$b" || set -- "$b" "$a"
    for floor in none "$out/floor"; do
      (cd "$out" && "$py" -m harness compare "$1" "$2" --noise-dir "${floor/none/$out/empty}" --json "$out/c.json" >/dev/null 2>&1)
      code=$?
      "$py" -c "import json,sys; r=json.load(open('$out/c.json'))[0]; print(f\"$i,$order,${floor##*/},$code,{r['outcome']},{r['ratio']:.4f}\")" >> "$out/trials.csv"
    done
  done
done
if [ -n "${OLD:-}" ]; then
  old="$out/old"; [ -d "$old" ] || git -C "$root" worktree add -q --detach "$old" "$OLD"
  for i in $(seq 1 "$trials"); do
    a="$out/sweeps/t$((i-1))"; b="$out/sweeps/t$i"
    for order in ab ba; do
      [ $order = ab ] && set -- "$a" "$b" || set -- "$b" "$a"
      (cd "$out" && PYTHONPATH="$old" "$py" -m harness compare "$1" "$2" --json "$out/c.json" >/dev/null 2>&1)
      code=$?
      "$py" -c "import json; r=json.load(open('$out/c.json'))[0]; print(f\"$i,$order,old,$code,{r['outcome']},{r['ratio']:.4f}\")" >> "$out/trials.csv"
    done
  done
  git -C "$root" worktree remove --force "$old"
fi
rm -f "$out/c.json"; git -C "$root" worktree remove --force "$tree"
