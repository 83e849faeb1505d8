"""The driver of a sweep spread over workers, whatever runs them (``Backend``): the GPUs of this
host (``local_gpus``) or a Ray cluster (``ray_backend``).

Each model-build group (the configurations that share one build, hence one compile) is one job,
costliest first; the driver keeps results.json: every record saved as its group finishes, so
``--resume`` measures only what is missing (verdicts are computed when it is read). A job whose
node or worker was lost is recorded in ``options.cluster.lost`` (group, error, attempt) and
submitted once more; lost twice, its configurations are recorded as ``error`` (``NodeLost``) and the
sweep goes on. A job that returns fewer records than its group (a time limit) leaves the sweep
``stopped``. Ctrl-C cancels the jobs in flight, keeps what they saved and exits 130.
"""

from __future__ import annotations

import logging
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from harness.config import RunConfig, SuiteConfig
from harness.errors import first_line
from harness.journal import folder_lock, open_results
from harness.results import Record, Results, utc_now

log = logging.getLogger(__name__)
RETRIES = 1  # a group whose node died is submitted once more


def measure_group(suite: SuiteConfig, telemetry: bool, inject_slowdown: float, node: str) -> list[Record]:
    """In a worker: one build group's configurations (``suite.runs``), measured as a sweep does."""
    from harness.measure import MeasureOptions, Measurer
    from harness.platform.process import apply_process_settings, validate_inputs

    validate_inputs(suite)
    apply_process_settings(suite)
    where = {"node": node, "host": socket.gethostname()}
    with tempfile.TemporaryDirectory() as tmp:
        options = MeasureOptions(
            out_dir=Path(tmp), telemetry=telemetry, save_audio=False, inject_slowdown=inject_slowdown
        )
        measurer = Measurer(suite, options)
        records = []
        for run in suite.runs:
            record = measurer.measure(run)
            record.part = {"executor": node.split(":")[0], **where}
            records.append(record)
    return records


class Backend(Protocol):
    """What runs the jobs: a Ray cluster, a Slurm queue, ..."""

    name: str

    def submit(self, suite: SuiteConfig, telemetry: bool, inject_slowdown: float) -> Any:
        """Start ``measure_group`` on ``suite`` (one group); return a handle."""
        ...

    def wait(self, handles: list[Any], timeout_s: float) -> list[tuple[Any, list[Record] | BaseException]]:
        """The jobs among ``handles`` that ended, each with its records or its exception."""
        ...

    def lost(self, error: BaseException) -> bool:
        """Whether a job failed because its node or worker went away (worth submitting again)."""
        ...

    def cancel(self, handles: list[Any]) -> None: ...

    def kept(self, handles: list[Any]) -> list[Record]:
        """After ``cancel``: the records the cancelled jobs saved before they stopped."""
        ...

    def costs(self) -> dict[str, float]:
        """The workers' sweep costs (startup, builds, first calls, timed, ...), added up; {} if unknown."""
        ...

    def close(self) -> None: ...


def error_record(run: RunConfig, kind: str, message: str) -> Record:
    return Record(id=run.id, config=run.as_dict(), status="error", error={"type": kind, "message": message[:500]},
                  started_utc=utc_now(), finished_utc=utc_now())  # fmt: skip


class ClusterSweep:
    """Submits the groups not yet measured to ``backend``, collects records, keeps results.json."""

    def __init__(self, suite: SuiteConfig, out: Path, backend: Backend, resume: bool, telemetry: bool = False,
                 inject_slowdown: float = 0.0, plan: dict[str, Any] | None = None, progress: bool = False,
                 after_each: Callable[[], None] | None = None, retry_failed: bool = False) -> None:  # fmt: skip
        self.suite, self.out, self.backend, self.resume = suite, out, backend, resume
        self.telemetry, self.inject_slowdown, self.plan = telemetry, inject_slowdown, plan or {}
        self.progress, self.after_each, self.retry_failed = progress, after_each, retry_failed

    def todo(self, results: Results) -> list[list[RunConfig]]:
        """The groups with configurations not yet measured (or failed, with ``retry_failed``), costliest first."""
        done = {r.id for r in results.records if r.status == "ok" or not self.retry_failed}
        groups = [[r for r in runs if r.id not in done] for runs in self.suite.build_groups().values()]
        return sorted((g for g in groups if g), key=lambda g: -self.suite.group_cost_s(g))

    def run(self) -> Results:
        with folder_lock(self.out):
            try:
                return self._run()
            finally:
                self.backend.close()

    def _run(self) -> Results:
        started = time.perf_counter()
        results = open_results(self.suite, self.out, self.resume, {}, self.inject_slowdown)
        results.suite["planned"] = sorted(r.id for r in self.suite.runs)
        results.options.setdefault("plan", self.plan)
        state: dict[str, Any] = results.options.setdefault("cluster", {"backend": self.backend.name, "lost": []})
        pending: dict[Any, tuple[list[RunConfig], int]] = {}
        results.options.pop("stop_reason", None)

        def submit(group: list[RunConfig], attempt: int) -> None:
            part = replace(self.suite, runs=tuple(group))
            pending[self.backend.submit(part, self.telemetry, self.inject_slowdown)] = (group, attempt)

        from tqdm import tqdm

        todo = self.todo(results)
        bar = tqdm(total=sum(map(len, todo)), unit="config", desc="configurations measured", disable=not self.progress)
        try:
            for group in todo:
                submit(group, 1)
            state["groups"] = len(pending)
            while pending:
                for handle, outcome in self.backend.wait(list(pending), timeout_s=5.0):
                    group, attempt = pending.pop(handle)
                    records = self._records(group, attempt, outcome, state, submit)
                    for record in records:
                        results.upsert(record)
                    results.save(self.out)
                    bar.update(len(records))
                    if self.after_each and records:
                        self.after_each()
            missing = sorted({r.id for r in self.suite.runs} - {r.id for r in results.records})
            results.status = "stopped" if missing else "complete"
            if missing:
                results.options["stop_reason"] = (
                    f"{len(missing)} configuration(s) not measured: a worker stopped early (time limit)"
                )
        except KeyboardInterrupt:
            self.backend.cancel(list(pending))
            for record in self.backend.kept(list(pending)):
                results.upsert(record)
            results.status = "interrupted"
            raise
        finally:
            bar.close()
            cost, wall = results.sweep_cost_s, time.perf_counter() - started
            workers = self.backend.costs()  # their wall times added up, the driver's as the elapsed time
            for name, seconds in {**workers, **({"elapsed_s": wall} if workers else {"wall_s": wall})}.items():
                cost[name] = cost.get(name, 0.0) + seconds
            results.finished_utc = utc_now()
            results.save(self.out)
        return results

    def _records(self, group: list[RunConfig], attempt: int, outcome: list[Record] | BaseException,
                 state: dict[str, Any], submit: Any) -> list[Record]:  # fmt: skip
        """A finished job's records; a lost job's group again (once), else error records."""
        if not isinstance(outcome, BaseException):
            return outcome
        kind = type(outcome).__name__
        message = f"{kind}: {first_line(outcome)}"
        lost = self.backend.lost(outcome)
        if lost:
            state["lost"].append({"group": [r.id for r in group], "error": message, "attempt": attempt})
            if attempt <= RETRIES:
                log.warning("a node or worker was lost measuring %s: submitted again", group[0].id)
                submit(group, attempt + 1)
                return []
        return [error_record(run, "NodeLost" if lost else kind, message) for run in group]
