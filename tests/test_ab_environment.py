"""``ab`` between two Python environments: two real venvs that differ in one package's code (a
copy of f5-tts with a sleep planted in ``CFM.sample``), probed, recorded, stated and measured."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from harness.ab.environment import differences, f5tts_tree, probe
from harness.ab.gate import read_state
from harness.errors import ConfigError
from tests.conftest import SUITE_TEMPLATE, suite_values
from tests.test_ab import GATE, ab
from tests.test_cli import ROOT, assert_one_line_error

SLOW = """

_harness_test_sample = CFM.sample


def _slow_sample(self, *args, **kwargs):  # planted by tests/test_ab_environment.py
    import time

    time.sleep(0.5)
    return _harness_test_sample(self, *args, **kwargs)


CFM.sample = _slow_sample
"""


def _venv(folder: Path) -> Path:
    """A venv that sees this environment's packages (its own site-packages first)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    own = Path(
        subprocess.check_output([str(python), "-c", "import site; print(site.getsitepackages()[0])"], text=True).strip()
    )
    (own / "shared.pth").write_text(f"import site; site.addsitedir({sysconfig.get_paths()['purelib']!r})\n")
    return python


@pytest.fixture(scope="module")
def venvs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("venvs")
    fast, slow = _venv(root / "fast"), _venv(root / "slow")
    own = Path(
        subprocess.check_output([str(slow), "-c", "import site; print(site.getsitepackages()[0])"], text=True).strip()
    )
    import f5_tts

    copy = own / "f5_tts"
    shutil.copytree(next(iter(f5_tts.__path__)), copy, ignore=shutil.ignore_patterns("__pycache__"))
    cfm = copy / "model" / "cfm.py"
    cfm.write_text(cfm.read_text() + SLOW)
    return fast, slow


def test_two_venvs_are_probed_and_their_difference_stated(venvs: tuple[Path, Path], tmp_path: Path) -> None:
    fast, slow = venvs
    ours, theirs = probe(str(fast), []), probe(str(slow), [])
    assert ours["packages"]["f5-tts"] == theirs["packages"]["f5-tts"]  # same version ...
    (said,) = differences(ours, theirs)  # ... other code: the hash of the f5_tts tree says it
    assert said.startswith("f5_tts code ") and str(slow.parent.parent) in said
    with pytest.raises(ConfigError, match="no Python interpreter"):
        probe(str(tmp_path / "nope" / "python"), [])
    with pytest.raises(ConfigError, match="holds no f5_tts package"):
        f5tts_tree(str(tmp_path))
    tree = f5tts_tree(
        str(slow.parent.parent / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages")
    )
    assert probe(str(fast), [tree])["f5_tts"]["sha256"] == theirs["f5_tts"]["sha256"]  # a tree first on the path


@pytest.mark.slow
def test_ab_measures_the_slower_environment_and_records_both(venvs: tuple[Path, Path], tmp_path: Path) -> None:
    """One round of fresh processes (the design for sides without resident workers) is enough to
    see 0.5 s planted in every call of a tiny NFE 2 synthesis (0.1-0.5 s a call here, under any load)."""
    fast, slow = venvs
    suite = tmp_path / "env.toml"
    suite.write_text(SUITE_TEMPLATE.format(**suite_values(name="env", nfe="[2]", warmup=1, extra=GATE)))
    out = tmp_path / "out"
    common = [str(ROOT), str(ROOT), str(suite), "--allow-dirty", "--no-progress"]  # both sides run this tree
    envs = ["--base-python", str(fast), "--head-python", str(slow)]
    proc = ab(ROOT, *common, *envs, "--out", str(out), "--design", "process", "--best-effort", cache=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "environments differ: f5_tts code" in proc.stderr
    state = read_state(out / "ab.json")  # checked against the ab.json schema
    assert state["base"]["python"] == str(fast) and state["head"]["python"] == str(slow)
    assert state["environments"]["differ"][0].startswith("f5_tts code")
    assert state["design"]["kind"] == "process" and len(state["rounds"]) == 1
    assert [b["side"] for b in state["rounds"][0]["blocks"]] == ["base", "head", "head", "base"]
    (ratio,) = state["rounds"][0]["log_ratios"].values()
    assert ratio > 0.3
    assert "the environments differ: f5_tts code" in (out / "summary.md").read_text()
    same = ab(
        ROOT,
        *common,
        "--base-python",
        str(fast),
        "--head-python",
        str(fast),
        "--out",
        str(tmp_path / "o2"),
        cache=tmp_path,
    )
    assert_one_line_error(same, "environments do not differ")
    missing = ab(ROOT, *common, "--head-f5tts", str(tmp_path), "--out", str(tmp_path / "o3"), cache=tmp_path)
    assert_one_line_error(missing, "holds no f5_tts package")
