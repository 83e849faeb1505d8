"""Speaker similarity: cosine of speaker embeddings.

- ``resemblyzer``: its encoder ships inside the wheel (the offline default).
- ``wavlm`` or ``wavlm:<model id or local path>``: a WavLM x-vector model through transformers
  (default ``microsoft/wavlm-base-plus-sv``), where its weights are present (HF cache or a folder).
Other encoders plug in with ``register``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from harness.choices import suggest
from harness.errors import BackendUnavailable, ConfigError
from harness.extras import need
from harness.quality.audio import to_rate

Embedder = Callable[[np.ndarray, int], np.ndarray]
_ENCODERS: dict[str, Callable[..., Embedder]] = {}


def register(name: str, factory: Callable[..., Embedder]) -> None:
    """Make a speaker encoder known by name (``[quality] speaker``; ``name:argument`` passes one)."""
    _ENCODERS[name] = factory


def check_name(name: str) -> str:
    """``name`` (``base`` or ``base:argument``) names a registered encoder; else one line."""
    base = name.partition(":")[0]
    if base not in _ENCODERS:
        raise ConfigError(
            f"unknown speaker encoder {name!r}{suggest(base, _ENCODERS)}; choose from {', '.join(_ENCODERS)} or none"
        )
    return name


def _resemblyzer() -> Embedder:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        need("resemblyzer", "quality", "speaker similarity with resemblyzer")
        from resemblyzer import VoiceEncoder, preprocess_wav

        encoder = VoiceEncoder("cpu", verbose=False)

    def embed(wave: np.ndarray, rate: int) -> np.ndarray:
        prepared = preprocess_wav(to_rate(wave, rate, 16000), source_sr=16000)
        out: Any = encoder.embed_utterance(prepared)
        return np.asarray(out, dtype=np.float64)

    return embed


WAVLM_DEFAULT = "microsoft/wavlm-base-plus-sv"


def _wavlm(model: str = WAVLM_DEFAULT) -> Embedder:
    import os

    import torch
    from transformers import AutoFeatureExtractor, WavLMForXVector

    try:
        extractor = AutoFeatureExtractor.from_pretrained(model)  # type: ignore[no-untyped-call]
        net = WavLMForXVector.from_pretrained(model).eval()  # type: ignore[no-untyped-call]
    except (OSError, ValueError) as exc:
        offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0")
        raise BackendUnavailable(
            f"speaker model {model!r} is not available{' offline' if offline else ''}: download it with "
            f"`huggingface-cli download {model}` or pass wavlm:<local path> ({type(exc).__name__})"
        ) from None

    def embed(wave: np.ndarray, rate: int) -> np.ndarray:
        inputs = extractor(to_rate(wave, rate, 16000), sampling_rate=16000, return_tensors="pt")
        with torch.inference_mode():
            out = net(**inputs).embeddings[0]
        return np.asarray(out.numpy(), dtype=np.float64)

    return embed


register("resemblyzer", _resemblyzer)
register("wavlm", _wavlm)
_CACHE: dict[str, Embedder] = {}


def embedder(name: str = "resemblyzer") -> Embedder:
    """An encoder by name; ``wavlm:<id or path>`` picks the WavLM model."""
    if name not in _CACHE:
        base, _, argument = check_name(name).partition(":")
        factory = _ENCODERS[base]
        _CACHE[name] = factory(argument) if argument else factory()  # type: ignore[call-arg]
    return _CACHE[name]


def similarity(a: np.ndarray, rate_a: int, b: np.ndarray, rate_b: int, encoder: str = "resemblyzer") -> float:
    embed = embedder(encoder)
    x, y = embed(a, rate_a), embed(b, rate_b)
    return float(np.dot(x, y) / (np.linalg.norm(x) * np.linalg.norm(y)))
