"""``tts-harness bisect`` on a real git history made here: a busy wait planted at a known commit is
found by ``ab`` steps in resident workers; bad ranges are refused before anything runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.ab.bisect import Search, bisect
from tests.conftest import SUITE_TEMPLATE, suite_values
from tests.test_ab import git
from tests.test_cli import ROOT, assert_one_line_error

GATE = "[gate]\nalpha = 0.05\nmin_rounds = 3\nmax_rounds = 6\nblock_calls = 2\n"


def _commit(repo: Path, message: str) -> str:
    git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qam", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def history(tmp_path: Path) -> tuple[Path, list[str]]:
    """This project's harness in a new repository, three commits: the second doubles every timed
    call (a busy wait as long as the call itself, inside the timed region)."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "harness", repo / "harness", ignore=shutil.ignore_patterns("__pycache__"))
    (repo / "suites").mkdir()
    (repo / "suites" / "s.toml").write_text(SUITE_TEMPLATE.format(**suite_values(name="s", nfe="[2]", extra=GATE)))
    git(tmp_path, "init", "-q", str(repo))
    git(repo, "add", ".")
    commits = [_commit(repo, "one")]
    measure = repo / "harness" / "measure.py"
    text = measure.read_text()
    assert "inject_slowdown=slowdown," in text
    measure.write_text(text.replace("inject_slowdown=slowdown,", "inject_slowdown=slowdown + 1.0,"))
    commits.append(_commit(repo, "two: a busy wait"))
    (repo / "harness" / "note.txt").write_text("nothing timed changes here\n")
    git(repo, "add", ".")
    commits.append(_commit(repo, "three"))
    return repo, commits


def bisect_cli(repo: Path, *args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TTS_HARNESS_CACHE": str(cache), "PYTHONPATH": str(repo)}
    return subprocess.run(
        [sys.executable, "-m", "harness", "bisect", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )


@pytest.mark.slow
@pytest.mark.timing
def test_bisect_finds_the_commit_that_planted_a_busy_wait(history: tuple[Path, list[str]], tmp_path: Path) -> None:
    repo, commits = history
    out = tmp_path / "out"
    # One step keeps `make test` short: the ends are the only ab (the halving over more commits is
    # tested on synthetic outcomes below, and shown on this history in reports/bisect).
    proc = bisect_cli(repo, commits[0], commits[1], "s", "--out", str(out), cache=tmp_path / "cache")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"first slow commit: {commits[1]}" in proc.stdout
    search = json.loads((out / "bisect.json").read_text())
    assert [(s["base"], s["head"], s["outcome"]) for s in search["steps"]] == [(commits[0], commits[1], "regression")]
    step = json.loads((out / "ends" / "ab.json").read_text())  # each step an ab in resident workers
    assert step["design"]["kind"] == "resident" and step["rounds"][0]["k"] == 3
    assert [b["side"] for b in step["rounds"][0]["blocks"][:5]] == ["start-up", "base", "head", "head", "base"]


def test_an_inconclusive_step_ends_the_search_with_the_range_left(tmp_path: Path) -> None:
    answers = iter(["regression", "unchanged", "inconclusive"])
    search = bisect(Search("g", "b", ["c1", "c2", "c3", "c4", "c5"]), lambda *_: next(answers), tmp_path)
    # the ends differ; c2 is as fast as GOOD; c3 against c2 could not tell: c3, c4 or c5 is the first slow one
    assert not search.found and search.undecided == ["c3", "c4", "c5"]
    quiet = bisect(Search("g", "b", ["c1", "c2"]), lambda *_: "unchanged", tmp_path / "q")
    assert not quiet.found and not quiet.undecided and len(quiet.steps) == 1  # BAD is not slower: nothing to find


def test_bisect_halves_the_range_each_step(tmp_path: Path) -> None:
    candidates = [f"c{i}" for i in range(1, 17)]
    slow_from = candidates.index("c11")

    def compare(base: str, head: str, _: Path) -> str:
        return (
            "regression"
            if candidates.index(head) >= slow_from > (candidates.index(base) if base != "g" else -1)
            else "unchanged"
        )

    search = bisect(Search("g", "c16", candidates), compare, tmp_path)
    assert search.found == "c11" and len(search.steps) == 1 + 4  # the ends, then log2(16) steps


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["nosuchrev", "HEAD", "s"], "GOOD: no revision 'nosuchrev'"),
        (["HEAD", "HEAD~2", "s"], "is not an ancestor of BAD"),
        (["HEAD", "HEAD", "s"], "the range is empty"),
    ],
)
def test_a_bad_range_is_one_line_and_writes_nothing(
    history: tuple[Path, list[str]], tmp_path: Path, args: list[str], needle: str
) -> None:
    repo, _ = history
    proc = bisect_cli(repo, *args, "--out", str(tmp_path / "out"), cache=tmp_path / "cache")
    assert_one_line_error(proc, needle)
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()
