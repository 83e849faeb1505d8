"""Two arms of one built model, interleaved in rounds A B B A, until the sequential test decides.

The B arm spends a known fraction of each call in a busy wait inside the timed region
(``StageTimer``'s injection), so the true ratio B / A is ``1 + slowdown``: what the gate should call
is known. ABBA rounds give each arm the same neighbours (each follows an A once and a B once), so
slow drift of the machine and the state one call leaves for the next cancel in the paired ratio.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.sequential import Decision, GatePolicy, SequentialTest, round_log_ratio

if TYPE_CHECKING:
    from harness.config import RunConfig
    from harness.measure import Measurer

# A call of one arm: its injected slowdown in, (seconds of the call, seconds of it injected) out.
CallFn = Callable[[float], tuple[float, float]]
ORDER = (False, True, True, False)  # A B B A: True is the B arm


@dataclass(frozen=True)
class Trial:
    """One sequential comparison of A with A slowed down by ``slowdown`` (0: an A/A trial)."""

    slowdown: float
    decision: Decision
    seconds: float  # wall time of the trial's rounds
    injected: float  # what the injection achieved: median over B calls of injected / (call - injected)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sequential_trial(
    call: CallFn,
    slowdown: float,
    policy: GatePolicy,
    jitter: float = 0.0,
    seed: int = 0,
    clock: Callable[[], float] = time.perf_counter,
) -> Trial:
    """Rounds A B B A until the test reaches an outcome or the policy's budget ends.

    ``jitter`` > 0 adds to every call of both arms a random slowdown drawn uniformly from
    ``[0, jitter]`` (seeded): a pair whose noise, not its code, decides, for testing what the gate
    makes of it.
    """
    rng = np.random.default_rng(seed)
    test = SequentialTest(policy)
    injected: list[float] = []
    start = clock()
    while True:
        times: dict[bool, list[float]] = {False: [], True: []}
        for is_b in ORDER:
            noise = float(rng.uniform(0, jitter)) if jitter else 0.0
            total, delay = call((slowdown if is_b else 0.0) + noise)
            times[is_b].append(total)
            if is_b and slowdown > 0:
                injected.append(delay / (total - delay) - noise)
        test.add(round_log_ratio(times[False], times[True]))
        decision = test.decision(clock() - start)
        if decision.stopped_by:
            achieved = float(np.median(injected)) if injected else 0.0
            return Trial(slowdown, decision, clock() - start, achieved)


def pipeline_call(measurer: Measurer, run: RunConfig) -> CallFn:
    """The configuration's synthesis after its first call and warm-up, as a ``CallFn`` over the
    suite's texts (one call speaks each text once)."""
    synth = measurer.prepared(run)
    texts = range(len(measurer.suite.texts))

    def call(slowdown: float) -> tuple[float, float]:
        results = [measurer.call(synth, run, index, slowdown) for index in texts]
        return sum(r.total_s for r in results), sum(r.stages_s.get("injected_delay", 0.0) for r in results)

    return call


def power_check(
    call: CallFn,
    slowdowns: Sequence[float],
    trials: int,
    aa_trials: int,
    policy: GatePolicy,
    on_trial: Callable[[Trial], None] | None = None,
) -> list[Trial]:
    """``trials`` sequential trials per slowdown (``aa_trials`` for 0), the levels taken in turn so
    that drift of the machine reaches every level alike."""
    wanted = {s: (aa_trials if s == 0 else trials) for s in slowdowns}
    out: list[Trial] = []
    for index in range(max(wanted.values(), default=0)):
        for slowdown, count in wanted.items():
            if index < count:
                out.append(sequential_trial(call, slowdown, policy, seed=index))
                if on_trial:
                    on_trial(out[-1])
    return out


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion."""
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _median(values: Sequence[float]) -> float:
    return float(np.median(values))


def power_table(trials: Sequence[Trial]) -> str:
    """Per slowdown: how often each outcome came, with the regression rate's interval, and what a
    verdict cost."""
    lines = [
        "| injected | achieved | trials | regression [95% CI] | unchanged | inconclusive | improvement | "
        "median ratio | median rounds | median s | detectable (median) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for slowdown in sorted({t.slowdown for t in trials}):
        group = [t for t in trials if t.slowdown == slowdown]
        count = {o: sum(t.decision.outcome == o for t in group) for o in ("regression", "unchanged", "inconclusive")}
        faster = sum(t.decision.outcome == "improvement" for t in group)
        low, high = wilson(count["regression"], len(group))
        achieved = f"{np.median([t.injected for t in group]):.1%}" if slowdown else "-"
        n = len(group)
        lines.append(
            f"| {slowdown:.0%} | {achieved} | {n} | {count['regression']}/{n} [{low:.2f}, {high:.2f}] | "
            f"{count['unchanged']} | {count['inconclusive']} | {faster} | "
            f"{_median([t.decision.ratio for t in group]):.4f} | {_median([t.decision.rounds for t in group]):.0f} | "
            f"{_median([t.seconds for t in group]):.1f} | {_median([t.decision.detectable for t in group]):.1%} |"
        )
    return "\n".join(lines)
