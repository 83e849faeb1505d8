"""Quantized DiT linears (torchao) and the non-finite gate, on the real tiny pipeline."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from harness.errors import BackendUnavailable, NonFiniteOutput
from harness.gates import load_judged
from harness.measure import MeasureOptions, Measurer
from harness.pipeline.quant import check_quant_device, quantizable_linear, quantize_dit, torchao_config
from harness.pipeline.synth import Synthesis
from harness.platform.process import apply_process_settings
from harness.suite_file import load_suite
from tests.conftest import FIDELITY_ONLY, quiet_sweep
from tests.test_cli import assert_one_line_error, cli_in_process

QUANT_AXIS = 'quant = ["none", "int8-weight", "int8-dynamic", "fp8"]'
FIDELITY = f"{FIDELITY_ONLY}\n[thresholds]\nmin_quant_speedup = 100.0"


@pytest.mark.slow
def test_quantized_rows_run_beside_their_twin_and_fp8_is_a_one_line_result(
    write_suite: Callable[..., Path], tmp_path: Path
) -> None:
    """int8 runs on the CPU through torchao's fallback, measurably not the same numbers as the fp32
    twin; fp8 is refused on the CPU as that configuration's result; the sweep goes on. A speed-up
    threshold nobody meets fails every quantized row with its measured speed-up."""
    path = write_suite(nfe="[2]", matrix=QUANT_AXIS, extra=FIDELITY)
    quiet_sweep(load_suite(path), tmp_path).run()
    assert all("verdicts" not in r for r in json.loads((tmp_path / "results.json").read_text())["records"])
    results = load_judged(tmp_path)  # verdicts are computed when results are read, never stored
    records = {r.config["quant"]: r for r in results.records}
    assert results.status == "complete" and len(records) == 4
    assert records["fp8"].status == "error" and records["fp8"].error["type"] == "BackendUnavailable"  # type: ignore[index]
    assert "needs a CUDA GPU of compute capability >= 8.9" in records["fp8"].error["message"]  # type: ignore[index]
    for quant in ("int8-weight", "int8-dynamic"):
        row = records[quant]
        assert row.status == "ok" and row.rtf is not None
        assert 0 < row.quality["fidelity"]["mcd_db"] < 2.0  # other numbers than fp32, close to them
        assert row.verdicts["quant_speedup"]["level"] == "critical"
        assert row.roofline["weight_bytes_per_step"] < records["none"].roofline["weight_bytes_per_step"]
    assert records["int8-dynamic"].roofline["format"] == "int8"
    assert records["none"].quality["fidelity"]["mcd_db"] == 0.0  # the twin is its own reference


def test_an_unknown_quantization_is_one_line(write_suite: Callable[..., Path], tmp_path: Path) -> None:
    path = write_suite(matrix='quant = "int4"')
    assert_one_line_error(cli_in_process("run", str(path), "--out", str(tmp_path / "o")), "unknown quant 'int4'")


def test_quantization_without_torchao_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setitem(sys.modules, "torchao.quantization", None)  # as if torchao were not installed
    with pytest.raises(BackendUnavailable, match=r"needs torchao .*tts-harness\[quant\]"):
        quantize_dit(torch.nn.Linear(4, 4), "int8-weight", torch.device("cpu"))


def test_non_finite_output_is_named_and_fails_the_configuration(
    write_suite: Callable[..., Path], tmp_path: Path
) -> None:
    finite = Synthesis(np.zeros((1, 8), np.float32), 24000, 1.0, 0.1, {}, "perf_counter")
    finite.check_finite()
    broken = Synthesis(np.array([[0.0, np.nan]], np.float32), 24000, 1.0, 0.1, {}, "perf_counter")
    with pytest.raises(NonFiniteOutput, match="non-finite output: NaN or Inf in the waveform"):
        broken.check_finite()
    # The real model with one weight broken: the configuration is an error, not a timing.
    suite = load_suite(write_suite(nfe="[2]"))
    apply_process_settings(suite)
    measurer = Measurer(suite, MeasureOptions(out_dir=tmp_path, save_audio=False, telemetry=False))
    model = measurer.cache.model(suite.runs[0])
    model.cfm.transformer.proj_out.weight.data.fill_(float("inf"))
    record = measurer.measure(suite.runs[0])
    assert record.status == "error" and record.error["type"] == "NonFiniteOutput"  # type: ignore[index]
    assert record.error["message"].startswith("non-finite output: NaN or Inf in the mel")  # type: ignore[index]
    assert not record.runs  # failed at the first call, before anything was timed


def test_fp8_on_a_card_without_it_is_a_one_line_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CUDA card here: the check reads the card's compute capability, stood in for by a Jetson
    Orin's (8.7) and an H100's (9.0)."""
    import torch

    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Orin")
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (8, 7))
    with pytest.raises(BackendUnavailable, match=r"^quant 'fp8' needs compute capability >= 8.9; Orin is 8.7$"):
        check_quant_device("fp8", torch.device("cuda:0"))
    check_quant_device("int8-dynamic", torch.device("cuda:0"))  # int8 needs no such capability
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (9, 0))
    check_quant_device("fp8", torch.device("cuda:0"))


def test_torchao_is_in_the_fingerprint() -> None:
    from harness.platform.software import versions

    assert versions()["torchao"]


def test_the_full_size_dit_quantizes_its_block_linears_and_leaves_odd_shapes_alone() -> None:
    """On F5TTS_v1_Base's real shapes (built on the meta device): every block's attention and
    feed-forward linear is chosen; the 1024 -> 100 output projection, whose shape int8's ``_int_mm``
    refused on an H200 ("a multiple of 8, but got 100"), and the 712-wide input projection are not."""
    import torch

    from harness.pipeline import f5
    from harness.pipeline.presets import get_preset

    preset = get_preset("f5tts_v1_base")
    _, dit_class = f5.model_classes()
    with torch.device("meta"):
        dit = dit_class(**preset.dit, text_num_embeds=2546, mel_dim=preset.mel["n_mel_channels"])
    chosen = {name for name, module in dit.named_modules() if quantizable_linear(module, name)}
    assert "proj_out" not in chosen and "input_embed.proj" not in chosen
    per_block = {name.split(".", 2)[2] for name in chosen}
    assert per_block == {"attn.to_q", "attn.to_k", "attn.to_v", "attn.to_out.0", "ff.ff.0.0", "ff.ff.2"}
    assert len(chosen) == 6 * preset.dit["depth"]


def test_fp8_scales_per_row_in_bf16_and_per_tensor_in_fp16() -> None:
    """torchao's rowwise fp8 takes bf16 weights only ("PerRow quantization only works for bfloat16
    precision input weight", the fp16 fp8 row's error on an H200): fp16 rows scale per tensor."""
    import torch
    from torchao.quantization import PerRow, PerTensor

    assert all(isinstance(g, PerRow) for g in torchao_config("fp8", torch.bfloat16).granularity)
    assert all(isinstance(g, PerTensor) for g in torchao_config("fp8", torch.float16).granularity)


def test_quantizing_a_row_leaves_the_inductor_settings_of_the_rows_after_it() -> None:
    """torchao's default turns on coordinate-descent tuning process-wide; the harness declines it."""
    import torch
    from torch._inductor import config as inductor

    before = (inductor.coordinate_descent_tuning, inductor.coordinate_descent_check_all_directions)
    for quant in ("int8-weight", "int8-dynamic"):
        block = torch.nn.Module()
        block.add_module("ff", torch.nn.Sequential(torch.nn.Linear(32, 32)))
        dit = torch.nn.Module()
        dit.add_module("transformer_blocks", torch.nn.ModuleList([block]))
        assert quantize_dit(dit, quant, torch.device("cpu")) == 1
        assert (inductor.coordinate_descent_tuning, inductor.coordinate_descent_check_all_directions) == before
