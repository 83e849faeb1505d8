"""A suite's sweep: which configurations, in what order, until when; the journal saved after every
one; gates applied to what was measured; progress and tracking as hooks. Resumable."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness.config import RunConfig, SuiteConfig, compile_cost_s
from harness.errors import first_line
from harness.journal import folder_lock, open_results
from harness.measure import MeasureOptions, Measurer, RoundsFn
from harness.platform.process import apply_process_settings, validate_inputs
from harness.results import Record, Results, utc_now

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepOptions:
    out_dir: Path
    resume: bool = False
    retry_failed: bool = False  # on resume, measure again the configurations that errored
    progress: bool = True
    time_limit_s: float | None = None  # start no configuration expected to end past this (resumable)
    compile_artifacts: Path | None = None  # load torch.compiler artifacts beside it first, save them here
    plan: dict[str, object] = field(default_factory=dict)  # the command's narrowing and options, for --resume


# CUDA errors that leave the process's context unusable: every later call would fail the same way.
_CONTEXT_LOST = (
    "illegal memory access",
    "unspecified launch failure",
    "device-side assert",
    "misaligned address",
    "illegal instruction",
)


def context_lost(record: Record) -> bool:
    """Whether the configuration failed with an error that a fresh process alone recovers from."""
    message = str((record.error or {}).get("message", ""))
    return any(text in message for text in _CONTEXT_LOST)


class Sweep:
    """Measures every configuration of a suite not yet in its results folder."""

    def __init__(
        self,
        suite: SuiteConfig,
        measure: MeasureOptions,
        options: SweepOptions,
        after_each: Callable[[], None] | None = None,
    ) -> None:
        self.suite = suite
        self.options = options
        self.measurer = Measurer(suite, measure)
        self.after_each = after_each  # e.g. live MLflow logging, once the results are saved
        self._compile_scale: float | None = None  # largest seen / expected compile seconds so far

    def expected_s(self, run: RunConfig) -> float:
        """Seconds a configuration is expected to take: its compile (none once built) at the cold
        estimate, scaled by the largest ratio of seen to expected compiles in this process, so a
        warm cache shortens the estimates and a slow machine lengthens them. A compiled model
        compiles once per shape: texts of several lengths cost a compile each (on one H200 a CUDA-graph
        row over five lengths outran a 110 s limit estimated for one compile)."""
        if self.measurer.cache.holds(run):
            return self.suite.expected_config_s
        scale = 1.0 if self._compile_scale is None else self._compile_scale
        return compile_cost_s(run.compile_mode) * scale * self._shapes(run) + self.suite.expected_config_s

    def _shapes(self, run: RunConfig) -> int:
        """Compiles a new build makes: one per text length for a compiled model."""
        return len({(t.text, t.duration_s) for t in self.suite.texts}) if run.compile_mode != "none" else 1

    def observe_compile(self, run: RunConfig, first_call_s: float) -> None:
        """Record a new build's first calls against the cold estimate of its compiles."""
        expected = compile_cost_s(run.compile_mode) * self._shapes(run)
        if expected > 0:
            ratio = first_call_s / expected
            self._compile_scale = ratio if self._compile_scale is None else max(self._compile_scale, ratio)

    def order(self, results: Results) -> list[RunConfig]:
        """What is left to measure: builds that compile quickly first (a sweep cut short by a time
        limit has measured the most, and its resume starts with the long compiles)."""
        done = {r.id for r in results.records if r.status == "ok" or not self.options.retry_failed}
        return sorted(
            (r for r in self.suite.runs if r.id not in done),
            key=lambda r: (compile_cost_s(r.compile_mode), r.build_key, r.nfe, r.vocoder),
        )

    def run(self, process_start: float | None = None) -> Results:
        """Measure every configuration not yet in the results; ``process_start`` (a
        ``perf_counter`` value) makes the startup before the loop part of the sweep's cost. The
        results folder is locked for the sweep: one writer at a time."""
        with folder_lock(self.options.out_dir):
            return self._run(process_start)

    def _run(self, process_start: float | None) -> Results:
        results = self.open(process_start)
        todo = self.order(results)
        bar = _Progress(len(todo), self.suite.timing.repeats, self.options.progress)
        self.measurer.on_rounds_planned = bar.plan_runs
        self.measurer.on_round = lambda: bar.update_runs(1)
        deadline = None if self.options.time_limit_s is None else self._started + self.options.time_limit_s
        left: list[RunConfig] = []
        results.options.pop("stop_reason", None)
        try:
            for position, run in enumerate(todo):
                bar.next_config(run.id)
                if deadline is not None and time.perf_counter() + self.expected_s(run) > deadline:
                    left.append(run)  # its compile would not fit: a resume measures it
                    results.options["stop_reason"] = "time limit"
                    continue
                record = self.measure(run)
                if context_lost(record):
                    left.extend(todo[position + 1 :])
                    results.options["stop_reason"] = f"CUDA context lost at {run.id}"
                    log.error("%s left the CUDA context unusable: stopping; a fresh process measures the rest", run.id)
                    break
            results.status = "stopped" if left else "complete"
        except KeyboardInterrupt:
            results.status = "interrupted"
            raise
        finally:
            bar.close()
            self.close()
        if self.after_each:
            self.after_each()
        return results

    def open(self, process_start: float | None = None, planned: list[str] | None = None) -> Results:
        """The sweep's start, one place for the CLI and the pytest plugin: inputs checked, process
        settings applied, results.json opened (or resumed) with ``planned`` (default: every
        configuration of the suite) and the platform it runs on."""
        from harness.platform import fingerprint

        self._started = time.perf_counter() if process_start is None else process_start
        validate_inputs(self.suite)
        process = apply_process_settings(self.suite, self.options.compile_artifacts)
        results = open_results(
            self.suite, self.options.out_dir, self.options.resume, process, self.measurer.options.inject_slowdown
        )
        results.options.setdefault("plan", self.options.plan)
        wanted = planned if planned is not None else [r.id for r in self.suite.runs]
        results.suite["planned"] = sorted(set(results.suite.get("planned", [])).union(wanted))
        self.measurer.card = fingerprint.accelerator_name(results.platform)
        self._cost = SweepCost(results.sweep_cost_s, self.measurer, self._started)
        self.measurer.cost["startup_s"] = time.perf_counter() - self._started
        self.results = results
        return results

    def measure(self, run: RunConfig, timed_rounds: RoundsFn | None = None) -> Record:
        """One configuration measured and kept: results.json saved at once (a killed sweep keeps it),
        then ``after_each`` (live tracking)."""
        record = self.measurer.measure(run, timed_rounds)
        if record.build_s is not None and record.first_call_s is not None:
            self.observe_compile(run, record.first_call_s)
        self.results.upsert(record)
        self.results.sweep_cost_s = self._cost.total()
        self.results.save(self.options.out_dir)
        if self.after_each:
            self.after_each()
        return record

    def close(self, status: str | None = None) -> Results:
        """The sweep's end: process flags restored, compile artifacts saved, cost and end time kept."""
        results = self.results
        if status is not None:
            results.status = status
        self.measurer.restore_process_flags()
        self._save_compile_artifacts(results)
        results.sweep_cost_s = self._cost.total(wall=time.perf_counter() - self._started)
        results.finished_utc = utc_now()
        results.save(self.options.out_dir)
        return results

    def _save_compile_artifacts(self, results: Results) -> None:
        if not self.options.compile_artifacts:
            return
        from harness.platform.compile_cache import save_compile_artifacts

        try:
            saved = save_compile_artifacts(self.options.compile_artifacts)
        except Exception as exc:  # the results matter more than the artifacts: keep going
            log.warning("compile artifacts not saved: %s", first_line(exc))
            return
        if saved:
            results.options["compile_artifacts_saved"] = saved


class SweepCost:
    """The sweep's cost: what earlier processes of a resumed sweep spent plus this one's phases."""

    def __init__(self, before: dict[str, float], measurer: Measurer, started: float) -> None:
        self.before, self.measurer, self.started = dict(before), measurer, started

    def total(self, wall: float | None = None) -> dict[str, float]:
        from harness.platform.compile_cache import fx_graph_cache_counts

        mine = dict(self.measurer.cost)
        if wall is not None:
            mine["wall_s"] = wall
            mine["other_s"] = max(0.0, wall - sum(v for k, v in mine.items() if k not in ("other_s", "wall_s")))
        before = self.before
        total = {k: before.get(k, 0.0) + mine.get(k, 0.0) for k in {*before, *mine}}
        total["processes"] = before.get("processes", 0.0) + 1
        total["model_builds"] = before.get("model_builds", 0.0) + self.measurer.cache.builds
        for key, count in fx_graph_cache_counts().items():
            total[key] = before.get(key, 0.0) + count
        return total


class _Progress:
    """Two tqdm bars on stderr: configurations, and timed runs of the current one."""

    def __init__(self, configs: int, repeats: int, enabled: bool) -> None:
        from tqdm import tqdm

        self.configs = tqdm(total=configs, unit="config", position=0, disable=not enabled, leave=True)
        self.runs = tqdm(total=repeats, unit="run", position=1, disable=not enabled, leave=False)
        self._started = False

    def plan_runs(self, total: int) -> None:
        self.runs.reset(total=total)

    def update_runs(self, n: int) -> None:
        self.runs.update(n)

    def next_config(self, description: str) -> None:
        if self._started:
            self.configs.update(1)
        self._started = True
        self.configs.set_description(description)
        self.runs.reset()

    def close(self) -> None:
        if self._started:
            self.configs.update(1)
        self.runs.close()
        self.configs.close()
