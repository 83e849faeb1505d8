"""Build F5-TTS (f5-tts's CFM + DiT) and Vocos from a typed configuration."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.errors import BackendUnavailable
from harness.pipeline import f5
from harness.pipeline.pos_conv import use_gemm_pos_conv
from harness.pipeline.presets import ModelPreset, get_preset
from harness.pipeline.quant import quantize_dit
from harness.pipeline.vocos_config import load_vocos_dir
from harness.pipeline.weights import ResolvedWeights, resolve

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

_WEIGHT_DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}
_AUTOCAST_DTYPES = {"amp-fp16": "float16", "amp-bf16": "bfloat16"}
RANDOM_INIT_STD = 0.02


@dataclass
class BuiltModel:
    """A ready CFM with what a result must record about how it was made."""

    cfm: Any
    preset: ModelPreset
    weights: ResolvedWeights
    device: torch.device
    weight_dtype: torch.dtype
    autocast_dtype: torch.dtype | None
    compile_mode: str
    vocab_char_map: dict[str, int]
    build_s: float
    parameters: int


def check_device(device: str) -> torch.device:
    import torch

    dev = torch.device(device)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise BackendUnavailable(f"device {device!r} asked for, but this machine has no CUDA device")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise BackendUnavailable(
                f"device {device!r} asked for, but only {torch.cuda.device_count()} CUDA device(s) exist"
            )
    return dev


def dtypes(precision: str) -> tuple[torch.dtype, torch.dtype | None]:
    """(weight dtype, autocast dtype or None) for a precision name."""
    import torch

    if precision in _AUTOCAST_DTYPES:
        return torch.float32, getattr(torch, _AUTOCAST_DTYPES[precision])
    return getattr(torch, _WEIGHT_DTYPES[precision]), None


def randomize_(module: Any, seed: int) -> None:
    """Seeded init of every parameter the architecture leaves at zero (DiT zero-inits its AdaLN
    and output layers, which would make the flow a no-op and every precision look identical)."""
    import torch

    generators: dict[torch.device, torch.Generator] = {}
    with torch.no_grad():
        for param in module.parameters():
            if param.dim() >= 1 and torch.count_nonzero(param) == 0:
                if param.device not in generators:
                    generators[param.device] = torch.Generator(param.device).manual_seed(seed)
                noise = torch.randn(param.shape, generator=generators[param.device], device=param.device)
                param.copy_(noise * RANDOM_INIT_STD)


CUDA_GRAPH_MODES = ("reduce-overhead", "max-autotune")


def wrap_transformer(transformer: Any, *, fp32_ode: bool, own_text_cache: bool) -> Any:
    """Wrap f5-tts's (possibly compiled) DiT for two pipeline options.

    ``fp32_ode``: ``CFM.sample`` takes its working dtype from its first parameter, and noise,
    conditioning and the ODE time grid follow it; in bf16 the grid of 17 or 33 points collapses
    ("t must be strictly increasing"). An fp32 anchor parameter registered before the DiT makes the
    sampler run in fp32; the DiT gets its inputs in its own dtype and returns fp32.

    ``own_text_cache``: the DiT caches its text embedding on the first ODE step and reads it on
    the others. Under CUDA graphs that cache is a graph output, overwritten once a graph of another
    frame count has run; a copy outside the graph pool keeps it valid. The copy is one tensor per
    cache entry and shape, refilled in place: Dynamo treats it as a static input (with freezing it
    guards on the tensor's identity) and CUDA graphs on its address, so a new tensor per call would
    recompile or re-record whenever calls of other lengths came between.
    """
    import torch
    from torch import nn

    class DiTWrapper(nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            if fp32_ode:
                self.anchor = nn.Parameter(torch.zeros(1), requires_grad=False)
            self.inner = inner
            self.dim = inner.dim
            self.low = next(inner.parameters()).dtype
            self._owned: dict[tuple[str, torch.Size, torch.dtype], torch.Tensor] = {}

        def clear_cache(self) -> None:
            self.inner.clear_cache()

        def _own_text_cache(self) -> None:
            dit = getattr(self.inner, "_orig_mod", self.inner)
            for name in ("text_cond", "text_uncond"):
                value = getattr(dit, name, None)
                if value is None:
                    continue
                owned = self._owned.get((name, value.shape, value.dtype))
                if owned is None:
                    owned = self._owned[(name, value.shape, value.dtype)] = value.clone()
                elif value is not owned:
                    owned.copy_(value)
                setattr(dit, name, owned)

        def forward(self, x: torch.Tensor, cond: torch.Tensor, time: torch.Tensor, **kwargs: Any) -> torch.Tensor:
            if fp32_ode:
                x, cond, time = x.to(self.low), cond.to(self.low), time.to(self.low)
            out: torch.Tensor = self.inner(x=x, cond=cond, time=time, **kwargs)
            if own_text_cache:
                self._own_text_cache()
            return out.float() if fp32_ode else out

    return DiTWrapper(transformer)


def build_model(
    model: str,
    weights: str,
    precision: str,
    compile_mode: str,
    device: str,
    seed: int = 0,
    ode_fp32: bool = False,
    pos_conv: str = "conv",
    quant: str = "none",
) -> BuiltModel:
    import torch

    start = time.perf_counter()
    dev = check_device(device)
    preset = get_preset(model)
    resolved = resolve(weights, preset)
    vocab_char_map, _ = f5.vocab(resolved.vocab)
    weight_dtype, autocast_dtype = dtypes(precision)
    torch.manual_seed(seed)
    if resolved.checkpoint is None:
        # Random weights are drawn where they will run: initializing 337 M parameters on a CPU
        # costs seconds per build, on a GPU milliseconds (values differ by device, speed does not).
        with dev:
            cfm = f5.new_cfm(preset.dit, preset.mel, vocab_char_map)
            randomize_(cfm, seed)
        cfm = cfm.to(dtype=weight_dtype)
    else:
        cfm = f5.load_checkpoint(
            f5.new_cfm(preset.dit, preset.mel, vocab_char_map), resolved.checkpoint, str(dev), weight_dtype
        )
    cfm.eval()
    quantize_dit(cfm.transformer, quant, dev)
    if pos_conv == "gemm":
        use_gemm_pos_conv(cfm.transformer)
    if compile_mode != "none":
        # Dynamo keeps compiled code on f5-tts's forward functions and guards on shapes and dtypes,
        # not on the attention, cuDNN or freezing flags: without a reset, a build differing only in
        # those would run the code (and CUDA graphs) of the one before.
        torch._dynamo.reset()
        cfm.transformer = torch.compile(cfm.transformer, mode=compile_mode)
    if ode_fp32 or compile_mode in CUDA_GRAPH_MODES:
        cfm.transformer = wrap_transformer(
            cfm.transformer, fp32_ode=ode_fp32, own_text_cache=compile_mode in CUDA_GRAPH_MODES
        ).to(dev)
    parameters = sum(p.numel() for p in cfm.parameters())
    log.info("built %s (%s weights, %.1f M params) on %s", model, resolved.kind, parameters / 1e6, dev)
    return BuiltModel(
        cfm=cfm,
        preset=preset,
        weights=resolved,
        device=dev,
        weight_dtype=weight_dtype,
        autocast_dtype=autocast_dtype,
        compile_mode=compile_mode,
        vocab_char_map=vocab_char_map,
        build_s=time.perf_counter() - start,
        parameters=parameters,
    )


def build_vocos(model: str, weights: str, device: str, seed: int = 0) -> Any:
    """The PyTorch Vocos (fp32, eval) every backend starts from and is checked against."""
    import torch

    dev = check_device(device)
    preset = get_preset(model)
    resolved = resolve(weights, preset)
    if resolved.vocos_dir is not None:
        return load_vocos_dir(resolved.vocos_dir, str(dev))
    from vocos import Vocos
    from vocos.feature_extractors import MelSpectrogramFeatures
    from vocos.heads import ISTFTHead
    from vocos.models import VocosBackbone

    torch.manual_seed(seed + 1)
    mel = preset.mel
    vocos = Vocos(
        feature_extractor=MelSpectrogramFeatures(
            sample_rate=mel["target_sample_rate"],
            n_fft=mel["n_fft"],
            hop_length=mel["hop_length"],
            n_mels=mel["n_mel_channels"],
            padding="center",
        ),
        backbone=VocosBackbone(input_channels=mel["n_mel_channels"], **preset.vocos),
        head=ISTFTHead(dim=preset.vocos["dim"], n_fft=mel["n_fft"], hop_length=mel["hop_length"], padding="same"),
    )
    return vocos.to(dev).eval()
