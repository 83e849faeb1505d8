"""Measuring in the driver's process (harness/executors/in_process.py): time-limit estimates that
follow the compiles seen, and a lost CUDA context."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REFERENCE, REFERENCE_TEXT, quiet_sweep


def test_time_limit_estimates_follow_the_compiles_this_process_has_seen(
    write_suite: Callable[..., Path], tmp_path: Path
) -> None:
    from dataclasses import replace

    from harness.suite_file import load_suite

    suite = load_suite(write_suite(nfe="[2]", timing="min_time_s = 10.0"))
    sweep = quiet_sweep(suite, tmp_path)
    autotuned = replace(suite.runs[0], compile_mode="max-autotune")
    assert sweep.backend.expected_s(autotuned) == 340.0 + 12.0  # cold estimate plus min_time and 2 s
    in_process = sweep.backend
    in_process.observe_compile(replace(autotuned, compile_mode="default"), 6.0)  # a warm cache: 6 s, 30 s expected
    assert sweep.backend.expected_s(autotuned) == pytest.approx(340.0 * 0.2 + 12.0)
    # One slow compile: estimates stay on the safe side.
    sweep.backend.observe_compile(replace(autotuned, compile_mode="reduce-overhead"), 45.0)
    assert sweep.backend.expected_s(autotuned) == pytest.approx(340.0 * 1.5 + 12.0)
    assert sweep.backend.expected_s(suite.runs[0]) == 12.0  # eager: nothing to compile
    # Texts of three lengths: a compiled model compiles once per shape.
    extra = "\n".join(
        f'[[texts]]\nid = "x{i}"\nreference_audio = "{REFERENCE}"\nreference_text = "{REFERENCE_TEXT}"\n'
        f'text = "Another sentence."\nduration_s = {i}.0'
        for i in (1, 2)
    )
    three = quiet_sweep(
        load_suite(write_suite(name="lengths", nfe="[2]", timing="min_time_s = 10.0", extra=extra)), tmp_path
    )
    assert three.backend.expected_s(autotuned) == 3 * 340.0 + 12.0
    three.backend.observe_compile(replace(autotuned, compile_mode="default"), 18.0)  # three lengths' first calls, warm
    assert three.backend.expected_s(autotuned) == pytest.approx(3 * 340.0 * 0.2 + 12.0)


def test_a_lost_cuda_context_stops_the_process_and_a_resume_measures_the_rest(
    write_suite: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an illegal memory access every later call of the process fails: the sweep stops there
    instead of recording each remaining configuration as that same error."""
    from harness.suite_file import load_suite

    suite = load_suite(write_suite(nfe="[2, 3, 4]"))
    sweep = quiet_sweep(suite, tmp_path)
    real_call = sweep.backend.measurer.call

    def failing(synth: object, run: object, *args: object) -> object:
        if run.nfe == 3:  # type: ignore[attr-defined]
            raise RuntimeError("CUDA error: an illegal memory access was encountered")
        return real_call(synth, run, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(sweep.backend.measurer, "call", failing)
    results = sweep.run()
    assert [(r.config["nfe"], r.status) for r in results.records] == [(2, "ok"), (3, "error")]
    assert results.status == "stopped"
    assert results.options["stop_reason"] == "CUDA context lost at nfe3-fp32-compile_none-voc_torch"
    assert sorted(results.suite["planned"]) == sorted(r.id for r in suite.runs)  # NFE 4 still owed

    resumed = quiet_sweep(suite, tmp_path, resume=True).run()
    assert [(r.config["nfe"], r.status) for r in resumed.records] == [(2, "ok"), (3, "error"), (4, "ok")]
    assert resumed.status == "complete" and "stop_reason" not in resumed.options
