"""`tts-harness judge`: a stored sweep judged again with a new suite's thresholds, the stored file
unchanged (verdicts are computed when results are read)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from harness.config import RunConfig
from harness.gates import recorded_thresholds
from harness.results import Record, Results, RunSample
from tests.test_cli import cli


def sweep(folder: Path) -> Path:
    runs = [RunSample(0.5, 5.0, 0.1 + i / 1000, {}) for i in range(5)]
    run = RunConfig(nfe=8)
    record = Record(id=run.id, config=run.as_dict(), runs=runs)
    record.summarize()
    thresholds = {"rtf": {"warning": 0.5, "critical": 0.6}, "cv": None, "some_future_key": 1.0}
    Results(suite={"name": "s", "thresholds": thresholds}, records=[record], status="complete").save(folder)
    return folder


def test_a_new_threshold_judges_a_stored_sweep_and_leaves_it_as_it_was(
    tmp_path: Path, write_suite: Callable[..., Path]
) -> None:
    folder = sweep(tmp_path / "s")
    stored = (folder / "results.json").read_bytes()
    own = cli("judge", str(folder))
    assert own.returncode == 0 and "| nfe8-fp32-compile_none-voc_torch | pass |" in own.stdout, own.stdout + own.stderr
    strict = write_suite(name="strict", extra="[thresholds]\nrtf = { warning = 0.05, critical = 0.08 }")
    again = cli("judge", str(folder), "--suite", str(strict))
    assert again.returncode == 1 and "| nfe8-fp32-compile_none-voc_torch | FAIL |" in again.stdout, (
        again.stdout + again.stderr
    )
    assert "1 configuration(s) over a critical threshold: nfe8-fp32-compile_none-voc_torch" in again.stderr
    assert (folder / "results.json").read_bytes() == stored


def test_recorded_thresholds_keep_what_this_version_knows(tmp_path: Path) -> None:
    thresholds = recorded_thresholds(Results.load(sweep(tmp_path / "s")))
    assert thresholds.rtf is not None and thresholds.rtf.critical == 0.6 and thresholds.cv is None


def test_judging_a_folder_without_results_is_one_line(tmp_path: Path) -> None:
    proc = cli("judge", str(tmp_path))
    assert proc.returncode == 2 and "not a results directory" in proc.stderr
