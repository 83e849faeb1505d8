"""Noise floors: how far identical sweeps of one configuration move on one machine fingerprint.

A sweep's runs see the noise inside one process; two sweeps of the same code also differ by what
differs between processes (core placement, allocator state, clocks, neighbours: 5-15% on a shared
2-core machine, up to 17% between processes on a GPU). A comparison of one sweep a side cannot see
that component, so it must come from somewhere else. Like Perfherder's per-platform noise profiles,
the harness keeps, per machine fingerprint and configuration, the log medians of groups of sweeps
of identical code (A/A sweeps, recorded with ``tts-harness noise record``). Groups are kept apart:
the between-sweep variance is estimated within each group (``sum of squares``, ``n - 1`` degrees of
freedom each), so code that changed between two recordings never passes for noise.

A comparison pools that variance with whatever spread its own sides show (several sweeps a side)
and uses Student's t with the pooled degrees of freedom (``stats.compare_sweeps``). No noise floor
and one sweep a side leave zero degrees of freedom: the outcome is ``inconclusive``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import InputError
from harness.results import Results, utc_now

NOISE_SCHEMA = "tts-harness/noise"
NOISE_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class NoiseFloor:
    """One configuration's between-sweep variance of log medians: its sum of squares and degrees of
    freedom, with where it came from (``source``) and when it was last recorded."""

    sum_squares: float
    df: int
    source: str
    recorded_utc: str

    @property
    def sd(self) -> float:
        """Standard deviation of a sweep's log median (a fraction, roughly, for small values)."""
        return math.sqrt(self.sum_squares / self.df) if self.df else math.nan

    def age_days(self, now: datetime | None = None) -> float:
        then = datetime.fromisoformat(self.recorded_utc)
        return ((now or datetime.now(timezone.utc)) - then).total_seconds() / 86400


def noise_path(fingerprint_key: str, directory: Path) -> Path:
    return directory / f"noise--{fingerprint_key}.json"


def log_medians(sweeps: list[Results]) -> dict[str, list[float]]:
    """Each configuration measured in every sweep: the log of each sweep's median RTF."""
    per_config: dict[str, list[float]] = {}
    for results in sweeps:
        for record in results.records:
            if record.status == "ok" and record.runs:
                per_config.setdefault(record.id, []).append(math.log(float(np.median([r.rtf for r in record.runs]))))
    return {run_id: logs for run_id, logs in per_config.items() if len(logs) == len(sweeps)}


def sweep_fingerprint(results: Results) -> str:
    """A short hash of a sweep's start time and timed samples: the same sweep, however named."""
    samples = [(r.id, [run.rtf for run in r.runs]) for r in sorted(results.records, key=lambda r: r.id)]
    return hashlib.sha256(json.dumps([results.created_utc, samples]).encode()).hexdigest()[:16]


def _same_code(sweeps: list[Results]) -> None:
    """A/A sweeps: one suite, one fingerprint, one commit with a clean tree; else an ``InputError``."""
    if len(sweeps) < 2:
        raise InputError("a noise floor needs at least two sweeps of identical code")
    first = sweeps[0]
    for other in sweeps:
        for what, ours, theirs in (
            ("fingerprint", first.platform.get("key"), other.platform.get("key")),
            ("suite", first.suite.get("name"), other.suite.get("name")),
            ("commit", first.git.get("commit"), other.git.get("commit")),
        ):
            if ours != theirs:
                raise InputError(f"noise sweeps must share one {what}: got {ours!r} and {theirs!r}")
        if other.git.get("dirty"):
            raise InputError("a noise sweep was measured from a tree with uncommitted changes: its code is unknown")
    if not first.platform.get("key"):
        raise InputError("results carry no platform fingerprint: cannot key a noise floor")


def record_noise(sweeps: list[Results], directory: Path) -> Path:
    """Add one group of identical sweeps to the fingerprint's noise file; returns the file."""
    _same_code(sweeps)
    logs = log_medians(sweeps)
    if not logs:
        raise InputError("no configuration was measured in every one of these sweeps")
    key = sweeps[0].platform["key"]
    path = noise_path(key, directory)
    data = load_noise_file(path) if path.is_file() else None
    if data is None:
        data = {"schema": NOISE_SCHEMA, "schema_version": NOISE_SCHEMA_VERSION, "fingerprint": sweeps[0].platform}
        data["configs"] = {}
    stamps = sorted(sweep_fingerprint(results) for results in sweeps)
    if len(set(stamps)) < len(stamps):
        raise InputError("the same sweep is named twice: each sweep counts once")
    known = {stamp for groups in data["configs"].values() for group in groups for stamp in group.get("sweeps", [])}
    if known & set(stamps):
        raise InputError(f"{path} already holds some of these sweeps: a sweep counts once in a noise floor")
    group = {
        "recorded_utc": utc_now(),
        "commit": sweeps[0].git.get("commit", ""),
        "suite": sweeps[0].suite.get("name"),
        "sweeps": stamps,  # a hash of each sweep's samples: the same sweep is never counted twice
    }
    for run_id, values in logs.items():
        data["configs"].setdefault(run_id, []).append({**group, "log_medians": values})
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".noise-", suffix=".json")
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, separators=(",", ":"))
    os.replace(tmp, path)
    return path


def load_noise_file(path: Path) -> dict[str, Any]:
    from harness.schemas import read

    return read("noise", path)


def floor_of(groups: list[dict[str, Any]], source: str) -> NoiseFloor:
    """Pool the within-group sums of squares of a configuration's recorded groups."""
    sum_squares, df = 0.0, 0
    for group in groups:
        values = np.asarray(group["log_medians"], dtype=float)
        if values.size > 1 and np.all(np.isfinite(values)):
            sum_squares += float(((values - values.mean()) ** 2).sum())
            df += int(values.size - 1)
    return NoiseFloor(sum_squares, df, source, max(g["recorded_utc"] for g in groups))


def load_floors(path: Path, fingerprint_key: str | None) -> dict[str, NoiseFloor]:
    """The noise floors in ``path`` by configuration id; refuses a file of another fingerprint."""
    data = load_noise_file(path)
    theirs = data.get("fingerprint", {}).get("key")
    if fingerprint_key is not None and theirs != fingerprint_key:
        raise InputError(
            f"noise floor {path} was measured on fingerprint {theirs!r}, these sweeps on {fingerprint_key!r}"
        )
    return {run_id: floor_of(groups, str(path)) for run_id, groups in data["configs"].items() if groups}


def floors_for(sweeps: list[Results], explicit: Path | None, directory: Path) -> dict[str, NoiseFloor]:
    """The noise floors that apply to a comparison of ``sweeps``: ``explicit`` (must exist), else the
    fingerprint's file in ``directory`` if there is one; none when the sweeps' fingerprints differ."""
    keys = {results.platform.get("key") for results in sweeps}
    if explicit is not None:
        if not explicit.is_file():
            raise InputError(f"no noise floor at {explicit}: record one with `tts-harness noise record SWEEP SWEEP`")
        return load_floors(explicit, keys.pop() if len(keys) == 1 else None)
    if len(keys) != 1 or not (key := keys.pop()):
        return {}
    path = noise_path(str(key), directory)
    return load_floors(path, str(key)) if path.is_file() else {}


def describe(floor: NoiseFloor | None, side_df: int) -> str:
    """Where a comparison's between-sweep noise came from, in a few words."""
    parts = []
    if side_df:
        parts.append(f"the sides' own sweeps ({side_df} df)")
    if floor is not None and floor.df:
        when = f"recorded {floor.recorded_utc[:10]}, {floor.age_days():.0f} d old"
        parts.append(f"noise floor {floor.source} ({floor.df} df, {when})")
    return " + ".join(parts) or "none (one sweep a side and no noise floor: cannot decide)"
