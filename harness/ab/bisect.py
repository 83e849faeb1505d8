"""``tts-harness bisect GOOD BAD SUITE``: the first commit between two revisions that made a
configuration slower, each step an ``ab`` with the same sequential test (like ``asv find`` and
Chromium's Pinpoint).

The range is BAD's first-parent history back to GOOD. The ends are compared first: unless BAD is a
``regression`` against GOOD there is nothing to find. Then each step compares the last commit known
good with the middle of what is left: a ``regression`` moves the bad end there, ``unchanged`` or
``improvement`` moves the good end. An ``inconclusive`` step (or a ``broken`` one) ends the search
and says the range that remains; nothing is guessed. ``bisect.json`` records every step.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from harness.ab.sides import git
from harness.errors import ConfigError, InputError
from harness.results import utc_now

BISECT_FILE = "bisect.json"


def commit_range(repo: Path, good: str, bad: str) -> tuple[str, str, list[str]]:
    """GOOD's and BAD's commits and the candidates after GOOD up to BAD (oldest first); refuses, in
    one line, a revision that does not exist, GOOD not an ancestor of BAD, and an empty range."""
    commits = []
    for name, spec in (("GOOD", good), ("BAD", bad)):
        try:
            commits.append(git(repo, "rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}"))
        except InputError:
            raise ConfigError(f"{name}: no revision {spec!r} in {repo}") from None
    first, last = commits
    if first == last:
        raise ConfigError(f"GOOD and BAD are the same commit ({first[:10]}): the range is empty")
    ancestor = subprocess.run(["git", "-C", str(repo), "merge-base", "--is-ancestor", first, last])
    if ancestor.returncode != 0:
        raise ConfigError(f"GOOD {good} is not an ancestor of BAD {bad}: nothing lies between them")
    listed = git(repo, "rev-list", "--first-parent", "--reverse", f"{first}..{last}").split()
    if not listed:
        raise ConfigError(f"no commit between {good} and {bad} on BAD's first-parent history")
    return first, last, listed


@dataclass
class Step:
    base: str
    head: str
    outcome: str
    out: str


@dataclass
class Search:
    good: str
    bad: str
    candidates: list[str]
    steps: list[Step] = field(default_factory=list)
    found: str = ""  # the first slow commit, once known
    undecided: list[str] = field(default_factory=list)  # the candidates still in the range when a step could not tell
    started_utc: str = field(default_factory=utc_now)

    def save(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        (out / BISECT_FILE).write_text(json.dumps(asdict(self), indent=1))


# One step: ``compare(base, head, folder)`` returns the configuration's ab outcome.
CompareFn = Callable[[str, str, Path], str]


def bisect(search: Search, compare: CompareFn, out: Path) -> Search:
    """Run the search, saving after every step."""
    if not search.steps:
        outcome = compare(search.good, search.bad, out / "ends")
        search.steps.append(Step(search.good, search.bad, outcome, str(out / "ends")))
        search.save(out)
        if outcome != "regression":
            search.undecided = search.candidates if outcome in ("inconclusive", "broken") else []
            search.save(out)
            return search
    lo, hi = -1, len(search.candidates) - 1  # candidates[lo] known good (-1: GOOD), candidates[hi] known slow
    while hi - lo > 1:
        mid = (lo + hi) // 2
        base = search.good if lo < 0 else search.candidates[lo]
        folder = out / f"step{len(search.steps)}"
        outcome = compare(base, search.candidates[mid], folder)
        search.steps.append(Step(base, search.candidates[mid], outcome, str(folder)))
        if outcome == "regression":
            hi = mid
        elif outcome in ("unchanged", "improvement"):
            lo = mid
        else:
            search.undecided = search.candidates[lo + 1 : hi + 1]
            search.save(out)
            return search
        search.save(out)
    search.found = search.candidates[hi]
    search.save(out)
    return search


def ab_step(suite: str, config: str | None, options: list[str], repo: Path) -> CompareFn:
    """A step as ``tts-harness ab BASE HEAD SUITE`` in its own process; the outcome of ``config``
    (or of the one configuration the suite has after narrowing)."""

    def compare(base: str, head: str, folder: Path) -> str:
        command = [sys.executable, "-m", "harness", "ab", base, head, suite, "--out", str(folder), "--no-progress"]
        proc = subprocess.run([*command, *options], cwd=repo, capture_output=True, text=True)
        state_file = folder / "ab.json"
        if proc.returncode not in (0, 1) or not state_file.is_file():
            last = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
            raise InputError(f"bisect step {base[:10]}..{head[:10]} failed: {last}")
        from harness.ab.gate import outcomes, read_state

        found = outcomes(read_state(state_file))
        if config is None and len(found) != 1:
            raise ConfigError(f"the suite compares {len(found)} configurations: name one with --config")
        key = config or next(iter(found))
        if key not in found:
            raise ConfigError(f"no configuration {key!r} in the comparison: {', '.join(found)}")
        return found[key]

    return compare


def describe(search: Search) -> str:
    lines = ["| step | base | head | outcome |", "|---|---|---|---|"]
    lines += [f"| {i} | {s.base[:10]} | {s.head[:10]} | {s.outcome} |" for i, s in enumerate(search.steps)]
    if search.found:
        lines.append(f"\nfirst slow commit: {search.found}")
    elif search.undecided:
        lines.append(
            f"\nundecided: a step was inconclusive; the first slow commit is one of {len(search.undecided)}: "
            + ", ".join(c[:10] for c in search.undecided)
        )
    else:
        lines.append(f"\nBAD is not a regression against GOOD ({search.steps[0].outcome}): nothing to find")
    return "\n".join(lines)
