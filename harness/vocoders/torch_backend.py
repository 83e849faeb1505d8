"""PyTorch Vocos as is, and under torch.compile."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.vocoders.base import VocoderBackend

if TYPE_CHECKING:
    import torch


class TorchVocoder(VocoderBackend):
    NAME = "torch"

    def decode(self, mel: torch.Tensor) -> torch.Tensor:
        self.check_mel(mel)
        out: torch.Tensor = self.vocos.decode(mel)
        return out


class CompiledTorchVocoder(VocoderBackend):
    """``torch.compile`` of Vocos's decode; ``options['mode']`` picks the compile mode."""

    NAME = "torch-compile"

    def __init__(self, vocos: Any, device: torch.device, options: dict[str, Any] | None = None) -> None:
        super().__init__(vocos, device, options)
        import torch

        mode = self.options.get("mode", "default")
        # Compile the modules, not ``Vocos.decode``: that method is wrapped in inference_mode,
        # which dynamo cannot trace through.
        self._decode = torch.compile(torch.nn.Sequential(vocos.backbone, vocos.head), mode=mode, dynamic=True)
        self.info["compile_mode"] = mode

    def decode(self, mel: torch.Tensor) -> torch.Tensor:
        self.check_mel(mel)
        out: torch.Tensor = self._decode(mel)
        return out
