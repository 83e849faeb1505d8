"""Result records and their versioned JSON file (``results.json``): the one output of a sweep.

Everything downstream (gates, reports, tracking) reads this file and never touches a model.
"""

from __future__ import annotations

import functools
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
    verdicts: dict[str, Any] = field(default_factory=dict)  # computed when read (gates.judged), never saved
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
        """What results.json holds: measurements, not verdicts (those are computed when it is read)."""
        out = asdict(self)
        for record in out["records"]:
            record.pop("verdicts", None)
        return out

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
        from pydantic import ValidationError

        try:
            results: Results = results_adapter().validate_json(raw, strict=True)  # JSON's own types, no coercion
        except ValidationError as exc:
            error = exc.errors()[0]
            at = ".".join(map(str, error["loc"])) or "the file"
            unknown = error["type"] == "unexpected_keyword_argument"
            what = "a key this version does not know" if unknown else error["msg"]
            raise InputError(f"{path} is malformed: {at}: {what}") from None
        try:
            check_names(results)
        except TypeError as exc:
            raise InputError(f"{path} is malformed: {exc}") from None
        return results


@functools.cache
def results_adapter() -> Any:
    """The typed schema of results.json (pydantic over these dataclasses; ``json_schema()`` publishes it)."""
    from pydantic import ConfigDict, TypeAdapter

    for cls in (Results, Record, RunSample):  # a key this version does not know is refused, never dropped
        setattr(cls, "__pydantic_config__", ConfigDict(extra="forbid"))  # noqa: B010
    return TypeAdapter(Results)


def check_names(results: Results) -> None:
    """What the types cannot say: ids, text ids, the fingerprint key and the suite name are names
    (they name rows, files and runs), never paths or markup."""
    for record in results.records:
        if not SAFE_ID.fullmatch(record.id):
            raise TypeError(f"a record needs an id of letters, digits, '.', '_' and '-', got {record.id!r:.60}")
        for run in record.runs:
            if run.text and not SAFE_ID.fullmatch(run.text):
                raise TypeError(f"record {record.id}: a run's text id {run.text!r:.60} is not a text id")
    key = results.platform.get("key")
    if key is not None and not SAFE_ID.fullmatch(str(key)):
        raise TypeError(f"platform key {key!r:.60} is not a fingerprint key (it names baseline files)")
    name = results.suite.get("name")
    if name is not None and (not SAFE_ID.fullmatch(str(name)) or str(name).startswith(".")):
        raise TypeError(f"suite name {name!r:.60} is not a name (it names baseline files and folders)")
