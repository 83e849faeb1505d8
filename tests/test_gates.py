"""Thresholds and baselines on result files: levels, fingerprints, corrupt input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.config import Level, RunConfig, Thresholds
from harness.errors import InputError
from harness.gates import (
    compare_to_baseline,
    describe,
    level_of,
    load_baseline,
    save_baseline,
    threshold_verdicts,
)
from harness.noise import NoiseFloor, record_noise
from harness.results import Record, Results, RunSample
from harness.sequential import GatePolicy


def results_with(rtfs: dict[str, list[float]], key: str = "cpu-test-1", locked: bool | None = None) -> Results:
    results = Results(suite={"name": "s"}, platform={"key": key, "clocks_locked": locked})
    for run_id, values in rtfs.items():
        record = Record(id=run_id, config=RunConfig().as_dict())
        record.runs = [RunSample(v, 1.0, v, {}) for v in values]
        record.summarize()
        results.upsert(record)
    return results


def test_levels_follow_the_service_plan() -> None:
    rtf = Level(0.30, 0.35)
    assert [level_of(v, rtf) for v in (0.278, 0.30, 0.34, 0.36)] == ["good", "warning", "warning", "critical"]


def test_critical_message_shows_value_ci_and_threshold() -> None:
    results = results_with({"a": [0.40, 0.41, 0.39]})
    verdict = threshold_verdicts(results.records[0], Thresholds(rtf=Level(0.30, 0.35)))["rtf"]
    assert verdict["level"] == "critical"
    text = describe("rtf", verdict)
    assert "rtf 0.4" in text and "95% CI" in text and "critical threshold 0.35" in text


def test_variance_gate_uses_coefficient_of_variation() -> None:
    results = results_with({"steady": [0.2, 0.2005, 0.1995], "jumpy": [0.1, 0.2, 0.3]})
    levels = {r.id: threshold_verdicts(r, Thresholds(cv=Level(0.05, 0.10)))["cv"]["level"] for r in results.records}
    assert levels == {"steady": "good", "jumpy": "critical"}


def _floor(sd: float, df: int = 20) -> dict[str, NoiseFloor]:
    return {"a": NoiseFloor(sd * sd * df, df, "test", "2026-12-07T00:00:00+00:00")}


def test_baseline_roundtrip_and_regression(tmp_path: Path) -> None:
    base = results_with({"a": [1.0, 1.001, 0.999, 1.0, 1.002, 0.998, 1.0], "gone": [1.0, 1.0]})
    path = save_baseline(base, tmp_path)
    assert path.name == "s--cpu-test-1.json"
    same = results_with({"a": [1.0, 1.0, 1.001, 0.999, 1.0, 1.002, 0.999], "new": [1.0]})
    rows = {r.id: r for r in compare_to_baseline(same, load_baseline(path), GatePolicy())}
    assert rows["a"].outcome == "inconclusive" and rows["a"].detectable is None  # one sweep a side, no floor
    assert rows["new"].outcome == "new" and rows["gone"].outcome == "missing"
    rows = {r.id: r for r in compare_to_baseline(same, load_baseline(path), GatePolicy(), floors=_floor(0.002))}
    assert rows["a"].outcome == "unchanged" and "noise floor test (20 df" in rows["a"].noise
    assert rows["a"].detectable is not None and 0.02 < rows["a"].detectable < 0.03
    rows = {r.id: r for r in compare_to_baseline(same, load_baseline(path), GatePolicy(), floors=_floor(0.05))}
    assert rows["a"].outcome == "inconclusive"  # not "unchanged": the machine's noise hides a 5% slowdown
    assert rows["a"].detectable is not None and rows["a"].detectable > 0.05
    slower = results_with({"a": [1.2, 1.21, 1.19, 1.2, 1.22, 1.18, 1.2]})
    rows = {r.id: r for r in compare_to_baseline(slower, load_baseline(path), GatePolicy(), floors=_floor(0.02))}
    assert rows["a"].outcome == "regression" and rows["a"].ratio == pytest.approx(1.2, abs=0.01)


def test_a_baseline_of_repeated_sweeps_counts_their_spread_as_noise(tmp_path: Path) -> None:
    def steady(centre: float) -> list[float]:
        return [centre * f for f in (1.0, 1.01, 0.99, 1.0, 1.02, 0.98, 1.0)]

    candidate = results_with({"a": steady(1.12)})
    one = save_baseline(results_with({"a": steady(1.0)}), tmp_path / "one")
    assert compare_to_baseline(candidate, load_baseline(one), GatePolicy())[0].outcome == "inconclusive"
    # Three sweeps of the same code whose medians moved by 15%: a 12% change is within that noise,
    # which hides it: neither a regression nor unchanged.
    sweeps = [results_with({"a": steady(centre)}) for centre in (0.95, 1.0, 1.1)]
    three = save_baseline(sweeps, tmp_path / "three")
    assert load_baseline(three)["sweeps"] == 3
    assert compare_to_baseline(candidate, load_baseline(three), GatePolicy())[0].outcome == "inconclusive"
    # Three sweeps against one leave two degrees of freedom: at alpha 0.01 only a large change shows.
    assert compare_to_baseline(results_with({"a": steady(3.0)}), load_baseline(three), GatePolicy())[0].outcome == (
        "regression"
    )
    with pytest.raises(InputError, match="one suite on one fingerprint"):
        save_baseline([sweeps[0], results_with({"a": [1.0]}, key="h100-2")], tmp_path)


def test_a_rolling_baseline_keeps_the_newest_sweeps(tmp_path: Path) -> None:
    for centre in (1.0, 2.0, 3.0, 4.0):
        path = save_baseline(results_with({"a": [centre, centre]}), tmp_path, keep=3)
    stored = load_baseline(path)
    assert stored["sweeps"] == 3
    assert [sweep[0] for sweep in stored["records"]["a"]["rtf_sweeps"]] == [2.0, 3.0, 4.0]
    assert save_baseline(results_with({"a": [5.0]}), tmp_path) == path  # keep=1: replaced
    assert load_baseline(path)["records"]["a"]["rtf_sweeps"] == [[5.0]]
    with pytest.raises(InputError, match="another fingerprint"):
        other = save_baseline(results_with({"a": [1.0]}, key="h100-2"), tmp_path)
        other.rename(path)
        save_baseline(results_with({"a": [1.0]}), tmp_path, keep=3)


def test_other_fingerprint_is_refused(tmp_path: Path) -> None:
    path = save_baseline(results_with({"a": [1.0, 1.0]}, key="jetson-agx-orin-1"), tmp_path)
    with pytest.raises(InputError, match="different platforms are not compared"):
        compare_to_baseline(results_with({"a": [1.0]}, key="h100-2"), load_baseline(path), GatePolicy())


def test_unlocked_results_are_not_compared_with_a_locked_baseline(tmp_path: Path) -> None:
    path = save_baseline(results_with({"a": [1.0, 1.0]}, locked=True), tmp_path)
    with pytest.raises(InputError, match="clocks unlocked"):
        compare_to_baseline(results_with({"a": [1.0]}, locked=False), load_baseline(path), GatePolicy())


@pytest.mark.parametrize("content", ["{ not json", json.dumps({"schema": "other"}), json.dumps([1, 2])])
def test_corrupt_baseline_is_one_line(tmp_path: Path, content: str) -> None:
    path = tmp_path / "b.json"
    path.write_text(content)
    with pytest.raises(InputError) as info:
        load_baseline(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_results_of_an_older_schema_are_refused(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text(json.dumps({"schema": "tts-harness/results", "schema_version": 0}))
    with pytest.raises(InputError, match="schema version 0"):
        Results.load(tmp_path)


def test_the_gate_outcome_reaches_the_table_junit_and_mlflow(tmp_path: Path) -> None:
    """One comparison, shown alike by `baseline compare`, `report --baseline` (JUnit) and `sync`."""
    import xml.etree.ElementTree as ET

    from mlflow.tracking import MlflowClient

    from tests.test_cli import cli_in_process

    base = results_with({"fast": [1.0, 1.001, 0.999, 1.0, 1.002], "noisy": [1.0, 1.3, 0.8, 1.1, 0.9]})
    base.save(tmp_path / "base")
    stored = save_baseline(base, tmp_path / "baselines")
    # six A/A sweeps beside the baseline: "fast" moves by about 0.5% between sweeps, "noisy" by 10%
    wobble = (1.0, 1.004, 0.996, 1.003, 0.998, 1.005)
    record_noise([results_with({"fast": [w] * 3, "noisy": [w**25] * 3}) for w in wobble], tmp_path / "baselines")
    head = results_with({"fast": [1.2, 1.201, 1.199, 1.2, 1.202], "noisy": [1.0, 1.25, 0.85, 1.1, 0.95]})
    head.save(tmp_path / "head")
    proc = cli_in_process("baseline", "compare", str(tmp_path / "head"), "--baseline", str(stored))
    assert proc.returncode == 1 and "1 configuration(s) regression" in proc.stderr
    assert "| fast | regression | 1.200 |" in proc.stdout and "| noisy | inconclusive |" in proc.stdout
    strict = cli_in_process("baseline", "compare", str(tmp_path / "head"), "--baseline", str(stored), "--strict")
    assert "inconclusive or regression" in strict.stderr and "fast, noisy" in strict.stderr
    assert cli_in_process("report", str(tmp_path / "head"), "--baseline", str(stored)).returncode == 0
    junit = ET.parse(tmp_path / "head" / "junit.xml").getroot()
    cases = {c.get("name"): c for c in junit if c.get("classname") == "s.baseline"}
    assert cases["fast"].find("failure") is not None and cases["noisy"].find("skipped") is not None
    assert "detectable slowdown" in (cases["noisy"].find("skipped").get("message") or "")  # type: ignore[union-attr]
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert cli_in_process("sync", str(tmp_path / "head"), "--tracking-uri", uri).returncode == 0
    client = MlflowClient(tracking_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name("s").experiment_id])
    tagged = {r.data.tags.get("tts_harness.config_id"): r for r in runs}
    assert tagged["fast"].data.tags["gate.outcome"] == "regression"
    assert tagged["noisy"].data.metrics["gate.detectable"] > 0.05
