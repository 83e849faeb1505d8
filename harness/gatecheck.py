"""Does the gate work here? Interleaved A/A and A/B measurements with a real injected slowdown.

Arms are measured round-robin on one built model (A, A', B, A, A', B, ...), so slow drift of the
machine (thermal, other tenants) hits every arm alike; the stored-baseline gate cannot cancel drift
between processes, and this check measures how large that drift is beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.config import RunConfig
from harness.runner import Runner
from harness.stats import compare


@dataclass(frozen=True)
class Trial:
    slowdown: float
    repeats: int
    aa_regression: bool
    ab_regression: bool
    ab_ratio: float


def interleaved(runner: Runner, run: RunConfig, slowdowns: list[float], repeats: int) -> list[list[float]]:
    """RTF samples per arm, arms measured in turn, after a first call and the suite's warm-up."""
    synth = runner.prepared(run)
    arms: list[list[float]] = [[] for _ in slowdowns]
    for _ in range(repeats):
        for arm, slowdown in enumerate(slowdowns):
            arms[arm].append(runner._call(synth, run, 0, slowdown).rtf)
    return arms


def check(runner: Runner, run: RunConfig, slowdowns: list[float], repeats: list[int], trials: int) -> list[Trial]:
    min_effect = runner.suite.thresholds.min_effect
    alpha = runner.suite.thresholds.alpha
    out = []
    for n in repeats:
        for slowdown in slowdowns:
            for trial in range(trials):
                a, a2, b = interleaved(runner, run, [0.0, 0.0, slowdown], n)
                aa = compare(a, a2, min_effect, alpha, seed=trial)
                ab = compare(a, b, min_effect, alpha, seed=trial)
                out.append(Trial(slowdown, n, aa.regression, ab.regression, ab.ratio))
    return out


def table(trials: list[Trial]) -> str:
    groups: dict[tuple[float, int], list[Trial]] = {}
    for t in trials:
        groups.setdefault((t.slowdown, t.repeats), []).append(t)
    lines = [
        "| injected slowdown | repeats | trials | caught (A/B) | false alarms (A/A) | median ratio |",
        "|---|---|---|---|---|---|",
    ]
    for (slowdown, n), group in sorted(groups.items()):
        ratios = sorted(t.ab_ratio for t in group)
        lines.append(
            f"| {slowdown:.0%} | {n} | {len(group)} | {sum(t.ab_regression for t in group)}/{len(group)} | "
            f"{sum(t.aa_regression for t in group)}/{len(group)} | {ratios[len(ratios) // 2]:.3f} |"
        )
    return "\n".join(lines)


def as_dicts(trials: list[Trial]) -> list[dict[str, Any]]:
    from dataclasses import asdict

    return [asdict(t) for t in trials]
