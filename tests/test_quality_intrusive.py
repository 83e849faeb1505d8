"""PESQ-WB and STOI on the real speech f5-tts ships against itself degraded in known steps: both fall
along the noise ladder, a clip PESQ finds no utterance in is ``None`` with its reason, and the
thresholds and the paired gate read them."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from harness.config import Thresholds
from harness.gates import quality_verdicts
from harness.pipeline.audio import read_audio
from harness.quality.intrusive import block, score
from harness.quality.paired import paired
from harness.results import Record
from tests.conftest import REFERENCE
from tests.test_quality_mos import _noisy


@pytest.fixture(scope="module")
def speech() -> tuple[np.ndarray, int]:
    return read_audio(REFERENCE)


def test_both_fall_along_the_noise_ladder(speech: tuple[np.ndarray, int]) -> None:
    wave, rate = speech
    scores = [score(wave, wave if snr is None else _noisy(wave, snr), rate) for snr in (None, 40, 20, 10, 0)]
    pesq = [s.pesq_wb for s in scores]
    assert pesq[0] is not None and pesq[0] > 4.5 and (scores[0].stoi or 0) > 0.99  # identical: the scales' tops
    assert all(a is not None and b is not None and a > b for a, b in pairwise(pesq))  # 4.64 3.08 1.53 1.12 1.05
    stoi = [s.stoi for s in scores]
    assert all(a is not None and b is not None and a > b for a, b in pairwise(stoi))  # 1.00 0.98 0.93 0.86 0.73


def test_what_they_cannot_score_is_none_with_a_reason(speech: tuple[np.ndarray, int]) -> None:
    wave, rate = speech
    short = score(wave[: rate // 10], wave[: rate // 10], rate)
    assert short.pesq_wb is None and short.stoi is None
    assert short.reason == "STOI: fewer than 30 frames of speech; PESQ: BufferTooShortError"
    hiss = np.random.default_rng(0).normal(0, 1e-4, wave.size).astype(np.float32)
    unintelligible = score(wave, hiss, rate).stoi
    assert unintelligible is not None and unintelligible < 0.5  # 0.40: hiss against speech


def test_thresholds_and_the_paired_gate_read_them(speech: tuple[np.ndarray, int]) -> None:
    wave, rate = speech
    pieces = [wave[i * rate : (i + 2) * rate] for i in range(3)]
    clean = block(pieces, pieces, rate)
    noisy = block([_noisy(p, 10, seed=i) for i, p in enumerate(pieces)], pieces, rate)
    record = Record(id="a", config={}, quality={"intrusive": noisy})
    verdicts = quality_verdicts(record, Thresholds(min_pesq_wb=3.0, min_stoi=0.5))
    assert verdicts["pesq_wb"]["level"] == "critical" and verdicts["stoi"]["level"] == "good"
    gate = paired([s["pesq_wb"] for s in clean["per_text"]], [s["pesq_wb"] for s in noisy["per_text"]], "pesq_wb")
    assert gate.outcome == "regression"
