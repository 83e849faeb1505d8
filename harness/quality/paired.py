"""The paired quality gate: two renders of the same texts (two configurations, or two revisions),
compared utterance by utterance.

Per text the difference ``candidate - baseline`` of a score (a MOS proxy, speaker similarity, or
minus the WER, so that higher is better for every metric); Student's t interval of the mean
difference at level ``1 - alpha``; the same outcomes as the speed gate, on the metric's own scale
with a margin in its units (e.g. 0.1 MOS):

- ``regression``: the interval lies below 0 and the mean is worse than ``-margin``;
- ``improvement``: above 0 and better than ``+margin``;
- ``unchanged``: the whole interval lies within ``+/- margin``;
- ``inconclusive``: none of these, with the smallest drop the texts could have shown.

Pairing by text removes what makes texts differ from each other (a question scores lower than a
statement in every configuration), so the interval sees only what the change did.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from harness.errors import InputError

# Scores a paired gate knows besides the registered metrics' (harness/quality/registry.py), with
# what makes "higher" better and the default margin.
METRICS = {
    "similarity": ("speaker similarity (cosine)", 1.0, 0.02),
    "wer": ("word error rate", -1.0, 0.02),
}


def known() -> dict[str, tuple[str, float, float]]:
    """Every score a paired gate compares: label, sign (1: higher is better), default margin."""
    from harness.quality.registry import per_text_scores

    scores = {
        name: (s.label, 1.0 if s.higher_is_better else -1.0, s.margin) for name, (_, s) in per_text_scores().items()
    }
    return scores | METRICS


@dataclass(frozen=True)
class PairedResult:
    metric: str
    texts: int
    mean_baseline: float
    mean_candidate: float
    difference: float  # candidate - baseline on the metric's own scale (for WER: lower is better)
    ci_low: float
    ci_high: float
    outcome: str
    detectable_drop: float  # the smallest worsening (in the metric's units) called a regression at the power

    def as_dict(self) -> dict[str, Any]:
        return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in asdict(self).items()}

    def sentence(self) -> str:
        """One line a reader takes in at once, e.g. ``MOS unchanged within 0.1 (-0.02, 95% CI -0.06-0.02)``."""
        name = self.metric.upper() if self.metric in ("mos", "wer") else self.metric
        ci = f"{self.ci_low:+.3f} to {self.ci_high:+.3f}" if math.isfinite(self.ci_high) else "no interval"
        return f"{name} {self.outcome} ({self.difference:+.3f} over {self.texts} texts, CI {ci})"


def paired(
    baseline: Sequence[float],
    candidate: Sequence[float],
    metric: str = "mos",
    margin: float | None = None,
    alpha: float = 0.05,
    power: float = 0.95,
) -> PairedResult:
    """Compare per-text scores of the same texts (``baseline[i]`` and ``candidate[i]`` are text i)."""
    from scipy.stats import norm
    from scipy.stats import t as student

    scores = known()
    if metric not in scores:
        raise InputError(f"unknown quality metric {metric!r} for a paired gate; choose from {', '.join(scores)}")
    _, sign, default_margin = scores[metric]
    margin = default_margin if margin is None else margin
    a, b = np.asarray(baseline, dtype=float), np.asarray(candidate, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise InputError(f"a paired gate needs the same texts on both sides: got {a.size} and {b.size} scores")
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    n = int(a.size)
    diff = b - a
    mean = float(diff.mean()) if n else math.nan
    if n < 2:
        return PairedResult(metric, n, _mean(a), _mean(b), mean, -math.inf, math.inf, "inconclusive", math.inf)
    se = float(diff.std(ddof=1) / math.sqrt(n))
    half = float(student.ppf(1 - alpha / 2, n - 1)) * se
    low, high = mean - half, mean + half
    good_low, good_high, good_mean = (low, high, mean) if sign > 0 else (-high, -low, -mean)  # higher is better
    if good_high < 0 and good_mean < -margin:
        outcome = "regression"
    elif good_low > 0 and good_mean > margin:
        outcome = "improvement"
    elif -margin < good_low and good_high < margin:
        outcome = "unchanged"
    else:
        outcome = "inconclusive"
    detectable = max(half, margin) + float(norm.ppf(power)) * se
    return PairedResult(metric, n, float(a.mean()), float(b.mean()), mean, low, high, outcome, detectable)


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if x.size else math.nan
