"""Summaries of raw samples, bootstrap confidence intervals and the regression test."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from harness.sequential import detectable_slowdown, outcome_of

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
        return {**asdict(self), "significant": self.significant}


def ratio_ci(baseline: np.ndarray, candidate: np.ndarray, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Bootstrap CI of median(candidate) / median(baseline), resampling each side."""
    rng = np.random.default_rng(seed)
    b = np.median(rng.choice(baseline, size=(BOOTSTRAP_RESAMPLES, baseline.size)), axis=1)
    c = np.median(rng.choice(candidate, size=(BOOTSTRAP_RESAMPLES, candidate.size)), axis=1)
    ratios = c / b
    alpha = (1 - level) / 2
    return float(np.quantile(ratios, alpha)), float(np.quantile(ratios, 1 - alpha))


def _judged(
    ratio: float, low: float, high: float, p_value: float, alpha: float, min_effect: float, power: float
) -> Comparison:
    """The outcome of an interval at level ``1 - alpha`` and its detectable slowdown (the interval's
    half-width in log ratio is read as ``z(1 - alpha/2)`` standard errors)."""
    from scipy.stats import norm

    if not (ratio > 0 and low > 0 and high < math.inf):  # no interval of a ratio of times to speak of
        return Comparison(ratio, low, high, p_value, "inconclusive", math.inf)
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
    )


def compare(
    baseline: Sequence[float],
    candidate: Sequence[float],
    min_effect: float = 0.02,
    alpha: float = 0.01,
    seed: int = 0,
    power: float = 0.95,
) -> Comparison:
    """Runs of one sweep a side: a bootstrap CI of the ratio of medians at level ``1 - alpha``; a
    regression or improvement must also be significant by the one-sided Mann-Whitney U test."""
    from scipy.stats import mannwhitneyu

    b = np.asarray(baseline, dtype=float)
    c = np.asarray(candidate, dtype=float)
    if b.size == 0 or c.size == 0:
        raise ValueError("both sides need samples")
    ratio = float(np.median(c) / np.median(b))
    low, high = ratio_ci(b, c, level=1 - alpha, seed=seed)
    if b.size > 1 and c.size > 1:
        p_slower = float(mannwhitneyu(c, b, alternative="greater").pvalue)
        p_faster = float(mannwhitneyu(c, b, alternative="less").pvalue)
    else:
        p_slower = p_faster = 1.0
    p_value = p_slower if ratio >= 1 else p_faster
    return _judged(ratio, low, high, p_value, alpha, min_effect, power)


def compare_repeated(
    baseline: Sequence[Sequence[float]],
    candidate: Sequence[Sequence[float]],
    min_effect: float = 0.02,
    alpha: float = 0.01,
    seed: int = 0,
    power: float = 0.95,
) -> Comparison:
    """``compare`` for sides of one or more identical sweeps each (one list of runs per sweep).

    One sweep a side is ``compare``. With more, the unit is the sweep: Student's t on the log of
    each sweep's median, the variance pooled over both sides. What differs between processes, GPUs
    or neighbour load then widens the interval instead of passing for a change; a run-level
    bootstrap over a few sweeps stays too narrow.
    """
    if len(baseline) == 1 and len(candidate) == 1:
        return compare(baseline[0], candidate[0], min_effect, alpha, seed, power)
    from scipy.stats import ttest_ind

    logs_b = np.log([np.median(np.asarray(s, dtype=float)) for s in baseline])
    logs_c = np.log([np.median(np.asarray(s, dtype=float)) for s in candidate])
    with warnings.catch_warnings():  # nearly identical sweeps: scipy warns, the interval is still right
        warnings.simplefilter("ignore", RuntimeWarning)
        test = ttest_ind(logs_c, logs_b, equal_var=True)
    diff = float(logs_c.mean() - logs_b.mean())
    if not math.isfinite(float(test.statistic)):  # no spread on either side: the difference is exact
        return _judged(math.exp(diff), math.exp(diff), math.exp(diff), float(diff == 0), alpha, min_effect, power)
    interval = test.confidence_interval(confidence_level=1 - alpha)
    return _judged(
        math.exp(diff), math.exp(interval.low), math.exp(interval.high), float(test.pvalue), alpha, min_effect, power
    )
