"""The two sides of ``tts-harness ab``: git revisions (checked out as worktrees) or project folders.

Everything here that can refuse runs before anything is written: an unknown revision, a folder
with uncommitted changes, suites that differ. A side's code is imported from its own tree (the
block process starts in it); the installed packages (torch, f5-tts) are the running environment's.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, InputError


def git(repo: Path, *args: str) -> str:
    """A git command's output; its first error line as an ``InputError`` when it fails."""
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if proc.returncode != 0:
        message = (proc.stderr.strip().splitlines() or [f"git {args[0]} failed"])[0]
        raise InputError(f"git {' '.join(args[:2])}: {message}")
    return proc.stdout.strip()


def _is_dirty(root: Path) -> bool:
    return bool(git(root, "status", "--porcelain", "--untracked-files=no"))


@dataclass(frozen=True)
class Side:
    """One side: what the user named, the tree its code is imported from, and its commit."""

    name: str  # "base" or "head"
    spec: str
    root: Path
    commit: str  # "" for a folder outside git
    dirty: bool  # a folder with uncommitted changes (measured as it is, with --allow-dirty)
    revision: bool  # named as a git revision: a worktree at ``root`` holds exactly that commit
    python: str = sys.executable  # the interpreter its processes run (a venv's python for an environment side)
    path: tuple[str, ...] = ()  # folders first on its path (an f5-tts source tree)
    environment: dict[str, Any] = field(default_factory=dict, compare=False)  # what the probe saw

    @property
    def label(self) -> str:
        short = self.commit[:10] or "no git"
        return f"{self.spec} ({short}{', dirty' if self.dirty else ''})"

    @property
    def cache_key(self) -> str:
        """Names its compile cache: the commit, or the folder for one outside git or dirty."""
        code = self.commit[:16] if self.commit and not self.dirty else "dir-" + _short(str(self.root))
        if self.python == sys.executable and not self.path:
            return code
        return f"{code}-env-{_short(self.python + '|' + '|'.join(self.path))}"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "root": str(self.root), "path": list(self.path)}


def _short(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def cache_dir() -> Path:
    """Worktrees and compiled graphs of ``ab`` sides, kept between runs (``$TTS_HARNESS_CACHE``)."""
    base = os.environ.get("TTS_HARNESS_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return Path(base) / "tts-harness"


def resolve(name: str, spec: str, repo: Path, allow_dirty: bool) -> Side:
    """A side as named; refuses, before anything is written, what cannot be measured as asked."""
    folder = Path(spec)
    if folder.is_dir() and (folder / "harness" / "__init__.py").is_file():
        root = folder.resolve()
        in_git = subprocess.run(["git", "-C", str(root), "rev-parse", "--git-dir"], capture_output=True).returncode == 0
        commit = git(root, "rev-parse", "HEAD") if in_git else ""
        dirty = in_git and _is_dirty(root)
        if dirty and not allow_dirty:
            raise ConfigError(
                f"{name} {spec} has uncommitted changes: commit them, or pass --allow-dirty to measure it as it is"
            )
        return Side(name, spec, root, commit, dirty, revision=False)
    if folder.is_dir():
        raise ConfigError(f"{name} {spec} is a folder without a harness/ package: not a tts-harness project")
    proc = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}"],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise ConfigError(f"{name}: no revision or project folder {spec!r} (in {repo})")
    commit = proc.stdout.strip()
    if not allow_dirty and commit == git(repo, "rev-parse", "HEAD") and _is_dirty(repo):
        raise ConfigError(
            f"{name} {spec} is the checked-out commit, and the work tree has uncommitted changes it does not "
            "hold: commit them, or pass --allow-dirty (a revision is always measured as committed; name the "
            "folder instead to measure the tree as it is)"
        )
    root = cache_dir() / "worktrees" / commit[:16]
    return Side(name, spec, root, commit, dirty=False, revision=True)


def suite_bytes(side: Side, suite: str, repo: Path) -> bytes:
    """The side's copy of the suite: an absolute path is one file for both sides; a relative path
    or a bare name (looked up under suites/) is read from the side's own tree."""
    if os.path.isabs(suite):
        path = Path(suite)
        if not path.is_file():
            raise ConfigError(f"suite file not found: {suite}")
        return path.read_bytes()
    candidates = [suite, f"suites/{suite}", f"suites/{suite}.toml"]
    for candidate in candidates:
        if side.revision:
            proc = subprocess.run(["git", "-C", str(repo), "show", f"{side.commit}:{candidate}"], capture_output=True)
            if proc.returncode == 0:
                return proc.stdout
        elif (side.root / candidate).is_file():
            return (side.root / candidate).read_bytes()
    raise ConfigError(f"{side.name} {side.spec} has no suite {suite!r} (looked for {', '.join(candidates)})")


def same_suite(base: Side, head: Side, suite: str, repo: Path) -> bytes:
    """The suite both sides hold; refuses two different files (the sides must measure one thing)."""
    ours, theirs = suite_bytes(base, suite, repo), suite_bytes(head, suite, repo)
    if ours != theirs:
        raise ConfigError(
            f"the suite {suite!r} differs between {base.name} {base.spec} and {head.name} {head.spec}: "
            "give one file to both as an absolute path"
        )
    return ours


def checkout(side: Side, repo: Path) -> Side:
    """Make a revision's worktree (reused when it already holds the commit); folders are as they are."""
    if not side.revision:
        return side
    if (side.root / ".git").exists():
        if git(side.root, "rev-parse", "HEAD") == side.commit and not _is_dirty(side.root):
            return side
        raise InputError(f"{side.root} holds another commit or local changes: remove it (git worktree remove)")
    side.root.parent.mkdir(parents=True, exist_ok=True)
    git(repo, "worktree", "prune")  # a worktree folder deleted by hand leaves git's record of it behind
    git(repo, "worktree", "add", "--detach", str(side.root), side.commit)
    return side
