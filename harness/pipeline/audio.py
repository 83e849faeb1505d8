"""Audio I/O with soundfile (torchaudio 2.9+ ``load`` needs torchcodec and FFmpeg)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.errors import InputError

PACKAGE_PREFIX = "f5tts:"


def resolve_audio_path(spec: str) -> Path:
    """A file path, or ``f5tts:<relative path>`` for audio shipped inside the f5-tts package."""
    if spec.startswith(PACKAGE_PREFIX):
        from harness.pipeline.f5 import package_file

        return Path(package_file(spec[len(PACKAGE_PREFIX) :]))
    return Path(spec).expanduser()


def read_audio(spec: str) -> tuple[np.ndarray, int]:
    """Mono float32 samples and the sample rate; a clear error for a missing or non-audio file."""
    import soundfile as sf

    path = resolve_audio_path(spec)
    if not path.is_file():
        raise InputError(f"reference audio not found: {path}")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise InputError(f"not a readable audio file: {path} ({exc})") from None
    if data.shape[0] == 0:
        raise InputError(f"audio file has no samples: {path}")
    return data.mean(axis=1).astype(np.float32), int(rate)


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.asarray(samples, dtype=np.float32), rate, subtype="PCM_16")
