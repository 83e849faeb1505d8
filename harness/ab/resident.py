"""Resident workers of ``ab``: processes of one side that build and warm up once and then time
several blocks each (``harness.ab.worker`` in the side's own tree), started and stopped together."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from pathlib import Path
from typing import IO, Any

from harness.ab.blocks import Block, side_env
from harness.ab.sides import Side
from harness.errors import InputError


def has_worker(side: Side) -> bool:
    """Whether the side's tree has the resident worker (revisions before it time fresh processes)."""
    return (side.root / "harness" / "ab" / "worker.py").is_file()


class Resident:
    """One worker process of one side; ``block`` times ``calls`` calls of every configuration."""

    def __init__(self, side: Side, suite: Path, extra: list[str], log: Path) -> None:
        self.side = side
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log: IO[str] = open(log, "w")  # noqa: SIM115 - open for the worker's lifetime
        self.proc = subprocess.Popen(
            [side.python, "-m", "harness.ab.worker", str(suite), *extra],
            cwd=side.root,
            env=side_env(side),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        self.errors: dict[str, str] = {}

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            name = f"{self.side.name} {self.side.spec}"
            raise InputError(f"a resident worker of {name} ended (exit {code}): see {self._log.name}")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def ready(self) -> dict[str, Any]:
        reply = self._read()
        self.errors.update(reply.get("errors", {}))
        return reply

    def block(self, calls: int, inject: float) -> Block:
        assert self.proc.stdin is not None
        started = time.perf_counter()
        self.proc.stdin.write(json.dumps({"calls": calls, "inject": inject}) + "\n")
        self.proc.stdin.flush()
        reply = self._read()
        self.errors.update(reply.get("errors", {}))
        return Block(self.side.name, time.perf_counter() - started, dict(reply["rtf"]), dict(self.errors))

    def end_input(self) -> None:
        """Tell the worker to end (it exits at end of input)."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            with contextlib.suppress(BrokenPipeError):  # it has ended already
                self.proc.stdin.close()

    def close(self) -> None:
        self.end_input()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


def start_group(sides: list[Side], suite: Path, extra: list[str], folder: Path) -> tuple[list[Resident], float]:
    """Start one worker per entry of ``sides`` at once and wait until all are warm; returns them and
    the seconds that took (start-up runs side by side, untimed)."""
    started = time.perf_counter()
    workers = [Resident(side, suite, extra, folder / f"worker{i}-{side.name}.log") for i, side in enumerate(sides)]
    try:
        for worker in workers:
            worker.ready()
    except BaseException:
        stop_group(workers)
        raise
    return workers, time.perf_counter() - started


def stop_group(workers: list[Resident]) -> float:
    """End every worker at once and wait for them; returns the seconds that took (part of a cluster's
    cost, like its start-up)."""
    started = time.perf_counter()
    for worker in workers:
        worker.end_input()
    for worker in workers:
        worker.close()
    return time.perf_counter() - started
