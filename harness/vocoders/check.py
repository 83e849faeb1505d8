"""Every backend against PyTorch Vocos on the same mels, and the vocoder timed alone."""

from __future__ import annotations

import statistics
from typing import Any

from harness.timing import timed
from harness.vocoders.base import VocoderBackend
from harness.vocoders.export import parity, validation_mels

ALONE_REPEATS = 5


def check_backend(backend: VocoderBackend) -> dict[str, Any]:
    """Parity (worst case over the validation mels) and decode time per audio second."""
    import torch

    mels = {name: mel.to(backend.device) for name, mel in validation_mels(backend.n_mels).items()}
    out: dict[str, Any] = {}
    with torch.inference_mode():
        if backend.NAME != "torch":
            figures = {
                name: parity(backend.vocos.decode(mel).float().cpu().numpy(), backend.decode(mel).float().cpu().numpy())
                for name, mel in mels.items()
            }
            out["parity"] = {
                "max_abs": max(f["max_abs"] for f in figures.values()),
                "snr_db": min(f["snr_db"] for f in figures.values()),
                "per_input": figures,
                "against": "torch Vocos.decode, fp32",
            }
        speech = mels["reference_speech"]
        backend.decode(speech)  # warm-up (and compile, for compiled backends)
        seconds = [timed(lambda: backend.decode(speech), backend.device)[1] for _ in range(ALONE_REPEATS)]
    rate = int(backend.vocos.feature_extractor.mel_spec.sample_rate)
    audio_s = speech.shape[-1] * int(backend.vocos.head.istft.hop_length) / rate
    out["alone_ms_per_audio_s"] = 1000 * statistics.median(seconds) / audio_s
    out["alone_input_audio_s"] = audio_s
    return out
