"""DNSMOS: a non-intrusive MOS estimate of speech (no reference needed), offline.

Source: Reddy, Gopal, Cutler, "DNSMOS P.835: a non-intrusive perceptual objective speech quality
metric to evaluate noise suppressors" (ICASSP 2022), and its P.808 model. The ONNX models ship
inside the ``speechmos`` wheel (MIT; ``dnsmos_models/sig_bak_ovr.onnx`` and ``model_v8.onnx``); this
module runs them on the harness's ONNX Runtime with the published recipe: 16 kHz mono, 9.01 s
windows hopped by 1 s (shorter audio is repeated to fill one window, as the reference
implementation does), the P.835 outputs mapped through their published polynomials, the P.808 model
on a 120-band log-mel of each window, every score the mean over windows.

Scores (1-5, higher is better): ``ovrl`` (overall, P.835), ``sig`` (speech signal), ``bak``
(background), ``p808`` (P.808 MOS, the headline: on 42 real speech clips degraded in known steps it
fell at every step, where OVRL and SIG rose with faint noise on synthetic speech; reports/mos).
Cost: reports/mos (milliseconds per audio second on this CPU).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import BackendUnavailable, InputError
from harness.quality.registry import Metric, Score

NAME = "dnsmos"
RATE = 16_000
WINDOW_S = 9.01
MIN_AUDIO_S = 1.0  # shorter than this, repeating it to fill a window measures the repetition
SCORES = ("ovrl", "sig", "bak", "p808")
HEADLINE = "p808"  # the MOS a drop is measured in: the one that fell at every degradation step (reports/mos)
SOURCE = "DNSMOS P.835 + P.808 (Reddy et al. 2022), ONNX models from the speechmos wheel"

# P.835 raw outputs -> MOS, from the reference implementation (non-personalized models).
_POLY = {
    "sig": np.poly1d([-0.08397278, 1.22083953, 0.0052439]),
    "bak": np.poly1d([-0.13166888, 1.60915514, -0.39604546]),
    "ovrl": np.poly1d([-0.06766283, 1.11546468, 0.04602535]),
}


@dataclass(frozen=True)
class Mos:
    """One clip's DNSMOS scores, or why there are none (``reason``)."""

    ovrl: float | None
    sig: float | None
    bak: float | None
    p808: float | None
    windows: int = 0
    tiled: bool = False  # shorter than a window: repeated to fill one
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in (*SCORES, "windows", "tiled", "reason")}


@functools.lru_cache(maxsize=1)
def _sessions() -> tuple[Any, Any]:
    """The two ONNX Runtime sessions (CPU), loaded once per process."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise BackendUnavailable("DNSMOS needs onnxruntime: pip install 'tts-harness[onnx]'") from None
    import importlib.util

    spec = importlib.util.find_spec("speechmos")
    if spec is None or not spec.submodule_search_locations:
        raise BackendUnavailable("DNSMOS needs the speechmos package (its ONNX models): pip install speechmos")
    models = Path(next(iter(spec.submodule_search_locations))) / "dnsmos_models"
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    providers = ["CPUExecutionProvider"]
    primary = ort.InferenceSession(str(models / "sig_bak_ovr.onnx"), options, providers=providers)
    p808 = ort.InferenceSession(str(models / "model_v8.onnx"), options, providers=providers)
    return primary, p808


def _to_16k(wave: np.ndarray, rate: int) -> np.ndarray:
    from math import gcd

    from scipy.signal import resample_poly

    if rate == RATE:
        return wave
    step = gcd(rate, RATE)
    return np.asarray(resample_poly(wave, RATE // step, rate // step), dtype=np.float32)


def _log_mel(window: np.ndarray) -> np.ndarray:
    """The P.808 model's input: 120-band mel power in dB over 321-point frames hopped by 160 samples."""
    import librosa

    mel = librosa.feature.melspectrogram(y=window, sr=RATE, n_fft=321, hop_length=160, n_mels=120)
    scaled: np.ndarray = ((librosa.power_to_db(mel, ref=np.max) + 40) / 40).T.astype(np.float32)
    return scaled


def score(wave: np.ndarray, rate: int) -> Mos:
    """DNSMOS of a mono clip at ``rate`` (16 kHz or more). Too short, silent or band-limited input is
    an ``n/a`` with its reason, never a number that means nothing."""
    x = np.asarray(wave, dtype=np.float32).reshape(-1)
    if not np.isfinite(x).all():
        raise InputError("audio for DNSMOS contains NaN or infinity")
    if rate < RATE:
        return Mos(None, None, None, None, reason=f"needs audio sampled at {RATE} Hz or more, got {rate} Hz")
    if x.size < MIN_AUDIO_S * rate:
        return Mos(None, None, None, None, reason=f"shorter than {MIN_AUDIO_S:g} s ({x.size / rate:.2f} s)")
    if float(np.max(np.abs(x))) < 1e-4:
        return Mos(None, None, None, None, reason="silent")
    x = np.clip(_to_16k(x, rate), -1.0, 1.0)
    window = int(WINDOW_S * RATE)
    tiled = x.size < window
    if tiled:
        x = np.tile(x, int(np.ceil(window / x.size)))
    primary, p808 = _sessions()
    hops = int(np.floor(x.size / RATE - WINDOW_S)) + 1
    raw, p808_scores = [], []
    for index in range(hops):
        segment = x[index * RATE : index * RATE + window]
        if segment.size < window:
            continue
        raw.append(primary.run(None, {"input_1": segment[np.newaxis, :]})[0][0])
        p808_scores.append(float(p808.run(None, {"input_1": _log_mel(segment[:-160])[np.newaxis]})[0][0][0]))
    sig, bak, ovrl = (float(np.mean([_POLY[name](r[i]) for r in raw])) for i, name in enumerate(("sig", "bak", "ovrl")))
    return Mos(ovrl, sig, bak, float(np.mean(p808_scores)), windows=len(raw), tiled=tiled)


def block(generated: list[np.ndarray], references: list[np.ndarray], rate: int) -> dict[str, Any]:
    """DNSMOS of every generated text and of its reference render: the means, the drop of the P.808
    MOS against the reference (the plan's "MOS drop"), and the per-text scores a paired gate compares."""
    ours = [score(w, rate) for w in generated]
    theirs = [score(w, rate) for w in references]
    scored = [(a, b) for a, b in zip(ours, theirs, strict=True) if a.p808 is not None and b.p808 is not None]
    out: dict[str, Any] = {
        "backend": NAME,
        "source": SOURCE,
        "per_text": [m.as_dict() for m in ours],
        "meaningful": True,
    }
    if not scored:
        out["reason"] = next((m.reason for m in ours if m.reason), "no score")
        return out
    for name in SCORES:
        out[name] = float(np.mean([getattr(a, name) for a, _ in scored]))
    # The headline is P.808: on real speech degraded in known steps it fell at every step, where the
    # P.835 overall score rose with faint noise on synthetic speech (reports/mos).
    out["headline"] = HEADLINE
    out["reference_p808"] = float(np.mean([b.p808 for _, b in scored]))
    out["drop"] = out["reference_p808"] - out["p808"]
    return out


METRIC = Metric("mos", block, (Score("mos", HEADLINE, "DNSMOS P.808 MOS (1-5)", True, 0.1),), SOURCE)
