"""Outcomes of a comparison, and the always-valid sequential test the A/B gate stops on.

A comparison of candidate B with baseline A ends in one of four outcomes, decided by where the
interval of the log ratio lies against the practical margin ``M = log(1 + min_effect)``:

- ``regression``: significantly slower (the interval excludes 1) and estimated slower than ``M``;
- ``improvement``: the same, faster;
- ``unchanged``: the whole interval lies inside ``(-M, +M)`` (equivalence, as two one-sided tests);
- ``inconclusive``: none of these; the noise hides what the change did.

Beside the outcome stands the smallest slowdown the same measurement would have called a
regression with probability ``power`` (the minimum detectable effect): a gate that says
``inconclusive`` or ``unchanged`` also says what it could not have seen.

The sequential test is the asymptotic confidence sequence of Waudby-Smith, Arbour, Sinha, Kennedy
and Ramdas, "Time-uniform central limit theory and asymptotic confidence sequences" (Annals of
Statistics, 2024; arXiv:2103.06476), Robbins' normal-mixture boundary with the variance estimated
as it goes: with probability at least ``1 - alpha`` it covers the mean of the per-round log ratios
at every round at once, so the gate may look after every round and stop as soon as an outcome is
reached without raising its false-alarm rate (a fixed-sample interval looked at after every round
would). Why this one: it needs no planned number of looks (group-sequential alpha spending does),
no bounded observations (the nonasymptotic bounds of Howard et al. need a known range), and its
boundary is closed-form. Its validity is asymptotic; ``min_rounds`` keeps the variance estimate
away from its first few, unreliable rounds, and ``tests/test_sequential.py`` checks the false-alarm
rate on heavy-tailed synthetic samples.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

OUTCOMES = ("regression", "improvement", "unchanged", "inconclusive")
METHOD = "asymptotic confidence sequence (Waudby-Smith et al. 2024) on per-round log ratios"


def outcome_of(estimate: float, low: float, high: float, margin: float) -> str:
    """The outcome of a log-ratio ``estimate`` with interval ``[low, high]`` and margin ``log(1 + m)``."""
    if low > 0 and estimate > margin:
        return "regression"
    if high < 0 and estimate < -margin:
        return "improvement"
    if -margin < low and high < margin:
        return "unchanged"
    return "inconclusive"


def detectable_slowdown(half_width: float, standard_error: float, margin: float, z_power: float) -> float:
    """The smallest slowdown (a fraction) called a regression with probability ``power``: the
    estimate must clear both the interval's half-width and the margin, ``z_power`` (the normal
    quantile of ``power``) standard errors above the truth."""
    return math.expm1(max(half_width, margin) + z_power * standard_error)


def mixture_rho2(t_opt: float, alpha: float) -> float:
    """The mixture's tuning ``rho^2`` that makes the boundary tightest at round ``t_opt``."""
    from scipy.special import lambertw

    a2 = alpha * alpha
    return float((-lambertw(-a2 * math.exp(a2 - 1), k=-1).real - 1) / t_opt)


def boundary(t: int, rho2: float, alpha: float) -> float:
    """Half-width of the two-sided confidence sequence at round ``t`` for unit variance."""
    return math.sqrt(2 * (t * rho2 + 1) / (t * t * rho2) * math.log(math.sqrt(t * rho2 + 1) / alpha))


@functools.lru_cache(maxsize=4096)
def small_sample_widening(n: int, alpha: float) -> float:
    """Student's quantile over the normal's for a variance estimated from ``n - 1`` degrees of
    freedom: widens the first rounds' boundary and tends to 1, so the asymptotic validity stands."""
    from scipy.stats import norm, t

    return float(t.ppf(1 - alpha / 2, n - 1) / norm.ppf(1 - alpha / 2))


@dataclass(frozen=True)
class GatePolicy:
    """How the sequential gate decides and when it gives up."""

    min_effect: float = 0.02  # the practical margin: slower by more is a regression, within it unchanged
    alpha: float = 0.01  # error rate of every interval; over all rounds together for the sequential gate
    power: float = 0.95  # the probability the detectable slowdown is stated at
    min_rounds: int = 8  # no outcome before this many rounds
    max_rounds: int = 200  # budget: rounds ...
    max_seconds: float = 600.0  # ... and seconds of measuring, whichever ends first
    block_calls: int = 3  # `ab`: timed calls per configuration in each process block
    inconclusive: str = "fail"  # what --strict makes of an inconclusive outcome: "fail" or "pass"

    def __post_init__(self) -> None:
        from harness.choices import check_field_types
        from harness.errors import ConfigError

        check_field_types(self, "[gate]")
        if not 0 < self.min_effect < 1 or not 0 < self.alpha < 0.5 or not 0.5 <= self.power < 1:
            raise ConfigError("[gate] needs 0 < min_effect < 1, 0 < alpha < 0.5 and 0.5 <= power < 1")
        if self.min_rounds < 2 or self.max_rounds < 1 or self.max_seconds <= 0 or self.block_calls < 1:
            raise ConfigError(
                "the gate's budget must be positive: min_rounds >= 2, max_rounds >= 1, max_seconds > 0, "
                "block_calls >= 1"
            )
        if self.inconclusive not in ("fail", "pass"):
            raise ConfigError(f"[gate] inconclusive must be 'fail' or 'pass', got {self.inconclusive!r}")

    @property
    def margin(self) -> float:
        return math.log1p(self.min_effect)

    @property
    def t_opt(self) -> float:
        """The round the boundary is tuned for: a quarter of the round budget (at least min_rounds)."""
        return float(max(self.min_rounds, self.max_rounds // 4))


@dataclass(frozen=True)
class Decision:
    """Where a sequential comparison stands after ``rounds`` rounds (``ratio`` > 1: B is slower)."""

    outcome: str
    ratio: float
    ci_low: float
    ci_high: float
    rounds: int
    detectable: float  # smallest slowdown (fraction) these rounds would call a regression at the policy's power
    stopped_by: str  # "outcome", "rounds", "seconds" or "" (still running)
    method: str = METHOD

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON: what is not finite yet (before two rounds) is None."""
        return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in asdict(self).items()}


class SequentialTest:
    """Feed it one paired log ratio per round; ``decision`` says where it stands, ``done`` when to stop."""

    def __init__(self, policy: GatePolicy) -> None:
        from scipy.stats import norm

        self.policy = policy
        self.rho2 = mixture_rho2(policy.t_opt, policy.alpha)
        self.diffs: list[float] = []
        self._z_power = float(norm.ppf(policy.power))

    def add(self, log_ratio: float) -> None:
        if not math.isfinite(log_ratio):
            raise ValueError(f"a round's log ratio must be finite, got {log_ratio}")
        self.diffs.append(log_ratio)

    def decision(self, seconds: float = 0.0) -> Decision:
        p = self.policy
        t = len(self.diffs)
        if t < 2:
            return Decision("inconclusive", math.nan, 0.0, math.inf, t, math.inf, "")
        d = np.asarray(self.diffs)
        mean = float(d.mean())
        sd = float(d.std(ddof=1))
        half = sd * boundary(t, self.rho2, p.alpha) * small_sample_widening(t, p.alpha)
        outcome = outcome_of(mean, mean - half, mean + half, p.margin) if t >= p.min_rounds else "inconclusive"
        if outcome != "inconclusive":
            stopped = "outcome"
        elif t >= p.max_rounds:
            stopped = "rounds"
        elif seconds >= p.max_seconds:
            stopped = "seconds"
        else:
            stopped = ""
        detectable = detectable_slowdown(half, sd / math.sqrt(t), p.margin, self._z_power)
        return Decision(outcome, math.exp(mean), math.exp(mean - half), math.exp(mean + half), t, detectable, stopped)


def round_log_ratio(a: Sequence[float], b: Sequence[float]) -> float:
    """One round's paired statistic: mean log time of B's calls minus A's (ABBA order cancels drift)."""
    return float(np.mean(np.log(b)) - np.mean(np.log(a)))
