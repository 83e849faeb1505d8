"""The pytest plugin in inner pytest sessions: ids, narrowing, one build per build key, benchmark JSON."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from io import StringIO
from pathlib import Path

import pytest

from tests.test_cli import cli_in_process

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _not_an_xdist_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """The inner pytest runs are not xdist workers when this test runs on one: pytest-benchmark
    reads ``PYTEST_XDIST_WORKER`` and would switch itself off."""
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        monkeypatch.delenv(name, raising=False)


def run(folder: Path, *args: str, fresh: bool = False) -> pytest.RunResult:
    """An inner pytest session with the plugin in ``folder``: in this process (a new interpreter
    spends about 7 s importing torch and f5-tts here), or in a ``fresh`` one where xdist starts its
    own workers.

    Not pytester's in-process run: it unloads every module the session imported, and some cannot
    be imported twice in one process (torch; ml_dtypes under an ONNX export). Only the session's
    own files (its test module and conftest) are dropped, so the next session imports its own."""
    argv = ["-p", "harness.pytest_plugin", "-p", "no:cacheprovider", "--import-mode=importlib", *args]
    argv += ["--rootdir", str(folder), str(folder)]
    start = time.perf_counter()
    if fresh:
        proc = subprocess.run([sys.executable, "-m", "pytest", *argv], cwd=folder, capture_output=True, text=True)
        code, out, err = proc.returncode, proc.stdout, proc.stderr
    else:
        out_buffer, err_buffer = StringIO(), StringIO()
        with redirect_stdout(out_buffer), redirect_stderr(err_buffer):
            try:
                code = pytest.main(argv)
            except Exception:  # past pytest's handling, as pytest-benchmark's regression: the process would die
                traceback.print_exc()
                code = 1
        out, err = out_buffer.getvalue(), err_buffer.getvalue()
        for name, module in list(sys.modules.items()):
            if Path(getattr(module, "__file__", None) or "/").is_relative_to(folder):
                del sys.modules[name]
    return pytest.RunResult(code, out.splitlines(), err.splitlines(), time.perf_counter() - start)


@pytest.fixture
def suite_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder holding the project's suite test module, the working directory of the test."""
    folder = tmp_path / "session"
    folder.mkdir()
    (folder / "test_suite.py").write_text((ROOT / "suites" / "test_suite.py").read_text())
    monkeypatch.chdir(folder)
    return folder


def test_one_test_per_configuration_and_one_build(suite_dir: Path, write_suite: Callable[..., Path]) -> None:
    suite = write_suite(nfe="[2, 4]", vocoder='["torch", "onnxruntime"]')
    bench = suite_dir / "bench.json"
    result = run(
        suite_dir,
        "--suite",
        str(suite),
        "--tts-out",
        str(suite_dir / "out"),
        f"--benchmark-json={bench}",
        "-v",
    )
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        [
            "*test_config?nfe2-fp32-compile_none-voc_torch-tiny-random-cpu? PASSED*",
            "*test_config?nfe4-fp32-compile_none-voc_onnxruntime-tiny-random-cpu? PASSED*",
            "tts-harness: 1 model build(s); results in *",
        ]
    )
    data = json.loads(bench.read_text())
    extra = {b["extra_info"]["config"]: b["extra_info"] for b in data["benchmarks"]}
    assert set(extra) == {f"nfe{n}-fp32-compile_none-voc_{v}" for n in (2, 4) for v in ("torch", "onnxruntime")}
    for info in extra.values():
        assert info["rtf"]["median"] > 0 and set(info["stages_ms"]) >= {"ode", "vocoder", "total"}
        assert info["roofline"]["flops_per_step"] > 0
    assert all(b["stats"]["rounds"] == 2 for b in data["benchmarks"])
    # Plain params and a group per suite/model/device: pytest-benchmark's own tooling reads them.
    for b in data["benchmarks"]:
        assert (
            b["group"] == "t/tiny/cpu"
            and b["params"]["nfe"] in (2, 4)
            and b["params"]["vocoder"] in ("torch", "onnxruntime")
        )
    compared = subprocess.run(
        [
            str(Path(sys.executable).parent / "pytest-benchmark"),
            "compare",
            str(bench),
            "--group-by=param:nfe",
            "--columns=median,rounds",
        ],
        capture_output=True,
        text=True,
    )
    assert compared.returncode == 0, compared.stderr
    assert "nfe=2" in compared.stdout and "nfe=4" in compared.stdout and "UNSERIALIZABLE" not in bench.read_text()
    # One sweep driver: `tts-harness run` of the same suite writes the same results.json, measurements aside.
    cli = cli_in_process("run", str(suite), "--out", str(suite_dir / "cli"), "--no-progress", "--no-track")
    assert cli.returncode == 0, cli.stderr
    ours, theirs = (json.loads((suite_dir / d / "results.json").read_text()) for d in ("out", "cli"))
    assert ours.keys() == theirs.keys() and ours["status"] == theirs["status"] == "complete"
    assert ours["suite"] == theirs["suite"] and ours["platform"]["key"] == theirs["platform"]["key"]
    assert (
        ours["options"].keys() == theirs["options"].keys()
        and ours["sweep_cost_s"].keys() == theirs["sweep_cost_s"].keys()
    )
    records = [{r["id"]: r for r in side["records"]} for side in (ours, theirs)]
    assert records[0].keys() == records[1].keys()
    for run_id, record in records[0].items():
        other = records[1][run_id]
        assert record.keys() == other.keys() and record["config"] == other["config"] and "verdicts" not in record
        assert [r["text"] for r in record["runs"]] == [r["text"] for r in other["runs"]]


def test_command_line_narrows_the_matrix(suite_dir: Path, write_suite: Callable[..., Path]) -> None:
    suite = write_suite(nfe="[2, 4, 8]")
    result = run(suite_dir, "--suite", str(suite), "--nfe", "4", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["*test_config?nfe4-fp32-compile_none-voc_torch?*", "1 test collected*"])
    suite = write_suite(nfe="[2, 4, 8]", matrix='attention = ["auto", "math"]')
    result = run(suite_dir, "--suite", str(suite), "--nfe", "2", "--attention", "math", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["*test_config?nfe2-fp32-compile_none-voc_torch-attn_math?*", "1 test collected*"])
    # Measured: the math-only attention flags end with the session, not leaking into what follows.
    (suite_dir / "conftest.py").write_text(
        "import torch\n"
        "def pytest_unconfigure(config):\n"
        "    print('flash allowed after the session:', torch.backends.cuda.flash_sdp_enabled())\n"
    )
    result = run(suite_dir, "--suite", str(suite), "--nfe", "2", "--attention", "math", "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*flash allowed after the session: True*"])


def test_critical_threshold_fails_warning_warns(suite_dir: Path, write_suite: Callable[..., Path]) -> None:
    failing = write_suite(name="crit", extra="[thresholds]\nrtf = { warning = 0.0001, critical = 0.0002 }")
    result = run(suite_dir, "--suite", str(failing), "--tts-out", str(suite_dir / "o1"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*rtf * (95% CI *) is over the critical threshold 0.0002*"])
    warning = write_suite(name="warn", extra="[thresholds]\nrtf = { warning = 0.0001, critical = 100 }")
    # A fresh process: since the plugin is an installed pytest11 entry point, an in-process inner
    # session after another one no longer counted the ThresholdWarning it printed (not understood yet).
    result = run(suite_dir, "--suite", str(warning), "--tts-out", str(suite_dir / "o2"), fresh=True)
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(["WARNING nfe4-fp32-compile_none-voc_torch: rtf *warning threshold 0.0001*"])


def test_bad_suite_option_is_a_usage_error(suite_dir: Path, write_suite: Callable[..., Path]) -> None:
    result = run(suite_dir, "--suite", str(write_suite(precision='"fp9"')))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*tts-harness: *unknown precision 'fp9'*"])


@pytest.mark.parametrize("option", ["--benchmark-min-rounds=50", "--benchmark-max-time=5", "--benchmark-warmup=on"])
def test_benchmark_timing_options_the_suite_cannot_honour_are_refused(
    suite_dir: Path, write_suite: Callable[..., Path], option: str
) -> None:
    result = run(suite_dir, "--suite", str(write_suite()), option)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*tts-harness: {option.split('=')[0]} not used by suite tests*[timing]*"])


def test_benchmark_json_under_xdist_is_refused(suite_dir: Path, write_suite: Callable[..., Path]) -> None:
    bench = f"--benchmark-json={suite_dir / 'b.json'}"
    result = run(suite_dir, "--suite", str(write_suite()), "-n", "2", bench, "--collect-only", fresh=True)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--benchmark-json under pytest-xdist*writes no JSON*"])


def test_the_plugin_is_registered_by_its_entry_point_outside_this_checkout(tmp_path: Path) -> None:
    from importlib.metadata import entry_points

    (plugin,) = [e for e in entry_points(group="pytest11") if e.value == "harness.pytest_plugin"]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert plugin.name == "harness.pytest_plugin" and "--suite=SUITE" in proc.stdout  # no conftest here


def test_without_suite_the_suite_test_is_skipped(suite_dir: Path) -> None:
    run(
        suite_dir,
    ).assert_outcomes(skipped=1)


def test_two_xdist_workers_give_the_same_results_merged_into_one_report(
    suite_dir: Path, write_suite: Callable[..., Path]
) -> None:
    from harness.results import Results
    from harness.suite_file import load_suite
    from tests.conftest import TWO_BUILDS
    from tests.test_cli import cli_in_process

    suite = write_suite(nfe="[2, 3]", matrix=TWO_BUILDS)
    split = suite_dir / "split"
    result = run(suite_dir, "--suite", str(suite), "--tts-out", str(split), "-n", "2", fresh=True)
    result.assert_outcomes(passed=4)
    parts = sorted(p for p in split.iterdir() if p.name.startswith("gw"))
    assert [p.name for p in parts] == ["gw0", "gw1"]
    merged = suite_dir / "merged"
    proc = cli_in_process("report", *map(str, parts), "--out", str(merged))
    assert proc.returncode == 0, proc.stderr
    assert sorted(r.id for r in Results.load(merged).records) == sorted(r.id for r in load_suite(suite).runs)
    assert all(len(r.runs) == 2 for r in Results.load(merged).records)  # every round measured


def test_autosaved_runs_compare_with_pytest_benchmark(suite_dir: Path, write_suite: Callable[..., Path]) -> None:
    suite = write_suite(nfe="[2]")
    storage = suite_dir / "bench-storage"
    for _ in range(2):
        result = run(
            suite_dir,
            "--suite",
            str(suite),
            "--tts-out",
            str(suite_dir / "o"),
            "--benchmark-autosave",
            f"--benchmark-storage=file://{storage}",
        )
        result.assert_outcomes(passed=1)
    saved = sorted(storage.rglob("*.json"))
    assert len(saved) == 2
    assert json.loads(saved[0].read_text())["benchmarks"][0]["extra_info"]["rtf"]["median"] > 0
    cli = Path(sys.executable).parent / "pytest-benchmark"
    proc = subprocess.run([str(cli), "--storage", f"file://{storage}", "compare"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "test_config[nfe2-fp32-compile_none-voc_torch-tiny-random-cpu]" in proc.stdout and "0001" in proc.stdout
    # An RTF gate in pytest-benchmark's own terms: a round speaks the same audio each time, so a
    # median 5% slower is an RTF 5% higher (`--benchmark-compare-fail=median:5%`, docs/tracking.md).
    # Five times slower: a doubling once went unseen when the saved run was itself slowed by a
    # machine loaded three times over.
    result = run(
        suite_dir,
        "--suite",
        str(suite),
        "--tts-out",
        str(suite_dir / "o"),
        f"--benchmark-storage=file://{storage}",
        "--benchmark-compare=0001",
        "--benchmark-compare-fail=median:1%",
        "--inject-slowdown=4.0",
    )
    assert result.ret != 0 and "Performance has regressed" in result.stdout.str() + result.stderr.str()
