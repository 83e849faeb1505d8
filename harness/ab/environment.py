"""What a side runs besides its own code: its Python interpreter (a venv's) and, first on its path,
an f5-tts source tree (the service keeps its optimizations in a patched tree outside git).

Each side is probed in its own interpreter with its own path: the Python version, the versions of
the packages that decide speed, and a content hash of the ``f5_tts`` package it imports (the tree's
``*.py`` files, so hand edits show even where the version does not change). ``ab`` records both and
states what differs; a side that cannot be probed is refused in one line.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.ab.sides import Side
from harness.errors import ConfigError

PACKAGES = ("torch", "torchaudio", "f5-tts", "vocos", "numpy", "onnxruntime", "tensorrt")

_PROBE = r"""
import hashlib, importlib.metadata as md, importlib.util, json, pathlib, platform, sys
out = {"python": platform.python_version(), "executable": sys.executable, "packages": {}}
for name in PACKAGES:
    try:
        out["packages"][name] = md.version(name)
    except md.PackageNotFoundError:
        pass
spec = importlib.util.find_spec("f5_tts")
if spec is not None and spec.submodule_search_locations:
    root = pathlib.Path(list(spec.submodule_search_locations)[0])
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    out["f5_tts"] = {"path": str(root), "sha256": digest.hexdigest()[:16]}
print(json.dumps(out))
"""


def probe(python: str, path: list[str]) -> dict[str, Any]:
    """The environment ``python`` with ``path`` first on ``PYTHONPATH`` gives a side."""
    if not Path(python).is_file() or not os.access(python, os.X_OK):
        raise ConfigError(f"no Python interpreter at {python}")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*path, os.environ.get("PYTHONPATH", "")]).strip(os.pathsep)}
    script = f"PACKAGES = {PACKAGES!r}\n{_PROBE}"
    proc = subprocess.run([python, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise ConfigError(f"cannot probe the environment of {python}: {last}")
    found: dict[str, Any] = json.loads(proc.stdout)
    if "f5_tts" not in found:
        raise ConfigError(f"{python} (path {':'.join(path) or '-'}) imports no f5_tts: not an environment to measure")
    return found


def f5tts_tree(folder: str) -> str:
    """The folder to put first on a side's path: the one holding the ``f5_tts`` package (a repository
    checkout's ``src/`` is found too)."""
    root = Path(folder).expanduser().resolve()
    for candidate in (root, root / "src"):
        if (candidate / "f5_tts").is_dir() and any((candidate / "f5_tts").glob("*.py")):  # a namespace package
            return str(candidate)
    raise ConfigError(f"{folder} holds no f5_tts package (looked in it and in its src/)")


def differences(base: dict[str, Any], head: dict[str, Any]) -> list[str]:
    """What differs between two probed environments, in words (empty: nothing the probe sees)."""
    said = []
    if base.get("python") != head.get("python"):
        said.append(f"Python {base.get('python')} -> {head.get('python')}")
    for name in PACKAGES:
        ours, theirs = base.get("packages", {}).get(name), head.get("packages", {}).get(name)
        if ours != theirs:
            said.append(f"{name} {ours or 'absent'} -> {theirs or 'absent'}")
    ours, theirs = base.get("f5_tts", {}), head.get("f5_tts", {})
    if ours.get("sha256") != theirs.get("sha256"):
        said.append(
            f"f5_tts code {ours.get('sha256')} ({ours.get('path')}) -> {theirs.get('sha256')} ({theirs.get('path')})"
        )
    return said


def with_environment(side: Side, python: str | None, f5tts: str | None) -> Side:
    """``side`` with its interpreter and f5-tts tree, probed (a side that cannot be probed is refused)."""
    path = (f5tts_tree(f5tts),) if f5tts else ()
    chosen = str(Path(python).expanduser().absolute()) if python else side.python
    return replace(side, python=chosen, path=path, environment=probe(chosen, list(path)))


def check_stated(base: Side, head: Side, asked: bool) -> list[str]:
    """What differs between the sides' environments; where environments were asked for
    (``asked``) and the probe sees no difference, the comparison is refused: the harness would
    measure a difference it cannot name."""
    said = differences(base.environment, head.environment)
    if asked and not said:
        raise ConfigError(
            "the sides' environments do not differ in Python, the packages that decide speed "
            f"({', '.join(PACKAGES)}) or the f5_tts code they import: nothing the comparison could name"
        )
    return said
