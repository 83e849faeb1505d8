"""Service-level objectives, and the search for the highest arrival rate that meets one.

An SLO is a set of ceilings on a load's figures (``ttfa_p99_s = 1.0``, ``drop_rate = 0.01``). The
search, like vLLM's and MLPerf's server-scenario searches, runs loads at rising rates (doubling
until one fails), then halves the bracket ``steps`` times (geometric midpoints): the sustainable
rate (goodput) lies between the highest rate that met the SLO and the lowest that did not. The
curve of latency against offered rate is kept, with its knee: the last rate before p99 TTFA
exceeds twice its value at the lowest rate.

A load whose served rate falls below ``MIN_SERVED_FRACTION`` of the rate offered to it (of the
requests neither dropped nor failed) misses every SLO: the service is saturated and its queue grows
for as long as the load lasts, so a short load's percentiles would meet the ceilings only because
it ended first (on an H100, 30 req/s offered, 22.5 served, p99 TTFA 0.68 s after 60 requests).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.choices import suggest
from harness.errors import ConfigError

# The figures an SLO may bound: (summary key, percentile) or a plain summary key.
SLO_METRICS: dict[str, tuple[str, str | None]] = {
    f"{name}_{q}_s": (f"{name}_s", q)
    for name in ("ttfa", "latency", "queue", "gap")
    for q in ("p50", "p90", "p99", "max")
} | {"drop_rate": ("drop_rate", None), "error_rate": ("error_rate", None), "underrun_rate": ("underrun_rate", None)}
MAX_SEARCH_STEPS = 12
MIN_SERVED_FRACTION = 0.9  # below it a load is saturated; unsaturated loads measured here served 0.96-1.07


def figure(summary: dict[str, Any], metric: str) -> float:
    """One figure of a load summary; a percentile of nothing served is infinite (never met)."""
    key, q = SLO_METRICS[metric]
    value = summary.get(key)
    if q is None:
        return float(value) if value is not None else math.inf
    return float(value[q]) if value else math.inf


@dataclass(frozen=True)
class SLO:
    ceilings: dict[str, float]

    def __post_init__(self) -> None:
        if not self.ceilings:
            raise ConfigError("an SLO needs at least one ceiling, e.g. ttfa_p99_s = 1.0")
        for metric, ceiling in self.ceilings.items():
            if metric not in SLO_METRICS:
                raise ConfigError(f"SLO names an unknown metric {metric!r}{suggest(metric, SLO_METRICS)}")
            if isinstance(ceiling, bool) or not isinstance(ceiling, (int, float)) or not ceiling >= 0:
                raise ConfigError(f"SLO ceiling for {metric} must be a number >= 0, got {ceiling!r}")

    def misses(self, summary: dict[str, Any]) -> list[str]:
        """The ceilings a load broke, each as ``metric value > ceiling``, and saturation."""
        broken = [
            f"{metric} {figure(summary, metric):.3g} > {ceiling:g}"
            for metric, ceiling in self.ceilings.items()
            if not figure(summary, metric) <= ceiling
        ]
        return broken + saturation(summary)

    def describe(self) -> str:
        return ", ".join(f"{metric} <= {ceiling:g}" for metric, ceiling in self.ceilings.items())


def saturation(summary: dict[str, Any]) -> list[str]:
    """``["saturated: ..."]`` when the load's served rate fell below ``MIN_SERVED_FRACTION`` of the
    rate offered of the requests it served (dropped and failed ones aside), else ``[]``."""
    offered, served = summary.get("offered_rate_per_s"), summary.get("served_rate_per_s")
    kept = 1.0 - float(summary.get("drop_rate") or 0.0) - float(summary.get("error_rate") or 0.0)
    if not offered or served is None or kept <= 0:
        return []
    expected = offered * kept
    if served >= MIN_SERVED_FRACTION * expected:
        return []
    return [f"saturated: served {served:.3g} req/s < {MIN_SERVED_FRACTION:g} x offered {expected:.3g}"]


@dataclass(frozen=True)
class Point:
    rate_per_s: float
    summary: dict[str, Any]
    misses: list[str]

    @property
    def met(self) -> bool:
        return not self.misses


def search(
    measure: Callable[[float], dict[str, Any]],
    slo: SLO,
    start_rate: float,
    max_rate: float,
    steps: int = 4,
) -> dict[str, Any]:
    """Loads at rising rates, then a bisection of the bracket; ``measure(rate)`` runs one load."""
    if not (0 < start_rate <= max_rate and math.isfinite(max_rate)):
        raise ConfigError(f"rate search needs 0 < start_rate <= max_rate, got {start_rate} and {max_rate}")
    if not 0 <= steps <= MAX_SEARCH_STEPS:
        raise ConfigError(f"search steps must be between 0 and {MAX_SEARCH_STEPS}, got {steps}")
    points: list[Point] = []

    def at(rate: float) -> Point:
        summary = measure(rate)
        point = Point(rate, summary, slo.misses(summary))
        points.append(point)
        return point

    low: float | None = None
    high: float | None = None
    rate = start_rate
    while True:  # up (doubling) while the SLO holds, or down (halving) while it fails
        met = at(rate).met
        if met:
            low = rate
            if high is not None or rate >= max_rate:
                break
            rate = min(rate * 2, max_rate)
        else:
            high = rate
            if low is not None or len(points) > steps:
                break
            rate /= 2
    for _ in range(steps if low is not None and high is not None else 0):
        assert low is not None and high is not None
        mid = math.sqrt(low * high)
        if at(mid).met:
            low = mid
        else:
            high = mid
    return curve(points, slo, low, high)


def knee(points: list[Point]) -> float | None:
    """The last rate before p99 TTFA exceeds twice its value at the lowest rate measured."""
    ordered = sorted(points, key=lambda p: p.rate_per_s)
    if not ordered:
        return None
    base = figure(ordered[0].summary, "ttfa_p99_s")
    last = None
    for point in ordered:
        if figure(point.summary, "ttfa_p99_s") > 2 * base:
            break
        last = point.rate_per_s
    return last


def curve(points: list[Point], slo: SLO, low: float | None, high: float | None) -> dict[str, Any]:
    """The search as stored in results: every load's figures by rate, the bracket and the knee."""
    return {
        "slo": slo.ceilings,
        "sustainable_rate_per_s": low,
        "failing_rate_per_s": high,
        "knee_rate_per_s": knee(points),
        "points": [
            {"rate_per_s": p.rate_per_s, "met": p.met, "misses": p.misses, "summary": p.summary}
            for p in sorted(points, key=lambda p: p.rate_per_s)
        ],
    }


def compare_rates(base: dict[str, Any], head: dict[str, Any], tolerance: float = 0.1) -> dict[str, Any]:
    """Two searches' sustainable rates judged as the speed gate judges: each side is known only to
    lie in its bracket [met, failed), so the head/base ratio lies in an interval; ``regression``
    when all of it is below ``1 - tolerance``, ``unchanged`` when all of it is within the tolerance,
    ``improvement`` when all of it is above ``1 + tolerance``, else ``inconclusive``."""

    def bracket(side: dict[str, Any]) -> tuple[float, float]:
        low = side.get("sustainable_rate_per_s") or 0.0
        high = side.get("failing_rate_per_s") or math.inf
        return float(low), float(high)

    (b_low, b_high), (h_low, h_high) = bracket(base), bracket(head)
    lower = h_low / b_high if b_high > 0 else 0.0
    upper = h_high / b_low if b_low > 0 else math.inf
    if upper < 1 - tolerance:
        outcome = "regression"
    elif lower > 1 + tolerance:
        outcome = "improvement"
    elif lower >= 1 - tolerance and upper <= 1 + tolerance:
        outcome = "unchanged"
    else:
        outcome = "inconclusive"
    return {"outcome": outcome, "ratio_low": lower, "ratio_high": upper, "tolerance": tolerance}
