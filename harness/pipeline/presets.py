"""Model presets: the real F5-TTS architectures and a tiny one of the same classes for CPU tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.choices import check_choice

MEL = {
    "n_fft": 1024,
    "hop_length": 256,
    "win_length": 1024,
    "n_mel_channels": 100,
    "target_sample_rate": 24000,
    "mel_spec_type": "vocos",
}


@dataclass(frozen=True)
class ModelPreset:
    name: str
    dit: dict[str, Any]
    vocos: dict[str, Any]
    hf_repo: str = "SWivid/F5-TTS"
    hf_checkpoint: str = "F5TTS_v1_Base/model_1250000.safetensors"
    hf_vocab: str = "F5TTS_v1_Base/vocab.txt"
    vocos_repo: str = "charactr/vocos-mel-24khz"
    mel: dict[str, Any] = field(default_factory=lambda: dict(MEL))


# From f5-tts's configs/F5TTS_v1_Base.yaml (model.arch) and charactr/vocos-mel-24khz config.yaml.
_VOCOS_24K = {"dim": 512, "intermediate_dim": 1536, "num_layers": 8}
PRESETS = {
    "f5tts_v1_base": ModelPreset(
        name="f5tts_v1_base",
        dit={
            "dim": 1024,
            "depth": 22,
            "heads": 16,
            "ff_mult": 2,
            "text_dim": 512,
            "text_mask_padding": True,
            "qk_norm": None,
            "conv_layers": 4,
            "pe_attn_head": None,
            "attn_backend": "torch",
            "attn_mask_enabled": False,
            "checkpoint_activations": False,
        },
        vocos=_VOCOS_24K,
    ),
    "tiny": ModelPreset(
        name="tiny",
        dit={
            "dim": 128,
            "depth": 4,
            "heads": 2,
            "ff_mult": 2,
            "text_dim": 64,
            "text_mask_padding": True,
            "qk_norm": None,
            "conv_layers": 2,
            "pe_attn_head": None,
            "attn_backend": "torch",
            "attn_mask_enabled": False,
            "checkpoint_activations": False,
        },
        vocos={"dim": 128, "intermediate_dim": 384, "num_layers": 2},
    ),
}


def get_preset(name: str) -> ModelPreset:
    return PRESETS[check_choice("model preset", name, list(PRESETS))]
