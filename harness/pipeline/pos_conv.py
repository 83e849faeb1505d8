"""The DiT's convolutional position embedding computed as one batched GEMM per convolution.

F5-TTS's ``ConvPositionEmbedding`` runs two grouped 1-D convolutions (kernel 31, 16 groups) on every
denoising step. Here each is one matmul per group giving every tap's product at every position,
then a shifted sum over the taps that Inductor fuses into one kernel; the products take ``kernel``
times the activations' memory for a moment. An alternative to cuDNN's grouped kernels whose worth
depends on the platform (on an H200 it was no faster); unfolding the input into columns instead
compiled to slow strided copies there.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


def grouped_conv1d_as_gemm(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, groups: int, padding: int
) -> torch.Tensor:
    """``F.conv1d(x, weight, bias, padding=padding, groups=groups)`` (stride and dilation 1) as one
    batched matmul and a shifted sum. ``x`` is [batch, channels, length]."""
    import torch
    import torch.nn.functional as F

    batch, _, length = x.shape
    out_channels, per_group, kernel = weight.shape
    per_out = out_channels // groups
    padded = F.pad(x, (padding, padding))
    span = padded.shape[-1]
    # Every tap's product at every padded position, [group, (tap, out channel), (batch, position)]:
    # one GEMM over the input channels. Then output position n sums tap k's product at n + k.
    inputs = padded.view(batch, groups, per_group, span).permute(1, 2, 0, 3).reshape(groups, per_group, batch * span)
    taps = (
        weight.view(groups, per_out, per_group, kernel).permute(0, 3, 1, 2).reshape(groups, kernel * per_out, per_group)
    )
    products = torch.bmm(taps, inputs).view(groups, kernel, per_out, batch, span)
    out = products[:, 0, :, :, :length]
    for tap in range(1, kernel):
        out = out + products[:, tap, :, :, tap : tap + length]
    out = out.permute(2, 0, 1, 3).reshape(batch, out_channels, length)
    return out if bias is None else out + bias.view(1, -1, 1)


@functools.cache
def _gemm_conv_class() -> type:
    from torch import nn

    class GemmConv1d(nn.Conv1d):
        """A Conv1d (same parameters, same state dict) computed as a GEMM and a shifted sum."""

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            padding = self.padding[0]
            assert isinstance(padding, int)
            return grouped_conv1d_as_gemm(x, self.weight, self.bias, self.groups, padding)

    return GemmConv1d


def _convertible(conv: Any) -> bool:
    kernel = conv.kernel_size[0]
    return bool(
        conv.stride == (1,)
        and conv.dilation == (1,)
        and conv.padding_mode == "zeros"
        and conv.padding == (kernel // 2,)
        and kernel % 2 == 1
    )


def use_gemm_pos_conv(transformer: Any) -> int:
    """Switch every convolution of the transformer's position embeddings to the GEMM form in place
    (parameters shared, not copied); returns how many were switched."""
    from torch import nn

    from harness.pipeline.f5 import position_embedding_class

    ConvPositionEmbedding = position_embedding_class()

    gemm_conv = _gemm_conv_class()
    switched = 0
    for module in transformer.modules():
        if not isinstance(module, ConvPositionEmbedding):
            continue
        for layer in module.conv1d:
            if type(layer) is nn.Conv1d and _convertible(layer):
                layer.__class__ = gemm_conv  # a subclass adding no state: parameters and hooks stay
                switched += 1
    return switched
