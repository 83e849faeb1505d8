"""A lean core with extras: each extra the code names exists, and a missing one is one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from harness.errors import BackendUnavailable
from harness.extras import EXTRAS, need
from tests.test_cli import ROOT

MISSING = "import sys; sys.modules[{module!r}] = None; from harness.cli import main; sys.exit(main({argv!r}))"


def test_every_extra_the_code_names_is_declared_and_all_installs_them() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(EXTRAS) <= set(declared)
    assert declared["all"] == [f"tts-harness[{','.join(EXTRAS)}]"]
    assert "'.[all,dev]'" in (ROOT / "Makefile").read_text()  # the README's two commands install every extra


def test_need_names_the_extra() -> None:
    with pytest.raises(
        BackendUnavailable, match=r"needs no_such_module, from the 'mlflow' extra: pip install 'tts-harness\[mlflow\]'"
    ):
        need("no_such_module", "mlflow", "MLflow tracking")


@pytest.mark.parametrize(
    ("module", "argv", "needle"),
    [
        ("mlflow", ["sync", "{dir}"], "MLflow tracking needs mlflow, from the 'mlflow' extra"),
        (
            "onnxruntime",
            ["export-vocoder", "--out", "{dir}/onnx", "--model", "tiny", "--weights", "random"],
            "from the 'onnx' extra",
        ),
    ],
)
def test_a_missing_extra_is_one_line(tmp_path: Path, module: str, argv: list[str], needle: str) -> None:
    from harness.results import Results

    Results(suite={"name": "x"}).save(tmp_path)
    argv = [a.replace("{dir}", str(tmp_path)) for a in argv]
    proc = subprocess.run(
        [sys.executable, "-c", MISSING.format(module=module, argv=argv)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    errors = [line for line in proc.stderr.splitlines() if line.startswith("tts-harness: error:")]
    assert proc.returncode == 2 and len(errors) == 1 and needle in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr
