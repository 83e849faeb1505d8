"""The latency fit on synthetic calls of known fixed and per-second cost, and on the real pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from harness.latency import fit, fixed_share
from harness.results import RunSample


def calls(fixed: float, per_second: float, noise: float, seed: int = 0) -> list[RunSample]:
    rng = np.random.default_rng(seed)
    out = []
    for text, audio in (("s01", 1.2), ("s02", 2.2), ("s04", 4.2), ("s08", 7.5), ("s16", 16.7)):
        for _ in range(6):
            ode = per_second * audio * (1 + rng.normal(0, noise))
            prep = fixed * (1 + rng.normal(0, noise))
            out.append(RunSample(prep + ode, audio, (prep + ode) / audio, {"audio_prep": prep, "ode": ode}, text))
    return out


def test_the_fit_recovers_a_known_fixed_cost_and_slope_with_intervals_that_hold_them() -> None:
    result = fit(calls(fixed=0.30, per_second=0.05, noise=0.03))
    assert result["fixed_s"] == pytest.approx(0.30, abs=0.02)
    assert result["per_audio_s"] == pytest.approx(0.05, abs=0.003)
    assert result["fixed_ci"][0] < 0.30 < result["fixed_ci"][1]
    assert result["per_audio_s_ci"][0] < 0.05 < result["per_audio_s_ci"][1]
    assert result["fixed_by_stage_s"]["audio_prep"] == pytest.approx(0.30, abs=0.02)  # the split by stage
    assert abs(result["fixed_by_stage_s"]["ode"]) < 0.02
    assert list(result["by_text"]) == ["s01", "s02", "s04", "s08", "s16"]
    assert fixed_share(result, 2.0) == pytest.approx(0.30 / (0.30 + 0.1), abs=0.03)


def test_one_length_is_no_fit() -> None:
    same = [RunSample(0.5, 2.0, 0.25, {}, "t") for _ in range(5)]
    assert fit(same) == {}
