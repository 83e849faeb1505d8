"""Summaries of raw samples, bootstrap confidence intervals and the regression test."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

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
    """Candidate against baseline: ratio of medians (>1 is slower), its CI and the verdict."""

    ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    significant: bool
    regression: bool
    improvement: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ratio_ci(baseline: np.ndarray, candidate: np.ndarray, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Bootstrap CI of median(candidate) / median(baseline), resampling each side."""
    rng = np.random.default_rng(seed)
    b = np.median(rng.choice(baseline, size=(BOOTSTRAP_RESAMPLES, baseline.size)), axis=1)
    c = np.median(rng.choice(candidate, size=(BOOTSTRAP_RESAMPLES, candidate.size)), axis=1)
    ratios = c / b
    alpha = (1 - level) / 2
    return float(np.quantile(ratios, alpha)), float(np.quantile(ratios, 1 - alpha))


def compare(
    baseline: Sequence[float],
    candidate: Sequence[float],
    min_effect: float = 0.05,
    alpha: float = 0.05,
    seed: int = 0,
) -> Comparison:
    """A regression is both significant (Mann-Whitney U, one-sided, and a bootstrap CI of the
    ratio of medians that excludes 1) and larger than ``min_effect``."""
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
    slower = p_slower < alpha and low > 1.0
    faster = p_faster < alpha and high < 1.0
    return Comparison(
        ratio=ratio,
        ci_low=low,
        ci_high=high,
        p_value=min(p_slower, p_faster),
        significant=slower or faster,
        regression=slower and ratio > 1.0 + min_effect,
        improvement=faster and ratio < 1.0 - min_effect,
    )


def compare_repeated(
    baseline: Sequence[Sequence[float]],
    candidate: Sequence[Sequence[float]],
    min_effect: float = 0.05,
    alpha: float = 0.05,
    seed: int = 0,
) -> Comparison:
    """``compare`` for sides of one or more identical sweeps each (one list of runs per sweep).

    One sweep a side is ``compare``. With more, the unit is the sweep: Student's t on the log of
    each sweep's median, the variance pooled over both sides. What differs between processes, GPUs
    or neighbour load then widens the interval instead of passing for a change; a run-level
    bootstrap over a few sweeps stays too narrow.
    """
    if len(baseline) == 1 and len(candidate) == 1:
        return compare(baseline[0], candidate[0], min_effect, alpha, seed)
    from scipy.stats import t as student_t

    logs_b = np.log([np.median(np.asarray(s, dtype=float)) for s in baseline])
    logs_c = np.log([np.median(np.asarray(s, dtype=float)) for s in candidate])
    df = logs_b.size + logs_c.size - 2
    pooled = (((logs_b - logs_b.mean()) ** 2).sum() + ((logs_c - logs_c.mean()) ** 2).sum()) / df
    se = math.sqrt(pooled * (1 / logs_b.size + 1 / logs_c.size))
    diff = float(logs_c.mean() - logs_b.mean())
    half = float(student_t.ppf(1 - alpha / 2, df)) * se
    p_value = float(2 * student_t.sf(abs(diff) / se, df)) if se > 0 else float(diff == 0)
    low, high = math.exp(diff - half), math.exp(diff + half)
    ratio = math.exp(diff)
    return Comparison(
        ratio=ratio,
        ci_low=low,
        ci_high=high,
        p_value=p_value,
        significant=low > 1.0 or high < 1.0,
        regression=low > 1.0 and ratio > 1.0 + min_effect,
        improvement=high < 1.0 and ratio < 1.0 - min_effect,
    )
