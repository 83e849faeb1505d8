"""`run --gpus`: build groups on worker processes, one per "GPU" at a time (``CUDA_VISIBLE_DEVICES``
names a GPU that a CPU suite never touches), driven by the same ``Sweep`` as Ray and the in-process default."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from harness.results import Results
from tests.conftest import TWO_BUILDS
from tests.test_cli import CLI_ENV, ROOT, assert_one_line_error, cli_in_process, interruptible


def test_gpus_measure_each_build_group_in_a_worker_into_one_results_file(
    write_suite: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_suite(nfe="[2]", matrix=TWO_BUILDS)  # two model builds: a worker on each "GPU"
    out = tmp_path / "out"
    proc = cli_in_process("run", str(path), "--gpus", "0,1", "--out", str(out), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    results = Results.load(out)
    assert results.status == "complete" and sorted(r.config["pos_conv"] for r in results.records) == ["conv", "gemm"]
    assert sorted(r.part["cuda_visible_devices"] for r in results.records) == ["0", "1"]  # one group each, at once
    assert all(r.part["executor"] == "gpus" for r in results.records)
    assert all((out / r.samples[0]).is_file() for r in results.records)  # audio beside the results
    assert results.options["cluster"] == {"backend": "gpus", "lost": [], "groups": 2}
    assert "GPU 1:" in proc.stderr and results.sweep_cost_s["parts"] == 2  # the workers' costs added up
    assert results.sweep_cost_s["timed_s"] > 0 and "2 parts or workers" in (out / "summary.md").read_text()
    assert sorted(p.name for p in (out / "workers").iterdir()) == ["1", "2"]  # each worker's log kept


def test_every_narrowing_option_reaches_the_workers_of_a_multi_gpu_sweep() -> None:
    from harness.cli import _passed_on, build_parser
    from harness.config import NARROWING

    parser = build_parser()
    given = {"nfe": "8,16", "precision": "fp16", "compile_mode": "reduce-overhead", "vocoder": "torch"}
    given |= {
        "device": "cuda",
        "attention": "auto",
        "pos_conv": "gemm",
        "quant": "none,int8-weight",
        "pipeline": "harness",
    }
    assert set(given) == set(NARROWING)  # a new filter joins this test
    options = [word for name, value in given.items() for word in (NARROWING[name][0], value)]
    passed = _passed_on(parser.parse_args(["run", "s.toml", "--gpus", "0,1", *options]))
    worker = parser.parse_args(["run", "s.toml", "--ids", "a", *passed])  # what each worker is started with
    assert {name: ",".join(map(str, getattr(worker, name))) for name in NARROWING} == given


def test_a_gpu_that_comes_free_takes_the_next_group_and_a_failing_group_is_recorded(
    write_suite: Callable[..., Path], tmp_path: Path
) -> None:
    # Three builds on two "GPUs": the third waits for the first GPU that comes free; bf16 fails at
    # once at NFE 16 (its time grid collapses) and is recorded while the sweep goes on.
    path = write_suite(nfe="[16]", precision='["amp-bf16", "bf16", "fp32"]', repeats=1)
    out = tmp_path / "out"
    proc = cli_in_process("run", str(path), "--gpus", "0,1", "--out", str(out), "--no-progress", "--no-audio")
    assert proc.returncode == 0, proc.stderr
    results = Results.load(out)
    assert results.status == "complete"
    statuses = {r.config["precision"]: r.status for r in results.records}
    assert statuses == {"amp-bf16": "ok", "bf16": "error", "fp32": "ok"}
    assert len({r.part["cuda_visible_devices"] for r in results.records}) == 2
    failed = next(r for r in results.records if r.status == "error")
    again = cli_in_process("run", str(path), "--gpus", "0,1", "--resume", str(out), "--retry-failed", "--no-progress")
    assert again.returncode == 0, again.stderr
    assert [p.name for p in (out / "workers").iterdir()] == ["1"]  # the failed group alone, measured again
    retried = {r.id: r for r in Results.load(out).records}[failed.id]
    assert retried.started_utc >= failed.finished_utc and len(Results.load(out).records) == 3


def test_a_worker_killed_by_a_signal_is_lost_and_its_group_measured_again(
    write_suite: Callable[..., Path], tmp_path: Path
) -> None:
    from harness.executors.local_gpus import LocalGpus
    from harness.suite_file import load_suite
    from harness.sweep import Sweep, SweepOptions

    path = write_suite(nfe="[1]", repeats=2)
    backend = LocalGpus(str(path), ["0"], tmp_path, ["--no-audio", "--no-telemetry"])
    start = backend._start

    def kill_the_first() -> None:  # the OOM killer, as the first worker starts
        start()
        first = backend.jobs[1].proc
        if first is not None and first.poll() is None:
            first.kill()

    backend._start = kill_the_first  # type: ignore[method-assign]
    results = Sweep(load_suite(path), backend, SweepOptions(tmp_path, progress=False)).run()
    (lost,) = results.options["cluster"]["lost"]
    assert lost["attempt"] == 1 and "signal SIGKILL" in lost["error"], lost
    assert results.status == "complete" and [r.status for r in results.records] == ["ok"]


def test_ctrl_c_on_a_multi_gpu_sweep_keeps_what_the_workers_saved_and_resume_completes_it(
    write_suite: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_suite(nfe="[2, 3]", matrix=TWO_BUILDS, repeats=6)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "harness", "run", str(path), "--gpus", "0,1", "--out", str(out), "--no-progress"]
    env = {**os.environ, **CLI_ENV}
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,
    )

    def saved_by_a_worker() -> bool:
        return any(json.loads(f.read_text())["records"] for f in (out / "workers").glob("*/out/results.json"))

    deadline = time.time() + 300
    while time.time() < deadline and not saved_by_a_worker():
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)  # to the driver alone: it passes the signal on to the workers
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130 and f"--gpus 0,1 --resume {out}" in stderr, stderr
    cut = Results.load(out)
    assert cut.status == "interrupted" and 1 <= len(cut.records) < 4  # a cut group's records kept too
    resumed = cli_in_process("run", str(path), "--gpus", "0,1", "--resume", str(out), "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    after = Results.load(out)
    assert after.status == "complete" and len(after.records) == 4
    kept = {r.id: r.finished_utc for r in cut.records}
    assert all(r.finished_utc == kept[r.id] for r in after.records if r.id in kept)  # not measured again
    # A resume pointed where nothing was saved (a wiped or mistyped folder) must not start afresh.
    gone = cli_in_process("run", str(path), "--gpus", "0,1", "--resume", str(tmp_path / "gone"))
    assert_one_line_error(gone, "no results.json in", "not a results directory")
