"""The sequential gate on seeded synthetic rounds: exact, deterministic, and about every outcome."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from harness.errors import ConfigError
from harness.sequential import GatePolicy, SequentialTest, detectable_slowdown, outcome_of

Noise = Callable[[np.random.Generator, float], float]


def normal(rng: np.random.Generator, sigma: float) -> float:
    return float(rng.normal(0, sigma))


def heavy_tailed(rng: np.random.Generator, sigma: float) -> float:
    """Student's t with 3 degrees of freedom, scaled to standard deviation ``sigma``."""
    return float(rng.standard_t(3) * sigma / math.sqrt(3))


def spiky(rng: np.random.Generator, sigma: float) -> float:
    """Mostly quiet rounds, one in twenty hit by a spike of six sigma on either arm."""
    spike = 6 * sigma * float(rng.choice([-1, 1])) if rng.random() < 0.05 else 0.0
    return float(rng.normal(0, sigma)) + spike


def outcomes(effect: float, sigma: float, policy: GatePolicy, trials: int, noise: Noise = normal) -> dict[str, float]:
    """Fractions of each outcome over sequential trials of rounds with a true log ratio of
    ``log(1 + effect)``; also the median rounds to a stop."""
    rng = np.random.default_rng(7)
    counts = {"regression": 0, "improvement": 0, "unchanged": 0, "inconclusive": 0}
    rounds = []
    for _ in range(trials):
        test = SequentialTest(policy)
        while True:
            test.add(math.log1p(effect) + noise(rng, sigma))
            decision = test.decision()
            if decision.stopped_by:
                counts[decision.outcome] += 1
                rounds.append(decision.rounds)
                break
    return {**{k: v / trials for k, v in counts.items()}, "rounds": float(np.median(rounds))}


@pytest.mark.parametrize("noise", [normal, heavy_tailed, spiky], ids=["normal", "t3", "spiky"])
def test_an_unchanged_pair_is_called_a_regression_in_at_most_alpha_of_trials(noise: Noise) -> None:
    policy = GatePolicy(alpha=0.01)
    rates = outcomes(0.0, 0.03, policy, trials=400, noise=noise)
    assert rates["regression"] + rates["improvement"] <= policy.alpha
    assert rates["unchanged"] >= 0.9  # and it says so, within the budget, at this noise


def test_looking_after_every_round_keeps_the_false_alarm_rate_a_fixed_interval_would_lose() -> None:
    """The same A/A rounds looked at after every round: a fixed-sample 99% t-interval excludes
    "no change" at some round in several times alpha of the trials (peeking); the confidence
    sequence, in at most alpha."""
    from scipy.stats import t as student_t

    rng = np.random.default_rng(3)
    policy = GatePolicy(alpha=0.01, max_rounds=200)
    n = np.arange(1, policy.max_rounds + 1)
    looks = n >= policy.min_rounds
    t_crit = student_t.ppf(1 - policy.alpha / 2, np.maximum(n - 1, 1))  # the interval at each look
    peeked = covered = 0
    trials = 300
    for _ in range(trials):
        diffs = rng.normal(0, 0.03, policy.max_rounds)
        mean = np.cumsum(diffs) / n  # the mean and sd of the first n rounds, for every n
        sd = np.sqrt(np.maximum(np.cumsum(diffs**2) - n * mean**2, 0) / np.maximum(n - 1, 1))
        peeked += bool(np.any(looks & (np.abs(mean) > t_crit * sd / np.sqrt(n))))
        test = SequentialTest(policy)
        cs_alarm = False
        for count, d in enumerate(diffs, start=1):
            test.add(float(d))
            if count >= policy.min_rounds:
                decision = test.decision()
                cs_alarm |= decision.ci_low > 1 or decision.ci_high < 1
        covered += cs_alarm
    assert peeked / trials > 3 * policy.alpha
    assert covered / trials <= policy.alpha


@pytest.mark.parametrize(("sigma", "most_rounds"), [(0.01, 10), (0.03, 20), (0.06, 60)])
def test_a_five_percent_slowdown_is_caught_with_the_aimed_power(sigma: float, most_rounds: float) -> None:
    rates = outcomes(0.05, sigma, GatePolicy(), trials=300)
    assert rates["regression"] >= 0.95
    assert rates["rounds"] <= most_rounds  # the quieter the pair, the sooner


def test_a_speed_up_is_an_improvement() -> None:
    rates = outcomes(-0.10, 0.03, GatePolicy(), trials=100)
    assert rates["improvement"] == 1.0


def test_a_change_of_half_the_margin_is_rarely_a_regression() -> None:
    rates = outcomes(0.01, 0.01, GatePolicy(min_effect=0.02), trials=200)
    assert rates["regression"] <= 0.02 and rates["unchanged"] >= 0.95


def test_a_noisy_pair_is_inconclusive_within_its_budget_never_unchanged() -> None:
    rates = outcomes(0.0, 0.20, GatePolicy(max_rounds=40), trials=200)
    assert rates["unchanged"] == 0.0 and rates["inconclusive"] >= 0.99


def test_no_outcome_before_min_rounds_whatever_the_rounds_say() -> None:
    test = SequentialTest(GatePolicy(min_rounds=8))
    for n in range(1, 8):
        test.add(math.log(2.0) + 0.001 * (-1) ** n)
        assert test.decision().stopped_by == "" and test.decision().outcome == "inconclusive"
    test.add(math.log(2.0))
    decision = test.decision()
    assert (decision.outcome, decision.stopped_by, decision.rounds) == ("regression", "outcome", 8)
    assert decision.ratio == pytest.approx(2.0, rel=1e-3)


def test_the_budget_ends_an_undecided_comparison_as_inconclusive() -> None:
    rng = np.random.default_rng(0)
    test = SequentialTest(GatePolicy(max_rounds=12, max_seconds=5.0))
    for _ in range(11):
        test.add(float(rng.normal(0, 0.5)))
    assert test.decision(seconds=1.0).stopped_by == ""
    assert test.decision(seconds=5.0).stopped_by == "seconds"
    test.add(0.0)
    decision = test.decision(seconds=1.0)
    assert (decision.outcome, decision.stopped_by) == ("inconclusive", "rounds")
    assert decision.detectable > 0.2  # and it says how large a slowdown it could not have missed


def test_outcomes_follow_the_interval_and_the_margin() -> None:
    margin = math.log1p(0.02)
    assert outcome_of(0.05, 0.01, 0.09, margin) == "regression"
    assert outcome_of(0.015, 0.005, 0.025, margin) == "inconclusive"  # slower, by maybe more than the margin
    assert outcome_of(0.01, 0.001, 0.015, margin) == "unchanged"  # significant but inside the margin
    assert outcome_of(0.0, -0.01, 0.01, margin) == "unchanged"
    assert outcome_of(0.0, -0.05, 0.05, margin) == "inconclusive"
    assert outcome_of(-0.05, -0.09, -0.01, margin) == "improvement"


def test_the_detectable_slowdown_grows_with_the_noise_and_never_drops_below_the_margin() -> None:
    margin = math.log1p(0.02)
    quiet, loud = detectable_slowdown(0.001, 0.0005, margin, 1.645), detectable_slowdown(0.05, 0.02, margin, 1.645)
    assert 0.02 < quiet < loud
    assert loud == pytest.approx(math.expm1(0.05 + 1.645 * 0.02))


@pytest.mark.parametrize(
    "bad",
    [{"max_rounds": 0}, {"max_seconds": 0}, {"min_rounds": 1}, {"alpha": 0.0}, {"power": 1.0}, {"inconclusive": "x"}],
)
def test_a_budget_or_level_that_cannot_work_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        GatePolicy(**bad)  # type: ignore[arg-type]
