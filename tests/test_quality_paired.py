"""The paired quality gate on seeded synthetic per-text scores with known truth."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.errors import InputError
from harness.quality.paired import paired


def _pair(rng: np.random.Generator, effect: float, texts: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Per-text MOS: texts differ by 0.4 from each other, a render's noise per text is 0.05."""
    base = 3.5 + rng.normal(0, 0.4, texts)
    return base + rng.normal(0, 0.05, texts), base + effect + rng.normal(0, 0.05, texts)


def _rates(effect: float, trials: int = 300) -> dict[str, float]:
    rng = np.random.default_rng(0)
    outcomes = [paired(*_pair(rng, effect), metric="mos", margin=0.1).outcome for _ in range(trials)]
    return {o: outcomes.count(o) / trials for o in set(outcomes)}


def test_a_a_pairs_are_never_regressions_and_mostly_unchanged() -> None:
    rates = _rates(0.0)
    assert rates.get("regression", 0) == 0 and rates.get("unchanged", 0) > 0.9


def test_a_drop_of_a_fifth_is_a_regression_and_pairing_is_what_sees_it() -> None:
    assert _rates(-0.2).get("regression", 0) > 0.95
    rng = np.random.default_rng(1)
    a, b = _pair(rng, -0.2)
    together = paired(a, b, metric="mos", margin=0.1)
    shuffled = paired(a, rng.permutation(b), metric="mos", margin=0.1)  # pairs broken: texts differ by 0.4
    assert shuffled.detectable_drop > 2 * together.detectable_drop  # pairing is what narrows the interval
    assert (shuffled.ci_high - shuffled.ci_low) > 5 * (together.ci_high - together.ci_low)


def test_wer_is_better_lower_and_a_small_sample_says_what_it_could_not_see() -> None:
    worse = paired([0.0, 0.05, 0.1, 0.0] * 10, [0.2, 0.25, 0.3, 0.2] * 10, metric="wer", margin=0.05)
    assert worse.outcome == "regression" and worse.difference == pytest.approx(0.2)
    few = paired([3.0, 3.5, 4.0], [3.1, 3.2, 4.1], metric="mos")
    assert few.outcome == "inconclusive" and few.detectable_drop > 0.1
    one = paired([3.0], [2.0])
    assert one.outcome == "inconclusive" and math.isinf(one.detectable_drop)
    with pytest.raises(InputError, match="same texts"):
        paired([3.0, 3.1], [3.0])
    with pytest.raises(InputError, match="unknown quality metric"):
        paired([3.0, 3.1], [3.0, 3.1], metric="pesq")
