"""One block of ``ab``: a fresh process of one side's own ``tts-harness run`` over the block suite.

A fresh process per block makes what differs between processes (placement on cores, allocator
state, the driver's start-up) noise that the sequential test sees, instead of a fixed offset of one
side. The block suite is the suite with its timed calls cut to the gate's ``block_calls``, no
``min_time_s`` and no quality proxies; both sides run the same file. Every side keeps its own
TorchInductor cache, so a side compiles once and its later blocks load the compiled graphs.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness.ab.sides import Side, cache_dir
from harness.errors import ConfigError, InputError
from harness.executors.worker import run_command
from harness.sequential import GatePolicy


def block_suite(text: str, policy: GatePolicy, matrix: dict[str, str] | None = None) -> str:
    """The suite a block runs: ``block_calls`` timed calls per configuration, nothing else timed;
    ``matrix`` replaces axes (``--model``, ``--weights``) in the file, which every side's ``run`` reads."""
    import tomlkit

    doc = tomlkit.parse(text)
    for key, value in (matrix or {}).items():
        doc.setdefault("matrix", tomlkit.table())[key] = value
    scenario = doc.get("scenario", {}).get("kind", "single-stream")
    if scenario != "single-stream":
        raise ConfigError(f"ab compares single-stream timings; this suite's scenario is {scenario!r}")
    timing = doc.setdefault("timing", tomlkit.table())
    timing["repeats"] = policy.block_calls
    timing["max_repeats"] = max(policy.block_calls, int(timing.get("max_repeats", 1000)))
    timing.pop("min_time_s", None)
    doc.setdefault("quality", tomlkit.table())["enabled"] = False
    return tomlkit.dumps(doc)


@dataclass
class Block:
    """What one block measured: RTF of each call per configuration, and what failed."""

    side: str
    seconds: float
    rtf: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def side_env(side: Side) -> dict[str, str]:
    """A side's process environment: its f5-tts tree and its own code first on the path, its own
    TorchInductor cache."""
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (*side.path, str(side.root), os.environ.get("PYTHONPATH", "")) if p),
        "TORCHINDUCTOR_CACHE_DIR": str(cache_dir() / "inductor" / side.cache_key),
        "TTS_HARNESS_NO_TRACK": "1",
    }


def run_block(side: Side, suite: Path, out: Path, extra: list[str], inject_slowdown: float = 0.0) -> Block:
    """Run one block of ``side`` in a fresh process; a process that fails is an ``InputError``."""
    command = run_command(str(suite), out, ["--no-audio", "--no-telemetry", *extra], python=side.python)
    if inject_slowdown:
        command.append(f"--inject-slowdown={inject_slowdown}")
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=side.root, env=side_env(side), capture_output=True, text=True)
    seconds = time.perf_counter() - started
    results = out / "results.json"
    if out.is_dir():
        (out / "block.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode not in (0, 1) or not results.is_file():
        last = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
        raise InputError(f"a block of {side.name} {side.spec} failed: {last}")
    block = Block(side.name, seconds)
    for record in json.loads(results.read_text()).get("records", []):
        if record.get("status") == "ok" and record.get("runs"):
            block.rtf[record["id"]] = [run["rtf"] for run in record["runs"]]
        else:
            block.errors[record["id"]] = str((record.get("error") or {}).get("message", "no runs"))
    return block
