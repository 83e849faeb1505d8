"""The GPUs of one host as a cluster backend: ``tts-harness run SUITE --gpus 0,1,...``.

Each build group is one worker process, ``tts-harness run SUITE --ids ...`` on one GPU
(``CUDA_VISIBLE_DEVICES``) and its own share of the CPU cores, so compile workers of one group do
not slow the timed calls of another. A worker measures its group into a folder of its own
(``DIR/workers/<n>``: results.json, run.log, audio); the driver (``harness.sweep.Sweep``) hands
the next group waiting to the first GPU that is free, and takes the worker's records when it ends.
One scheduler for one host and for a Ray cluster. A worker killed by a signal (the OOM killer) is
lost and its group submitted again; one that ends with an error gives its group's error records.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.config import SuiteConfig
from harness.errors import InputError
from harness.executors.base import Backend, Outcome
from harness.executors.worker import run_command
from harness.results import Record, Results

GRACE_S = 5.0  # after Ctrl-C: how long a worker may take to save what it measured


class WorkerEnded(RuntimeError):
    """A worker that ended without its records: its exit code and the last line of its log."""

    def __init__(self, message: str, signalled: bool) -> None:
        super().__init__(message)
        self.signalled = signalled


@dataclass
class Job:
    ids: list[str]
    folder: Path
    gpu: str | None = None
    proc: subprocess.Popen[bytes] | None = None
    skipped: bool = False  # the time limit had passed when a GPU came free: left to the resume


def core_sets(parts: int) -> list[set[int]]:
    """This process's CPU cores dealt into ``parts`` contiguous sets (empty sets where too few)."""
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    size = len(cores) // parts
    return [set(cores[i * size : (i + 1) * size]) for i in range(parts)]


class LocalGpus(Backend):
    """Worker processes on the GPUs listed, one group per GPU at a time."""

    name = "gpus"

    def __init__(self, suite_arg: str, gpus: list[str], out: Path, options: list[str],
                 time_limit_s: float | None = None) -> None:  # fmt: skip
        if len(set(gpus)) != len(gpus):
            raise InputError(f"--gpus lists a GPU twice: {','.join(gpus)}")
        self.suite_arg, self.gpus, self.options = suite_arg, gpus, options
        self.deadline = None if time_limit_s is None else time.monotonic() + time_limit_s
        self.cores = dict(zip(gpus, core_sets(len(gpus)), strict=True))
        self.folder = out / "workers"
        shutil.rmtree(self.folder, ignore_errors=True)  # a resume takes its records from results.json
        self.out = out
        self.jobs: dict[int, Job] = {}
        self.waiting: list[int] = []
        self.cost: dict[str, float] = {}  # the workers' sweep costs, added up

    def submit(self, suite: SuiteConfig) -> int:
        handle = len(self.jobs) + 1
        self.jobs[handle] = Job([run.id for run in suite.runs], self.folder / str(handle))
        self.waiting.append(handle)
        return handle

    def _start(self) -> None:
        busy = {job.gpu for job in self.jobs.values() if job.proc is not None and job.proc.poll() is None}
        for gpu in [g for g in self.gpus if g not in busy]:
            if not self.waiting:
                return
            job = self.jobs[self.waiting.pop(0)]
            if self.deadline is not None and time.monotonic() >= self.deadline:
                job.skipped = True
                continue
            job.gpu = gpu
            job.folder.mkdir(parents=True)
            command = run_command(self.suite_arg, job.folder / "out", ["--ids", ",".join(job.ids), *self.options])
            if self.deadline is not None:
                command.append(f"--time-limit={self.deadline - time.monotonic():.3f}")
            mine = self.cores[gpu]

            def pin(mine: set[int] = mine) -> None:
                if mine:
                    os.sched_setaffinity(0, mine)

            env = {**os.environ, "CUDA_VISIBLE_DEVICES": gpu}
            if mine:
                env.setdefault("TORCHINDUCTOR_COMPILE_THREADS", str(len(mine)))
            with open(job.folder / "run.log", "wb") as log:
                job.proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=pin)
            print(f"GPU {gpu}: {len(job.ids)} configuration(s) of {job.ids[0]}'s build; log {job.folder / 'run.log'}",
                  file=sys.stderr)  # fmt: skip

    def wait(self, handles: list[int], timeout_s: float) -> list[tuple[int, Outcome]]:
        until = time.monotonic() + timeout_s
        while True:
            self._start()
            ended = [h for h in handles if self._ended(self.jobs[h])]
            if ended or time.monotonic() >= until:
                return [(h, self._outcome(self.jobs[h])) for h in ended]
            time.sleep(0.2)

    @staticmethod
    def _ended(job: Job) -> bool:
        return job.skipped or (job.proc is not None and job.proc.poll() is not None)

    def _outcome(self, job: Job) -> Outcome:
        if job.proc is None:
            return []
        code = job.proc.returncode
        if code in (0, 1, 130):  # measured, whole or in part (a time limit, Ctrl-C): what it saved
            return self.kept_records(job)
        log = (job.folder / "run.log").read_text(errors="replace").strip().splitlines()
        said = log[-1] if log else "nothing in its log"
        ended = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit {code}"
        return WorkerEnded(f"the worker on GPU {job.gpu} ended with {ended}: {said[:300]}", code < 0)

    def kept_records(self, job: Job) -> list[Record]:
        """The records a worker saved, marked with where they were measured; its audio moved beside
        the sweep's results."""
        if not (job.folder / "out" / "results.json").is_file():
            return []
        results = Results.load(job.folder / "out")
        for name, seconds in [*results.sweep_cost_s.items(), ("parts", 1.0)]:
            self.cost[name] = self.cost.get(name, 0.0) + seconds
        records = results.records
        for record in records:
            record.part = {"executor": self.name, "cuda_visible_devices": job.gpu, "host": socket.gethostname()}
            for sample in record.samples:
                target = self.out / sample
                target.parent.mkdir(parents=True, exist_ok=True)
                if (job.folder / "out" / sample).is_file():
                    shutil.move(job.folder / "out" / sample, target)
        return records

    def lost(self, error: BaseException) -> bool:
        return isinstance(error, WorkerEnded) and error.signalled

    def costs(self) -> dict[str, float]:
        return self.cost

    def cancel(self, handles: list[int]) -> None:
        """Ctrl-C: every worker still running gets SIGINT (a terminal's Ctrl-C may have reached it
        already: a second one costs nothing measured, each record is saved as it ends) and saves
        what it finished; one that does not end within ``GRACE_S`` is killed."""
        self.waiting.clear()
        running = [p for h in handles if (p := self.jobs[h].proc) is not None and p.poll() is None]
        for proc in running:
            proc.send_signal(signal.SIGINT)
        for proc in running:
            try:
                proc.wait(timeout=GRACE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def kept(self, handles: list[int]) -> list[Record]:
        return [record for h in handles for record in self.kept_records(self.jobs[h])]

    def close(self) -> dict[str, Any]:
        for job in self.jobs.values():
            if job.proc is not None and job.proc.poll() is None:
                job.proc.kill()
                job.proc.wait()
        return {}
