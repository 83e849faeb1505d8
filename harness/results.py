"""Result records and their versioned JSON file (``results.json``): the one output of a sweep.

Everything downstream (gates, reports, tracking) reads this file and never touches a model.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from statistics import median
from typing import Any

from harness.errors import InputError
from harness.latency import fit as latency_fit
from harness.stats import Summary

SCHEMA = "tts-harness/results"
SCHEMA_VERSION = 1
RESULTS_FILE = "results.json"
ARCHIVED_FILE = "results.json.gz"  # a finished sweep kept compressed (reports/ in git)
# Configuration, text and fingerprint ids: they name rows, files and MLflow runs.
SAFE_ID = re.compile(r"[A-Za-z0-9_.-]{1,200}")


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class RunSample:
    """One timed synthesis call."""

    total_s: float
    audio_s: float
    rtf: float
    stages_s: dict[str, float]
    text: str = ""  # the suite text's id


@dataclass
class Record:
    """Everything measured for one configuration; ``status`` is 'ok' or 'error'."""

    id: str
    config: dict[str, Any]
    status: str = "ok"
    error: dict[str, str] | None = None
    weights_kind: str = ""
    clock: str = ""
    build_s: float | None = None
    first_call_s: float | None = None  # the first call of each text, summed (compilation included)
    compiled_graphs: int = 0  # graphs Dynamo compiled in the first calls and the warm-up
    warmup_runs: int = 0
    runs: list[RunSample] = field(default_factory=list)
    rtf: dict[str, Any] | None = None
    stages_ms: dict[str, float] = field(default_factory=dict)
    vocoder: dict[str, Any] = field(default_factory=dict)
    telemetry: dict[str, Any] = field(default_factory=dict)
    quality: dict[str, Any] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)
    verdicts: dict[str, Any] = field(default_factory=dict)
    scenario: dict[str, Any] = field(default_factory=dict)
    memory: dict[str, Any] = field(default_factory=dict)
    roofline: dict[str, Any] = field(default_factory=dict)  # FLOPs per step, achieved and peak TFLOP/s, RTF floor
    latency: dict[str, Any] = field(default_factory=dict)  # fixed + per-second fit over texts of several lengths
    part: dict[str, Any] = field(default_factory=dict)  # in a merged sweep: the part (and GPU) that measured it
    started_utc: str = ""
    finished_utc: str = ""

    def summarize(self) -> None:
        """Derive statistics from the raw runs (the one place they are computed)."""
        if not self.runs:
            return
        self.rtf = Summary.of([r.rtf for r in self.runs]).as_dict()
        names = sorted({name for r in self.runs for name in r.stages_s})
        self.stages_ms = {name: 1000.0 * median(r.stages_s.get(name, 0.0) for r in self.runs) for name in names}
        self.stages_ms["total"] = 1000.0 * median(r.total_s for r in self.runs)
        self.latency = latency_fit(self.runs)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        if not isinstance(data, dict):
            raise TypeError(f"a record must be an object, got {data!r:.40}")
        if not SAFE_ID.fullmatch(str(data.get("id"))):
            raise TypeError(f"a record needs an id of letters, digits, '.', '_' and '-', got {data.get('id')!r:.60}")
        data = {k: v for k, v in _checked_fields(cls, data).items()}
        runs = data.get("runs", [])
        if not all(isinstance(r, dict) for r in runs):
            raise TypeError(f"record {data['id']}: runs must be objects")
        data["runs"] = [RunSample(**r) for r in runs]
        for run in data["runs"]:
            if not all(isinstance(getattr(run, name), (int, float)) for name in ("total_s", "audio_s", "rtf")):
                raise TypeError(f"record {data['id']}: a run's total_s, audio_s and rtf must be numbers")
            if run.text and not SAFE_ID.fullmatch(str(run.text)):
                raise TypeError(f"record {data['id']}: a run's text id {run.text!r:.60} is not a text id")
        return cls(**data)


def _checked_fields(cls: Any, data: dict[str, Any]) -> dict[str, Any]:
    """The dataclass's own keys of ``data``, each dict- or list-valued field checked for its kind."""
    from dataclasses import fields

    out = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        kind = {"dict": dict, "list": list}.get(str(f.type).split("[")[0])  # annotations are strings here
        if kind is not None and not isinstance(value, kind) and not (value is None and "None" in str(f.type)):
            raise TypeError(f"{f.name} must be {'an object' if kind is dict else 'a list'}, got {value!r:.40}")
        out[f.name] = value
    return out


@dataclass
class Results:
    """A sweep: its suite, where and when it ran, and one record per configuration."""

    suite: dict[str, Any]
    platform: dict[str, Any] = field(default_factory=dict)
    git: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    records: list[Record] = field(default_factory=list)
    status: str = "running"
    created_utc: str = field(default_factory=utc_now)
    finished_utc: str = ""
    sweep_cost_s: dict[str, float] = field(default_factory=dict)
    schema: str = SCHEMA
    schema_version: int = SCHEMA_VERSION

    def record(self, run_id: str) -> Record | None:
        return next((r for r in self.records if r.id == run_id), None)

    def upsert(self, record: Record) -> None:
        self.records = [r for r in self.records if r.id != record.id] + [record]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def save(self, out_dir: Path) -> Path:
        """Atomic write: an interrupted sweep leaves the last complete file behind."""
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / RESULTS_FILE
        fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=".results-", suffix=".json")
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(self.to_dict(), handle, separators=(",", ":"), default=str)
            os.replace(tmp, path)
        except BaseException:  # a full disk, an interrupt: the last complete file stays, no temp file
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(cls, where: Path) -> Results:
        """A results folder's results.json (or results.json.gz: old sweeps kept small), or that file."""
        path = where / RESULTS_FILE if where.is_dir() else where
        if where.is_dir() and not path.is_file() and (where / ARCHIVED_FILE).is_file():
            path = where / ARCHIVED_FILE
        if not path.is_file():
            raise InputError(f"no {RESULTS_FILE} in {where}: not a results directory (run `tts-harness run`)")
        try:
            raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
            data = json.loads(raw.decode())
        except (json.JSONDecodeError, UnicodeDecodeError, OSError, EOFError) as exc:
            raise InputError(f"{path} is not valid JSON ({exc}): the sweep may have been cut off") from None
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise InputError(f"{path} is not a tts-harness results file")
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise InputError(
                f"{path} has results schema version {version}; this harness reads version {SCHEMA_VERSION}"
            )
        try:
            raw = data.pop("records", [])
            if not isinstance(raw, list):
                raise TypeError("records must be a list")
            records = [Record.from_dict(r) for r in raw]
            key = data.get("platform", {}).get("key") if isinstance(data.get("platform"), dict) else None
            if key is not None and not SAFE_ID.fullmatch(str(key)):
                raise TypeError(f"platform key {key!r:.60} is not a fingerprint key (it names baseline files)")
            name = data.get("suite", {}).get("name") if isinstance(data.get("suite"), dict) else None
            if name is not None and (not SAFE_ID.fullmatch(str(name)) or str(name).startswith(".")):
                raise TypeError(f"suite name {name!r:.60} is not a name (it names baseline files and folders)")
            return cls(records=records, **_checked_fields(cls, data))
        except (TypeError, ValueError) as exc:
            raise InputError(f"{path} is malformed: {str(exc).splitlines()[0][:200]}") from None
