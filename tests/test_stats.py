"""The statistics and the regression test on synthetic samples with known truth."""

from __future__ import annotations

import numpy as np
import pytest

from harness.stats import Summary, compare, compare_repeated


def test_summary_of_known_samples() -> None:
    s = Summary.of([1.0, 2.0, 3.0, 4.0, 100.0])
    assert s.median == 3.0 and s.min == 1.0 and s.max == 100.0 and s.n == 5
    assert s.mean == pytest.approx(22.0)
    assert s.ci_low <= s.median <= s.ci_high
    assert s.cv == pytest.approx(s.stdev / s.mean)


def test_single_sample_has_zero_width_interval() -> None:
    s = Summary.of([0.5])
    assert (s.ci_low, s.ci_high, s.stdev) == (0.5, 0.5, 0.0)


def _rates(effect: float, cv: float, n: int, trials: int = 200) -> float:
    rng = np.random.default_rng(1)
    flagged = 0
    for trial in range(trials):
        a = rng.normal(1.0, cv, n)
        b = rng.normal(1.0 + effect, cv * (1 + effect), n)
        flagged += compare(a, b, min_effect=0.05, seed=trial).regression
    return flagged / trials


def test_false_positive_rate_is_low_for_identical_distributions() -> None:
    assert _rates(0.0, cv=0.03, n=7) <= 0.02


def test_small_real_slowdowns_below_min_effect_are_not_regressions() -> None:
    assert _rates(0.02, cv=0.005, n=20) <= 0.05  # significant, but smaller than 5%


def test_ten_percent_slowdown_is_caught_at_low_noise() -> None:
    assert _rates(0.10, cv=0.02, n=7) >= 0.95


def test_noisy_small_samples_do_not_claim_regressions_they_cannot_see() -> None:
    assert _rates(0.10, cv=0.30, n=3) <= 0.2


def test_faster_candidate_is_an_improvement_not_a_regression() -> None:
    a = np.full(10, 1.0) + np.linspace(0, 0.01, 10)
    result = compare(a, a * 0.8)
    assert result.improvement and not result.regression and result.ratio == pytest.approx(0.8, abs=0.01)


def _sweep_rates(effect: float, sweeps: int, trials: int = 200) -> float:
    """Sweeps of 100 runs (CV 2%) whose medians move 8% between sweeps (process, GPU, neighbours),
    the spread three identical 4-GPU sweeps showed."""
    rng = np.random.default_rng(2)
    flagged = 0
    for trial in range(trials):

        def side(e: float) -> list[np.ndarray]:
            return [rng.normal(1.0, 0.02, 100) * np.exp(rng.normal(0, 0.08)) * (1 + e) for _ in range(sweeps)]

        result = compare_repeated(side(0.0), side(effect), min_effect=0.05, alpha=0.05, seed=trial)
        flagged += result.regression or (effect == 0 and result.improvement)
    return flagged / trials


def test_one_sweep_a_side_cannot_see_sweep_to_sweep_noise() -> None:
    assert _sweep_rates(0.0, sweeps=1) > 0.5  # why a side can be several identical sweeps


def test_repeated_sweeps_keep_identical_pairs_quiet_and_catch_a_real_slowdown() -> None:
    assert _sweep_rates(0.0, sweeps=3) <= 0.08
    assert _sweep_rates(0.30, sweeps=3) >= 0.75


def test_repeated_sweeps_ratio_is_of_geometric_means_of_sweep_medians() -> None:
    result = compare_repeated([[1.0, 1.0], [4.0, 4.0]], [[2.0], [2.0]])
    assert result.ratio == pytest.approx(1.0) and not result.significant
