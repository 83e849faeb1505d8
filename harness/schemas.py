"""JSON Schemas of the files the harness reads and writes, for editors and other tools:
``tts-harness schema KIND`` for results.json, a suite file (as TOML parses it), a baseline, a noise
floor, a comparison.json and an ab.json. They come from the same types that check the files when
they are read (``read``), so they cannot drift; ``docs/schemas/`` holds them, checked by the tests."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Literal

from typing_extensions import NotRequired, TypedDict

from harness.config import (
    QualityConfig,
    RooflineConfig,
    ScenarioConfig,
    TextItem,
    Thresholds,
    TimingConfig,
)
from harness.errors import InputError
from harness.sequential import GatePolicy

Axis = Any  # a matrix axis: one value or a list of values


class SuiteHead(TypedDict):
    name: NotRequired[str]
    description: NotRequired[str]


class ReferenceVoice(TypedDict):
    audio: str
    text: str


class Preflight(TypedDict):
    policy: NotRequired[str]  # fail, warn or tag
    power_mode: NotRequired[str]  # e.g. MAXN


class SuiteFile(TypedDict):
    """A suite file: the tables docs/suites.md describes."""

    suite: NotRequired[SuiteHead]
    matrix: dict[str, Axis]
    synthesis: NotRequired[dict[str, float | int | bool]]
    texts: NotRequired[list[TextItem]]
    texts_from: NotRequired[str]
    reference: NotRequired[ReferenceVoice]
    timing: NotRequired[TimingConfig]
    thresholds: NotRequired[Thresholds]
    gate: NotRequired[GatePolicy]
    quality: NotRequired[QualityConfig]
    scenario: NotRequired[ScenarioConfig]
    roofline: NotRequired[RooflineConfig]
    preflight: NotRequired[Preflight]
    exclude: NotRequired[list[dict[str, Axis]]]
    vocoder_options: NotRequired[dict[str, dict[str, Any]]]


class BaselineEntry(TypedDict):
    config: dict[str, Any]
    rtf_sweeps: list[list[float]]  # each stored sweep's per-run RTFs


class BaselineFile(TypedDict):
    """``baseline save``: the last sweeps of a suite on one machine fingerprint."""

    schema: Literal["tts-harness/baseline"]
    saved_utc: str
    suite: str | None
    fingerprint: dict[str, Any]
    git: dict[str, Any]
    sweeps: int
    records: dict[str, BaselineEntry]


class NoiseGroup(TypedDict):
    recorded_utc: str
    commit: str | None  # None: the sweeps were measured outside a git tree
    suite: str | None
    sweeps: list[str]  # a hash of each sweep's samples: a sweep counts once
    log_medians: list[float]


class NoiseFile(TypedDict):
    """``noise record``: A/A sweeps' log medians per configuration, for one machine fingerprint."""

    schema: Literal["tts-harness/noise"]
    schema_version: Literal[1]
    fingerprint: dict[str, Any]
    configs: dict[str, list[NoiseGroup]]


class ComparisonRow(TypedDict):
    id: str
    outcome: str
    ratio: float | None
    ci: tuple[float, float] | None
    p_value: float | None
    detectable: float | None
    noise: str


class ComparisonFile(TypedDict):
    """comparison.json: a gate's rows beside the results they judge."""

    schema: NotRequired[Literal["tts-harness/comparison"]]  # files before it was written lack it
    against: str
    policy: GatePolicy
    saved_utc: str
    rows: list[ComparisonRow]


class AbSide(TypedDict):
    name: Literal["base", "head"]
    spec: str
    root: str
    commit: str  # "" outside git
    dirty: bool
    revision: bool
    python: str
    path: list[str]
    environment: dict[str, Any]  # what the environment probe saw ({} for a revision of this tree)


class AbDecision(TypedDict, total=False):
    """A sequential test's standing (``sequential.Decision``); ``{}`` before its first round."""

    outcome: str
    ratio: float | None
    ci_low: float | None
    ci_high: float | None
    rounds: int
    detectable: float | None
    stopped_by: str
    method: str


class AbError(TypedDict):
    outcome: Literal["broken", "error"]  # broken: head fails where base runs
    messages: dict[str, str]  # side -> its error


class AbConfig(TypedDict):
    base_rtf: list[float]
    head_rtf: list[float]
    decision: AbDecision
    error: NotRequired[AbError]


class AbBlock(TypedDict):
    side: str  # base, head, or a cluster's start-up (with its stop: the cluster's fixed cost)
    seconds: float


class AbRound(TypedDict):
    """A round of four blocks, or a cluster of resident workers (``k`` rounds and their ratios)."""

    blocks: list[AbBlock]
    log_ratios: dict[str, float]
    k: NotRequired[int]
    round_ratios: NotRequired[dict[str, list[float]]]


class AbComponents(TypedDict):
    within: float
    between: float
    startup_s: float
    round_s: float


class AbDesign(TypedDict):
    kind: Literal["process", "resident"]
    rounds_per_cluster: NotRequired[int]  # k after the pilot: the lesser of the two below
    rounds_by_variance: NotRequired[int]  # k* of the pilot's components (median over configurations)
    rounds_by_budget: NotRequired[int]  # the most that let the budget reach min_rounds clusters
    cluster_s: NotRequired[float]  # a cluster's expected cost at that k
    components: NotRequired[dict[str, AbComponents]]


class AbOptions(TypedDict):
    narrowing: list[str]
    inject_slowdown: float
    cpus: NotRequired[list[int]]  # ab --cpus: the cores every process of the comparison ran on


class AbEnvironments(TypedDict):
    base: dict[str, Any]
    head: dict[str, Any]
    differ: list[str]


class AbFile(TypedDict):
    """ab.json: a comparison's sides, policy and rounds, rewritten after each round (``--resume``)."""

    schema: Literal["tts-harness/ab"]
    schema_version: Literal[1]
    base: AbSide
    head: AbSide
    suite_sha256: str
    policy: GatePolicy
    options: AbOptions
    created_utc: str
    finished_utc: str
    status: Literal["running", "complete"]  # running: an interrupted comparison, for --resume
    measure_s: float
    rounds: list[AbRound]
    configs: dict[str, AbConfig]
    design: NotRequired[AbDesign]
    environments: NotRequired[AbEnvironments]


FILES: dict[str, tuple[Any, str]] = {
    "suite": (SuiteFile, "a tts-harness suite file"),
    "baseline": (BaselineFile, "a tts-harness baseline"),
    "noise": (NoiseFile, "a tts-harness noise floor"),
    "comparison": (ComparisonFile, "a tts-harness comparison.json"),
    "ab": (AbFile, "a tts-harness ab.json"),
}


STRICT = (
    BaselineEntry, BaselineFile, NoiseGroup, NoiseFile, ComparisonRow, ComparisonFile,
    AbSide, AbDecision, AbError, AbConfig, AbBlock, AbRound, AbComponents, AbDesign, AbOptions, AbEnvironments, AbFile,
)  # fmt: skip


@functools.cache
def _adapter(kind: str) -> Any:
    from pydantic import ConfigDict, TypeAdapter

    for cls in STRICT:  # a key this version does not know is refused, never dropped
        setattr(cls, "__pydantic_config__", ConfigDict(extra="forbid"))  # noqa: B010
    return TypeAdapter(FILES[kind][0])


def read(kind: str, path: Path) -> dict[str, Any]:
    """The file at ``path`` as plain JSON, checked as ``kind`` (JSON's own types, no coercion); one
    line naming the first fault, or why it cannot be read."""
    from pydantic import ValidationError

    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} cannot be read: {exc}") from None
    try:
        _adapter(kind).validate_json(text, strict=True)
    except ValidationError as exc:
        error = exc.errors()[0]
        if error["type"] == "json_invalid":
            raise InputError(f"{path} is not valid JSON: {error['msg']}") from None
        at = ".".join(map(str, error["loc"])) or "the file"
        what = "a key this version does not know" if error["type"] == "extra_forbidden" else error["msg"]
        raise InputError(f"{path} is not {FILES[kind][1]} this version reads: {at}: {what}") from None
    data: dict[str, Any] = json.loads(text)
    return data


KINDS = ("results", *FILES)


def schema(name: str) -> dict[str, Any]:

    from harness.results import results_adapter

    if name == "results":
        made: dict[str, Any] = results_adapter().json_schema()
        made["title"] = "tts-harness results.json"
    else:
        made = _adapter(name).json_schema()
        made["title"] = FILES[name][1].removeprefix("a ")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **made}


def schema_text(name: str) -> str:
    return json.dumps(schema(name), indent=1, sort_keys=True) + "\n"
