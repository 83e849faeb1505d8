"""The table of `cpu-ab-trials.sh`'s trials: per kind, the outcomes and what a verdict cost.

    .venv/bin/python reports/gate-power/cpu-ab-trials.py OUT
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path
from statistics import median

from harness import schemas
from harness.ab.gate import outcomes


def main(out: Path) -> None:
    rows: dict[str, list[tuple[str, float, int, float]]] = {}
    for state_file in sorted(out.glob("*/ab.json")):
        state = schemas.read("ab", state_file)
        (outcome,) = outcomes(state).values()
        (config,) = state["configs"].values()
        ended = re.findall(r"exit \d+ after (\d+) s", (out / f"{state_file.parent.name}.log").read_text())
        if not ended:  # a trial cut short: not counted
            continue
        wall = float(ended[-1])
        kind = state_file.parent.name.rsplit("-", 1)[0]
        rows.setdefault(kind, []).append((outcome, wall, len(state["rounds"]), config["decision"]["ratio"]))
    print("| trials | n | outcomes | median wall s (max) | median clusters | median ratio |")
    print("|---|---|---|---|---|---|")
    for kind, trials in rows.items():
        counts = ", ".join(f"{o} {c}" for o, c in Counter(t[0] for t in trials).most_common())
        walls = [t[1] for t in trials]
        print(
            f"| {kind} | {len(trials)} | {counts} | {median(walls):.0f} ({max(walls):.0f}) | "
            f"{median(t[2] for t in trials):.0f} | {median(t[3] for t in trials):.4f} |"
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
