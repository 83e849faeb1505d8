from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from harness.config import RunConfig, TimingConfig
from harness.errors import ConfigError
from harness.suite_file import load_suite


def test_smoke_suite_expands_to_two_named_configurations() -> None:
    suite = load_suite("smoke")
    assert [r.id for r in suite.runs] == [
        "nfe8-fp32-compile_none-voc_torch",
        "nfe16-fp32-compile_none-voc_torch",
    ]
    assert suite.texts[0].reference_audio.endswith("basic_ref_en.wav")
    # CPU-sized limits for the tiny model; the service's own (0.30 / 0.35) belong to the Jetson suite
    assert suite.thresholds.rtf is not None and suite.thresholds.rtf.critical == 1.2
    jetson = load_suite("jetson-orin").thresholds.rtf
    assert jetson is not None and (jetson.warning, jetson.critical) == (0.30, 0.35)


def test_build_key_ignores_nfe_and_vocoder() -> None:
    a = RunConfig(nfe=8, vocoder="torch")
    b = RunConfig(nfe=32, vocoder="onnxruntime")
    assert a.build_key == b.build_key
    assert a.build_key != RunConfig(precision="fp16").build_key
    assert a.build_key != RunConfig(cudnn_benchmark=True).build_key
    assert RunConfig(cudnn_benchmark=True).id == "nfe8-fp32-compile_none-voc_torch-cudnnbench"
    assert RunConfig(attention="math").id == "nfe8-fp32-compile_none-voc_torch-attn_math"
    assert a.build_key != RunConfig(attention="math").build_key
    with pytest.raises(ConfigError, match="attention 'cudnn' is a CUDA kernel"):
        RunConfig(attention="cudnn")
    with pytest.raises(ConfigError, match="did you mean 'flash'"):
        RunConfig(attention="flsh", device="cuda")
    assert RunConfig(pos_conv="gemm").id == "nfe8-fp32-compile_none-voc_torch-posconv_gemm"
    assert a.build_key != RunConfig(pos_conv="gemm").build_key
    with pytest.raises(ConfigError, match=r"stock pipeline takes no .*pos_conv"):
        RunConfig(pipeline="stock", pos_conv="gemm")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"precision": "fp61"}, "unknown precision 'fp61' (did you mean 'fp16'?)"),
        ({"compile_mode": "max_autotune"}, "unknown compile mode"),
        ({"vocoder": "tensort"}, "did you mean 'tensorrt'"),
        ({"device": "gpu"}, "unknown device 'gpu'"),
        ({"nfe": 0}, "NFE must be an integer 1-1000"),
        ({"weights": "s3://x"}, "unknown weights"),
        ({"pos_conv": "gem"}, "unknown pos_conv 'gem' (did you mean 'gemm'?)"),
        ({"freezing": True}, "freezing is an Inductor option"),
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


def test_timed_rounds_follow_the_time_budget_within_bounds() -> None:
    timing = TimingConfig(repeats=5, min_time_s=10.0, max_repeats=100)
    assert timing.rounds(0.5) == 20  # 10 s of 0.5 s rounds
    assert timing.rounds(4.0) == 5  # never fewer than repeats
    assert timing.rounds(0.01) == 100  # never more than max_repeats
    assert TimingConfig(repeats=5).rounds(0.01) == 5  # no budget: repeats
    with pytest.raises(ConfigError, match="max_repeats >= repeats"):
        TimingConfig(repeats=5, max_repeats=4)


def test_shards_cover_the_matrix_once_and_keep_builds_together() -> None:
    suite = load_suite("perf")
    for count in (2, 3, 4):
        parts = [suite.shard(i, count) for i in range(1, count + 1)]
        ids = [run.id for part in parts for run in part.runs]
        assert sorted(ids) == sorted(run.id for run in suite.runs)
        owners = {}
        for index, part in enumerate(parts):
            for run in part.runs:
                assert owners.setdefault((run.build_key, run.pipeline), index) == index
        assert [p.runs for p in parts] == [suite.shard(i, count).runs for i in range(1, count + 1)]  # stable
    autotuned = [sum("autotune" in r.compile_mode for r in suite.shard(i, 4).runs) > 0 for i in range(1, 5)]
    assert all(autotuned)  # the costliest compiles are spread, one part each
    with pytest.raises(ConfigError, match="shard 5/4"):
        suite.shard(5, 4)
