"""DNSMOS on the real speech f5-tts ships: plausible for clean speech, lower with noise, and an
``n/a`` with its reason for what it cannot score."""

from __future__ import annotations

import numpy as np
import pytest

from harness.errors import InputError
from harness.pipeline.audio import read_audio
from harness.quality.mos import block as mos_block
from harness.quality.mos import score
from tests.conftest import REFERENCE


@pytest.fixture(scope="module")
def speech() -> tuple[np.ndarray, int]:
    return read_audio(REFERENCE)


def _noisy(wave: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0.0, np.sqrt(np.mean(wave**2) / 10 ** (snr_db / 10)), wave.size)
    return np.clip(wave + noise, -1, 1).astype(np.float32)


def test_clean_speech_scores_as_speech_and_noise_lowers_every_score(speech: tuple[np.ndarray, int]) -> None:
    wave, rate = speech
    clean, noisy = score(wave, rate), score(_noisy(wave, 10), rate)
    assert clean.ovrl is not None and 2.8 < clean.ovrl < 4.5 and clean.windows >= 1 and clean.tiled  # 5.3 s < 9.01 s
    assert noisy.ovrl is not None and noisy.bak is not None and clean.bak is not None and noisy.p808 is not None
    assert clean.ovrl - noisy.ovrl > 0.5 and clean.bak - noisy.bak > 1.0  # measured: 3.34 -> 2.13, 4.11 -> 1.98
    assert clean.p808 is not None and clean.p808 > noisy.p808


def test_what_dnsmos_cannot_score_is_n_a_with_a_reason(speech: tuple[np.ndarray, int]) -> None:
    wave, rate = speech
    assert score(wave[: rate // 2], rate).reason == "shorter than 1 s (0.50 s)"
    assert score(np.zeros(rate * 3, dtype=np.float32), rate).reason == "silent"
    assert "16000 Hz or more" in score(wave[::3], 8000).reason
    with pytest.raises(InputError, match="NaN"):
        score(np.full(rate, np.nan, dtype=np.float32), rate)


def test_the_quality_block_states_the_drop_against_the_reference_render(speech: tuple[np.ndarray, int]) -> None:
    wave, rate = speech
    block = mos_block([_noisy(wave, 20), wave[: rate // 2]], [wave, wave], rate)
    assert block["drop"] > 0.3 and block["reference_p808"] > block["p808"] and block["headline"] == "p808"
    assert block["per_text"][1]["reason"].startswith("shorter than")  # the short one is n/a, not averaged in
