"""The DiT's convolutional position embedding computed as one batched GEMM per convolution.

F5-TTS's ``ConvPositionEmbedding`` runs two grouped 1-D convolutions (kernel 31, 16 groups) on every
denoising step. A few GFLOP each, yet cuDNN runs them group by group with layout conversions around
them; unfolding the sequence into columns turns each into one matmul per group that the tensor cores
take at full rate, for a transient buffer of ``kernel`` times the activations.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


def grouped_conv1d_as_gemm(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, groups: int, padding: int
) -> torch.Tensor:
    """``F.conv1d(x, weight, bias, padding=padding, groups=groups)`` (stride and dilation 1) as
    unfold + batched matmul. ``x`` is [batch, channels, length]."""
    import torch
    import torch.nn.functional as F

    batch, _, length = x.shape
    out_channels, per_group, kernel = weight.shape
    # Columns [group, (channel, tap), (batch, position)]: each row a shifted contiguous slice of the
    # padded input, so the one copy reads and writes along the sequence.
    columns = F.pad(x, (padding, padding)).unfold(2, kernel, 1)  # [b, c, n, k], a view
    columns = columns.reshape(batch, groups, per_group, length, kernel).permute(1, 2, 4, 0, 3)
    columns = columns.reshape(groups, per_group * kernel, batch * length)
    out = torch.bmm(weight.reshape(groups, out_channels // groups, per_group * kernel), columns)
    out = (
        out.view(groups, out_channels // groups, batch, length).permute(2, 0, 1, 3).reshape(batch, out_channels, length)
    )
    return out if bias is None else out + bias.view(1, -1, 1)


@functools.cache
def _gemm_conv_class() -> type:
    from torch import nn

    class GemmConv1d(nn.Conv1d):
        """A Conv1d (same parameters, same state dict) whose forward is the unfolded GEMM."""

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
    from f5_tts.model.modules import ConvPositionEmbedding
    from torch import nn

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
