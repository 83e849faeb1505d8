"""ASR backends behind one interface; every transcript says which backend and mode made it.

- ``pocketsphinx``: offline, its wheel carries an English model. Mode ``grammar`` restricts it to a
  JSGF grammar of the suite's sentences (a "said the expected sentence" check: near 0 WER on
  clean speech, empty output for noise); mode ``open`` is open vocabulary (weak on synthetic speech).
- ``whisper``: the transformers ASR pipeline, model id or local path (default
  ``openai/whisper-large-v3-turbo``, the model f5-tts uses); offline it needs the model in the
  Hugging Face cache.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.choices import check_choice, suggest
from harness.errors import BackendUnavailable, ConfigError, InputError
from harness.extras import need
from harness.quality.audio import to_rate
from harness.quality.text import normalize

ASR_RATE = 16000


@dataclass(frozen=True)
class Transcript:
    text: str
    backend: str
    mode: str


class ASRBackend(ABC):
    NAME = ""
    mode = "default"

    @abstractmethod
    def transcribe(self, wave: np.ndarray, rate: int) -> Transcript:
        """Text of one utterance (mono float waveform at ``rate`` Hz)."""


class PocketSphinxASR(ASRBackend):
    NAME = "pocketsphinx"

    def __init__(self, mode: str = "grammar", sentences: list[str] | None = None) -> None:
        need("pocketsphinx", "quality", "ASR with pocketsphinx")
        from pocketsphinx import Decoder

        self.mode = check_choice("pocketsphinx mode", mode, ("grammar", "open"))
        # Wide beams: with the default ones, grammar search on synthetic speech often ends
        # mid-sentence (measured on espeak-ng renders).
        self.decoder = Decoder(samprate=ASR_RATE, loglevel="FATAL", beam=1e-80, wbeam=1e-60, pbeam=1e-80)
        if self.mode == "grammar":
            if not sentences:
                raise ConfigError("pocketsphinx grammar mode needs the expected sentences")
            self.decoder.set_jsgf_string("expected", self.grammar(sentences))
            self.decoder.activate_search("expected")

    def grammar(self, sentences: list[str]) -> str:
        alternatives = []
        for sentence in sentences:
            words = normalize(sentence).split()
            missing = [w for w in words if self.decoder.lookup_word(w) is None]
            if missing:
                raise InputError(f"words not in pocketsphinx's dictionary: {', '.join(missing)} (in {sentence!r})")
            alternatives.append(" ".join(words))
        if not alternatives or not any(alternatives):
            raise InputError("the expected sentences normalize to nothing")
        return (
            "#JSGF V1.0;\ngrammar expected;\npublic <sentence> = "
            + " | ".join(f"( {a} )" for a in alternatives)
            + ";\n"
        )

    def transcribe(self, wave: np.ndarray, rate: int) -> Transcript:
        x = to_rate(wave, rate, ASR_RATE)
        # Seeded dither at about -80 dBFS: runs of digital zeros (synthetic speech) upset its
        # cepstral mean normalization; a clean render then loses words that a noisy one keeps.
        x = x + np.random.default_rng(0).standard_normal(x.shape).astype(np.float32) * 1e-4
        pcm = (np.clip(x, -1, 1) * 32767).astype(np.int16).tobytes()
        self.decoder.start_utt()
        self.decoder.process_raw(pcm, full_utt=True)
        self.decoder.end_utt()
        hyp = self.decoder.hyp()
        return Transcript(text=hyp.hypstr if hyp else "", backend=self.NAME, mode=self.mode)


class WhisperASR(ASRBackend):
    NAME = "whisper"
    DEFAULT_MODEL = "openai/whisper-large-v3-turbo"

    def __init__(self, model: str = DEFAULT_MODEL, device: str = "cpu") -> None:
        import os

        try:
            from transformers import pipeline
        except ImportError:
            raise BackendUnavailable("whisper ASR needs the transformers package") from None
        try:
            self.pipe = pipeline("automatic-speech-recognition", model=model, device=device)
        except (OSError, ValueError) as exc:
            offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0")
            raise BackendUnavailable(
                f"ASR model {model!r} is not available{' offline' if offline else ''}: download it with "
                f"`huggingface-cli download {model}` on a connected machine, or pass a local path "
                f"({type(exc).__name__})"
            ) from None
        self.mode = model

    def transcribe(self, wave: np.ndarray, rate: int) -> Transcript:
        out: Any = self.pipe({"raw": to_rate(wave, rate, ASR_RATE), "sampling_rate": ASR_RATE})
        return Transcript(text=str(out["text"]).strip(), backend=self.NAME, mode=self.mode)


_BACKENDS: dict[str, type[ASRBackend]] = {"pocketsphinx": PocketSphinxASR, "whisper": WhisperASR}


def register(name: str, backend: type[ASRBackend]) -> None:
    """Make an ASR backend known by name (suites pick it with ``[quality] asr``)."""
    _BACKENDS[name] = backend


def names() -> list[str]:
    """The ASR backends a suite may name, ``none`` (no ASR) included."""
    return [*_BACKENDS, "none"]


def make_asr(name: str, **options: Any) -> ASRBackend:
    if name not in _BACKENDS:
        raise ConfigError(f"unknown ASR backend {name!r}{suggest(name, _BACKENDS)}; choose from {', '.join(_BACKENDS)}")
    return _BACKENDS[name](**options)
