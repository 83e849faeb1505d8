"""The sweep's ``results.json`` as a journal: opened new or resumed, stamped with the suite, the
machine and the code, checked by the preflight, saved after every configuration."""

from __future__ import annotations

import fcntl
import logging
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

from harness.config import SuiteConfig
from harness.errors import ConfigError
from harness.results import RESULTS_FILE, Results

log = logging.getLogger(__name__)


def _plain(obj: Any) -> Any:
    return asdict(obj) if is_dataclass(obj) and not isinstance(obj, type) else obj


def suite_record(suite: SuiteConfig) -> dict[str, Any]:
    """What ``results.json`` keeps of the suite: enough to re-gate and to log it without the file."""
    return {
        "name": suite.name,
        "path": suite.path,
        "sha256": suite.sha256,
        "thresholds": _plain(suite.thresholds),
        "timing": _plain(suite.timing),
        "gate": _plain(suite.gate),
        "matrix": suite.axes(),
        "texts": [_plain(t) for t in suite.texts],
    }


def open_results(suite: SuiteConfig, out_dir: Path, resume: bool, process: dict[str, Any], inject: float) -> Results:
    """The results a sweep writes to: resumed from ``out_dir``, or new with the fingerprint and git
    state; the process settings and the preflight go in either way, then it is saved."""
    from harness.platform import fingerprint
    from harness.platform.software import git_info

    if resume:
        results = Results.load(out_dir)
        if results.suite.get("name") != suite.name:
            raise ConfigError(
                f"--resume {out_dir}: that folder holds a sweep of suite {results.suite.get('name')!r}, not "
                f"{suite.name!r}: resume it with its own suite, or choose another --out"
            )
        if results.suite.get("sha256") != suite.sha256:
            log.warning("suite file changed since the interrupted sweep; resuming anyway")
    else:
        keep_earlier(out_dir)
        results = Results(
            suite=suite_record(suite),
            platform=fingerprint.collect(),
            git=git_info(),
            options={"inject_slowdown": inject},
        )
    results.options["process"] = process
    preflight(results, suite)
    results.status = "running"
    results.save(out_dir)
    return results


LOCK_FILE = ".lock"
SYNC_LOCK_FILE = ".sync.lock"  # syncs of a folder take turns on their own lock (a live run syncs too)


def keep_earlier(out_dir: Path, resumable: bool = True) -> Path | None:
    """A new sweep into a folder that holds one: a finished sweep moves, whole, to
    ``previous/<its start time>/`` (nothing is lost); an unfinished one is refused, since
    ``--resume`` is what completes it (``resumable=False``: what cannot be resumed moves too)."""
    if not (out_dir / RESULTS_FILE).is_file():
        return None
    earlier = Results.load(out_dir)
    if earlier.status != "complete" and resumable:
        done = sum(r.status == "ok" for r in earlier.records)
        raise ConfigError(
            f"{out_dir} holds an unfinished sweep ({earlier.status}, {done} configuration(s) measured): "
            f"`--resume {out_dir}` completes it; or choose another --out"
        )
    stamp = re.sub(r"[^0-9A-Za-z]", "", earlier.created_utc) or "earlier"
    keep = out_dir / "previous" / stamp
    keep.mkdir(parents=True, exist_ok=True)
    for item in out_dir.iterdir():
        if item.name not in ("previous", LOCK_FILE, SYNC_LOCK_FILE):
            item.rename(keep / item.name)
    log.warning("%s held a finished sweep: kept in %s", out_dir, keep)
    return keep


@contextmanager
def folder_lock(out_dir: Path, name: str = LOCK_FILE, wait_s: float = 0.0) -> Iterator[None]:
    """One writer per results folder: a second ``run`` (or a resume) of the same folder is refused
    while the first holds it; with ``wait_s`` the second waits that long first (syncs take turns).
    The lock is the kernel's (``flock``): it goes with its process, however that ends."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / name, "a+") as handle:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() < deadline:
                    time.sleep(0.2)
                    continue
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                raise ConfigError(
                    f"{out_dir} is being written by {holder}: wait for it, or choose another --out"
                ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def preflight(results: Results, suite: SuiteConfig) -> None:
    """Check the machine state before measuring; the suite's policy decides what follows."""
    from harness.errors import GateFailure
    from harness.platform.preflight import checks_from, preflight_text

    checks = checks_from(results.platform, suite.power_mode)
    bad = [c for c in checks if c.level == "critical"]
    results.platform["preflight"] = {
        "policy": suite.preflight,
        "checks": [c.as_dict() for c in checks],
        "passed": not bad,
    }
    if bad and suite.preflight == "fail":
        raise GateFailure("preflight failed: " + "; ".join(f"{c.name}: {c.message}" for c in bad))
    if bad and suite.preflight == "warn":
        log.warning("preflight:\n%s", preflight_text(checks))
