"""``tts-harness compare A B``: two sweeps, deltas per matching configuration with significance."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import InputError
from harness.noise import NoiseFloor
from harness.noise import describe as noise_source
from harness.report.summary import cost_split
from harness.results import Results
from harness.sequential import GatePolicy
from harness.stats import Comparison, compare_repeated


def load_side(spec: str, tracking_uri: str | None = None) -> Results:
    """A results directory, or an MLflow parent run id (32 hex characters)."""
    path = Path(spec)
    if path.exists():
        return Results.load(path)
    if len(spec) == 32 and all(c in "0123456789abcdef" for c in spec):
        from harness.tracking.mlflow_sync import fetch_results

        return Results.load(fetch_results(spec, tracking_uri))
    raise InputError(f"{spec} is neither a results directory nor an MLflow run id")


def load_sides(spec: str, tracking_uri: str | None = None) -> list[Results]:
    """One side of a comparison: a sweep, or identical sweeps separated by commas (A1,A2)."""
    return [load_side(part, tracking_uri) for part in spec.split(",") if part]


_NO_NOISE_NOTE = (
    "> one sweep a side and no noise floor for this machine: run-to-run intervals do not see what differs "
    "between processes, so nothing is decided. Record identical sweeps with `tts-harness noise record S1 S2 ...`, "
    "or give a side as identical sweeps `A1,A2`"
)


@dataclass(frozen=True)
class ComparedConfig:
    """One configuration on both sides: each side's RTF, the comparison, the runs per sweep."""

    id: str
    result: Comparison
    sweeps: tuple[list[list[float]], list[list[float]]]
    noise: str = ""  # where the between-sweep noise came from

    @property
    def a_rtf(self) -> float:
        return _geometric_mean_of_medians(self.sweeps[0])

    @property
    def b_rtf(self) -> float:
        return _geometric_mean_of_medians(self.sweeps[1])

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "a_rtf": self.a_rtf,
            "b_rtf": self.b_rtf,
            "sweeps": [len(self.sweeps[0]), len(self.sweeps[1])],
            "noise": self.noise,
            **self.result.as_dict(),
        }


def _runs_by_id(side: list[Results]) -> dict[str, list[list[float]]]:
    """A side's measured configurations: each one's RTF runs, one list per sweep."""
    out: dict[str, list[list[float]]] = {}
    for results in side:
        for r in results.records:
            if r.status == "ok" and r.runs:
                out.setdefault(r.id, []).append([s.rtf for s in r.runs])
    return out


def compared(
    ours: dict[str, list[list[float]]],
    theirs: dict[str, list[list[float]]],
    policy: GatePolicy,
    floors: dict[str, NoiseFloor] | None = None,
) -> list[ComparedConfig]:
    """Every configuration measured on both sides (``_runs_by_id`` of each), compared with the
    between-sweep noise of its own sweeps and of its noise floor, if the machine has one."""
    common = sorted(set(ours) & set(theirs))
    if not common:
        raise InputError("the two sweeps have no measured configuration in common: nothing to compare")
    floors = floors or {}
    return [
        ComparedConfig(
            run_id,
            compare_repeated(
                ours[run_id], theirs[run_id], policy.min_effect, policy.alpha, policy.power, floors.get(run_id)
            ),
            (ours[run_id], theirs[run_id]),
            noise_source(floors.get(run_id), len(ours[run_id]) + len(theirs[run_id]) - 2),
        )
        for run_id in common
    ]


@dataclass(frozen=True)
class SweepComparison:
    """``compare A B``: the rows, and the table (with notes and the sweep cost) as markdown."""

    rows: list[ComparedConfig]
    text: str


def compare_sweeps(
    a: list[Results],
    b: list[Results],
    policy: GatePolicy | None = None,
    plot: Path | None = None,
    floors: dict[str, NoiseFloor] | None = None,
) -> SweepComparison:
    """The comparison (and, with ``plot``, a PNG of every ratio with its interval)."""
    policy = policy or GatePolicy()
    ours, theirs = _runs_by_id(a), _runs_by_id(b)
    rows = compared(ours, theirs, policy, floors)
    lines = []
    keys = {results.platform.get("key") for results in [*a, *b]}
    if len(keys) > 1:
        names = ", ".join(sorted(map(str, keys)))
        lines.append(f"> different platforms ({names}): deltas mix machine and code changes\n")
    if any(row.result.df == 0 for row in rows):
        lines.append(_NO_NOISE_NOTE + "\n")
    lines += [
        f"| configuration | A RTF | B RTF | B/A | {1 - policy.alpha:.0%} CI | p | sweeps A+B | spread A / B | "
        "outcome | detectable slowdown |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        c, (sweeps_a, sweeps_b) = row.result, row.sweeps
        lines.append(
            f"| {row.id} | {row.a_rtf:.4g} | {row.b_rtf:.4g} | {c.ratio:.3f} | {interval_text(c.ci_low, c.ci_high)} | "
            f"{c.p_value:.3g} | {len(sweeps_a)}+{len(sweeps_b)} | {_spread(sweeps_a)} / {_spread(sweeps_b)} | "
            f"{c.outcome} | {detectable_text(c.detectable)} |"
        )
    lines.append(
        f"\nmargin {policy.min_effect:.0%}: slower by more and significant is a regression, an interval inside "
        f"+/-{policy.min_effect:.0%} is unchanged; detectable slowdown at {policy.power:.0%} power"
    )
    lines += ["", "between-sweep noise: " + "; ".join(sorted({f"{row.noise}" for row in rows}))]
    only_a, only_b = sorted(set(ours) - set(theirs)), sorted(set(theirs) - set(ours))
    if only_a or only_b:
        lines.append("")
        lines.append(f"Only in A: {', '.join(only_a) or '-'}")
        lines.append(f"Only in B: {', '.join(only_b) or '-'}")
    if len(a) == len(b) == 1:
        lines += cost_lines(a[0].sweep_cost_s, b[0].sweep_cost_s)
    if plot is not None:
        from harness.report.plots import ratio_intervals

        intervals = [(r.id, r.result.ratio, r.result.ci_low, r.result.ci_high, r.result.outcome) for r in rows]
        ratio_intervals(intervals, plot)
        lines += ["", f"plot: {plot}"]
    return SweepComparison(rows, "\n".join(lines))


def interval_text(low: float, high: float) -> str:
    return f"{low:.3f}-{high:.3f}" if math.isfinite(high) and low > 0 else "-"


def detectable_text(detectable: float | None) -> str:
    """A detectable slowdown as a percentage ('unknown' when no noise is known to state it from)."""
    return f"{detectable:.1%}" if detectable is not None and math.isfinite(detectable) else "unknown"


def _geometric_mean_of_medians(sweeps: list[list[float]]) -> float:
    """A side's RTF: the geometric mean of its sweeps' medians (one sweep: its median)."""
    return float(np.exp(np.mean(np.log([np.median(runs) for runs in sweeps]))))


def _spread(sweeps: list[list[float]]) -> str:
    """Largest over smallest sweep median: how far identical sweeps of one side moved ('-': one)."""
    if len(sweeps) < 2:
        return "-"
    medians = [float(np.median(runs)) for runs in sweeps]
    return f"{max(medians) / min(medians):.2f}"


def cost_lines(a: dict[str, float], b: dict[str, float]) -> list[str]:
    """Where each sweep's time went, side by side (a cold and a warm sweep, say)."""
    split_a, split_b = cost_split(a), cost_split(b)
    if split_a is None or split_b is None:
        return []
    rows = [*zip(split_a[0], split_b[0], strict=True)]
    out = ["", "| sweep cost s | A | B |", "|---|---|---|"]
    out += [f"| {label} | {va:.1f} | {vb:.1f} |" for (label, va), (_, vb) in rows]
    out.append(f"| wall | {split_a[1]:.1f} | {split_b[1]:.1f} |")
    out.append(f"| outside timed regions | {split_a[2]:.1%} | {split_b[2]:.1%} |")
    return out
