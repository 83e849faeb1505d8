"""The one sweep driver, whatever measures (``executors.base.Backend``): in this process
(``in_process``), the GPUs of this host (``local_gpus``) or a Ray cluster (``ray_backend``). The
CLI runs it whole (``run``); the pytest plugin in steps (``open``, its backend's ``measure`` per
test, ``close``).

Each model-build group is one job; the driver keeps results.json, saving every record as it
arrives, so ``--resume`` measures only what is missing (verdicts are computed when it is read). A
job whose node or worker was lost is recorded in ``options.cluster.lost`` (group, error, attempt)
and submitted once more; lost twice, its configurations are recorded as ``error`` (``NodeLost``)
and the sweep goes on. Configurations left unmeasured (a time limit, a lost CUDA context) leave the
sweep ``stopped``. Ctrl-C cancels the jobs in flight, keeps what they saved and exits 130.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Generic, TypeVar

from harness.config import RunConfig, SuiteConfig
from harness.errors import first_line
from harness.executors.base import Backend, Outcome
from harness.journal import folder_lock, open_results
from harness.measure import COST_PHASES
from harness.results import Record, Results, utc_now

log = logging.getLogger(__name__)
RETRIES = 1  # a group whose node died is submitted once more
B = TypeVar("B", bound=Backend)


@dataclass(frozen=True)
class SweepOptions:
    out_dir: Path
    resume: bool = False
    retry_failed: bool = False  # on resume, measure again the configurations that errored
    progress: bool = True
    inject_slowdown: float = 0.0  # recorded in results.json (the backend injects it)
    plan: dict[str, object] = field(default_factory=dict)  # the command's narrowing and options, for --resume


def failed_record(run: RunConfig, kind: str, message: str) -> Record:
    """A configuration its job never measured (its worker or node lost, its job failed)."""
    return Record(id=run.id, config=run.as_dict(), status="error", error={"type": kind, "message": message[:500]},
                  started_utc=utc_now(), finished_utc=utc_now())  # fmt: skip


class Sweep(Generic[B]):
    """Submits the groups of ``suite`` not yet measured to ``backend``, keeps results.json."""

    def __init__(self, suite: SuiteConfig, backend: B, options: SweepOptions,
                 after_each: Callable[[], None] | None = None) -> None:  # fmt: skip
        self.suite, self.backend, self.options = suite, backend, options
        self.after_each = after_each  # e.g. live MLflow logging, once the results are saved

    def todo(self, results: Results) -> list[list[RunConfig]]:
        """The groups with configurations not yet measured (or failed, with ``retry_failed``), costliest first."""
        done = {r.id for r in results.records if r.status == "ok" or not self.options.retry_failed}
        groups = [[r for r in runs if r.id not in done] for runs in self.suite.build_groups().values()]
        return sorted((g for g in groups if g), key=lambda g: -self.suite.group_cost_s(g))

    def run(self, process_start: float | None = None) -> Results:
        """Every configuration not yet in the results folder (locked: one writer at a time);
        ``process_start`` (a ``perf_counter`` value) counts the start-up in the sweep's wall time."""
        with folder_lock(self.options.out_dir):
            results = self.open(process_start=process_start)
            try:
                self._measure_all(results)
            except KeyboardInterrupt:
                results.status = "interrupted"
                raise
            finally:
                self.close()
        if self.after_each:
            self.after_each()
        return results

    def open(self, planned: list[str] | None = None, process_start: float | None = None) -> Results:
        """The sweep's start: the backend prepared, results.json opened (or resumed) with ``planned``
        (default: every configuration of the suite) and the platform it runs on."""
        self._started = time.perf_counter() if process_start is None else process_start
        process = self.backend.prepare(self.suite)
        results = open_results(self.suite, self.options.out_dir, self.options.resume, process,
                               self.options.inject_slowdown)  # fmt: skip
        results.options.setdefault("plan", self.options.plan)
        results.options.setdefault("cluster", {"backend": self.backend.name, "lost": []})
        results.options.pop("stop_reason", None)
        wanted = planned if planned is not None else [r.id for r in self.suite.runs]
        results.suite["planned"] = sorted(set(results.suite.get("planned", [])).union(wanted))
        self._cost_before = dict(results.sweep_cost_s)
        self.results = results
        self.backend.opened(results)
        self.backend.on_record = self._keep
        return results

    def _keep(self, record: Record) -> None:
        """A record as it arrives: results.json saved at once (a killed sweep keeps it), then ``after_each``."""
        self.results.upsert(record)
        self.results.sweep_cost_s = self._costs(self.backend.costs())
        self.results.save(self.options.out_dir)
        if self.after_each:
            self.after_each()

    def _costs(self, mine: dict[str, float]) -> dict[str, float]:
        before = self._cost_before
        return {k: before.get(k, 0.0) + mine.get(k, 0.0) for k in {*before, *mine}}

    def _measure_all(self, results: Results) -> None:
        state: dict[str, Any] = results.options["cluster"]
        pending: dict[Any, tuple[list[RunConfig], int]] = {}

        def submit(group: list[RunConfig], attempt: int) -> None:
            pending[self.backend.submit(replace(self.suite, runs=tuple(group)))] = (group, attempt)

        from tqdm import tqdm

        todo = self.todo(results)
        bar = tqdm(total=sum(map(len, todo)), unit="config", desc="configurations measured", position=0,
                   disable=not self.options.progress)  # fmt: skip

        def counted(record: Record) -> None:
            self._keep(record)
            bar.update(1)

        self.backend.on_record = counted
        try:
            for group in todo:
                submit(group, 1)
            state["groups"] = len(pending)
            while pending:
                for handle, outcome in self.backend.wait(list(pending), timeout_s=5.0):
                    group, attempt = pending.pop(handle)
                    records = self._records(group, attempt, outcome, state, submit)
                    for record in records:
                        counted(record)
        except KeyboardInterrupt:
            self.backend.cancel(list(pending))
            for record in self.backend.kept(list(pending)):
                results.upsert(record)
            raise
        finally:
            bar.close()
        missing = sorted({r.id for r in self.suite.runs} - {r.id for r in results.records})
        results.status = "stopped" if missing else "complete"
        if missing:
            results.options["stop_reason"] = (
                f"{len(missing)} configuration(s) not measured: a worker stopped early (time limit)"
            )

    def close(self, status: str | None = None) -> Results:
        """The sweep's end: the backend closed (its notes kept), costs and end time saved."""
        results = self.results
        if status is not None:
            results.status = status
        notes = self.backend.close()
        results.options.update(notes)
        mine = self.backend.costs()
        wall = time.perf_counter() - self._started
        if "parts" in mine:  # other processes measured: their times added up, and this one's elapsed time
            mine["elapsed_s"] = wall
        else:
            mine["wall_s"] = wall
            mine["other_s"] = max(0.0, wall - sum(mine.get(k, 0.0) for k in ("startup_s", *COST_PHASES)))
        results.sweep_cost_s = self._costs(mine)
        results.finished_utc = utc_now()
        results.save(self.options.out_dir)
        return results

    def _records(self, group: list[RunConfig], attempt: int, outcome: Outcome,
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
        return [failed_record(run, "NodeLost" if lost else kind, message) for run in group]
