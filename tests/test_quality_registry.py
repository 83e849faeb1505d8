"""A quality metric is one file: a toy metric registered from this test is switched on by name in a
suite, scored by the assessor on real speech, and paired by `compare` like the built-in ones."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.config import QualityConfig
from harness.errors import ConfigError
from harness.pipeline.audio import read_audio
from harness.quality import registry
from harness.quality.assess import Assessor
from harness.quality.paired import known
from harness.results import Record, Results, RunSample
from harness.suite_file import load_suite
from tests.conftest import REFERENCE
from tests.test_cli import cli, cli_in_process


def _loudness_block(generated: list[np.ndarray], references: list[np.ndarray], rate: int) -> dict[str, Any]:
    """The toy metric: each text's RMS level in dB (higher: louder, here "better")."""
    per_text = [{"level_db": float(20 * np.log10(np.sqrt(np.mean(w**2)) + 1e-12))} for w in generated]
    return {"per_text": per_text, "meaningful": True, "level_db": float(np.mean([t["level_db"] for t in per_text]))}


@pytest.fixture
def loudness() -> Iterator[registry.Metric]:
    metric = registry.register(
        registry.Metric("loudness", _loudness_block, (registry.Score("loudness", "level_db", "level (dB)", True, 1.0),))
    )
    yield metric
    registry.METRICS.unregister("loudness")


def test_a_registered_metric_is_switched_on_by_name(
    loudness: registry.Metric, write_suite: Callable[..., Path]
) -> None:
    suite = load_suite(write_suite(extra='[quality]\nenabled = true\nmetrics = ["loudness"]'))
    assert suite.quality.metrics == ("loudness",) and suite.quality.metric_names()[-1] == "loudness"
    assert "loudness" in known()
    with pytest.raises(ConfigError, match=r"unknown quality metric 'loudnes'.*did you mean 'loudness'"):
        QualityConfig(metrics=["loudnes"])


def test_the_assessor_scores_it_and_compare_pairs_it(loudness: registry.Metric, tmp_path: Path) -> None:
    wave, rate = read_audio(REFERENCE)
    config = QualityConfig(enabled=True, asr="none", speaker="none", mos="none", intrusive=False, metrics=["loudness"])
    assessor = Assessor(config, ["a"])
    gains = np.random.default_rng(0).uniform(0.3, 1.0, 12)
    clips = [wave * g for g in gains]

    def sweep(folder: Path, gain: float) -> Path:
        quality = assessor.assess(rate, [c * gain for c in clips], ["a"] * 12, clips, [(wave, rate)] * 12, True)
        assert len(quality["loudness"]["per_text"]) == 12
        runs = [RunSample(0.5, 5.0, 0.1 * (1 + i / 100), {}) for i in range(5)]
        record = Record(id="nfe8", config={}, runs=runs, quality=quality)
        record.summarize()
        Results(suite={"name": "s"}, records=[record], status="complete").save(folder)
        return folder

    same = cli_in_process("compare", str(sweep(tmp_path / "a", 1.0)), str(sweep(tmp_path / "b", 1.0)))
    assert same.returncode == 0 and "loudness unchanged (" in same.stdout
    quieter = cli_in_process("compare", str(tmp_path / "a"), str(sweep(tmp_path / "c", 0.5)))  # -6 dB each text
    assert quieter.returncode == 1 and "loudness regression (-6.021 over 12 texts" in quieter.stdout
    assert "regression against" in quieter.stderr and "nfe8 (loudness)" in quieter.stderr  # what failed the gate

    # The same metric as a package a user installed: its entry point, found by a fresh `tts-harness`.
    site = tmp_path / "site"
    (site / "toy_loudness-0.1.dist-info").mkdir(parents=True)
    (site / "toy_loudness-0.1.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: toy-loudness\nVersion: 0.1\n"
    )
    (site / "toy_loudness-0.1.dist-info" / "entry_points.txt").write_text(
        f"[{registry.ENTRY_POINTS}]\nloudness = toy_loudness:METRIC\n"
    )
    source = Path(__file__).read_text()
    block = source[source.index("def _loudness_block") : source.index("@pytest.fixture")]
    (site / "toy_loudness.py").write_text(
        "import numpy as np\nfrom typing import Any\nfrom harness.quality.registry import Metric, Score\n\n"
        + block
        + 'METRIC = Metric("loudness", _loudness_block, (Score("loudness", "level_db", "level (dB)", True, 1.0),))\n'
    )
    fresh = cli("compare", str(tmp_path / "a"), str(tmp_path / "c"), env={"PYTHONPATH": f"{site}:{Path.cwd()}"})
    assert fresh.returncode == 1 and "loudness regression (-6.021 over 12 texts" in fresh.stdout, fresh.stderr


def test_an_asr_backend_and_a_speaker_encoder_registered_from_a_test_are_suite_choices() -> None:
    """config.py asks the ASR and speaker registries (it once kept its own lists and refused what
    ``speaker.register`` added)."""
    import numpy as np

    from harness.config import QualityConfig
    from harness.errors import ConfigError
    from harness.quality import asr, speaker

    with pytest.raises(ConfigError, match="unknown speaker encoder 'flat'"):
        QualityConfig(speaker="flat")
    asr.register("echo", asr.PocketSphinxASR)
    speaker.register("flat", lambda: lambda wave, rate: np.ones(4))
    try:
        assert QualityConfig(asr="echo", speaker="flat").speaker == "flat"
        noise = np.random.default_rng(0).normal(size=16000).astype(np.float32)
        assert speaker.similarity(noise, 16000, -noise, 16000, encoder="flat") == pytest.approx(1.0)
    finally:
        del asr._BACKENDS["echo"], speaker._ENCODERS["flat"]
        speaker._CACHE.pop("flat", None)
