"""Measuring in this process: the default backend of ``tts-harness run``, the pytest plugin's, and
what a Ray task or a ``run --gpus`` worker does with its group.

Groups run one at a time, those whose builds compile quickly first (a sweep cut short by a time
limit has measured the most, and its resume starts with the long compiles). Each record is handed
to the driver as it ends. A configuration expected to end past the time limit is left to a resume;
after a CUDA error that leaves the context unusable nothing more is measured here.
"""

from __future__ import annotations

import itertools
import logging
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

from harness.config import RunConfig, SuiteConfig, compile_cost_s
from harness.errors import first_line
from harness.executors.base import Backend, Outcome
from harness.measure import MeasureOptions, Measurer, RoundsFn
from harness.platform.process import apply_process_settings, validate_inputs
from harness.results import Record, Results

log = logging.getLogger(__name__)

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


class InProcess(Backend):
    """Measures the groups here, in order, with one ``Measurer`` (its build cache, references)."""

    name = "in-process"

    def __init__(self, suite: SuiteConfig, measure: MeasureOptions, *, progress: bool = False,
                 time_limit_s: float | None = None, compile_artifacts: Path | None = None,
                 process_start: float | None = None) -> None:  # fmt: skip
        self.suite = suite
        self.measurer = Measurer(suite, measure)
        self.progress, self.time_limit_s, self.compile_artifacts = progress, time_limit_s, compile_artifacts
        self.started = time.perf_counter() if process_start is None else process_start
        self.queue: dict[int, list[RunConfig]] = {}
        self._handles = itertools.count(1)
        self.notes: dict[str, Any] = {}
        self._compile_scale: float | None = None  # largest seen / expected compile seconds so far
        self._context_lost = False
        self._bar: Any = None

    def prepare(self, suite: SuiteConfig) -> dict[str, Any]:
        validate_inputs(suite)
        return apply_process_settings(suite, self.compile_artifacts)

    def opened(self, results: Results) -> None:
        from harness.platform import fingerprint

        self.measurer.card = fingerprint.accelerator_name(results.platform)
        self.measurer.cost["startup_s"] = time.perf_counter() - self.started

    def submit(self, suite: SuiteConfig) -> int:
        handle = next(self._handles)
        self.queue[handle] = sorted(suite.runs, key=lambda r: (r.nfe, r.vocoder))
        return handle

    def wait(self, handles: list[int], timeout_s: float) -> list[tuple[int, Outcome]]:
        """Measures the cheapest-to-compile group of ``handles`` (whatever ``timeout_s``); its records
        went to ``on_record`` one by one."""
        if not handles:
            return []
        handle = min(handles, key=lambda h: (compile_cost_s(self.queue[h][0].compile_mode), self.queue[h][0].build_key))
        for run in self.queue.pop(handle):
            if self._context_lost:
                break
            if self._past_deadline(run):
                self.notes["stop_reason"] = "time limit"  # its compile would not fit: a resume measures it
                continue
            record = self.measure(run)
            if context_lost(record):
                self._context_lost = True
                self.notes["stop_reason"] = f"CUDA context lost at {run.id}"
                log.error("%s left the CUDA context unusable: stopping; a fresh process measures the rest", run.id)
        return [(handle, [])]

    def measure(self, run: RunConfig, timed_rounds: RoundsFn | None = None) -> Record:
        """One configuration (the pytest plugin's step: ``timed_rounds`` is pytest-benchmark's)."""
        bar = self._runs_bar(run.id)
        self.measurer.on_rounds_planned = lambda total: bar.reset(total=total)
        self.measurer.on_round = lambda: bar.update(1)
        record = self.measurer.measure(run, timed_rounds)
        if record.build_s is not None and record.first_call_s is not None:
            self.observe_compile(run, record.first_call_s)
        if self.on_record is not None:
            self.on_record(record)
        return record

    def _runs_bar(self, description: str) -> Any:
        from tqdm import tqdm

        if self._bar is None:
            self._bar = tqdm(total=self.suite.timing.repeats, unit="run", position=1, leave=False,
                             disable=not self.progress)  # fmt: skip
        self._bar.reset()
        self._bar.set_description(description)
        return self._bar

    def _past_deadline(self, run: RunConfig) -> bool:
        if self.time_limit_s is None:
            return False
        return time.perf_counter() + self.expected_s(run) > self.started + self.time_limit_s

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

    def costs(self) -> dict[str, float]:
        from harness.platform.compile_cache import fx_graph_cache_counts

        return {**self.measurer.cost, "processes": 1.0, "model_builds": float(self.measurer.cache.builds),
                **fx_graph_cache_counts()}  # fmt: skip

    def close(self) -> dict[str, Any]:
        """Process flags restored, compile artifacts saved."""
        if self._bar is not None:
            self._bar.close()
        self.measurer.restore_process_flags()
        if self.compile_artifacts:
            from harness.platform.compile_cache import save_compile_artifacts

            try:
                saved = save_compile_artifacts(self.compile_artifacts)
            except Exception as exc:  # the results matter more than the artifacts: keep going
                log.warning("compile artifacts not saved: %s", first_line(exc))
            else:
                if saved:
                    self.notes["compile_artifacts_saved"] = saved
        return self.notes


def measure_group(suite: SuiteConfig, telemetry: bool, inject_slowdown: float, node: str) -> list[Record]:
    """In a remote worker (a Ray task): one build group's configurations (``suite.runs``), measured
    here and returned together, each marked with where it ran."""
    where = {"executor": node.split(":")[0], "node": node, "host": socket.gethostname()}
    records: list[Record] = []
    with tempfile.TemporaryDirectory() as tmp:
        options = MeasureOptions(out_dir=Path(tmp), telemetry=telemetry, save_audio=False,
                                 inject_slowdown=inject_slowdown)  # fmt: skip
        backend = InProcess(suite, options)
        backend.on_record = records.append
        backend.prepare(suite)
        try:
            backend.wait([backend.submit(suite)], timeout_s=0.0)
        finally:
            backend.close()
    for record in records:
        record.part = dict(where)
    return records
