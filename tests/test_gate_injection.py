"""The gate on the real tiny pipeline, asserting only what holds with a wide margin on 2 noisy
cores: a doubling is caught, an unchanged pair is never a regression, a noisy pair is inconclusive.
How often smaller slowdowns are caught is measured in reports/gate-power, not asserted here."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from harness.ab.interleave import CallFn, pipeline_call, sequential_trial
from harness.measure import MeasureOptions, Measurer
from harness.platform.process import apply_process_settings
from harness.sequential import GatePolicy
from harness.suite_file import load_suite
from tests.conftest import SUITE_TEMPLATE, suite_values
from tests.test_cli import cli

pytestmark = pytest.mark.timing


@pytest.fixture(scope="module")
def tiny_call(tmp_path_factory: pytest.TempPathFactory) -> CallFn:
    """One built tiny model (NFE 2, warmed up) as a call of the gate's arms."""
    path = tmp_path_factory.mktemp("gate") / "gate.toml"
    path.write_text(SUITE_TEMPLATE.format(**suite_values(name="gate", nfe="[2]", warmup=2)))
    suite = load_suite(path)
    apply_process_settings(suite)
    measurer = Measurer(suite, MeasureOptions(out_dir=path.parent, save_audio=False, telemetry=False))
    return pipeline_call(measurer, suite.runs[0])


def test_a_doubling_is_called_a_regression(tiny_call: CallFn) -> None:
    trial = sequential_trial(tiny_call, 1.0, GatePolicy(alpha=0.01, min_rounds=4, max_rounds=30))
    assert trial.decision.outcome == "regression", trial
    assert 1.8 < trial.decision.ratio < 2.2 and trial.injected == pytest.approx(1.0, abs=0.01)


def test_an_unchanged_pair_is_never_called_a_regression(tiny_call: CallFn) -> None:
    trial = sequential_trial(tiny_call, 0.0, GatePolicy(alpha=0.001, max_rounds=20))
    assert trial.decision.outcome in ("unchanged", "inconclusive"), trial


def test_a_noisy_pair_comes_back_inconclusive_not_unchanged(tiny_call: CallFn) -> None:
    """Up to 50% of random extra time on every call of both arms: no 2% equivalence can be shown."""
    trial = sequential_trial(tiny_call, 0.0, GatePolicy(max_rounds=12), jitter=0.5, seed=1)
    assert trial.decision.outcome == "inconclusive", trial
    assert trial.decision.detectable > 0.05


def test_stored_baseline_gate_fails_a_large_slowdown(write_suite: Callable[..., Path], tmp_path: Path) -> None:
    """Across processes this 2-core machine drifts by up to ~10% (reports/cpu), so the stored-baseline
    path is exercised with a slowdown well above that drift."""
    suite = write_suite(name="gate", nfe="[4]", repeats=10)
    baselines = tmp_path / "baselines"

    def measure(name: str, *extra: str) -> Path:
        out = tmp_path / name
        proc = cli("run", str(suite), "--out", str(out), "--no-progress", "--no-telemetry", *extra)
        assert proc.returncode == 0, proc.stderr
        return out

    saved = cli("baseline", "save", str(measure("a")), "--dir", str(baselines))
    assert saved.returncode == 0 and "baseline saved" in saved.stdout
    slow = cli("baseline", "compare", str(measure("b", "--inject-slowdown", "0.4")), "--dir", str(baselines))
    assert slow.returncode == 1, slow.stdout + slow.stderr
    assert "| regression |" in slow.stdout
    assert "tts-harness: error: 1 configuration(s) regression against" in slow.stderr
