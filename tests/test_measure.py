"""One configuration's measurement (harness/measure.py): warm-up rounds, and what a model measured
before at another NFE saves."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from harness.results import Results
from tests.test_cli import cli_in_process


def test_a_model_measured_at_another_nfe_counts_its_first_call_as_warm_up(
    write_suite: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_suite(nfe="[2, 3]", warmup=1, repeats=2)
    assert cli_in_process("run", str(path), "--out", str(tmp_path), "--no-progress", "--no-audio").returncode == 0
    results = Results.load(tmp_path)
    first, second = sorted(results.records, key=lambda r: r.started_utc)
    assert first.config["nfe"] == 2 and second.config["nfe"] == 3
    assert first.warmup_runs == second.warmup_runs == 1  # the suite's one warm-up round each ...
    assert results.sweep_cost_s["model_builds"] == 1
    # ... but only the first configuration spent a call on it beside its first call.
    assert len(second.runs) == 2 and results.sweep_cost_s["warmup_s"] < 2 * first.first_call_s


@pytest.mark.parametrize(("stable_cv", "warmup_runs"), [(1.0, 3), (0.0, 4)])
def test_warm_up_until_stable_needs_three_calls_and_stops_at_the_cap(
    write_suite: Callable[..., Path], tmp_path: Path, stable_cv: float, warmup_runs: int
) -> None:
    timing = f"until_stable = true\nstable_cv = {stable_cv}\nmax_warmup = 4"
    path = write_suite(nfe="[2]", warmup=1, timing=timing)
    assert cli_in_process("run", str(path), "--out", str(tmp_path), "--no-progress").returncode == 0
    assert Results.load(tmp_path).records[0].warmup_runs == warmup_runs
