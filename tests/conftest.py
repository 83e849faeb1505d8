"""Shared fixtures: offline hub, the real reference speech shipped in f5-tts, small suites."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from harness.config import SuiteConfig
    from harness.executors.in_process import InProcess
    from harness.sweep import Sweep

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Inductor's C++ kernels without SIMD: the tests ask what is compiled, cached and carried, not how
# fast a kernel runs, and scalar kernels skip the ISA probe build (a cold tiny-DiT compile: 33 s, then 26 s).
os.environ.setdefault("TORCHINDUCTOR_VEC_ISA_OK", "0")

REFERENCE = "f5tts:infer/examples/basic/basic_ref_en.wav"
REFERENCE_TEXT = "Some call me nature, others call me mother nature."

SUITE_TEMPLATE = """
[suite]
name = "{name}"
[matrix]
model = "tiny"
weights = "{weights}"
device = "cpu"
nfe = {nfe}
precision = {precision}
compile = {compile}
vocoder = {vocoder}
{matrix}
[timing]
warmup = {warmup}
repeats = {repeats}
threads = 1
{timing}
[[texts]]
id = "t1"
reference_audio = "{reference}"
reference_text = "{reference_text}"
text = "{text}"
{extra}
"""


# Matrix and quality lines several tests add through ``matrix=`` and ``extra=``:
# a second model build as cheap as the first (a low precision costs 4x an fp32 call on this CPU) ...
TWO_BUILDS = 'pos_conv = ["conv", "gemm"]'
# ... and fidelity alone among the quality proxies (no ASR, no speaker encoder).
FIDELITY_ONLY = '[quality]\nenabled = true\nasr = "none"\nspeaker = "none"'


def suite_values(**overrides: object) -> dict[str, object]:
    """The template's values: a tiny model at NFE 4 speaking one short sentence, with ``overrides``
    (``matrix``: more lines of the matrix, e.g. another axis)."""
    values: dict[str, object] = {
        "name": "t",
        "weights": "random",
        "nfe": "[4]",
        "precision": '"fp32"',
        "compile": '"none"',
        "vocoder": '"torch"',
        "matrix": "",
        "repeats": 2,
        "warmup": 0,
        "timing": "",
        "reference": REFERENCE,
        "reference_text": REFERENCE_TEXT,
        "text": "A short sentence to speak.",
        "extra": "",
    }
    values.update(overrides)
    return values


@pytest.fixture
def write_suite(tmp_path: Path) -> Callable[..., Path]:
    """Write a small tiny-model suite; keyword arguments fill the template."""

    def write(**overrides: object) -> Path:
        values = suite_values(**overrides)
        path = tmp_path / f"{values['name']}.toml"
        path.write_text(SUITE_TEMPLATE.format(**values))
        return path

    return write


def quiet_sweep(suite: SuiteConfig, out_dir: Path, resume: bool = False) -> Sweep[InProcess]:
    """A sweep of ``suite`` into ``out_dir``, measured in this process, without progress bars or telemetry."""
    from harness.executors.in_process import InProcess
    from harness.measure import MeasureOptions
    from harness.sweep import Sweep, SweepOptions

    backend = InProcess(suite, MeasureOptions(out_dir=out_dir, telemetry=False))
    return Sweep(suite, backend, SweepOptions(out_dir, resume=resume, progress=False))
