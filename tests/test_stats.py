"""The statistics and the regression test on synthetic samples with known truth."""

from __future__ import annotations

import numpy as np
import pytest

from harness.noise import NoiseFloor
from harness.stats import Summary, compare_repeated


def test_summary_of_known_samples() -> None:
    s = Summary.of([1.0, 2.0, 3.0, 4.0, 100.0])
    assert s.median == 3.0 and s.min == 1.0 and s.max == 100.0 and s.n == 5
    assert s.mean == pytest.approx(22.0)
    assert s.ci_low <= s.median <= s.ci_high
    assert s.cv == pytest.approx(s.stdev / s.mean)


def test_single_sample_has_zero_width_interval() -> None:
    s = Summary.of([0.5])
    assert (s.ci_low, s.ci_high, s.stdev) == (0.5, 0.5, 0.0)


def _side(rng: np.random.Generator, sweeps: int, effect: float = 0.0) -> list[np.ndarray]:
    """Sweeps of 100 runs (CV 2%) whose medians move 8% between sweeps (process, GPU, neighbours),
    the spread three identical 4-GPU sweeps showed."""
    return [rng.normal(1.0, 0.02, 100) * np.exp(rng.normal(0, 0.08)) * (1 + effect) for _ in range(sweeps)]


def _floor(rng: np.random.Generator, sweeps: int) -> NoiseFloor:
    """A noise floor recorded from ``sweeps`` A/A sweeps of the same process-level noise."""
    logs = np.log([np.median(s) for s in _side(rng, sweeps)])
    return NoiseFloor(float(((logs - logs.mean()) ** 2).sum()), sweeps - 1, "synthetic", "2026-12-07T00:00:00+00:00")


def _sweep_rates(effect: float, sweeps: int, floor_sweeps: int = 0, trials: int = 300) -> float:
    rng = np.random.default_rng(2)
    flagged = 0
    for _ in range(trials):
        floor = _floor(rng, floor_sweeps) if floor_sweeps else None
        result = compare_repeated(_side(rng, sweeps), _side(rng, sweeps, effect), 0.05, 0.05, noise=floor)
        flagged += result.regression or (effect == 0 and result.improvement)
    return flagged / trials


def test_one_sweep_a_side_without_a_noise_floor_never_decides() -> None:
    rng = np.random.default_rng(3)
    for effect in (0.0, 0.5):
        result = compare_repeated(_side(rng, 1), _side(rng, 1, effect))
        assert result.outcome == "inconclusive" and result.df == 0 and result.detectable == float("inf")
    assert _sweep_rates(0.5, sweeps=1) == 0  # not even a 50% slowdown: the process offset is unknown


def test_one_sweep_a_side_with_a_noise_floor_keeps_a_a_pairs_quiet_and_catches_a_real_slowdown() -> None:
    assert _sweep_rates(0.0, sweeps=1, floor_sweeps=6) <= 0.08  # alpha 0.05, plus sampling error of 300 trials
    assert _sweep_rates(0.60, sweeps=1, floor_sweeps=6) >= 0.85


def test_run_level_intervals_of_one_sweep_a_side_would_call_most_a_a_pairs() -> None:
    """Why a noise floor: an interval that sees only the runs of each sweep (a normal interval of the
    difference of log medians from the runs' spread) calls most identical pairs changed."""
    rng = np.random.default_rng(4)
    called = 0
    for _ in range(300):
        a, b = _side(rng, 1)[0], _side(rng, 1)[0]
        se = np.hypot(*(1.2533 * np.std(np.log(x), ddof=1) / np.sqrt(x.size) for x in (a, b)))
        called += abs(np.log(np.median(b) / np.median(a))) > 1.96 * se
    assert called / 300 > 0.5


def test_repeated_sweeps_keep_identical_pairs_quiet_and_catch_a_real_slowdown() -> None:
    assert _sweep_rates(0.0, sweeps=3) <= 0.08
    assert _sweep_rates(0.30, sweeps=3) >= 0.75


def test_a_noise_floor_adds_its_degrees_of_freedom_to_repeated_sweeps() -> None:
    rng = np.random.default_rng(5)
    a, b = _side(rng, 2), _side(rng, 2, 0.3)
    alone = compare_repeated(a, b, 0.05, 0.05)
    pooled = compare_repeated(a, b, 0.05, 0.05, noise=_floor(rng, 8))
    assert (alone.df, pooled.df) == (2, 9) and pooled.detectable < alone.detectable


def test_repeated_sweeps_ratio_is_of_geometric_means_of_sweep_medians() -> None:
    result = compare_repeated([[1.0, 1.0], [4.0, 4.0]], [[2.0], [2.0]])
    assert result.ratio == pytest.approx(1.0) and not result.significant
