"""Scenarios found by name (harness/scenarios.py): the server scenario through a sweep, and a toy
scenario registered from this test, measured by `run`, shown in summary.md and report.html and
logged as MLflow metrics, without touching the harness."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness import scenarios
from harness.results import Results
from harness.scenarios import Rows, Scenario, Timed
from harness.table import Table
from tests.test_cli import assert_one_line_error, cli_in_process


def test_server_scenario_reports_latency_percentiles(write_suite: Callable[..., Path], tmp_path: Path) -> None:
    path = write_suite(nfe="[2]", extra='[scenario]\nkind = "server"\nrate_per_s = 20.0\nrequests = 8')
    out = tmp_path / "out"
    assert cli_in_process("run", str(path), "--out", str(out), "--no-progress").returncode == 0
    record = Results.load(out).records[0]
    lat = record.scenario["latency_s"]
    assert record.scenario["requests"] == 8 and len(record.runs) == 8
    assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"]
    # arrivals every 50 ms on average outpace service: requests queue, so latency exceeds service time
    assert lat["p99"] > max(r.total_s for r in record.runs)
    assert "## Server scenario" in (out / "summary.md").read_text()


def twice(t: Timed) -> dict[str, Any]:
    """Each text spoken twice back to back: how much the second call gains from the first."""
    ratios = []
    for _ in range(t.rounds):
        for index in range(len(t.suite.texts)):
            t.request(index)
            t.request(index)
            first, second = t.record.runs[-2:]
            ratios.append(second.total_s / first.total_s)
    return {"kind": "twice", "pairs": len(ratios), "second_over_first": sorted(ratios)[len(ratios) // 2]}


def twice_table(rows: Rows) -> Table:
    table = Table(title="Twice scenario (each text twice in a row)", head=["configuration", "pairs", "2nd / 1st"])
    table.rows += [[name, str(block["pairs"]), f"{block['second_over_first']:.2f}"] for name, block in rows]
    return table


@pytest.fixture
def toy() -> Iterator[Scenario]:
    yield scenarios.register(Scenario("twice", twice, twice_table, lambda b: {"ratio": b["second_over_first"]}))
    scenarios.SCENARIOS.unregister("twice")


def test_a_scenario_registered_from_a_test_is_measured_reported_and_logged(
    toy: Scenario, write_suite: Callable[..., Path], tmp_path: Path
) -> None:
    from harness.tracking.mlflow_sync import record_metrics

    path = write_suite(nfe="[1]", repeats=2, extra='[scenario]\nkind = "twice"')
    out = tmp_path / "out"
    proc = cli_in_process("run", str(path), "--out", str(out), "--no-progress", "--no-audio")
    assert proc.returncode == 0, proc.stderr
    record = Results.load(out).records[0]
    assert record.status == "ok" and record.scenario["kind"] == "twice"
    assert record.scenario["pairs"] == 2 and len(record.runs) == 4  # two rounds of one text, twice each
    assert "Twice scenario" in (out / "summary.md").read_text()
    assert cli_in_process("report", str(out)).returncode == 0
    assert "Twice scenario" in (out / "report.html").read_text()
    assert record_metrics(record)["twice.ratio"] == pytest.approx(record.scenario["second_over_first"])


def test_an_unknown_scenario_is_one_line_naming_the_near_miss(toy: Scenario, write_suite: Callable[..., Path]) -> None:
    path = write_suite(nfe="[1]", extra='[scenario]\nkind = "twise"')
    assert_one_line_error(cli_in_process("run", str(path), "--no-progress"), "unknown scenario 'twise'", "'twice'")
