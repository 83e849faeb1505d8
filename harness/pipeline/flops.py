"""What one ODE step costs: the DiT's FLOPs at a run's shapes and the bytes of its weights.

One step is one evaluation of the DiT; with classifier-free guidance f5-tts packs the conditional
and the unconditional pass into one batch of twice the size. The FLOPs are counted by torch's
``FlopCounterMode`` over the real architecture on fake tensors (shapes only: no memory, no device,
about a second for F5TTS_v1_Base), with attention through the math kernel so that its two matmuls
count. Counted once per architecture and shape, whatever the precision, compile mode or quantization.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from typing import Any

from harness.pipeline.presets import get_preset

# Bytes per weight as the per-frame linears store them.
_WEIGHT_BYTES = {"fp32": 4, "fp16": 2, "bf16": 2, "amp-fp16": 4, "amp-bf16": 4}
_QUANT_BYTES = {"int8-weight": 1, "int8-dynamic": 1, "fp8": 1}


@dataclass(frozen=True)
class StepShape:
    """The shapes one ODE step runs at: the DiT's batch (before CFG doubles it), frames, text tokens."""

    batch: int
    frames: int
    text_tokens: int
    cfg: bool
    estimated: bool = False  # read off the audio length (f5-tts's own pipeline hides its shapes)


@dataclass(frozen=True)
class StepCost:
    flops: float  # one ODE step (CFG included)
    parameters: int  # the DiT's
    by_operator: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@functools.lru_cache(maxsize=64)
def step_cost(model: str, vocab_size: int, batch: int, frames: int, text_tokens: int, cfg: bool) -> StepCost:
    """FLOPs of one DiT evaluation at ``frames`` (reference plus generated) and ``text_tokens``."""
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    from harness.pipeline.f5 import model_classes

    _, DiT = model_classes()
    preset = get_preset(model)
    mels = int(preset.mel["n_mel_channels"])
    with FakeTensorMode():
        dit = DiT(**preset.dit, text_num_embeds=vocab_size, mel_dim=mels)
        x = torch.zeros(batch, frames, mels)
        text = torch.zeros(batch, text_tokens, dtype=torch.long)
        time = torch.full((batch,), 0.5)
        with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
            dit(x=x, cond=x, text=text, time=time, mask=None, cfg_infer=cfg, cache=False)
        parameters = sum(p.numel() for p in dit.parameters())
    by_operator = {str(op): float(n) for op, n in counter.get_flop_counts()["Global"].items()}
    return StepCost(float(counter.get_total_flops()), int(parameters), by_operator)


def weight_bytes(parameters: int, precision: str, quant: str) -> float:
    """Bytes of the DiT's weights, the least a step reads from memory."""
    return float(parameters * _QUANT_BYTES.get(quant, _WEIGHT_BYTES[precision]))
