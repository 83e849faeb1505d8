"""Summaries of raw samples, bootstrap confidence intervals and the comparison of sweeps."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.sequential import detectable_slowdown, outcome_of

if TYPE_CHECKING:
    from harness.noise import NoiseFloor

BOOTSTRAP_RESAMPLES = 2000


@dataclass(frozen=True)
class Summary:
    """Statistics of one list of samples (same unit as the samples)."""

    n: int
    mean: float
    median: float
    min: float
    max: float
    p90: float
    p95: float
    stdev: float
    cv: float  # stdev / mean
    ci_low: float  # bootstrap 95% CI of the median
    ci_high: float

    @classmethod
    def of(cls, samples: Sequence[float], seed: int = 0) -> Summary:
        x = np.asarray(samples, dtype=float)
        if x.size == 0:
            raise ValueError("no samples")
        mean = float(x.mean())
        stdev = float(x.std(ddof=1)) if x.size > 1 else 0.0
        low, high = bootstrap_ci(x, np.median, seed=seed)
        return cls(
            n=int(x.size),
            mean=mean,
            median=float(np.median(x)),
            min=float(x.min()),
            max=float(x.max()),
            p90=float(np.percentile(x, 90)),
            p95=float(np.percentile(x, 95)),
            stdev=stdev,
            cv=stdev / mean if mean else math.nan,
            ci_low=low,
            ci_high=high,
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def bootstrap_ci(x: np.ndarray, statistic: Any, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic`` over ``x`` (one value: a zero-width CI)."""
    if x.size < 2:
        value = float(statistic(x))
        return value, value
    rng = np.random.default_rng(seed)
    resamples = rng.choice(x, size=(BOOTSTRAP_RESAMPLES, x.size), replace=True)
    values = statistic(resamples, axis=1)
    alpha = (1 - level) / 2
    return float(np.quantile(values, alpha)), float(np.quantile(values, 1 - alpha))


@dataclass(frozen=True)
class Comparison:
    """Candidate against baseline: ratio (>1 is slower), its interval, the outcome
    (``sequential.OUTCOMES``) and the smallest slowdown the samples could have shown."""

    ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    outcome: str
    detectable: float  # smallest slowdown (fraction) called a regression with probability `power`
    df: int = 0  # degrees of freedom of the between-sweep variance (0: none known, nothing decided)

    @property
    def significant(self) -> bool:
        return self.ci_low > 1.0 or self.ci_high < 1.0

    @property
    def regression(self) -> bool:
        return self.outcome == "regression"

    @property
    def improvement(self) -> bool:
        return self.outcome == "improvement"

    def as_dict(self) -> dict[str, Any]:
        data = {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in asdict(self).items()}
        return {**data, "significant": self.significant}


def _judged(
    ratio: float, low: float, high: float, p_value: float, alpha: float, min_effect: float, power: float, df: int
) -> Comparison:
    """The outcome of an interval at level ``1 - alpha`` and its detectable slowdown (the interval's
    half-width in log ratio is read as ``z(1 - alpha/2)`` standard errors)."""
    from scipy.stats import norm

    if not (ratio > 0 and low > 0 and high < math.inf):  # no interval of a ratio of times to speak of
        return Comparison(ratio, low, high, p_value, "inconclusive", math.inf, df)
    log_low, log_high = math.log(low), math.log(high)
    half = (log_high - log_low) / 2
    se = half / float(norm.ppf(1 - alpha / 2))
    margin = math.log1p(min_effect)
    outcome = outcome_of(math.log(ratio), log_low, log_high, margin)
    if outcome in ("regression", "improvement") and p_value >= alpha:
        outcome = "inconclusive"
    return Comparison(
        ratio=ratio,
        ci_low=low,
        ci_high=high,
        p_value=p_value,
        outcome=outcome,
        detectable=detectable_slowdown(half, se, margin, float(norm.ppf(power))),
        df=df,
    )


def compare_repeated(
    baseline: Sequence[Sequence[float]],
    candidate: Sequence[Sequence[float]],
    min_effect: float = 0.02,
    alpha: float = 0.01,
    power: float = 0.95,
    noise: NoiseFloor | None = None,
) -> Comparison:
    """Sides of one or more sweeps each (one list of runs per sweep), compared with the sweep as the
    unit: Student's t on the log of each sweep's median.

    The variance of a sweep's log median pools the spread within each side (several identical
    sweeps) with the machine's recorded ``noise`` floor (``harness.noise``); its degrees of freedom
    are theirs together. Run-level statistics of one sweep a side see only the noise inside one
    process, not what differs between processes, so with no such variance (one sweep a side, no
    noise floor) the outcome is ``inconclusive`` and nothing is detectable.
    """
    from scipy.stats import t as student

    logs_b = np.log([np.median(np.asarray(s, dtype=float)) for s in baseline])
    logs_c = np.log([np.median(np.asarray(s, dtype=float)) for s in candidate])
    if logs_b.size == 0 or logs_c.size == 0:
        raise ValueError("both sides need sweeps")
    diff = float(logs_c.mean() - logs_b.mean())
    ratio = math.exp(diff)
    sum_squares = float(((logs_b - logs_b.mean()) ** 2).sum() + ((logs_c - logs_c.mean()) ** 2).sum())
    df = logs_b.size + logs_c.size - 2
    if noise is not None:
        sum_squares, df = sum_squares + noise.sum_squares, df + noise.df
    if df == 0:
        return Comparison(ratio, 0.0, math.inf, 1.0, "inconclusive", math.inf, 0)
    se = math.sqrt(sum_squares / df * (1 / logs_b.size + 1 / logs_c.size))
    if se == 0:  # no spread anywhere: the difference is exact
        return _judged(ratio, ratio, ratio, float(diff == 0), alpha, min_effect, power, df)
    quantile = float(student.ppf(1 - alpha / 2, df))
    p_value = float(2 * student.sf(abs(diff) / se, df))
    low, high = math.exp(diff - quantile * se), math.exp(diff + quantile * se)
    return _judged(ratio, low, high, p_value, alpha, min_effect, power, df)
