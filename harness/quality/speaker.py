"""Speaker similarity: cosine of speaker embeddings (resemblyzer's encoder, carried by its wheel).

A WavLM speaker-verification model plugs in through ``register`` where its weights are present.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from harness.config import suggest
from harness.errors import ConfigError
from harness.quality.audio import to_rate

Embedder = Callable[[np.ndarray, int], np.ndarray]
_ENCODERS: dict[str, Callable[[], Embedder]] = {}


def register(name: str, factory: Callable[[], Embedder]) -> None:
    _ENCODERS[name] = factory


def _resemblyzer() -> Embedder:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from resemblyzer import VoiceEncoder, preprocess_wav

        encoder = VoiceEncoder("cpu", verbose=False)

    def embed(wave: np.ndarray, rate: int) -> np.ndarray:
        prepared = preprocess_wav(to_rate(wave, rate, 16000), source_sr=16000)
        out: Any = encoder.embed_utterance(prepared)
        return np.asarray(out, dtype=np.float64)

    return embed


register("resemblyzer", _resemblyzer)
_CACHE: dict[str, Embedder] = {}


def embedder(name: str = "resemblyzer") -> Embedder:
    if name not in _ENCODERS:
        raise ConfigError(f"unknown speaker encoder {name!r}{suggest(name, _ENCODERS)}")
    if name not in _CACHE:
        _CACHE[name] = _ENCODERS[name]()
    return _CACHE[name]


def similarity(a: np.ndarray, rate_a: int, b: np.ndarray, rate_b: int, encoder: str = "resemblyzer") -> float:
    embed = embedder(encoder)
    x, y = embed(a, rate_a), embed(b, rate_b)
    return float(np.dot(x, y) / (np.linalg.norm(x) * np.linalg.norm(y)))
