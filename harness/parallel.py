"""One sweep over several GPUs: a ``tts-harness run --shard I/N`` process per GPU, then one report.

Each part sees one GPU (``CUDA_VISIBLE_DEVICES``) and its own share of the CPU cores, so compile
workers of one part do not slow the timed runs of another. Parts write ``DIR/partI``; the merged
report lands in ``DIR``. Timings are comparable between parts only on GPUs of the same kind.

The shard is where a part starts, not where it ends: each part claims a model build as it starts
it (a file in ``DIR/claims``), and a part that has finished its own takes the unstarted builds of
the others, costliest first. Errors, warm caches and wrong compile estimates then no longer leave
one GPU working while the rest wait.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from harness.errors import InputError


class Claims:
    """Which part measures which build group, decided as the parts start them: one file per group,
    created exclusively, holding the part's number."""

    def __init__(self, directory: Path, part: int) -> None:
        self.directory = directory
        self.part = part

    def _path(self, group: Iterable[str]) -> Path:
        return self.directory / hashlib.sha256("\0".join(group).encode()).hexdigest()[:24]

    def owner(self, group: Iterable[str]) -> int | None:
        try:
            text = self._path(group).read_text().strip()
        except FileNotFoundError:
            return None
        return int(text) if text else -1  # -1: being written by another part

    def take(self, group: Iterable[str]) -> bool:
        """True when this part owns the group: claimed now, or earlier by this part."""
        try:
            fd = os.open(self._path(group), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return self.owner(group) == self.part
        with os.fdopen(fd, "w") as handle:
            handle.write(str(self.part))
        return True


def fresh_claims(out: Path, recorded: dict[int, list[tuple[str, ...]]]) -> Path:
    """An empty claims folder in ``out``, except for the groups each part already has records of
    (a resume continues them where they were)."""
    directory = out / "claims"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    for part, groups in recorded.items():
        for group in groups:
            Claims(directory, part).take(group)
    return directory


def core_sets(parts: int) -> list[set[int]]:
    """This process's CPU cores dealt into ``parts`` contiguous sets (empty sets where too few)."""
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    size = len(cores) // parts
    return [set(cores[i * size : (i + 1) * size]) for i in range(parts)]


def _record_ids(part: Path) -> list[str]:
    try:
        return [record["id"] for record in json.loads((part / "results.json").read_text())["records"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def _measured(part: Path) -> int:
    return len(_record_ids(part))


def run_parts(
    suite: str,
    gpus: list[str],
    out: Path,
    resume: bool,
    extra: list[str],
    groups: dict[str, tuple[str, ...]],
    progress: bool,
) -> list[int]:
    """Start one part per GPU, wait for all, return their exit codes (130: interrupted).
    ``groups``: every configuration id of the sweep and its build group."""
    if len(set(gpus)) != len(gpus):
        raise InputError(f"--gpus lists a GPU twice: {','.join(gpus)}")
    count = len(gpus)
    if resume and not any((out / f"part{i}" / "results.json").is_file() for i in range(1, count + 1)):
        raise InputError(f"--resume {out}: no part{{1..{count}}}/results.json there: nothing to resume (use --out)")
    recorded = {
        index: sorted({groups[i] for i in _record_ids(out / f"part{index}") if i in groups})
        for index in range(1, count + 1)
        if resume
    }
    claims = fresh_claims(out, recorded)
    cores = core_sets(count)
    procs: list[subprocess.Popen[bytes]] = []
    for index, gpu in enumerate(gpus, start=1):
        part = out / f"part{index}"
        part.mkdir(parents=True, exist_ok=True)
        where = ["--resume", str(part)] if resume and (part / "results.json").exists() else ["--out", str(part)]
        command = [sys.executable, "-m", "harness", "run", suite, "--shard", f"{index}/{count}", *where]
        command += ["--no-progress", "--claims", str(claims), *extra]
        mine = cores[index - 1]

        def pin(mine: set[int] = mine) -> None:
            if mine:
                os.sched_setaffinity(0, mine)

        env = {**os.environ, "CUDA_VISIBLE_DEVICES": gpu}
        if mine:
            env.setdefault("TORCHINDUCTOR_COMPILE_THREADS", str(len(mine)))
        with open(part / "run.log", "ab") as log:
            procs.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=pin))
        print(f"part {index}/{count} on GPU {gpu}: log {part / 'run.log'}", file=sys.stderr)
    try:
        _wait(procs, [out / f"part{i}" for i in range(1, count + 1)], len(groups), progress)
    finally:
        shutil.rmtree(claims, ignore_errors=True)
    return [p.returncode for p in procs]


def _wait(procs: list[subprocess.Popen[bytes]], parts: list[Path], total: int, progress: bool) -> None:
    from tqdm import tqdm

    bar = tqdm(total=total, unit="config", desc="configurations measured", disable=not progress)
    try:
        while any(p.poll() is None for p in procs):
            bar.update(sum(map(_measured, parts)) - bar.n)
            time.sleep(1.0)
    except KeyboardInterrupt:  # let every part save what it finished, then stop
        deadline = time.monotonic() + 2  # a terminal's Ctrl-C reached the parts too: give them time
        while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
            time.sleep(0.2)
        for p in procs:
            if p.poll() is None:  # the signal came to this process alone
                p.send_signal(signal.SIGINT)
        for p in procs:
            p.wait()
        raise
    finally:
        bar.update(sum(map(_measured, parts)) - bar.n)
        bar.close()
