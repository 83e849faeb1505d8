"""Latency against utterance length: ``total = fixed + per_second x audio seconds`` per configuration.

Short live-chat messages (1-4 s of speech) are where a fixed cost per call (reference preparation,
text processing, launch overheads, the vocoder's constant part) outweighs the per-second cost that
RTF measures. The fit is ordinary least squares over every timed call of a configuration whose
suite speaks texts of several lengths; its intervals are a bootstrap over the calls (95%). Each
stage gets its own fit, so the fixed part is split by stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from harness.results import RunSample

RESAMPLES = 1000
MIN_LENGTHS = 2  # distinct audio lengths a fit needs


def _line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(intercept, slope) of the least-squares line."""
    slope, intercept = np.polyfit(x, y, 1)
    return float(intercept), float(slope)


def fit(runs: Sequence[RunSample], seed: int = 0) -> dict[str, Any]:
    """The fixed seconds and seconds per audio second of a configuration's calls, with intervals,
    split by stage; empty when its texts have fewer than two lengths."""
    x = np.array([r.audio_s for r in runs])
    if len(runs) < 3 or len(np.unique(np.round(x, 2))) < MIN_LENGTHS:
        return {}
    y = np.array([r.total_s for r in runs])
    fixed, per_second = _line(x, y)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(RESAMPLES):
        pick = rng.integers(0, x.size, x.size)
        if np.ptp(x[pick]) > 0:
            draws.append(_line(x[pick], y[pick]))
    boot = np.array(draws)
    stages = sorted({name for r in runs for name in r.stages_s})
    by_stage = {name: _line(x, np.array([r.stages_s.get(name, 0.0) for r in runs])) for name in stages}
    residual = y - (fixed + per_second * x)
    texts = sorted({r.text for r in runs}, key=lambda t: float(np.mean([r.audio_s for r in runs if r.text == t])))
    return {
        "fixed_s": fixed,
        "fixed_ci": [float(np.quantile(boot[:, 0], 0.025)), float(np.quantile(boot[:, 0], 0.975))],
        "per_audio_s": per_second,
        "per_audio_s_ci": [float(np.quantile(boot[:, 1], 0.025)), float(np.quantile(boot[:, 1], 0.975))],
        "fixed_by_stage_s": {name: line[0] for name, line in by_stage.items()},
        "per_audio_s_by_stage": {name: line[1] for name, line in by_stage.items()},
        "r2": float(1 - residual.var() / y.var()) if y.var() > 0 else 1.0,
        "by_text": {
            text: {
                "audio_s": float(np.mean([r.audio_s for r in runs if r.text == text])),
                "median_total_s": float(np.median([r.total_s for r in runs if r.text == text])),
            }
            for text in texts
        },
        "method": "least squares over every timed call; 95% bootstrap intervals over calls",
    }


def fixed_share(fit_: dict[str, Any], audio_s: float) -> float:
    """The fitted fixed part's share of the latency of an utterance of ``audio_s`` seconds."""
    total = fit_["fixed_s"] + fit_["per_audio_s"] * audio_s
    return float(fit_["fixed_s"] / total) if total > 0 else float("nan")
