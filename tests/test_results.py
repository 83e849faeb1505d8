"""results.json: measurements only (verdicts are computed when read), compact, and every key known."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.config import Level, Thresholds
from harness.errors import InputError
from harness.gates import judged, load_judged
from harness.results import Record, Results, RunSample


def _sweep() -> Results:
    runs = [RunSample(0.5, 5.0, 0.1 + i / 1000, {"ode": 0.4}, "t1") for i in range(5)]
    record = Record(id="nfe8", config={"nfe": 8}, runs=runs)
    record.summarize()
    return Results(suite={"name": "s", "thresholds": {"rtf": {"warning": 0.05, "critical": 0.08}}}, records=[record])


def test_a_sweep_round_trips_without_its_verdicts(tmp_path: Path) -> None:
    results = judged(_sweep(), Thresholds(rtf=Level(0.05, 0.08)))
    assert results.records[0].verdicts["rtf"]["level"] == "critical"
    path = results.save(tmp_path)
    text = path.read_text()
    assert "verdicts" not in text and "\n" not in text  # measurements only, one compact line
    loaded = Results.load(tmp_path)
    assert loaded.records[0].runs == results.records[0].runs and loaded.records[0].verdicts == {}
    assert load_judged(tmp_path).records[0].verdicts["rtf"]["level"] == "critical"  # the recorded thresholds


def test_a_file_with_stored_verdicts_is_judged_again_when_read(tmp_path: Path) -> None:
    """Files of earlier versions hold verdicts: they are read, then replaced by today's judgement."""
    _sweep().save(tmp_path)
    data = json.loads((tmp_path / "results.json").read_text())
    data["records"][0]["verdicts"] = {"rtf": {"level": "good", "value": 0.1}}
    (tmp_path / "results.json").write_text(json.dumps(data))
    assert load_judged(tmp_path).records[0].verdicts["rtf"]["level"] == "critical"


@pytest.mark.parametrize(("where", "key"), [("top", "recrods"), ("record", "rtf_medain"), ("run", "rtff")])
def test_a_key_this_version_does_not_know_is_refused(tmp_path: Path, where: str, key: str) -> None:
    _sweep().save(tmp_path)
    data = json.loads((tmp_path / "results.json").read_text())
    target = {"top": data, "record": data["records"][0], "run": data["records"][0]["runs"][0]}[where]
    target[key] = 1
    (tmp_path / "results.json").write_text(json.dumps(data))
    with pytest.raises(InputError, match=f"{key}: a key this version does not know"):
        Results.load(tmp_path)
