"""UTMOS: the harness's own network has the published checkpoint's layout, loads a checkpoint from the
torch.hub cache as tensors only, and is ``n/a`` with the path it looked at when there is none.

No real UTMOS weights exist here: the scored checkpoint is seeded random weights of the network,
saved where torch.hub keeps it (as the pipeline's tests do for F5-TTS)."""

from __future__ import annotations

import json
import pickle
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.config import QualityConfig, Thresholds
from harness.errors import InputError
from harness.gates import quality_verdicts
from harness.pipeline.audio import read_audio
from harness.quality import utmos
from harness.quality.assess import Assessor
from harness.results import Record
from tests.conftest import REFERENCE

KEYS = Path(__file__).parent / "fixtures" / "utmos22_strong_keys.json"  # tarepan/SpeechMOS v1.2.0's state dict


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Path]:
    """An empty torch.hub folder of the test's own."""
    before = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "hub"))
    utmos._loaded.cache_clear()
    yield tmp_path / "hub" / "checkpoints"
    torch.hub.set_dir(before)
    utmos._loaded.cache_clear()


def _save_random_checkpoint(where: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    state = {k: v.half() if v.is_floating_point() else v for k, v in utmos.build().state_dict().items()}
    where.mkdir(parents=True, exist_ok=True)
    torch.save(state, where / utmos.CHECKPOINT)
    return where / utmos.CHECKPOINT


def test_the_network_has_the_published_checkpoints_parameters() -> None:
    published = json.loads(KEYS.read_text())
    ours = {k: list(v.shape) for k, v in utmos.build().state_dict().items()}
    assert ours == published and len(ours) == 225


def test_without_weights_the_block_is_n_a_with_the_path_it_looked_at(hub: Path) -> None:
    wave, rate = read_audio(REFERENCE)
    block = utmos.block([wave], [wave], rate)
    assert "utmos" not in block and "per_text" not in block
    assert block["reason"].startswith("UTMOS weights are not in the torch.hub cache") and str(hub) in block["reason"]
    verdicts = quality_verdicts(Record(id="r", config={}, quality={"utmos": block}), Thresholds(max_utmos_drop=0.2))
    assert verdicts["utmos_drop"]["level"] == "n/a" and "torch.hub cache" in verdicts["utmos_drop"]["why"]


def test_a_checkpoint_in_the_hub_cache_scores_real_speech(hub: Path) -> None:
    _save_random_checkpoint(hub)
    wave, rate = read_audio(REFERENCE)
    noisy = np.clip(wave + np.random.default_rng(0).normal(0, 0.05, wave.size), -1, 1).astype(np.float32)
    block = utmos.block([noisy, wave[: rate // 4]], [wave, wave], rate)
    first, short = block["per_text"]
    assert np.isfinite(first["utmos"]) and short == {"utmos": None, "reason": "shorter than 0.5 s (0.25 s)"}
    assert block["utmos"] == first["utmos"]
    assert block["drop"] == pytest.approx(block["reference_utmos"] - first["utmos"])
    assert block["device"] == "cpu" and len(block["checkpoint_sha256"]) == 12
    again = utmos.block([noisy], [noisy], rate)  # the same clip: the same score, no drop
    assert again["utmos"] == pytest.approx(first["utmos"], abs=1e-5) and again["drop"] == pytest.approx(0, abs=1e-5)
    model, _, device = utmos._loaded(str(hub / utmos.CHECKPOINT))
    assert utmos.score_with(model, device, np.zeros(rate, dtype=np.float32), rate).reason == "silent"
    with pytest.raises(InputError, match="NaN"):
        utmos.score_with(model, device, np.full(rate, np.nan, dtype=np.float32), rate)


class _Payload:
    """A pickle that names code: plain ``pickle.load`` calls ``open(marker, "w")``, creating it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def test_a_checkpoint_that_names_code_is_refused_and_never_run(hub: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran.txt"
    hub.mkdir(parents=True)
    with open(hub / utmos.CHECKPOINT, "wb") as handle:
        pickle.dump({"weights": _Payload(marker)}, handle)
    loaded, reason = utmos.model_or_reason()
    assert loaded is None and "is not a plain state dict" in reason and not marker.exists()
    with open(hub / utmos.CHECKPOINT, "rb") as handle:
        pickle.load(handle)  # what weights_only refused: it runs the named code
    assert marker.exists()


def test_a_checkpoint_of_another_network_is_refused_with_the_first_difference(hub: Path) -> None:
    hub.mkdir(parents=True)
    torch.save({"linear.weight": torch.zeros(2, 2)}, hub / utmos.CHECKPOINT)
    loaded, reason = utmos.model_or_reason()
    assert loaded is None and "does not fit the UTMOS22 strong network" in reason and "Missing key" in reason


def test_random_f5tts_weights_skip_utmos_as_not_speech() -> None:
    assessor = Assessor(QualityConfig(enabled=True, asr="none", speaker="none", mos="none", intrusive=False,
                                      utmos=True), ["a"])  # fmt: skip
    wave, rate = read_audio(REFERENCE)
    out = assessor.assess(rate, [wave], ["a"], [wave], [(wave, rate)], meaningful=False)
    assert out["utmos"]["meaningful"] is False and "not speech" in out["utmos"]["skipped"]
