"""Spectral distances of a test waveform to a reference render (librosa; both at the same rate).

- MCD: mel-cepstral distortion in dB over MFCC 1-24 (c0, the energy, excluded), frames aligned
  with DTW when the lengths differ, else frame by frame.
- LSD: log-spectral distance in dB, RMS over frequency of the log power difference, mean over frames.
- MR-STFT: multi-resolution STFT distance (spectral convergence + log-magnitude L1) over FFT sizes
  512, 1024 and 2048.
- mel L1: mean absolute difference of log-mel spectrograms (100 bands, as F5-TTS's mel).
Identical inputs give 0 for every distance.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from harness.errors import InputError

EPS = 1e-10


def check_audio(wave: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(wave, dtype=np.float64).reshape(-1)
    if x.size == 0:
        raise InputError(f"{name} audio is empty")
    if not np.isfinite(x).all():
        raise InputError(f"{name} audio contains NaN or infinity")
    if float(np.max(np.abs(x))) < 1e-6:
        raise InputError(f"{name} audio is silent")
    return x


def _aligned(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Frames [frames, dims] of a and b, DTW-aligned when their counts differ."""
    import librosa

    if a.shape[0] == b.shape[0]:
        return a, b
    _, path = librosa.sequence.dtw(X=a.T, Y=b.T, metric="euclidean")
    path = path[::-1]
    return a[path[:, 0]], b[path[:, 1]]


def mcd(ref: np.ndarray, test: np.ndarray, rate: int) -> float:
    import librosa

    r = librosa.feature.mfcc(y=ref, sr=rate, n_mfcc=25).T[:, 1:]
    t = librosa.feature.mfcc(y=test, sr=rate, n_mfcc=25).T[:, 1:]
    r, t = _aligned(r, t)
    # librosa's MFCCs are DCTs of dB (10 log10) spectra, i.e. natural-log cepstra already scaled by
    # 10/ln 10: MCD = 10/ln10 * sqrt(2 sum dc^2) is then sqrt(2 sum dc_dB^2).
    return float(np.mean(np.sqrt(2 * np.sum((r - t) ** 2, axis=1))))


def _power(x: np.ndarray, n_fft: int) -> np.ndarray:
    import librosa

    return np.asarray(np.abs(librosa.stft(x, n_fft=n_fft, hop_length=n_fft // 4)) ** 2)


def lsd(ref: np.ndarray, test: np.ndarray) -> float:
    r, t = _power(ref, 1024).T, _power(test, 1024).T
    r, t = _aligned(np.log10(r + EPS), np.log10(t + EPS))
    return float(np.mean(np.sqrt(np.mean((10 * (r - t)) ** 2, axis=1))))


def mr_stft(ref: np.ndarray, test: np.ndarray) -> float:
    total = 0.0
    sizes = (512, 1024, 2048)
    for n_fft in sizes:
        r, t = np.sqrt(_power(ref, n_fft)).T, np.sqrt(_power(test, n_fft)).T
        r, t = _aligned(r, t)
        convergence = float(np.linalg.norm(t - r)) / max(float(np.linalg.norm(r)), EPS)
        log_mag = np.mean(np.abs(np.log(r + 1e-7) - np.log(t + 1e-7)))
        total += float(convergence + log_mag)
    return total / len(sizes)


def mel_l1(ref: np.ndarray, test: np.ndarray, rate: int) -> float:
    import librosa

    def logmel(x: np.ndarray) -> np.ndarray:
        mel = librosa.feature.melspectrogram(y=x, sr=rate, n_fft=1024, hop_length=256, n_mels=100)
        return np.asarray(np.log(np.clip(mel, 1e-5, None)).T)

    r, t = _aligned(logmel(ref), logmel(test))
    return float(np.mean(np.abs(r - t)))


METRICS: dict[str, Callable[[np.ndarray, np.ndarray, int], float]] = {
    "mcd_db": mcd,
    "lsd_db": lambda ref, test, rate: lsd(ref, test),
    "mr_stft": lambda ref, test, rate: mr_stft(ref, test),
    "mel_l1": mel_l1,
}


def distances(ref: np.ndarray, test: np.ndarray, rate: int, test_rate: int | None = None) -> dict[str, float]:
    if test_rate is not None and test_rate != rate:
        raise InputError(f"sample rates differ ({rate} Hz reference, {test_rate} Hz test): resample first")
    r, t = check_audio(ref, "reference"), check_audio(test, "test")
    # A row that is its own reference: 0 by definition, without librosa, whose first use in a fresh
    # environment (numba compiling its helpers) cost 23 s of `make bench` on two cores.
    same = np.array_equal(r, t)
    return {name: 0.0 if same else metric(r, t, rate) for name, metric in METRICS.items()}
