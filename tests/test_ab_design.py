"""The two-stage design of ``ab`` on seeded synthetic clusters with process-level offsets: the
variance components it estimates, the rounds per cluster it picks, and the sequential test's
false-alarm rate when the cluster (not the round) is the unit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.ab.design import PILOT_CLUSTERS, PILOT_ROUNDS, Components, components
from harness.sequential import GatePolicy, SequentialTest


def _cluster(rng: np.random.Generator, k: int, effect: float, between: float, within: float) -> list[float]:
    """``k`` per-round log ratios of one cluster: one process-level offset shared by all its rounds."""
    offset = rng.normal(0.0, between)
    return list(math.log1p(effect) + offset + rng.normal(0.0, within, k))


def test_components_recover_the_variances_they_were_drawn_with() -> None:
    rng = np.random.default_rng(0)
    clusters = [_cluster(rng, 6, 0.0, between=0.05, within=0.10) for _ in range(400)]
    found = components(clusters, startup_s=10.0, round_s=2.0)
    assert found is not None
    assert found.within == pytest.approx(0.10**2, rel=0.1) and found.between == pytest.approx(0.05**2, rel=0.25)
    assert components([[0.1, 0.2]], 1.0, 1.0) is None  # one cluster: no spread between clusters yet


def test_rounds_per_cluster_follow_costs_and_components() -> None:
    # expensive start-up, noisy rounds, small process offsets: serve many rounds per start-up
    assert Components(within=0.01, between=0.0001, startup_s=20.0, round_s=2.0).best_rounds() == 12
    # cheap start-up or dominant process offsets: a fresh group of processes every round
    assert Components(within=0.0001, between=0.01, startup_s=2.0, round_s=2.0).best_rounds() == 1
    c = Components(within=0.01, between=0.001, startup_s=10.0, round_s=2.0)
    k = c.best_rounds()  # sqrt(10 * 0.01 / (2 * 0.001)) = 7.1
    assert k == 7 and c.cost_of_precision(k) <= min(c.cost_of_precision(j) for j in (1, 2, 4, 12))


def _trial(rng: np.random.Generator, effect: float, policy: GatePolicy, unit: str) -> str:
    """A sequential comparison on clusters: a pilot of ``PILOT_ROUNDS`` rounds per cluster, then the
    design's ``k``; ``unit`` says whether each cluster mean or each round feeds the test."""
    between, within = 0.08, 0.05  # this CPU: processes differ more than rounds inside one
    test = SequentialTest(policy)
    clusters: list[list[float]] = []
    while True:
        k = PILOT_ROUNDS
        if len(clusters) >= PILOT_CLUSTERS:
            found = components(clusters[:PILOT_CLUSTERS], startup_s=10.0, round_s=4.0)
            k = found.best_rounds() if found else PILOT_ROUNDS
        cluster = _cluster(rng, k, effect, between, within)
        clusters.append(cluster)
        for value in [float(np.mean(cluster))] if unit == "cluster" else cluster:
            test.add(value)
        decision = test.decision()
        if decision.stopped_by or decision.rounds >= policy.max_rounds:
            return decision.outcome


@pytest.mark.parametrize("unit", ["cluster", "round"])
def test_the_cluster_is_the_unit_that_keeps_false_alarms_at_alpha(unit: str) -> None:
    """A/A comparisons with process offsets: cluster means keep the rate of regressions and
    improvements within alpha; rounds taken as independent (their shared offset ignored) do not."""
    policy = GatePolicy(alpha=0.05, min_rounds=8, max_rounds=40)
    rng = np.random.default_rng(7)
    trials = 300
    false = sum(_trial(rng, 0.0, policy, unit) in ("regression", "improvement") for _ in range(trials))
    if unit == "cluster":
        assert false / trials <= 0.05 + 0.03  # alpha plus sampling error of 300 trials
    else:
        assert false / trials > 0.15


def test_clusters_still_catch_a_real_slowdown() -> None:
    policy = GatePolicy(alpha=0.05, min_rounds=8, max_rounds=40)
    rng = np.random.default_rng(8)
    caught = sum(_trial(rng, 0.25, policy, "cluster") == "regression" for _ in range(200))
    assert caught / 200 >= 0.9
