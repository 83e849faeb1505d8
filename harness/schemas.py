"""JSON Schemas of the files the harness reads and writes, for editors and other tools:
``tts-harness schema results`` (results.json) and ``tts-harness schema suite`` (a suite file, as
TOML parses it). Both come from the same dataclasses that load the files, so they cannot drift;
``docs/schemas/`` holds them, checked against this output by the tests."""

from __future__ import annotations

import json
from typing import Any

from typing_extensions import NotRequired, TypedDict

from harness.config import (
    QualityConfig,
    RooflineConfig,
    ScenarioConfig,
    TextItem,
    Thresholds,
    TimingConfig,
)
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


def schema(name: str) -> dict[str, Any]:
    from pydantic import TypeAdapter

    from harness.results import results_adapter

    if name == "results":
        made: dict[str, Any] = results_adapter().json_schema()
        made["title"] = "tts-harness results.json"
    else:
        made = TypeAdapter(SuiteFile).json_schema()
        made["title"] = "tts-harness suite file"
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **made}


def schema_text(name: str) -> str:
    return json.dumps(schema(name), indent=1, sort_keys=True) + "\n"
