"""``tts-harness ab``: bad input refused before anything is written, worktrees of revisions, and a
real comparison in alternating processes (a doubling, with a resume)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from harness.ab.budget import Budget, check, remember_cost
from harness.ab.sides import checkout, resolve, same_suite
from harness.errors import ConfigError
from harness.sequential import GatePolicy
from tests.conftest import SUITE_TEMPLATE, suite_values
from tests.test_bad_input import GATE_FILE_FAULTS
from tests.test_cli import ROOT, assert_one_line_error

# alpha 0.05 and 3 rounds at least: a doubling is decided in 3-4 rounds at this machine's
# process-to-process noise (per-round log ratios scatter by about 0.12 here).
GATE = "[gate]\nalpha = 0.05\nmin_rounds = 3\nmax_rounds = 1\nblock_calls = 2\n"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A small project repository: a harness/ package and a suite, two commits."""
    root = tmp_path / "repo"
    (root / "harness").mkdir(parents=True)
    (root / "harness" / "__init__.py").write_text("")
    (root / "suites").mkdir()
    (root / "suites" / "s.toml").write_text(SUITE_TEMPLATE.format(**suite_values(name="s")))
    git(tmp_path, "init", "-q", str(root))
    git(root, "-c", "user.email=t@t", "-c", "user.name=t", "add", ".")
    git(root, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "one")
    (root / "harness" / "fast.py").write_text("FAST = True\n")
    git(root, "-c", "user.email=t@t", "-c", "user.name=t", "add", ".")
    git(root, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "two")
    return root


def ab(repo: Path, *args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    """``tts-harness ab`` run in ``repo``, this project's harness imported (``-P``: the folder's own
    harness/ package does not shadow it)."""
    return subprocess.run(
        [sys.executable, "-P", "-m", "harness", "ab", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "TTS_HARNESS_CACHE": str(cache), "PYTHONPATH": str(ROOT)},
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["nosuchrev", "HEAD", "s"], "base: no revision or project folder 'nosuchrev'"),
        (["HEAD~1", "HEAD", "nosuite"], "has no suite 'nosuite'"),
        (["HEAD~1", "HEAD", "s", "--max-rounds", "0"], "the gate's budget must be positive"),
        (["HEAD~1", "HEAD", "s", "--max-seconds", "0"], "the gate's budget must be positive"),
        (["HEAD~1", "HEAD", "s", "--nfe", "99"], "the matrix is empty after narrowing"),
        (["HEAD~1", "HEAD", "s", "--max-rounds", "3"], "below the gate's min_rounds = 8: no outcome is possible"),
        (["HEAD~1", "HEAD", "s", "--cpus", "4096"], "--cpus 4096: this process may run on cores"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(repo: Path, tmp_path: Path, args: list[str], needle: str) -> None:
    cache = tmp_path / "cache"
    assert_one_line_error(ab(repo, *args, "--out", str(tmp_path / "out"), cache=cache), needle)
    assert not (tmp_path / "out").exists() and not cache.exists()
    assert len(git(repo, "worktree", "list").splitlines()) == 1  # no worktree made


@pytest.mark.parametrize("fault", sorted(GATE_FILE_FAULTS))
def test_a_malformed_ab_json_is_refused_on_resume_in_one_line(repo: Path, tmp_path: Path, fault: str) -> None:
    state = json.loads((ROOT / "reports" / "gate-power" / "cpu-resident-ab.json").read_text())
    out = tmp_path / "out"
    out.mkdir()
    (out / "ab.json").write_text(json.dumps(GATE_FILE_FAULTS[fault](state)))
    proc = ab(repo, "HEAD~1", "HEAD", "s", "--resume", str(out), cache=tmp_path / "cache")
    assert proc.returncode == 2
    assert_one_line_error(proc, f"{out / 'ab.json'} is not a tts-harness ab.json this version reads")
    assert sorted(p.name for p in out.iterdir()) == ["ab.json"]  # nothing else written


def test_a_budget_the_last_round_cost_says_is_too_small_is_refused_before_any_block(repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    text = (repo / "suites" / "s.toml").read_text()
    remember_cost(cache / "tts-harness", text, [], Budget(GatePolicy(), 100.0, 40.0))  # 100 s pilot clusters
    proc = ab(repo, "HEAD~1", "HEAD", "s", "--out", str(tmp_path / "out"), "--max-seconds", "300", cache=cache)
    assert_one_line_error(proc, "a pilot cluster costs 100 s and a later one at least 60 s (40 s of start-up)")
    assert "holds 3, and the gate decides nothing before min_rounds = 8 (about 600 s)" in proc.stderr
    assert not (tmp_path / "out").exists() and len(git(repo, "worktree", "list").splitlines()) == 1


def test_a_budget_holds_the_rounds_that_fit_and_projects_what_its_end_will_see() -> None:
    policy = GatePolicy(max_rounds=50, max_seconds=600, min_rounds=8)
    assert Budget(policy, 48.0).rounds == 12 and Budget(policy, 5.0).rounds == 50
    assert not Budget(policy, 100.0).reaches_min_rounds and Budget(policy, 48.0).reaches_min_rounds
    with pytest.raises(ConfigError, match="holds 6"):
        check(Budget(policy, 100.0), "Measured:", best_effort=False)
    assert "running anyway" in (check(Budget(policy, 100.0), "Measured:", best_effort=True) or "")
    # more rounds see smaller slowdowns; a noisier round sees larger ones
    assert Budget(policy, 12.0).detectable_at_end(0.1) < Budget(policy, 48.0).detectable_at_end(0.1)
    assert Budget(policy, 48.0).detectable_at_end(0.05) < Budget(policy, 48.0).detectable_at_end(0.1)
    # resident workers: a pilot of 3 clusters of 3 rounds (100 s, 40 s start-up), then clusters of one round (60 s)
    pilot = Budget(policy, 100.0, startup_s=40.0)
    assert pilot.smallest_s == 60.0 and pilot.rounds == 3 + 5 and pilot.reaches_min_rounds
    assert pilot.min_rounds_s == 3 * 100 + 5 * 60 and not Budget(policy, 48.0 * 2).reaches_min_rounds


def test_a_dirty_tree_is_refused_unless_allowed(repo: Path, tmp_path: Path) -> None:
    (repo / "harness" / "fast.py").write_text("FAST = False\n")
    out = str(tmp_path / "out")
    assert_one_line_error(ab(repo, "HEAD~1", ".", "s", "--out", out, cache=tmp_path), "head . has uncommitted changes")
    assert_one_line_error(ab(repo, "HEAD~1", "HEAD", "s", "--out", out, cache=tmp_path), "does not hold")
    assert resolve("head", str(repo), repo, allow_dirty=True).dirty
    assert not Path(out).exists()


def test_sides_whose_suites_differ_are_refused(repo: Path, tmp_path: Path) -> None:
    suite = repo / "suites" / "s.toml"
    suite.write_text(suite.read_text().replace("repeats = 2", "repeats = 3"))
    git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qam", "three")
    proc = ab(repo, "HEAD~1", "HEAD", "s", "--out", str(tmp_path / "out"), cache=tmp_path / "c")
    assert_one_line_error(proc, "the suite 's' differs between base HEAD~1 and head HEAD")
    base, head = resolve("base", "HEAD~1", repo, False), resolve("head", "HEAD", repo, False)
    with pytest.raises(ConfigError, match="differs"):
        same_suite(base, head, "s", repo)
    assert same_suite(base, head, str(suite), repo) == suite.read_bytes()  # an absolute path: one file for both


def test_a_revision_is_checked_out_once_and_reused(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTS_HARNESS_CACHE", str(tmp_path / "cache"))
    side = checkout(resolve("base", "HEAD~1", repo, False), repo)
    assert not (side.root / "harness" / "fast.py").exists() and (side.root / "suites" / "s.toml").is_file()
    assert checkout(resolve("base", "HEAD~1", repo, False), repo).root == side.root  # the same worktree again
    assert git(side.root, "rev-parse", "HEAD") == git(repo, "rev-parse", "HEAD~1")


@pytest.mark.slow
@pytest.mark.timing
def test_a_doubling_between_two_folders_is_a_regression_and_a_comparison_resumes(tmp_path: Path) -> None:
    """The real pipeline in resident workers: one cluster is too few to decide (inconclusive, which
    --strict fails); resumed with a larger budget, the doubling is called a regression."""
    suite = tmp_path / "ab.toml"
    suite.write_text(SUITE_TEMPLATE.format(**suite_values(name="ab", nfe="[2]", warmup=1, extra=GATE)))
    out = tmp_path / "out"
    common = ["--allow-dirty", "--inject-slowdown", "1.0", "--no-progress"]
    cores = sorted(os.sched_getaffinity(0))  # every core: pinned, and no slower than unpinned
    pinned = ["--cpus", ",".join(map(str, cores))]
    first = ab(
        ROOT,
        str(ROOT),
        str(ROOT),
        str(suite),
        "--out",
        str(out),
        "--strict",
        "--best-effort",
        *pinned,
        *common,
        cache=tmp_path,
    )
    assert first.returncode == 1 and "inconclusive" in first.stderr, first.stderr
    assert "below the gate's min_rounds = 3: no outcome is possible; running anyway" in first.stderr
    state = json.loads((out / "ab.json").read_text())
    jsonschema.validate(state, json.loads((ROOT / "docs" / "schemas" / "ab.schema.json").read_text()))
    (cluster,) = state["rounds"]  # one cluster: four warm workers, the pilot's three rounds of blocks
    assert state["design"]["kind"] == "resident" and cluster["k"] == 3
    assert [b["side"] for b in cluster["blocks"]] == ["start-up", *["base", "head", "head", "base"] * 3]
    (ratios,) = cluster["round_ratios"].values()
    # log 2 = 0.69: every round sees head slower, and their mean is near log 2 (one round of two-call
    # blocks fell outside 0.3-1.2 in 2 of 19 runs here, with bisect's test beside it)
    assert all(r > 0.1 for r in ratios) and 0.3 < sum(ratios) / len(ratios) < 1.2, ratios
    again = ab(
        ROOT, str(ROOT), str(ROOT), str(suite), "--resume", str(out), "--max-rounds", "8", *common, cache=tmp_path
    )
    assert again.returncode == 1, again.stderr
    assert "| regression |" in again.stdout and "1 configuration(s) regression" in again.stderr
    state = json.loads((out / "ab.json").read_text())
    assert 3 <= len(state["rounds"]) <= 8 and state["status"] == "complete" and state["design"]["kind"] == "resident"
    assert state["options"]["cpus"] == cores  # kept by the resume, which did not say it again
    assert (out / "summary.md").read_text().startswith("# ab: head")
