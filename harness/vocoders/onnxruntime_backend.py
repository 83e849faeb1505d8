"""Vocos through ONNX Runtime; the provider is chosen by config and falls back with a reason.

Options: ``model`` (an exported ``vocos.onnx``; default: export the run's Vocos into
``cache_dir``), ``provider`` (``cpu``, ``cuda`` or ``tensorrt``: the ONNX Runtime execution
providers), ``cache_dir`` (default ``~/.cache/tts-harness/onnx``).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.choices import check_choice
from harness.errors import InputError
from harness.vocoders.base import VocoderBackend
from harness.vocoders.export import INPUT_NAME, OUTPUT_NAME, export_onnx

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)
PROVIDERS = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
}
DEFAULT_CACHE = Path("~/.cache/tts-harness/onnx")


def weights_digest(module: Any) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def exported_model(vocos: Any, options: dict[str, Any]) -> Path:
    """The ONNX file to run: the one named in options, or an export cached by weights hash."""
    if options.get("model"):
        path = Path(options["model"]).expanduser()
        if not path.is_file():
            raise InputError(f"ONNX model not found: {path}")
        return path
    cache = Path(options.get("cache_dir", DEFAULT_CACHE)).expanduser() / weights_digest(vocos)
    path = cache / "vocos.onnx"
    if not path.is_file():
        log.info("exporting Vocos to %s", path)
        export_onnx(cache, vocos=vocos)
    return path


def open_session(path: Path, wanted: str, device: torch.device) -> tuple[Any, str, str | None]:
    """(session, provider used, fallback reason or None)."""
    from harness.extras import need

    ort = need("onnxruntime", "onnx", "the onnxruntime vocoder backend")

    wanted_name = PROVIDERS[wanted]
    available = ort.get_available_providers()
    reason = None
    providers: list[Any] = ["CPUExecutionProvider"]
    if wanted_name not in available:
        reason = f"{wanted_name} not in this onnxruntime build (has {', '.join(available)})"
    elif wanted != "cpu" and device.type != "cuda":
        reason = f"{wanted_name} needs a CUDA device, run device is {device}"
    elif wanted != "cpu":
        options = {"device_id": device.index or 0}
        providers = [(wanted_name, options), "CPUExecutionProvider"]
    try:
        session = ort.InferenceSession(str(path), providers=providers)
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf types
        raise InputError(f"cannot load ONNX model {path}: {str(exc).splitlines()[0]}") from None
    used = session.get_providers()[0]
    first = providers[0] if isinstance(providers[0], str) else providers[0][0]
    if reason is None and used != first:
        reason = f"{wanted_name} failed to initialize; onnxruntime fell back to {used}"
    return session, used, reason


class OnnxRuntimeVocoder(VocoderBackend):
    NAME = "onnxruntime"

    def __init__(self, vocos: Any, device: torch.device, options: dict[str, Any] | None = None) -> None:
        super().__init__(vocos, device, options)
        wanted = check_choice("onnxruntime provider", self.options.get("provider", "cpu"), list(PROVIDERS))
        self.path = exported_model(vocos, self.options)
        self.session, self.provider, fallback = open_session(self.path, wanted, device)
        inputs = {i.name: i.shape for i in self.session.get_inputs()}
        if INPUT_NAME not in inputs:
            raise InputError(f"{self.path} has no input named {INPUT_NAME!r} (has {', '.join(inputs)})")
        channels = inputs[INPUT_NAME][1]
        if isinstance(channels, int) and channels != self.n_mels:
            raise InputError(f"{self.path} expects {channels} mel channels, the model makes {self.n_mels}")
        if fallback:
            log.warning("onnxruntime: %s", fallback)
        self.info.update(
            {
                "model": str(self.path),
                "provider_wanted": PROVIDERS[wanted],
                "provider": self.provider,
                "fallback_reason": fallback,
            }
        )

    def decode(self, mel: torch.Tensor) -> torch.Tensor:
        import torch

        self.check_mel(mel)
        if self.provider == "CPUExecutionProvider":
            out = self.session.run([OUTPUT_NAME], {INPUT_NAME: mel.detach().float().cpu().numpy()})[0]
            return torch.from_numpy(out).to(self.device)
        # GPU providers: bind torch CUDA memory directly, no host round trip.
        mel = mel.float().contiguous()
        index = mel.device.index or 0
        hop = int(self.vocos.head.istft.hop_length)
        out = torch.empty(mel.shape[0], mel.shape[2] * hop, device=mel.device, dtype=torch.float32)
        binding = self.session.io_binding()
        binding.bind_input(INPUT_NAME, "cuda", index, np.float32, tuple(mel.shape), mel.data_ptr())
        binding.bind_output(OUTPUT_NAME, "cuda", index, np.float32, tuple(out.shape), out.data_ptr())
        self.session.run_with_iobinding(binding)
        return out
