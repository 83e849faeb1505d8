"""Quantized DiT linears through torchao: the ``quant`` axis of the matrix.

Applied after the build and before ``torch.compile``, to the linears that run once per frame: the
blocks' attention projections and feed-forwards, and the input and output projections where their
shapes allow. The per-sample ones (time embedding, AdaLN modulation: two rows under CFG) stay in the
model's precision: int8 matmul kernels refuse so few rows ("self.size(0) needs to be greater than
16"). So do features that are not multiples of 16 (F5TTS_v1_Base's output projection to 100 mel
channels, its input projection from 712): ``_int_mm`` needs multiples of 8, ``_scaled_mm`` (fp8) 16.
"""

from __future__ import annotations

from typing import Any

from harness.errors import BackendUnavailable

QUANTS = ("none", "int8-weight", "int8-dynamic", "fp8")
FP8_MIN_CAPABILITY = (8, 9)  # Ada and Hopper; a Jetson Orin is 8.7


def per_frame_linear(module: Any, name: str) -> bool:
    """The DiT's linears that run on every frame."""
    from torch import nn

    if not isinstance(module, nn.Linear):
        return False
    in_block = name.startswith("transformer_blocks.") and (".attn.to_" in name or ".ff." in name)
    return in_block or name in ("input_embed.proj", "proj_out")


def quantizable_linear(module: Any, name: str) -> bool:
    """torchao's filter: a per-frame linear in a shape the int8 and fp8 kernels take."""
    return per_frame_linear(module, name) and not (module.in_features % 16 or module.out_features % 16)


def torchao_config(quant: str, dtype: Any) -> Any:
    """torchao's config; fp8 scales per row in bf16, per tensor otherwise (torchao's rowwise needs bf16).

    ``set_inductor_config=False``: by default torchao turns on Inductor's coordinate-descent tuning
    for the whole process, so every later row of a sweep, the unquantized twin included, compiled
    with other settings (on an H200 the twin's first call took 358 s instead of 26 s).
    """
    import torch

    try:
        from torchao.quantization import (
            Float8DynamicActivationFloat8WeightConfig,
            Int8DynamicActivationInt8WeightConfig,
            Int8WeightOnlyConfig,
            PerRow,
            PerTensor,
        )
    except ImportError as exc:
        raise BackendUnavailable(f"quant {quant!r} needs torchao ({exc}): pip install 'tts-harness[quant]'") from None
    if quant == "int8-weight":
        return Int8WeightOnlyConfig(set_inductor_config=False)
    if quant == "int8-dynamic":
        return Int8DynamicActivationInt8WeightConfig(set_inductor_config=False)
    granularity = PerRow() if dtype == torch.bfloat16 else PerTensor()
    return Float8DynamicActivationFloat8WeightConfig(granularity=granularity, set_inductor_config=False)


def check_quant_device(quant: str, device: Any) -> None:
    """fp8 only where the card has it; a one-line refusal elsewhere (the configuration's result)."""
    import torch

    if quant != "fp8":
        return
    if device.type != "cuda":
        raise BackendUnavailable("quant 'fp8' needs a CUDA GPU of compute capability >= 8.9; this device is the CPU")
    capability = torch.cuda.get_device_capability(device)
    if capability < FP8_MIN_CAPABILITY:
        raise BackendUnavailable(
            f"quant 'fp8' needs compute capability >= 8.9; {torch.cuda.get_device_name(device)} is "
            f"{capability[0]}.{capability[1]}"
        )


def quantize_dit(dit: Any, quant: str, device: Any) -> int:
    """Quantize the DiT's per-frame linears in place; returns how many were quantized."""
    if quant == "none":
        return 0
    check_quant_device(quant, device)
    config = torchao_config(quant, next(dit.parameters()).dtype)
    from torchao.quantization import quantize_

    count = sum(quantizable_linear(m, n) for n, m in dit.named_modules())
    quantize_(dit, config, filter_fn=quantizable_linear)
    return count
