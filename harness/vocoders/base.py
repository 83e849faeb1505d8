"""The vocoder backend interface: ``decode(mel[B, n_mels, frames]) -> wave[B, samples]``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from harness.errors import InputError

if TYPE_CHECKING:
    import torch


class VocoderBackend(ABC):
    """A backend built from the PyTorch Vocos it must reproduce.

    ``info`` holds what a result records about the backend (provider, fallback reason, engine
    file, ...). Implementations synchronize nothing: the caller's timer does.
    """

    NAME: str = ""

    def __init__(self, vocos: Any, device: torch.device, options: dict[str, Any] | None = None) -> None:
        self.vocos = vocos
        self.device = device
        self.options = dict(options or {})
        self.n_mels = int(vocos.backbone.input_channels)
        self.info: dict[str, Any] = {"backend": self.NAME}

    def check_mel(self, mel: torch.Tensor) -> None:
        if mel.dim() != 3 or mel.shape[1] != self.n_mels:
            raise InputError(
                f"vocoder {self.NAME!r} expects a mel of shape [batch, {self.n_mels}, frames], got {list(mel.shape)}"
            )

    @abstractmethod
    def decode(self, mel: torch.Tensor) -> torch.Tensor:
        """Waveform [B, samples] on ``self.device`` from a float32 mel [B, n_mels, frames]."""
