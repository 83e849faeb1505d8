"""Resampling shared by the quality tools (they all want 16 kHz mono)."""

from __future__ import annotations

from math import gcd

import numpy as np

from harness.quality.spectral import check_audio


def to_rate(wave: np.ndarray, rate: int, target: int, name: str = "input") -> np.ndarray:
    from scipy.signal import resample_poly

    x = check_audio(wave, name)
    if rate == target:
        return x.astype(np.float32)
    g = gcd(rate, target)
    return np.asarray(resample_poly(x, target // g, rate // g), dtype=np.float32)
