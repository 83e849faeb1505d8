"""Process-wide torch settings a configuration asks for: cuDNN's autotuner, the attention kernel and
Inductor's freezing (read when a graph is compiled, at the first call).

Each configuration sets them before its build and calls; the sweep puts the process's own back at
the end. The attention kernel is chosen when a graph is traced, but neither Inductor's nor
AOTAutograd's cache key sees the flags that chose it: a pass that changes nothing carries the
choice into both keys, so a cached graph of another kernel is never reused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.config import RunConfig


@dataclass(frozen=True)
class ProcessFlags:
    cudnn_benchmark: bool
    attention: dict[str, bool]  # SDPA backend -> allowed
    post_grad_pass: Any  # torch._inductor.config.post_grad_custom_post_pass
    freezing: bool  # torch._inductor.config.freezing


def _sdpa_switches() -> dict[str, tuple[Callable[[], bool], Callable[[bool], None]]]:
    import torch

    cuda = torch.backends.cuda
    return {
        "flash": (cuda.flash_sdp_enabled, cuda.enable_flash_sdp),
        "efficient": (cuda.mem_efficient_sdp_enabled, cuda.enable_mem_efficient_sdp),
        "cudnn": (cuda.cudnn_sdp_enabled, cuda.enable_cudnn_sdp),
        "math": (cuda.math_sdp_enabled, cuda.enable_math_sdp),
    }


def current() -> ProcessFlags:
    import torch
    import torch._inductor.config as inductor

    return ProcessFlags(
        cudnn_benchmark=torch.backends.cudnn.benchmark,
        attention={name: enabled() for name, (enabled, _) in _sdpa_switches().items()},
        post_grad_pass=inductor.post_grad_custom_post_pass,
        freezing=inductor.freezing,
    )


def _attention_cache_key(attention: str) -> Any:
    from torch._inductor.custom_graph_pass import CustomGraphPass

    class AttentionCacheKey(CustomGraphPass):
        def __call__(self, graph: Any) -> None:
            return None

        def uuid(self) -> str:
            return f"tts-harness attention={attention}"

    return AttentionCacheKey()


def apply(run: RunConfig, before: ProcessFlags) -> None:
    """The run's settings; "auto" attention keeps the kernels ``before`` allowed."""
    import torch
    import torch._inductor.config as inductor

    torch.backends.cudnn.benchmark = run.cudnn_benchmark
    for name, (_, enable) in _sdpa_switches().items():
        enable(before.attention[name] if run.attention == "auto" else name == run.attention)
    auto = run.attention == "auto"
    inductor.post_grad_custom_post_pass = before.post_grad_pass if auto else _attention_cache_key(run.attention)
    inductor.freezing = run.freezing


def restore(before: ProcessFlags) -> None:
    import torch
    import torch._inductor.config as inductor

    torch.backends.cudnn.benchmark = before.cudnn_benchmark
    for name, (_, enable) in _sdpa_switches().items():
        enable(before.attention[name])
    inductor.post_grad_custom_post_pass = before.post_grad_pass
    inductor.freezing = before.freezing
