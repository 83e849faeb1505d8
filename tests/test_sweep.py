"""The sweep driver (harness/sweep.py): the open/measure/close steps the CLI and the pytest plugin
share, and a backend plugged in from one file."""

from __future__ import annotations

from collections.abc import Callable
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from harness.config import SuiteConfig
from harness.executors.base import Backend, Outcome
from harness.executors.in_process import measure_group
from harness.results import Record, Results
from tests.conftest import TWO_BUILDS, quiet_sweep


def test_open_measure_close_is_a_sweep_in_steps(write_suite: Callable[..., Path], tmp_path: Path) -> None:
    """What the pytest plugin does: open with the configurations it collected, measure them in its own
    order, close with the status it decides; results.json is saved after every step."""
    from harness.suite_file import load_suite

    suite = load_suite(write_suite(nfe="[2, 3]", repeats=1))
    sweep = quiet_sweep(suite, tmp_path)
    nfe3 = next(run for run in suite.runs if run.nfe == 3)
    opened = sweep.open(planned=[nfe3.id])
    assert opened.suite["planned"] == [nfe3.id] and opened.status == "running"
    record = sweep.backend.measure(nfe3)
    on_disk = Results.load(tmp_path)
    assert record.status == "ok" and [r.id for r in on_disk.records] == [nfe3.id]
    assert on_disk.sweep_cost_s["model_builds"] == 1
    closed = sweep.close("complete")
    again = Results.load(tmp_path)
    assert closed.status == again.status == "complete" and again.finished_utc and again.sweep_cost_s["wall_s"] > 0


class Threads(Backend):
    """A backend in one file, as a Slurm one would be: each group a job (here a thread) that
    measures it with ``measure_group`` and returns its records."""

    name = "threads"

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=1)

    def submit(self, suite: SuiteConfig) -> Future[list[Record]]:
        return self.pool.submit(measure_group, suite, False, 0.0, "threads:0")

    def wait(self, handles: list[Any], timeout_s: float) -> list[tuple[Any, Outcome]]:
        done, _ = futures.wait(handles, timeout=timeout_s, return_when=futures.FIRST_COMPLETED)
        return [(f, f.exception() or f.result()) for f in done]

    def close(self) -> dict[str, Any]:
        self.pool.shutdown()
        return {}


def test_a_backend_plugged_in_from_one_file_measures_the_sweep(
    write_suite: Callable[..., Path], tmp_path: Path
) -> None:
    from harness.suite_file import load_suite
    from harness.sweep import Sweep, SweepOptions

    suite = load_suite(write_suite(nfe="[2, 3]", matrix=TWO_BUILDS, repeats=1))
    results = Sweep(suite, Threads(), SweepOptions(tmp_path, progress=False)).run()
    assert results.status == "complete" and len(suite.build_groups()) == 2
    assert sorted(r.id for r in results.records) == sorted(r.id for r in suite.runs)
    assert all(r.status == "ok" and r.part["executor"] == "threads" for r in results.records)
    assert Results.load(tmp_path).options["cluster"] == {"backend": "threads", "lost": [], "groups": 2}
