"""The command line of a ``tts-harness run`` worker process, for every executor that starts one.

A worker writes its own results.json into ``out`` and neither draws a progress bar nor logs to
MLflow: the process that started it reports and tracks.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path


def run_command(suite: str, out: Path, options: Sequence[str] = (), python: str = sys.executable) -> list[str]:
    """``python -m harness run SUITE --out OUT --no-progress --no-track OPTIONS...``."""
    return [python, "-m", "harness", "run", suite, "--out", str(out), "--no-progress", "--no-track", *options]
