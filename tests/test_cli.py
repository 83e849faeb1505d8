"""The console script on real input: one-line errors, a complete run, resume after a kill."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.results import Results
from tests.conftest import FIDELITY_ONLY, quiet_sweep

ROOT = Path(__file__).resolve().parents[1]
CLI_ENV = {"HF_HUB_OFFLINE": "1", "TTS_HARNESS_NO_TRACK": "1"}  # offline, nothing sent to MLflow


def cli(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **CLI_ENV, **(env or {})},
    )


def cli_in_process(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """What ``cli`` returns, from the console script's ``main`` run in this process: the same parsing,
    output, log lines and exit code without a new interpreter (whose imports took 7 s of an 11 s tiny
    sweep on this idle machine, more under load). Tests of what a process does (signals, a fresh
    Inductor cache, environment read at import) start one with ``cli``."""
    from contextlib import redirect_stderr, redirect_stdout
    from io import StringIO
    from unittest import mock

    import harness.cli

    out, err = StringIO(), StringIO()
    log = logging.StreamHandler(err)
    log.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    environ = {**CLI_ENV, **(env or {})}
    with (
        mock.patch.dict(os.environ, environ),
        mock.patch.object(harness.cli, "_STARTED", time.perf_counter()),  # as a fresh process would
        redirect_stdout(out),
        redirect_stderr(err),
    ):
        root.addHandler(log)
        try:
            code = harness.cli.main(list(args))
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code if isinstance(exc.code, int) else 2
        finally:
            root.handlers[:], root.level = handlers, level
    return subprocess.CompletedProcess(["tts-harness", *args], code, out.getvalue(), err.getvalue())


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.startswith("tts-harness: error:")]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0]


@pytest.mark.parametrize(
    ("overrides", "needles"),
    [
        ({"precision": '"fp12"'}, ["unknown precision 'fp12'"]),
        ({"vocoder": '"vocos"'}, ["unknown vocoder backend 'vocos'"]),
        ({"nfe": "[0]"}, ["NFE must be an integer 1-1000"]),
        ({"text": ""}, ["is empty"]),
        ({"extra": "[timming]\nwarmup = 1"}, ["unknown key 'timming'", "did you mean 'timing'"]),
        ({"reference": "/no/such/file.wav"}, ["reference audio not found: /no/such/file.wav"]),
        ({"weights": "path:/no/such/checkpoint.safetensors"}, ["checkpoint path does not exist"]),
    ],
)
def test_bad_suite_input_is_one_line(
    write_suite: Callable[..., Path], overrides: dict[str, str], needles: list[str]
) -> None:
    path = write_suite(**overrides)
    assert_one_line_error(cli_in_process("run", str(path), "--out", str(path.parent / "out")), *needles)


def test_non_audio_reference_is_one_line(write_suite: Callable[..., Path], tmp_path: Path) -> None:
    bogus = tmp_path / "notes.wav"
    bogus.write_text("this is text")
    path = write_suite(reference=str(bogus))
    assert_one_line_error(cli_in_process("run", str(path), "--out", str(tmp_path / "o")), "not a readable audio file")


def test_cuda_on_a_machine_without_one_is_one_line(write_suite: Callable[..., Path], tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    path = write_suite()
    path.write_text(path.read_text().replace('device = "cpu"', 'device = "cuda:0"'))
    assert_one_line_error(cli_in_process("run", str(path), "--out", str(tmp_path / "o")), "no CUDA device")


def test_hf_weights_without_cache_say_how_to_get_them(write_suite: Callable[..., Path], tmp_path: Path) -> None:
    path = write_suite(weights="hf")
    path.write_text(path.read_text().replace('model = "tiny"', 'model = "f5tts_v1_base"'))
    # A fresh process: huggingface_hub reads HF_HOME when it is imported.
    proc = cli("run", str(path), "--out", str(tmp_path / "o"), env={"HF_HOME": str(tmp_path / "hf")})
    assert_one_line_error(proc, "no cached checkpoint", "huggingface-cli download", "path:<dir>")


def test_missing_suite_is_one_line(tmp_path: Path) -> None:
    assert_one_line_error(cli("run", str(tmp_path / "absent.toml")), "suite file not found")


def test_run_writes_results_and_summary(write_suite: Callable[..., Path], tmp_path: Path) -> None:
    path = write_suite(nfe="[2, 4]")
    out = tmp_path / "out"
    proc = cli_in_process("run", str(path), "--out", str(out), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert "| nfe2-fp32-compile_none-voc_torch |" in proc.stdout
    results = Results.load(out)
    assert results.status == "complete"
    assert [r.id for r in sorted(results.records, key=lambda r: r.config["nfe"])] == [
        "nfe2-fp32-compile_none-voc_torch",
        "nfe4-fp32-compile_none-voc_torch",
    ]
    for record in results.records:
        assert record.status == "ok" and record.weights_kind == "random"
        assert len(record.runs) == 2 and all(r.rtf > 0 for r in record.runs)
        assert record.warmup_runs == 0  # the suite asks for none
        assert record.rtf is not None and record.rtf["ci_low"] <= record.rtf["median"] <= record.rtf["ci_high"]
        assert record.first_call_s and record.first_call_s > 0
        assert (out / record.samples[0]).stat().st_size > 1000
    assert results.sweep_cost_s["model_builds"] == 1
    assert (out / "summary.md").read_text().startswith("# t:")


def test_failing_configuration_is_a_result_and_the_sweep_goes_on(
    write_suite: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_suite(
        vocoder='["torch", "onnxruntime"]', extra='[vocoder_options.onnxruntime]\nmodel = "/no/such.onnx"'
    )
    out = tmp_path / "out"
    proc = cli_in_process("run", str(path), "--out", str(out), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    records = {r.id: r for r in Results.load(out).records}
    assert records["nfe4-fp32-compile_none-voc_torch"].status == "ok"
    failed = records["nfe4-fp32-compile_none-voc_onnxruntime"]
    assert failed.status == "error" and "/no/such.onnx" in failed.error["message"]  # type: ignore[index]
    assert "| error |" in (out / "summary.md").read_text()
    assert cli_in_process("run", str(path), "--out", str(out), "--no-progress", "--strict").returncode == 1


def interruptible() -> None:
    """Ctrl-C as at a terminal, even where the tests inherit SIGINT ignored (a background job of a
    shell without job control): Python then installs no KeyboardInterrupt handler."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_until_first_record(suite: Path, out: Path, *extra: str) -> subprocess.Popen[str]:
    """Start a sweep and return once its first configuration is on disk."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "run", str(suite), "--out", str(out), "--no-progress", *extra],
        cwd=ROOT,
        env={**os.environ, **CLI_ENV},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,
    )
    deadline = time.time() + 300
    while time.time() < deadline:
        if (out / "results.json").exists() and json.loads((out / "results.json").read_text())["records"]:
            break
        time.sleep(0.2)
    return proc


def test_killed_sweep_resumes_where_it_stopped(write_suite: Callable[..., Path], tmp_path: Path) -> None:
    path = write_suite(nfe="[2, 3, 4]", repeats=3)
    out = tmp_path / "out"
    proc = run_until_first_record(path, out)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    partial = Results.load(out)
    assert partial.status == "running" and 1 <= len(partial.records) < 3
    first = {r.id: r.finished_utc for r in partial.records}
    resumed = cli_in_process("run", str(path), "--resume", str(out), "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    final = Results.load(out)
    assert final.status == "complete" and len(final.records) == 3
    assert all(final.record(i).finished_utc == t for i, t in first.items())  # type: ignore[union-attr]
    cost = final.sweep_cost_s  # the killed process's part, kept after each configuration, plus the resumed one
    assert cost["processes"] == 2 and cost["model_builds"] == 2
    assert cost["timed_s"] > partial.sweep_cost_s["timed_s"] > 0


def test_time_budget_sizes_the_timed_rounds(write_suite: Callable[..., Path], tmp_path: Path) -> None:
    path = write_suite(nfe="[2]", warmup=1, repeats=2, timing="min_time_s = 4.0\nmax_repeats = 40")
    out = tmp_path / "out"
    assert cli_in_process("run", str(path), "--out", str(out), "--no-progress").returncode == 0
    results = Results.load(out)
    runs = results.records[0].runs
    assert results.records[0].warmup_runs == 1
    assert 2 < len(runs) <= 40  # more rounds than repeats: a round takes 0.4-1 s here, even under load
    assert sum(r.total_s for r in runs) > 1.0
    cost = results.sweep_cost_s
    assert cost["timed_s"] >= sum(r.total_s for r in runs)  # the timed region holds every timed call
    assert cost["startup_s"] > 0 and cost["timed_s"] + cost["warmup_s"] + cost["first_call_s"] < cost["wall_s"]


def test_corrupt_results_dir_is_one_line(tmp_path: Path, write_suite: Callable[..., Path]) -> None:
    (tmp_path / "results.json").write_text("{ half")
    assert_one_line_error(cli_in_process("run", str(write_suite()), "--resume", str(tmp_path)), "not valid JSON")


def test_stock_row_and_knobs_run(write_suite: Callable[..., Path], tmp_path: Path) -> None:
    path = write_suite(nfe="[4]", matrix='pipeline = ["harness", "stock"]')
    out = tmp_path / "out"
    assert cli_in_process("run", str(path), "--out", str(out), "--no-progress").returncode == 0
    records = {r.id: r for r in Results.load(out).records}
    stock = records["nfe4-fp32-compile_none-voc_torch-stock"]
    assert stock.status == "ok" and stock.rtf and "stock_total" in stock.stages_ms
    knobs = write_suite(name="knobs", nfe="[4]", precision='"bf16"', matrix="ode_fp32 = true\nframe_bucket = 64")
    assert cli_in_process("run", str(knobs), "--out", str(tmp_path / "k"), "--no-progress").returncode == 0
    record = Results.load(tmp_path / "k").records[0]
    assert record.id == "nfe4-bf16-compile_none-voc_torch-odefp32-bucket64" and record.status == "ok"


def test_ctrl_c_keeps_finished_work_and_says_how_to_resume(write_suite: Callable[..., Path], tmp_path: Path) -> None:
    path = write_suite(nfe="[2, 3, 4, 5]", repeats=3)
    out = tmp_path / "out"
    proc = run_until_first_record(path, out, "--nfe", "2,3,4", "--no-track")
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130
    # the hint carries the narrowing and the tracking choice; the resume reuses the recorded plan
    assert f"--resume {out} --nfe 2,3,4 --no-track`" in stderr and "Traceback" not in stderr
    partial = Results.load(out)
    assert partial.status == "interrupted" and 1 <= len(partial.records) < 3
    assert partial.options["plan"] == {"nfe": [2, 3, 4]}
    resumed = cli_in_process("run", str(path), "--resume", str(out), "--no-progress", "--no-track")
    assert resumed.returncode == 0, resumed.stderr
    assert sorted(r.config["nfe"] for r in Results.load(out).records) == [2, 3, 4]  # not NFE 5: not planned
    other = cli_in_process("run", str(path), "--resume", str(out), "--nfe", "5")
    assert_one_line_error(other, "planned with --nfe 2,3,4")


def test_quality_reference_is_the_plain_configuration_and_reuses_the_loaded_model(
    write_suite: Callable[..., Path], tmp_path: Path
) -> None:
    from harness.suite_file import load_suite

    path = write_suite(nfe="[4]", matrix='pipeline = ["harness", "stock"]', extra=FIDELITY_ONLY)
    sweep = quiet_sweep(load_suite(path), tmp_path)
    records = {r.id: r for r in sweep.run().records}
    measurer = sweep.backend.measurer
    assert measurer.cache.builds == 1 and measurer.references.cache.builds == 0  # no second fp32 model
    assert records["nfe4-fp32-compile_none-voc_torch"].quality["fidelity"]["mcd_db"] == 0.0  # its own reference
    stock = records["nfe4-fp32-compile_none-voc_torch-stock"].quality["fidelity"]
    assert stock["mcd_db"] > 0  # measured against the harness render, not against another stock render


def _sweep_watching(
    write_suite: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    axis: str,
    probe: Callable[[], object],
    compile_mode: str = "none",
) -> tuple[Any, dict[str, Any], dict[str, set[object]]]:
    """A tiny NFE-2 sweep with one more matrix line (``axis``), fidelity on; returns the sweep, its
    records by id and, by configuration id, what ``probe`` read at each synthesis call."""
    from harness.suite_file import load_suite

    path = write_suite(nfe="[2]", compile=f'"{compile_mode}"', matrix=axis, extra=FIDELITY_ONLY)
    sweep = quiet_sweep(load_suite(path), tmp_path)
    seen: dict[str, set[object]] = {}
    real_call = sweep.backend.measurer.call

    def watching(synth: object, run: object, *args: object) -> object:
        seen.setdefault(run.id, set()).add(probe())  # type: ignore[attr-defined]
        return real_call(synth, run, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(sweep.backend.measurer, "call", watching)
    return sweep, {r.id: r for r in sweep.run().records}, seen


def test_attention_backend_is_a_knob_set_for_each_configuration(
    write_suite: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    cuda = torch.backends.cuda
    default = cuda.flash_sdp_enabled()
    sweep, records, seen = _sweep_watching(
        write_suite,
        tmp_path,
        monkeypatch,
        'attention = ["auto", "math"]',
        lambda: (cuda.flash_sdp_enabled(), cuda.math_sdp_enabled()),
    )
    assert seen == {
        "nfe2-fp32-compile_none-voc_torch": {(default, True)},
        "nfe2-fp32-compile_none-voc_torch-attn_math": {(False, True)},  # the math kernel alone
    }
    assert sweep.backend.measurer.cache.builds == 2 and all(r.status == "ok" for r in records.values())
    # The math kernel computes the same attention: its render matches the reference closely.
    assert records["nfe2-fp32-compile_none-voc_torch-attn_math"].quality["fidelity"]["mcd_db"] < 0.5
    assert torch.backends.cuda.flash_sdp_enabled() == default  # the process's flags restored after the sweep
    proc = cli_in_process(
        "run", str(sweep.suite.path), "--out", str(tmp_path / "narrow"), "--no-progress", "--attention", "math"
    )
    assert proc.returncode == 0, proc.stderr
    assert [r.id for r in Results.load(tmp_path / "narrow").records] == ["nfe2-fp32-compile_none-voc_torch-attn_math"]


def test_a_reference_model_built_for_fidelity_is_let_go_once_its_renders_are_made(
    write_suite: Callable[..., Path], tmp_path: Path
) -> None:
    from harness.fidelity import reference_run
    from harness.suite_file import load_suite

    # GEMM position convolutions: fidelity is measured against the plain build (ordinary convolutions)
    suite = load_suite(write_suite(nfe="[2, 3]", matrix='pos_conv = "gemm"', extra=FIDELITY_ONLY))
    sweep = quiet_sweep(suite, tmp_path)
    records = sweep.run().records
    assert all("fidelity" in r.quality for r in records)
    references = sweep.backend.measurer.references
    assert references.cache.builds == 2  # built for each NFE's render, then dropped: not held under later rows
    assert not references.cache.holds(reference_run(sweep.suite.runs[0], sweep.suite))


def test_cudnn_benchmark_is_a_knob_set_for_each_configuration(
    write_suite: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    axis = "cudnn_benchmark = [false, true]"
    sweep, records, seen = _sweep_watching(
        write_suite, tmp_path, monkeypatch, axis, lambda: torch.backends.cudnn.benchmark
    )
    plain = next(r for r in sweep.suite.runs if not r.cudnn_benchmark)
    assert seen == {"nfe2-fp32-compile_none-voc_torch": {False}, "nfe2-fp32-compile_none-voc_torch-cudnnbench": {True}}
    assert sweep.backend.measurer.cache.builds == 2  # a build per setting: cuDNN's choice is part of a compiled model
    # Its fidelity reference is the plain configuration's render, already made: no third build.
    assert "fidelity" in records["nfe2-fp32-compile_none-voc_torch-cudnnbench"].quality
    assert {run_id for run_id, _ in sweep.backend.measurer.references.renders} == {plain.full_id}
    assert sweep.backend.measurer.references.cache.builds == 0
    assert torch.backends.cudnn.benchmark is False  # restored after the sweep


def test_compile_artifacts_carry_compiled_graphs_to_an_empty_inductor_cache(
    write_suite: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_suite(nfe="[2]", compile='"default"', repeats=1)
    artifacts = tmp_path / "artifacts"

    def sweep(name: str) -> tuple[Results, str]:
        env = {"TORCHINDUCTOR_CACHE_DIR": str(tmp_path / f"inductor-{name}")}  # empty each time
        args = ("--out", str(tmp_path / name), "--no-progress", "--no-audio", "--compile-artifacts", str(artifacts))
        proc = cli("run", str(path), *args, env=env)
        assert proc.returncode == 0, proc.stderr
        return Results.load(tmp_path / name), proc.stderr

    cold, _ = sweep("cold")
    assert cold.sweep_cost_s["fxgraph_cache_miss"] >= 1 and cold.sweep_cost_s["fxgraph_cache_hit"] == 0
    assert cold.options["compile_artifacts_saved"]["entries"] >= 1 and (artifacts / "sweep.bin.gz").stat().st_size > 0
    # A damaged file beside it is skipped with a warning: a cache costs a compile, never the sweep.
    (artifacts / "damaged.bin.gz").write_bytes(b"not gzip")
    warm, warnings = sweep("warm")
    assert "damaged.bin.gz not loaded" in warnings
    assert warm.options["process"]["inductor_cache_mib_at_start"] == 0.0
    assert warm.options["process"]["compile_artifacts_loaded"]["entries"] >= 1
    assert warm.options["process"]["compile_artifacts_loaded"]["unreadable"] == ["damaged.bin.gz"]
    assert warm.sweep_cost_s["fxgraph_cache_hit"] >= 1 and warm.sweep_cost_s["fxgraph_cache_miss"] == 0
    assert "compile artifacts loaded at the start: 1 file(s)" in (tmp_path / "warm" / "summary.md").read_text()


def test_profile_writes_a_trace_and_an_operator_table(write_suite: Callable[..., Path], tmp_path: Path) -> None:
    out = tmp_path / "prof"
    proc = cli_in_process("profile", str(write_suite(nfe="[2, 4]")), "--calls", "1", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "profiling the first of 2 configurations, nfe2-fp32-compile_none-voc_torch" in proc.stderr
    events = json.loads((out / "trace.json").read_text())["traceEvents"]
    assert any(e.get("name", "").startswith("aten::") for e in events)
    table = (out / "ops.txt").read_text()
    assert table.startswith("nfe2-fp32-compile_none-voc_torch: 1 call(s) profiled") and "aten::addmm" in table


def test_min_time_and_no_audio_options(write_suite: Callable[..., Path], tmp_path: Path) -> None:
    path = write_suite(nfe="[2]", warmup=1, repeats=2)
    assert (
        cli_in_process(
            "run", str(path), "--out", str(tmp_path), "--no-progress", "--min-time", "4", "--no-audio"
        ).returncode
        == 0
    )
    results = Results.load(tmp_path)
    assert results.records[0].samples == [] and not (tmp_path / "samples").exists()
    assert results.suite["timing"]["min_time_s"] == 4.0 and len(results.records[0].runs) > 2  # rounds of 0.4-1 s
    process = results.options["process"]
    assert Path(process["inductor_cache_dir"]).name and process["inductor_cache_mib_at_start"] >= 0
    assert process["device_init_s"] == 0.0  # a CPU suite starts no CUDA driver


def test_time_limit_leaves_a_compile_that_would_not_fit_to_the_resume(
    write_suite: Callable[..., Path], tmp_path: Path
) -> None:
    # Expected: eager 1 + 2 s, a cold default compile 30 s more: only the eager one fits in 25 s.
    path = write_suite(nfe="[2]", compile='["none", "default"]', timing="min_time_s = 1.0")
    out = tmp_path / "out"
    proc = cli_in_process("run", str(path), "--out", str(out), "--no-progress", "--no-audio", "--time-limit", "25")
    assert proc.returncode == 0, proc.stderr
    results = Results.load(out)
    assert results.status == "stopped"
    assert [r.id for r in results.records] == ["nfe2-fp32-compile_none-voc_torch"]
    assert "not measured yet (1" in (out / "summary.md").read_text()
    assert f"--resume {out}` completes the sweep" in proc.stderr
    assert cli_in_process("run", str(path), "--time-limit", "0").returncode == 2
    # Over two "GPUs" (one build each): each worker gets the time left, the driver says what is left.
    split = tmp_path / "split"
    proc = cli_in_process("run", str(path), "--gpus", "0,1", "--out", str(split), "--no-progress", "--time-limit", "25")
    assert proc.returncode == 0, proc.stderr
    cut = Results.load(split)
    assert [r.id for r in cut.records] == ["nfe2-fp32-compile_none-voc_torch"] and cut.status == "stopped"
    assert f"--gpus 0,1 --resume {split}` completes the sweep" in proc.stderr


def test_inductor_freezing_is_a_knob_set_for_each_configuration(
    write_suite: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch._inductor.config as inductor

    axis = "freezing = [false, true]"
    sweep, records, seen = _sweep_watching(
        write_suite, tmp_path, monkeypatch, axis, lambda: inductor.freezing, compile_mode="default"
    )
    frozen = "nfe2-fp32-compile_default-voc_torch-frozen"
    reference = "nfe2-fp32-compile_none-voc_torch"  # the fidelity reference, eager
    assert seen == {reference: {False}, "nfe2-fp32-compile_default-voc_torch": {False}, frozen: {True}}
    assert sweep.backend.measurer.cache.builds == 2 and all(r.status == "ok" for r in records.values())
    assert records[frozen].quality["fidelity"]["mcd_db"] < 0.5  # the same model, its weights as constants
    assert inductor.freezing is False  # restored after the sweep


def test_cpus_pins_the_sweep_and_records_where_it_ran(write_suite: Callable[..., Path], tmp_path: Path) -> None:
    """``--cpus`` (fresh processes of one code then share the host's speed): the process runs on the
    named core, its results say so, and its plan keeps it for a resume; a core it may not use is one line."""
    path = write_suite(nfe="[2]", repeats=1)
    bad = cli("run", str(path), "--out", str(tmp_path / "x"), "--cpus", "4096")
    assert bad.returncode == 2
    assert_one_line_error(bad, "--cpus 4096: this")
    both = cli_in_process("run", str(path), "--out", str(tmp_path / "x"), "--cpus", "0", "--gpus", "0,1")
    assert_one_line_error(both, "--cpus pins one process")
    assert not (tmp_path / "x").exists()
    core = sorted(os.sched_getaffinity(0))[-1]
    proc = cli("run", str(path), "--out", str(tmp_path / "o"), "--no-progress", "--no-audio", "--cpus", str(core))
    assert proc.returncode == 0, proc.stderr
    results = Results.load(tmp_path / "o")
    assert results.options["process"]["cpu_affinity"] == str(core)
    assert results.options["process"]["cpu_affinity_count"] == 1 and results.options["plan"]["cpus"] == [core]
    from harness.platform.process import _ranges

    assert _ranges([0, 1, 2, 3, 8, 10, 11]) == "0-3,8,10-11" and _ranges([0, 2]) == "0,2"  # as taskset writes them
