"""pytest plugin: ``pytest suites/ --suite perf.toml`` collects one test per configuration.

Hooks and options live here; the work is delegated to ``measure`` (measurement) and ``gates``
(verdicts). State lives in one ``TTSSession`` kept in ``config.stash``. Installed, the plugin
registers itself through the ``pytest11`` entry point (``harness.pytest_plugin``).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.choices import parse_list
from harness.config import NARROWING, RunConfig, SuiteConfig
from harness.errors import BackendUnavailable, ConfigError, HarnessError
from harness.executors.in_process import InProcess
from harness.gates import describe, judge
from harness.measure import MeasureOptions
from harness.options import INJECT_HELP
from harness.results import Record, Results
from harness.suite_file import load_suite
from harness.sweep import Sweep, SweepOptions


class ThresholdWarning(UserWarning):
    """A measurement in the warning band of a suite threshold."""


def _narrowing_option(name: str) -> tuple[str, str]:
    """(option, dest) of a matrix filter under pytest: devices take ``--tts-device``, clear of other
    plugins' options."""
    return ("--tts-device", "tts_device") if name == "device" else (NARROWING[name][0], name)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tts-harness", "tts-harness benchmark suites")
    group.addoption("--suite", help="suite TOML under suites/ to collect (default: none)")
    group.addoption("--tts-out", help="results directory (default: reports/runs/<suite>-pytest)")
    for name, (_, keeps) in NARROWING.items():
        option, dest = _narrowing_option(name)
        group.addoption(option, dest=dest, help=f"keep these {keeps} (default: all)")
    group.addoption(
        "--tts-gpu-per-worker",
        action="store_true",
        help="under pytest-xdist, pin worker N to GPU N through CUDA_VISIBLE_DEVICES (default: off)",
    )
    group.addoption("--inject-slowdown", type=float, default=0.0, metavar="FRACTION", help=INJECT_HELP)


class TTSSession:
    """The suite's one sweep (``Sweep``: the CLI's driver, measuring in this process), opened at the
    first test, and what the plugin adds: pytest-benchmark's rounds and JSON, and the warnings it printed."""

    def __init__(self, suite: SuiteConfig, out_dir: Path, inject_slowdown: float) -> None:
        self.suite = suite
        self.out_dir = out_dir
        backend = InProcess(suite, MeasureOptions(out_dir=out_dir, inject_slowdown=inject_slowdown))
        self.sweep = Sweep(suite, backend, SweepOptions(out_dir, progress=False, inject_slowdown=inject_slowdown))
        self.measurer = backend.measurer
        self.planned: list[str] | None = None  # the collected configurations (after -k and deselection)
        self.results: Results | None = None
        self.warned: dict[str, list[str]] = {}

    def start(self) -> Results:
        if self.results is None:
            self.results = self.sweep.open(planned=self.planned)
        return self.results

    def measure(self, run: RunConfig, benchmark: Any) -> Record:
        results = self.start()

        def rounds(round_fn: Callable[[], None], count: int) -> object:
            if getattr(benchmark, "disabled", False):  # e.g. under xdist: still measure every round
                for _ in range(count):
                    round_fn()
                return None
            return benchmark.pedantic(round_fn, rounds=count, iterations=1, warmup_rounds=0)

        # pytest-benchmark's JSON: every knob as a plain param (``--benchmark-group-by=param:nfe``),
        # a group per suite, model and device, and the RTF statistics in extra_info.
        benchmark.params = {**run.as_dict(), "suite": self.suite.name}
        benchmark.group = f"{self.suite.name}/{run.model}/{run.device}"
        record = self.sweep.backend.measure(run, timed_rounds=rounds)
        judge(results.records, self.suite.thresholds)  # in memory, for this test's outcome: never saved
        if record.rtf:
            benchmark.extra_info.update(
                {
                    "config": run.id,
                    "rtf": record.rtf,
                    "audio_s_per_round": sum(r.audio_s for r in record.runs)
                    / max(1, len(record.runs))
                    * len(self.suite.texts),
                    "stages_ms": record.stages_ms,
                    "first_call_s": record.first_call_s,
                    "weights": record.weights_kind,
                    "roofline": {k: v for k, v in record.roofline.items() if isinstance(v, (int, float, str))},
                }
            )
        return record

    def finish(self) -> Results | None:
        """The sweep closed: ``complete`` when every collected configuration was measured."""
        if self.results is None:
            return None
        measured = {r.id for r in self.results.records}
        return self.sweep.close("complete" if measured.issuperset(self.results.suite["planned"]) else "stopped")


_SESSION = pytest.StashKey[TTSSession]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "tts_config: a suite configuration collected by tts-harness")
    name = config.getoption("suite", default=None)
    if not name:
        return
    try:
        suite = load_suite(name)
        axes: dict[str, list[Any] | None] = {}
        for name in NARROWING:
            option, dest = _narrowing_option(name)
            value = config.getoption(dest)
            axes[name] = parse_list(value, int if name == "nfe" else str, option) if value else None
        suite = suite.narrowed(**axes)
    except ConfigError as exc:
        raise pytest.UsageError(f"tts-harness: {exc}") from None
    _refuse_unused_benchmark_options(config)
    out = Path(config.getoption("tts_out") or f"reports/runs/{suite.name}-pytest")
    worker = getattr(config, "workerinput", {}).get("workerid")  # set on pytest-xdist's workers only
    if worker:  # each worker writes its own part; `tts-harness report out/gw*` merges them
        out = out / worker
        if config.getoption("tts_gpu_per_worker"):
            os.environ["CUDA_VISIBLE_DEVICES"] = worker.removeprefix("gw")
    config.stash[_SESSION] = TTSSession(suite, out, config.getoption("inject_slowdown"))


# pytest-benchmark options a suite test cannot honour: the suite's [timing] decides its rounds.
_TIMING_OPTIONS = (
    "--benchmark-min-rounds",
    "--benchmark-max-time",
    "--benchmark-min-time",
    "--benchmark-warmup",
    "--benchmark-warmup-iterations",
    "--benchmark-calibration-precision",
    "--benchmark-timer",
)


def _refuse_unused_benchmark_options(config: pytest.Config) -> None:
    """One line instead of options that would be recorded in the JSON as if they had run."""
    given = [a.split("=")[0] for a in config.invocation_params.args if isinstance(a, str)]
    unused = [option for option in _TIMING_OPTIONS if option in given]
    if unused:
        raise pytest.UsageError(
            f"tts-harness: {', '.join(unused)} not used by suite tests: the suite's [timing] (warmup, repeats, "
            "min_time_s, max_repeats) sets their rounds; set them there"
        )
    if config.getoption("numprocesses", default=None) and config.getoption("benchmark_json", default=None):
        raise pytest.UsageError(
            "tts-harness: --benchmark-json under pytest-xdist (-n): pytest-benchmark measures nothing and writes no "
            "JSON when xdist runs; drop -n, or read each worker's results.json in --tts-out/gwN "
            "(`tts-harness report OUT/gw*` merges them)"
        )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "tts_config" not in metafunc.fixturenames:
        return
    session = metafunc.config.stash.get(_SESSION, None)
    if session is None:
        metafunc.parametrize(
            "tts_config",
            [pytest.param(None, marks=pytest.mark.skip(reason="no --suite given"))],
            ids=["no-suite"],
        )
        return
    runs = sorted(session.suite.runs, key=lambda r: (r.build_key, r.nfe, r.vocoder))
    metafunc.parametrize(
        "tts_config",
        [pytest.param(r, marks=pytest.mark.tts_config) for r in runs],
        ids=[r.full_id for r in runs],  # model, weights and device too: -k selects by any of them
    )


@pytest.fixture(scope="session")
def tts_session(request: pytest.FixtureRequest) -> TTSSession:
    session = request.config.stash.get(_SESSION, None)
    if session is None:
        pytest.skip("no --suite given")
    return session


@pytest.fixture
def tts_measure(tts_session: TTSSession, benchmark: Any) -> Callable[[RunConfig], Record]:
    """Measure a configuration and apply the suite's thresholds: critical fails, warning warns."""

    def measure(run: RunConfig) -> Record:
        try:
            record = tts_session.measure(run, benchmark)
        except HarnessError as exc:
            pytest.fail(str(exc), pytrace=False)
        if record.status != "ok":
            error = record.error or {}
            message = f"{run.id}: {error.get('type')}: {error.get('message')}"
            if error.get("type") == BackendUnavailable.__name__:
                pytest.skip(message)
            pytest.fail(message, pytrace=False)
        critical = [describe(k, v) for k, v in record.verdicts.items() if v["level"] == "critical"]
        warning = [describe(k, v) for k, v in record.verdicts.items() if v["level"] == "warning"]
        if warning:
            tts_session.warned[run.id] = warning
            for text in warning:
                warnings.warn(ThresholdWarning(f"{run.id}: {text}"), stacklevel=2)
        if critical:
            pytest.fail(f"{run.id}: " + "; ".join(critical), pytrace=False)
        return record

    return measure


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    tts = session.config.stash.get(_SESSION, None)
    if tts is not None and tts.finish() is None:  # the suite's cuDNN and attention flags end with it
        tts.measurer.restore_process_flags()


def pytest_collection_finish(session: pytest.Session) -> None:
    """The plan is what was collected and selected (``-k``, deselection), not the whole matrix."""
    tts = session.config.stash.get(_SESSION, None)
    if tts is not None:
        ids = [item.callspec.params["tts_config"] for item in session.items if hasattr(item, "callspec")]
        tts.planned = [run.id for run in ids if isinstance(run, RunConfig)]


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    session = config.stash.get(_SESSION, None)
    if session is None or session.results is None:
        return
    from harness.report.summary import markdown

    text = markdown(session.results)  # judged in memory as each test measured (verdicts are never saved)
    (session.out_dir / "summary.md").write_text(text)
    terminalreporter.section("tts-harness")
    terminalreporter.write_line(text)
    for run_id, texts in session.warned.items():
        terminalreporter.write_line(f"WARNING {run_id}: {'; '.join(texts)}")
    terminalreporter.write_line(
        f"tts-harness: {session.measurer.cache.builds} model build(s); results in {session.out_dir}"
    )
