"""The roofline: FLOPs per step counted on the real architecture, peaks per card, floors."""

from __future__ import annotations

import math

import pytest

from harness.config import RooflineConfig
from harness.errors import ConfigError
from harness.pipeline.flops import StepShape, step_cost
from harness.platform.peaks import compute_format, peak_for
from harness.roofline import roofline


def _analytic_flops(model: str, vocab: int, batch: int, frames: int, cfg: bool) -> float:
    """2 x (per-frame linear weights) x tokens plus attention's two matmuls (4 n^2 d per layer and
    sequence), from the module shapes: what the counter must agree with."""
    from f5_tts.model import DiT
    from torch._subclasses.fake_tensor import FakeTensorMode

    from harness.pipeline.presets import get_preset
    from harness.pipeline.quant import per_frame_linear

    preset = get_preset(model)
    with FakeTensorMode():
        dit = DiT(**preset.dit, text_num_embeds=vocab, mel_dim=100)
    sequences = batch * (2 if cfg else 1)
    weights = sum(m.weight.numel() for n, m in dit.named_modules() if per_frame_linear(m, n))
    dim, depth = preset.dit["dim"], preset.dit["depth"]
    return 2 * weights * sequences * frames + depth * 4 * frames * frames * dim * sequences


@pytest.mark.parametrize("model", ["tiny", "f5tts_v1_base"])
def test_flops_per_step_match_the_architecture(model: str) -> None:
    """At the perf suite's shape (5 s reference + 10 s generated, CFG): the counted FLOPs are the
    per-frame matmuls and attention, within the small rest (convolutions, text and time embeddings)."""
    cost = step_cost(model, 2545, 1, 1845, 120, True)
    expected = _analytic_flops(model, 2545, 1, 1845, True)
    assert expected < cost.flops < 1.05 * expected
    if model == "f5tts_v1_base":
        assert cost.flops == pytest.approx(2.04e12, rel=0.01)
        assert cost.parameters == pytest.approx(337.1e6, rel=0.001)


def test_flops_scale_with_batch_guidance_and_length() -> None:
    one = step_cost("tiny", 30, 1, 400, 40, True).flops
    assert step_cost("tiny", 30, 2, 400, 40, True).flops == pytest.approx(2 * one, rel=0.01)
    assert step_cost("tiny", 30, 1, 400, 40, False).flops == pytest.approx(one / 2, rel=0.02)
    assert step_cost("tiny", 30, 1, 800, 40, True).flops > 2 * one  # attention grows with the square


def test_peaks_are_found_by_device_name_and_format() -> None:
    assert peak_for("NVIDIA H200").card == "H200"  # type: ignore[union-attr]
    assert peak_for("NVIDIA H100 80GB HBM3").tflops["fp16"] == pytest.approx(989.4)  # type: ignore[union-attr]
    assert peak_for("NVIDIA Jetson AGX Orin Developer Kit").tflops["fp16"] == pytest.approx(42.6)  # type: ignore[union-attr]
    assert peak_for("NVIDIA Jetson Orin Nano Developer Kit").card == "Jetson Orin Nano 8GB"  # type: ignore[union-attr]
    assert peak_for("NVIDIA L40S") is None and peak_for("NVIDIA L4").card == "L4"  # type: ignore[union-attr]
    assert "fp8" not in peak_for("NVIDIA A100-SXM4-80GB").tflops  # type: ignore[union-attr]
    assert peak_for("cpu:AMD EPYC") is None
    assert compute_format("fp16", "none", "highest") == "fp16"
    assert compute_format("amp-bf16", "none", "highest") == "bf16"
    assert compute_format("fp32", "none", "high") == "tf32" and compute_format("fp32", "none", "highest") == "fp32"
    assert compute_format("fp16", "int8-dynamic", "highest") == "int8"
    assert compute_format("fp16", "int8-weight", "highest") == "fp16"  # int8 weights, fp16 matmuls


def _figures(card: str, override: RooflineConfig, ode_s: float = 0.02) -> dict[str, object]:
    shape = StepShape(1, 1845, 120, True)
    return roofline(
        model="f5tts_v1_base",
        vocab_size=2545,
        calls=[(shape, ode_s, 10.0)],
        nfe=8,
        precision="fp16",
        quant="none",
        matmul_precision="highest",
        card_name=card,
        override=override,
        rtf=0.005,
    )


def test_a_row_on_a_known_card_states_its_fraction_of_peak_and_floor() -> None:
    f = _figures("NVIDIA H200", RooflineConfig())
    flops = 8 * f["flops_per_step"]  # type: ignore[operator]
    assert f["achieved_tflops"] == pytest.approx(flops / 0.02 / 1e12)
    assert f["fraction_of_peak"] == pytest.approx(f["achieved_tflops"] / 989.4)  # type: ignore[operator]
    assert f["bound"] == "compute" and f["rtf_floor"] == pytest.approx(flops / 989.4e12 / 10.0)
    assert f["times_floor"] == pytest.approx(0.005 / f["rtf_floor"])  # type: ignore[operator]
    assert 0 < f["memory_floor_s"] < f["compute_floor_s"]  # type: ignore[operator]


def test_a_suite_can_give_the_ceilings_of_a_card_the_table_lacks() -> None:
    unknown = _figures("cpu:AMD EPYC", RooflineConfig())
    assert "rtf_floor" not in unknown and str(unknown["bound"]).startswith("unknown: no peak")
    given = _figures("cpu:AMD EPYC", RooflineConfig(card="this CPU", tflops={"fp16": 2.0}, bandwidth_gbs=50.0))
    assert given["card"] == "this CPU" and given["peak_tflops"] == 2.0 and given["source"] == "suite [roofline]"
    # a low bandwidth makes the weights' bytes the limit
    slow = _figures("NVIDIA H200", RooflineConfig(bandwidth_gbs=0.05))
    assert slow["bound"] == "memory" and math.isclose(slow["rtf_floor"], slow["memory_floor_s"] / 10.0)  # type: ignore[operator, arg-type]
    with pytest.raises(ConfigError, match="positive"):
        RooflineConfig(tflops=-1.0)
