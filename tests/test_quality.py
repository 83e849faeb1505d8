"""The quality proxies measure what they claim, on real speech (f5-tts's reference, espeak-ng)."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from harness.errors import BackendUnavailable, InputError
from harness.pipeline.audio import read_audio
from harness.quality import spectral
from harness.quality.asr import make_asr
from harness.quality.speaker import similarity
from harness.quality.text import normalize
from harness.quality.wer import score
from tests.conftest import REFERENCE, REFERENCE_TEXT

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "I have 3 apples and 12 pears.",
    "Please call Stella and ask her to bring these things with her from the store.",
    REFERENCE_TEXT,
]


def espeak(text: str, tmp: Path, voice: str = "en-us") -> tuple[np.ndarray, int]:
    """A repeatable espeak-ng render at 140 words per minute."""
    out = tmp / f"{abs(hash((text, voice)))}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "140", "-w", str(out), text], check=True)
    data, rate = sf.read(str(out), dtype="float32")
    return data, rate


def with_noise(x: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal(x.shape)
    scale = np.sqrt(np.mean(x**2) / (10 ** (snr_db / 10)) / np.mean(noise**2))
    return (x + scale * noise).astype(np.float32)


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[np.ndarray, int]]:
    tmp = tmp_path_factory.mktemp("espeak")
    return [espeak(s, tmp) for s in SENTENCES[:3]]


@pytest.fixture(scope="module")
def grammar_asr() -> object:
    return make_asr("pocketsphinx", mode="grammar", sentences=SENTENCES)


def test_normalizer() -> None:
    assert normalize("I have 3 apples, and 12 pears!") == "i have three apples and twelve pears"
    assert normalize("It's 1,250.5 km — “quoted”") == "it's one thousand two hundred fifty point five km quoted"
    assert normalize("?!...") == ""


def test_grammar_asr_on_reference_speech_and_espeak_renders(grammar_asr: object, renders: list) -> None:
    speech, rate = read_audio(REFERENCE)
    hyps = [grammar_asr.transcribe(speech, rate).text]  # type: ignore[attr-defined]
    hyps += [grammar_asr.transcribe(x, r).text for x, r in renders]  # type: ignore[attr-defined]
    result = score([REFERENCE_TEXT, *SENTENCES[:3]], hyps)
    assert result["wer"] <= 0.05, result["per_utterance"]  # measured 0.00 here


def test_grammar_asr_says_nothing_for_noise(grammar_asr: object) -> None:
    noise = np.random.default_rng(0).standard_normal(48000).astype(np.float32) * 0.1
    assert grammar_asr.transcribe(noise, 24000).text == ""  # type: ignore[attr-defined]


def test_open_vocabulary_asr_is_reported_as_such() -> None:
    speech, rate = read_audio(REFERENCE)
    transcript = make_asr("pocketsphinx", mode="open").transcribe(speech, rate)
    assert transcript.mode == "open" and transcript.backend == "pocketsphinx"
    assert score([REFERENCE_TEXT], [transcript.text])["wer"] <= 0.5  # measured 0.11 on this speech


def test_degradation_is_monotonic(grammar_asr: object, renders: list) -> None:
    levels = [None, 30, 20, 10, 0]
    wers, mcds, lsds, sims = [], [], [], []
    for snr in levels:
        hyps, mcd, lsd, sim = [], [], [], []
        for x, rate in renders:
            y = x if snr is None else with_noise(x, snr)
            hyps.append(grammar_asr.transcribe(y, rate).text)  # type: ignore[attr-defined]
            d = spectral.distances(x, y, rate)
            mcd.append(d["mcd_db"])
            lsd.append(d["lsd_db"])
            sim.append(similarity(x, rate, y, rate))
        wers.append(score(SENTENCES[:3], hyps)["wer"])
        mcds.append(float(np.mean(mcd)))
        lsds.append(float(np.mean(lsd)))
        sims.append(float(np.mean(sim)))
    assert mcds[0] == 0.0 and lsds[0] == 0.0 and sims[0] == pytest.approx(1.0)
    assert all(b >= a for a, b in itertools.pairwise(wers)), wers
    assert all(b > a for a, b in itertools.pairwise(mcds)), mcds
    assert all(b > a for a, b in itertools.pairwise(lsds)), lsds
    assert all(b < a for a, b in itertools.pairwise(sims)), sims


def test_speaker_similarity_separates_voices(tmp_path: Path) -> None:
    a, rate = espeak(SENTENCES[0], tmp_path)
    same_voice_other_text, _ = espeak(SENTENCES[2], tmp_path)
    other_voice, _ = espeak(SENTENCES[0], tmp_path, voice="en-us+f3")
    same = similarity(a, rate, same_voice_other_text, rate)
    other = similarity(a, rate, other_voice, rate)
    assert same > other + 0.1, (same, other)  # measured 0.82 vs 0.65


def test_multi_resolution_and_mel_distances_grow_with_noise(renders: list) -> None:
    x, rate = renders[0]
    small = spectral.distances(x, with_noise(x, 30), rate)
    large = spectral.distances(x, with_noise(x, 5), rate)
    assert large["mr_stft"] > small["mr_stft"] > 0 and large["mel_l1"] > small["mel_l1"] > 0


def test_a_render_against_itself_is_zero_computed_or_not(renders: list) -> None:
    """``distances`` skips librosa for identical inputs; computed, every distance is 0 there too."""
    x, rate = renders[0]
    skipped = spectral.distances(x, x.copy(), rate)
    computed = {name: metric(x, x, rate) for name, metric in spectral.METRICS.items()}
    assert skipped == dict.fromkeys(computed, 0.0) and computed == pytest.approx(skipped, abs=1e-9)


def test_lengths_that_differ_are_aligned(renders: list) -> None:
    x, rate = renders[0]
    padded = np.concatenate([np.zeros(2400, dtype=np.float32) + 1e-4, x])
    assert spectral.distances(x, padded, rate)["mcd_db"] < spectral.distances(x, with_noise(x, 0), rate)["mcd_db"]


@pytest.mark.parametrize(
    ("wave", "message"),
    [(np.zeros(0), "empty"), (np.zeros(24000), "silent"), (np.full(100, np.nan), "NaN")],
)
def test_bad_audio_is_one_line(wave: np.ndarray, message: str) -> None:
    with pytest.raises(InputError, match=message):
        spectral.distances(np.ones(24000) * 0.1, wave, 24000)


def test_mismatched_rates_are_refused(renders: list) -> None:
    x, rate = renders[0]
    with pytest.raises(InputError, match="sample rates differ"):
        spectral.distances(x, x, rate, test_rate=16000)


def test_text_that_normalizes_to_nothing() -> None:
    with pytest.raises(InputError, match="normalizes to nothing"):
        score(["!!!"], ["hello"])
    with pytest.raises(InputError, match="normalize to nothing"):
        make_asr("pocketsphinx", mode="grammar", sentences=["?!"])


def test_unavailable_whisper_model_names_it_and_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BackendUnavailable) as info:
        make_asr("whisper", model="openai/whisper-large-v3-turbo")
    text = str(info.value)
    assert "openai/whisper-large-v3-turbo" in text and "huggingface-cli download" in text and "\n" not in text


def test_wavlm_hook_without_weights_says_how_to_get_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.quality.speaker import embedder

    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BackendUnavailable, match="microsoft/wavlm-base-plus-sv"):
        embedder("wavlm")
    with pytest.raises(BackendUnavailable, match="no/such/dir"):
        embedder(f"wavlm:{tmp_path}/no/such/dir")
