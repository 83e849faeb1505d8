"""Software versions and the git state of the working tree."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from typing import Any

PACKAGES = ("torch", "torchaudio", "f5-tts", "vocos", "onnxruntime", "onnx", "tensorrt", "torchao", "tts-harness")


def versions() -> dict[str, Any]:
    found: dict[str, Any] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    try:
        import torch

        found["cuda"] = torch.version.cuda
        cudnn = torch.backends.cudnn
        found["cudnn"] = cudnn.version() if cudnn.is_available() else None  # type: ignore[no-untyped-call]
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    return found


def git_info(cwd: str = ".") -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()

    try:
        return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
