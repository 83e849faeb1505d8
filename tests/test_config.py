from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from harness.config import RunConfig, load_suite
from harness.errors import ConfigError


def test_smoke_suite_expands_to_two_named_configurations() -> None:
    suite = load_suite("smoke")
    assert [r.id for r in suite.runs] == [
        "nfe8-fp32-compile_none-voc_torch",
        "nfe16-fp32-compile_none-voc_torch",
    ]
    assert suite.texts[0].reference_audio.endswith("basic_ref_en.wav")
    assert suite.thresholds.rtf is not None and suite.thresholds.rtf.critical == 0.35


def test_build_key_ignores_nfe_and_vocoder() -> None:
    a = RunConfig(nfe=8, vocoder="torch")
    b = RunConfig(nfe=32, vocoder="onnxruntime")
    assert a.build_key == b.build_key
    assert a.build_key != RunConfig(precision="fp16").build_key


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"precision": "fp61"}, "unknown precision 'fp61' (did you mean 'fp16'?)"),
        ({"compile_mode": "max_autotune"}, "unknown compile mode"),
        ({"vocoder": "tensort"}, "did you mean 'tensorrt'"),
        ({"device": "gpu"}, "unknown device 'gpu'"),
        ({"nfe": 0}, "NFE must be an integer >= 1"),
        ({"weights": "s3://x"}, "unknown weights"),
    ],
)
def test_bad_knob_names_the_value(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        RunConfig(**kwargs)  # type: ignore[arg-type]
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"extra": "[timing2]\nx = 1"}, "unknown key 'timing2' in the suite (did you mean 'timing'?)"),
        ({"extra": "[thresholds]\nrtf = { warning = 'fast', critical = 0.35 }"}, "must be a number"),
        ({"extra": "[thresholds]\nrtf = { warning = 0.5, critical = 0.35 }"}, "above critical"),
        ({"nfe": "[]"}, "the matrix is empty"),
        ({"text": "   "}, "is empty"),
        ({"reference_text": ""}, "reference_text is empty"),
        ({"precision": '"fp8"'}, "unknown precision 'fp8'"),
    ],
)
def test_bad_suite_file_names_key_and_file(
    write_suite: Callable[..., Path], overrides: dict[str, str], message: str
) -> None:
    path = write_suite(**overrides)
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    text = str(info.value)
    assert str(path) in text
    assert message.replace("\\", "") in text
    assert "\n" not in text


def test_typo_in_matrix_key_is_named(write_suite: Callable[..., Path]) -> None:
    path = write_suite()
    path.write_text(path.read_text().replace("nfe =", "nef ="))
    with pytest.raises(ConfigError, match=r"unknown key 'nef' in \[matrix\] \(did you mean 'nfe'\?\)"):
        load_suite(path)


def test_narrowing_to_nothing_is_an_error() -> None:
    with pytest.raises(ConfigError, match="empty after narrowing"):
        load_suite("smoke").narrowed(nfe=[99])


@pytest.mark.parametrize("name", sorted(p.stem for p in (Path(__file__).parents[1] / "suites").glob("*.toml")))
def test_every_shipped_suite_loads(name: str) -> None:
    suite = load_suite(name)
    assert suite.runs and suite.texts
    assert len({r.full_id for r in suite.runs}) == len(suite.runs)
