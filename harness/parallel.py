"""One sweep over several GPUs: a ``tts-harness run --shard I/N`` process per GPU, then one report.

Each part sees one GPU (``CUDA_VISIBLE_DEVICES``) and its own share of the CPU cores, so compile
workers of one part do not slow the timed runs of another. Parts write ``DIR/partI``; the merged
report lands in ``DIR``. Timings are comparable between parts only on GPUs of the same kind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from harness.errors import InputError


def core_sets(parts: int) -> list[set[int]]:
    """This process's CPU cores dealt into ``parts`` contiguous sets (empty sets where too few)."""
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    size = len(cores) // parts
    return [set(cores[i * size : (i + 1) * size]) for i in range(parts)]


def _measured(part: Path) -> int:
    try:
        return len(json.loads((part / "results.json").read_text())["records"])
    except (OSError, ValueError, KeyError):
        return 0


def run_parts(
    suite: str, gpus: list[str], out: Path, resume: bool, extra: list[str], total: int, progress: bool
) -> list[int]:
    """Start one part per GPU, wait for all, return their exit codes (130: interrupted)."""
    if len(set(gpus)) != len(gpus):
        raise InputError(f"--gpus lists a GPU twice: {','.join(gpus)}")
    count = len(gpus)
    if resume and not any((out / f"part{i}" / "results.json").is_file() for i in range(1, count + 1)):
        raise InputError(f"--resume {out}: no part{{1..{count}}}/results.json there: nothing to resume (use --out)")
    cores = core_sets(count)
    procs: list[subprocess.Popen[bytes]] = []
    for index, gpu in enumerate(gpus, start=1):
        part = out / f"part{index}"
        part.mkdir(parents=True, exist_ok=True)
        where = ["--resume", str(part)] if resume and (part / "results.json").exists() else ["--out", str(part)]
        command = [sys.executable, "-m", "harness", "run", suite, "--shard", f"{index}/{count}", *where]
        command += ["--no-progress", *extra]
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
    _wait(procs, [out / f"part{i}" for i in range(1, count + 1)], total, progress)
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
