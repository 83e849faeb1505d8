"""SLO ceilings, the rate search and the rate comparison, on synthetic load figures (no clock)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.errors import ConfigError
from harness.results import Record, Results, RunSample
from harness.serving.slo import SLO, compare_rates, figure, search
from tests.test_cli import cli


def queueing(capacity: float) -> Any:
    """A service that keeps up below ``capacity`` requests/s: p99 TTFA 0.3 s, exploding past it."""

    def measure(rate: float) -> dict[str, Any]:
        ttfa = 0.3 if rate < capacity else 0.3 + 10 * (rate - capacity + 0.1)
        return {"ttfa_s": {"p99": ttfa, "p50": ttfa / 2}, "drop_rate": 0.0, "error_rate": 0.0}

    return measure


@pytest.mark.parametrize("capacity", [0.3, 1.7, 6.0])
def test_the_search_brackets_the_capacity(capacity: float) -> None:
    found = search(queueing(capacity), SLO({"ttfa_p99_s": 1.0}), start_rate=1.0, max_rate=16.0, steps=5)
    low, high = found["sustainable_rate_per_s"], found["failing_rate_per_s"]
    assert low < capacity <= high
    assert high / low == pytest.approx(2 ** (1 / 32))  # a doubling's bracket, halved five times
    assert all(p["met"] == (p["rate_per_s"] < capacity) for p in found["points"])
    assert found["knee_rate_per_s"] is not None and found["knee_rate_per_s"] <= low


def test_a_service_meeting_the_slo_everywhere_stops_at_the_top_rate() -> None:
    found = search(queueing(100.0), SLO({"ttfa_p99_s": 1.0}), start_rate=1.0, max_rate=5.0)
    assert found["sustainable_rate_per_s"] == 5.0 and found["failing_rate_per_s"] is None


def test_a_service_failing_everywhere_has_no_sustainable_rate() -> None:
    found = search(queueing(0.0001), SLO({"ttfa_p99_s": 1.0}), start_rate=1.0, max_rate=5.0, steps=3)
    assert found["sustainable_rate_per_s"] is None and len(found["points"]) == 4


def test_nothing_served_never_meets_a_latency_ceiling() -> None:
    empty = {"ttfa_s": None, "drop_rate": 1.0, "error_rate": 0.0}
    assert figure(empty, "ttfa_p99_s") == float("inf")
    assert SLO({"ttfa_p99_s": 1.0, "drop_rate": 0.01}).misses(empty) == ["ttfa_p99_s inf > 1", "drop_rate 1 > 0.01"]


def short_loads(capacity: float) -> Any:
    """Loads too short for the queue to outgrow the ceiling: p99 TTFA stays 0.7 s
    past ``capacity``, but the service serves no more than ``capacity`` requests/s."""

    def measure(rate: float) -> dict[str, Any]:
        return {"ttfa_s": {"p99": 0.7 if rate > capacity else 0.1}, "drop_rate": 0.0, "error_rate": 0.0,
                "offered_rate_per_s": rate, "served_rate_per_s": min(rate * 1.02, capacity)}  # fmt: skip

    return measure


def test_a_saturated_load_misses_the_slo_even_when_its_percentiles_meet_it() -> None:
    found = search(short_loads(22.5), SLO({"ttfa_p99_s": 1.0}), start_rate=2.0, max_rate=64.0, steps=3)
    assert 16.0 <= found["sustainable_rate_per_s"] < 22.5 / 0.9 <= found["failing_rate_per_s"] <= 32.0
    failed = [p for p in found["points"] if not p["met"]]
    assert failed and all(m.startswith("saturated: served 22.5") for p in failed for m in p["misses"])


@pytest.mark.parametrize(
    ("served", "dropped", "misses"),
    [(9.0, 0.0, 0), (8.9, 0.0, 1), (8.2, 0.1, 0), (7.1, 0.2, 1), (0.0, 1.0, 0)],
)  # fmt: skip
def test_saturation_counts_only_the_requests_kept(served: float, dropped: float, misses: int) -> None:
    """Served 90% of what was offered and not dropped: unsaturated; below: one miss (nothing kept: none)."""
    summary = {"ttfa_s": {"p99": 0.1}, "drop_rate": dropped, "error_rate": 0.0, "offered_rate_per_s": 10.0,
               "served_rate_per_s": served}  # fmt: skip
    assert len(SLO({"ttfa_p99_s": 1.0}).misses(summary)) == misses


@pytest.mark.parametrize(
    ("ceilings", "message"),
    [({"ttfa_p98_s": 1.0}, "unknown metric 'ttfa_p98_s'"), ({}, "at least one"), ({"drop_rate": -1}, ">= 0"),
     ({"drop_rate": "1"}, "number")],
)  # fmt: skip
def test_a_bad_slo_is_one_line(ceilings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SLO(ceilings)


def test_search_bounds_are_checked() -> None:
    with pytest.raises(ConfigError, match="start_rate"):
        search(queueing(1.0), SLO({"ttfa_p99_s": 1.0}), start_rate=0.0, max_rate=1.0)


@pytest.mark.parametrize(
    ("base", "head", "outcome"),
    [((4.0, 4.2), (2.0, 2.1), "regression"), ((4.0, 4.1), (4.0, 4.1), "unchanged"),
     ((2.0, 2.1), (4.0, 4.1), "improvement"), ((2.0, 4.0), (2.0, 4.0), "inconclusive"),
     ((4.0, None), (4.0, None), "inconclusive")],
)  # fmt: skip
def test_sustainable_rates_are_judged_by_their_brackets(
    base: tuple[Any, Any], head: tuple[Any, Any], outcome: str
) -> None:
    def side(bracket: tuple[Any, Any]) -> dict[str, Any]:
        return {"sustainable_rate_per_s": bracket[0], "failing_rate_per_s": bracket[1]}

    assert compare_rates(side(base), side(head), tolerance=0.1)["outcome"] == outcome


def test_compare_judges_the_sustainable_rates_of_two_sweeps(tmp_path: Path) -> None:
    """`tts-harness compare` on two load sweeps: a halved sustainable rate is a regression (exit 1)."""

    def sweep(name: str, met: float, failed: float) -> Path:
        search = {"sustainable_rate_per_s": met, "failing_rate_per_s": failed, "points": [], "slo": {}}
        runs = [RunSample(0.5 + i / 100, 5.0, 0.1 + i / 1000, {}) for i in range(3)]  # the batcher's calls
        record = Record(id="mb4", config={}, runs=runs, scenario={"kind": "load", "search": search})
        record.summarize()
        Results(suite={"name": "s"}, records=[record], status="complete").save(tmp_path / name)
        return tmp_path / name

    base, same, slow = sweep("base", 8.0, 8.2), sweep("same", 8.0, 8.2), sweep("slow", 4.0, 4.1)
    unchanged = cli("compare", str(base), str(same), "--min-effect", "0.05")
    assert unchanged.returncode == 0 and "| mb4 | [8, 8.2) | [8, 8.2) | 0.98-1.02 | unchanged |" in unchanged.stdout
    halved = cli("compare", str(base), str(slow))
    assert halved.returncode == 1 and "| regression |" in halved.stdout, halved.stdout + halved.stderr
    assert "mb4 (sustainable rate)" in halved.stderr
