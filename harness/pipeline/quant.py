"""Quantized DiT linears through torchao: the ``quant`` axis of the matrix.

Applied after the build and before ``torch.compile``, to the linears that run once per frame (the
blocks' attention projections and feed-forwards, the input projection and the output projection).
The per-sample ones (time embedding, AdaLN modulation: two rows under CFG) stay in the model's
precision: int8 matmul kernels refuse so few rows ("self.size(0) needs to be greater than 16").
"""

from __future__ import annotations

from typing import Any

from harness.errors import BackendUnavailable

QUANTS = ("none", "int8-weight", "int8-dynamic", "fp8")
FP8_MIN_CAPABILITY = (8, 9)  # Ada and Hopper; a Jetson Orin is 8.7


def per_frame_linear(module: Any, name: str) -> bool:
    """torchao's filter: the DiT's linears that run on every frame."""
    from torch import nn

    if not isinstance(module, nn.Linear):
        return False
    in_block = name.startswith("transformer_blocks.") and (".attn.to_" in name or ".ff." in name)
    return in_block or name in ("input_embed.proj", "proj_out")


def _config(quant: str) -> Any:
    try:
        from torchao.quantization import (
            Float8DynamicActivationFloat8WeightConfig,
            Int8DynamicActivationInt8WeightConfig,
            Int8WeightOnlyConfig,
            PerRow,
        )
    except ImportError as exc:
        raise BackendUnavailable(f"quant {quant!r} needs torchao ({exc}): pip install 'tts-harness[quant]'") from None
    if quant == "int8-weight":
        return Int8WeightOnlyConfig()
    if quant == "int8-dynamic":
        return Int8DynamicActivationInt8WeightConfig()
    return Float8DynamicActivationFloat8WeightConfig(granularity=PerRow())


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
    config = _config(quant)
    from torchao.quantization import quantize_

    count = sum(per_frame_linear(m, n) for n, m in dit.named_modules())
    quantize_(dit, config, filter_fn=per_frame_linear)
    return count
