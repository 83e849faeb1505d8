"""Process-wide torch settings a configuration asks for: cuDNN's autotuner, the attention kernel and
Inductor's freezing (read when a graph is compiled, at the first call); and Dynamo's recompile limit.

A compiled DiT compiles again for each text length, and the first lengths once more per state of
its text cache: on an H200, 7 graphs of its forward for five lengths (CUDA graphs with freezing).
Dynamo's default limit of 8 graphs per function is that close, and past it Dynamo silently runs the
function uncompiled: a row would time another pipeline than it names. The harness raises the limit
to ``RECOMPILE_LIMIT`` and makes reaching it an error, so such a row fails with its reason.

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
    recompile_limit: int  # torch._dynamo.config.recompile_limit
    fail_on_recompile_limit: bool  # torch._dynamo.config.fail_on_recompile_limit_hit


RECOMPILE_LIMIT = 64  # graphs per compiled function: four text-cache variants of 16 frame counts


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
    import torch._dynamo.config as dynamo
    import torch._inductor.config as inductor

    return ProcessFlags(
        cudnn_benchmark=torch.backends.cudnn.benchmark,
        attention={name: enabled() for name, (enabled, _) in _sdpa_switches().items()},
        post_grad_pass=inductor.post_grad_custom_post_pass,
        freezing=inductor.freezing,
        recompile_limit=dynamo.recompile_limit,
        fail_on_recompile_limit=dynamo.fail_on_recompile_limit_hit,
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
    import torch._dynamo.config as dynamo
    import torch._inductor.config as inductor

    torch.backends.cudnn.benchmark = run.cudnn_benchmark
    for name, (_, enable) in _sdpa_switches().items():
        enable(before.attention[name] if run.attention == "auto" else name == run.attention)
    auto = run.attention == "auto"
    inductor.post_grad_custom_post_pass = before.post_grad_pass if auto else _attention_cache_key(run.attention)
    inductor.freezing = run.freezing
    dynamo.recompile_limit = max(RECOMPILE_LIMIT, before.recompile_limit)
    dynamo.fail_on_recompile_limit_hit = True


def restore(before: ProcessFlags) -> None:
    import torch
    import torch._dynamo.config as dynamo
    import torch._inductor.config as inductor

    torch.backends.cudnn.benchmark = before.cudnn_benchmark
    for name, (_, enable) in _sdpa_switches().items():
        enable(before.attention[name])
    inductor.post_grad_custom_post_pass = before.post_grad_pass
    inductor.freezing = before.freezing
    dynamo.recompile_limit = before.recompile_limit
    dynamo.fail_on_recompile_limit_hit = before.fail_on_recompile_limit
