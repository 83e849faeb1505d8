#!/usr/bin/env bash
# `tts-harness bisect` on a history made here: this project's harness copied into a new repository,
# five commits, the fourth planting a busy wait as long as each timed call (a doubling). The tiny
# model at NFE 2 (the tests' suite), alpha 0.05, at least 3 clusters a step; margin 30% (a step is
# "unchanged" only when its interval lies within +/-30%: the size of what is hunted, not 2%).
# Usage: bash reports/bisect/run.sh OUT   (from the repository root)
set -euo pipefail
out=$(realpath -m "$1"); root=$(git rev-parse --show-toplevel); py="$root/.venv/bin/python"
repo="$out/repo"; rm -rf "$repo"; mkdir -p "$repo/suites"
cp -r "$root/harness" "$repo/harness"; find "$repo" -name __pycache__ -prune -exec rm -rf {} +
"$py" - "$repo/suites/s.toml" <<'PY'
import sys
from tests.conftest import SUITE_TEMPLATE, suite_values
gate = "[gate]\nalpha = 0.05\nmin_rounds = 3\nmax_rounds = 6\nblock_calls = 2\n"
open(sys.argv[1], "w").write(SUITE_TEMPLATE.format(**suite_values(name="s", nfe="[2]", extra=gate)))
PY
cd "$repo"; git init -q .; c() { git -c user.email=t@t -c user.name=t commit -qam "$1"; git rev-parse HEAD; }
git add .; c1=$(c one)
for n in two three; do echo "$n" > "harness/$n.txt"; git add .; c "$n" > /dev/null; done
sed -i 's/inject_slowdown=slowdown,/inject_slowdown=slowdown + 1.0,/' harness/measure.py; c4=$(c "four: a busy wait")
echo five > harness/five.txt; git add .; c5=$(c five)
echo "planted at $c4" > "$out/planted.txt"
export HF_HUB_OFFLINE=1 TTS_HARNESS_CACHE="$out/cache" PYTHONPATH="$repo"
/usr/bin/time -f "%e s wall" "$py" -m harness bisect "$c1" "$c5" s --min-effect 0.3 --out "$out/steps" 2>&1 | tee "$out/bisect.txt"
