"""The two-stage design of ``ab`` on seeded synthetic clusters with process-level offsets: the
variance components it estimates, the rounds per cluster it picks (and the budget caps), and the
sequential test's false-alarm rate when the cluster (not the round) is the unit."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tqdm import tqdm

from harness.ab.budget import RoundWatch, clusters_reached
from harness.ab.design import PILOT_CLUSTERS, PILOT_ROUNDS, Components, components
from harness.ab.gate import ORDER, _going_on, _rounds_per_cluster
from harness.errors import ConfigError
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


def _pilot(startup_s: float, round_s: float, within: float, between: float, measure_s: float) -> dict[str, Any]:
    """An ab.json's state after the pilot's clusters, drawn with these costs and components."""
    rng = np.random.default_rng(7)
    clusters = []
    for _ in range(PILOT_CLUSTERS):
        blocks = [{"side": "start-up", "seconds": startup_s}]
        blocks += [{"side": side, "seconds": round_s / 4} for _ in range(PILOT_ROUNDS) for side in ORDER]
        ratios = _cluster(rng, PILOT_ROUNDS, 0.0, between, within)
        clusters.append({"blocks": blocks, "k": PILOT_ROUNDS, "round_ratios": {"c": ratios}})
    return {"design": {"kind": "resident"}, "rounds": clusters, "configs": {"c": {}}, "measure_s": measure_s}


def test_a_cluster_serves_no_more_rounds_than_let_the_budget_reach_min_rounds() -> None:
    """This CPU's pilot (start-up 20 s, rounds 17 s, no process offset): k* is the cap of 12, but 5 more
    clusters of 12 rounds would take 17 minutes; a 600 s budget with 213 s spent holds them at 3."""
    policy = GatePolicy(max_seconds=600.0, min_rounds=8)
    state = _pilot(20.0, 17.0, within=0.1, between=0.0, measure_s=213.0)
    assert _rounds_per_cluster(state, policy) == 3  # floor(((600 - 213) / 5 - 20) / 17)
    design = state["design"]
    assert design["rounds_by_variance"] == 12 and design["rounds_by_budget"] == 3
    assert design["cluster_s"] == pytest.approx(20 + 3 * 17)
    roomy = _pilot(20.0, 17.0, within=0.1, between=0.0, measure_s=213.0)
    assert _rounds_per_cluster(roomy, GatePolicy(max_seconds=3600.0, min_rounds=8)) == 12
    spent = _pilot(20.0, 17.0, within=0.1, between=0.0, measure_s=590.0)
    assert _rounds_per_cluster(spent, policy) == 1 and spent["design"]["rounds_by_budget"] == 0
    assert Components(0.0, 0.0, 20.0, 17.0).rounds_that_fit(387.0, 5) == 3


def test_no_observation_starts_that_the_budget_cannot_hold_whole() -> None:
    """A CI job's timeout set to --max-seconds is not overrun by a last cluster started just before it
    (on this CPU a trial with 600 s measured 646 s: a 65 s cluster began at 581 s)."""
    policy = GatePolicy(max_seconds=600.0, min_rounds=8)
    state = _pilot(20.0, 17.0, within=0.1, between=0.0, measure_s=213.0)
    state["configs"] = {"c": {"decision": {"stopped_by": ""}}}
    _rounds_per_cluster(state, policy)  # clusters of 20 + 3 * 17 = 71 s
    assert _going_on(state, policy)
    state["measure_s"] = 600.0 - 71.0
    assert _going_on(state, policy)  # it ends at the budget exactly
    state["measure_s"] = 600.0 - 70.0
    assert not _going_on(state, policy)
    pilot = _pilot(20.0, 17.0, within=0.1, between=0.0, measure_s=560.0)  # before the design: the last cluster's cost
    pilot["configs"] = state["configs"]
    pilot["rounds"] = pilot["rounds"][:1]
    assert not _going_on(pilot, policy) and _going_on({**pilot, "measure_s": 600.0 - 71.0}, policy)


def test_after_the_pilot_a_budget_that_cannot_reach_min_rounds_is_said_and_refused(tmp_path: Path) -> None:
    policy = GatePolicy(max_seconds=600.0, min_rounds=8)
    spent = _pilot(20.0, 17.0, within=0.1, between=0.0, measure_s=590.0)
    _rounds_per_cluster(spent, policy)  # one round a cluster: 37 s, and 10 s are left
    assert clusters_reached(policy, spent) == PILOT_CLUSTERS
    bar = tqdm(disable=True)
    watch = RoundWatch(policy, bar, PILOT_CLUSTERS - 1, ("", []), best_effort=False, out=tmp_path)
    with pytest.raises(ConfigError, match=r"holds 3 clusters; the gate decides nothing before min_rounds = 8"):
        watch._check_design(spent)
    lenient = RoundWatch(policy, bar, PILOT_CLUSTERS - 1, ("", []), best_effort=True, out=tmp_path)
    lenient._check_design(spent)  # said, not refused
    assert bar.total == PILOT_CLUSTERS


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
